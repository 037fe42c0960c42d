"""Every command's exit codes, as the README documents them.

0 passed, 1 failed, 2 usage error / unreadable answer / interrupted, 3 bad problem file,
4 I/O error, 5 internal error (a gradcheck bug: one line naming the problem and question,
the traceback only with --debug or GRADCHECK_DEBUG=1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gradcheck import batch, checks, explanation, grading, linting, verification
from gradcheck.cli import main
from tests.helpers import LINEAR, SEEDS

LR = str(SEEDS / "linear-regression.toml")
QUESTION = '[[questions]]\nid = "q"\nof = "loss"\nwrt = "w"\nanswer = "{answer}"\n'
RIGHT = QUESTION.format(answer="2*x*(w*x - y)")
WRONG = QUESTION.format(answer="2*(w*x - y)")


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        return int(exc.code or 0)


@pytest.fixture
def files(write_problem: Callable[..., Path], tmp_path: Path) -> dict[str, str]:
    bad = LINEAR.format(stem="bad").replace('"w*x"', '"w*z"') + RIGHT
    return {
        "right": str(write_problem(LINEAR.format(stem="right") + RIGHT, stem="right")),
        "wrong": str(write_problem(LINEAR.format(stem="wrong") + WRONG, stem="wrong")),
        "bad": str(write_problem(bad, stem="bad")),
        "nowhere": str(tmp_path / "missing-folder" / "out.txt"),
        "undefined": str(write_problem(LINEAR.format(stem="undefined").replace(
            '[symbols.w]', '[symbols.w]\ndomain = [1, 2]').replace('"s**2"', '"log(-w)"')
            .replace("value = 1.0\n[graph]", "value = 1.5\n[graph]") + RIGHT, stem="undefined")),
    }


CASES = [
    # command, argv (with {right} {wrong} {bad} {nowhere}), expected exit code
    ("check", ["check", "{right}"], 0),
    ("check", ["check", "{wrong}"], 1),
    ("check", ["check", "{right}", "--points", "0"], 2),
    ("check", ["check", "{right}", "--points", "1000000000"], 2),
    ("check", ["check", "{bad}"], 3),
    ("check", ["check", "{right}", "--output", "{nowhere}"], 4),
    ("lint", ["lint", "{right}"], 0),
    ("lint", ["lint", "{wrong}"], 1),
    ("lint", ["lint", "{right}", "--format", "yaml"], 2),
    ("lint", ["lint", "{bad}"], 3),
    ("lint", ["lint", "{right}", "--output", "{nowhere}"], 4),
    ("grade", ["grade", "{right}", "--question", "q", "--answer", "2x(wx-y)"], 0),
    ("grade", ["grade", "{right}", "--question", "q", "--answer", "-2x(wx-y)"], 1),
    ("grade", ["grade", "{right}", "--question", "q", "--answer", "2x(("], 2),
    ("grade", ["grade", "{right}", "--question", "q", "--answer", "x", "--time-limit", "inf"], 2),
    ("grade", ["grade", "{right}", "--question", "q", "--answer", "x", "--time-limit", "1e300"], 2),
    ("grade", ["grade", "{bad}", "--question", "q", "--answer", "x"], 3),
    ("grade", ["grade", "{undefined}", "--question", "q", "--answer", "x"], 3),
    ("grade", ["grade", "{right}", "--question", "q", "--answer", "x", "--output", "{nowhere}"], 4),
    ("verify", ["verify", "--function", "x^2", "--wrt", "x", "--answer", "2x"], 0),
    ("verify", ["verify", "--function", "x^2", "--wrt", "x", "--answer", "-2x"], 1),
    ("verify", ["verify", "--function", "x^2", "--wrt", "x", "--answer", "2x",
                "--points", "100000000"], 2),
    ("explain", ["explain", "{right}", "--question", "q"], 0),
    ("explain", ["explain", "{right}", "--question", "nope"], 2),
    ("explain", ["explain", "{bad}", "--question", "q"], 3),
]


@pytest.mark.parametrize("command, argv, code", CASES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_exit_code(files: dict[str, str], command: str, argv: list[str], code: int,
                   capsys: pytest.CaptureFixture[str]) -> None:
    assert _run([a.format(**files) for a in argv]) == code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    if code >= 2:  # a reason is given (lint lists its findings on stdout)
        assert captured.err.startswith(("gradcheck: error:", "usage:")) or captured.out


# ---- 5: internal errors ----------------------------------------------------------------


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a planted bug")


INTERNAL = [
    ("check", checks, "check_target", ["check", "{right}"], ["'right'", "'q'"]),
    ("lint", linting, "lint_problem", ["lint", "{right}"], ["'right'"]),
    ("explain", explanation, "local_gradients", ["explain", "{right}", "--question", "q"],
     ["'right'", "'q'"]),
    ("grade", grading, "grade", ["grade", "{right}", "--question", "q", "--answer", "x"],
     ["'right'", "'q'"]),
    ("verify", verification, "grade", ["verify", "--function", "x^2", "--wrt", "x",
                                       "--answer", "2x"], ["'x^2'"]),
]


@pytest.mark.parametrize("command, module, name, argv, names", INTERNAL,
                         ids=[c[0] for c in INTERNAL])
def test_an_unexpected_exception_is_an_internal_error(
        files: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        command: str, module: object, name: str, argv: list[str], names: list[str]) -> None:
    monkeypatch.delenv("GRADCHECK_DEBUG", raising=False)
    monkeypatch.setattr(module, name, _boom)
    assert _run([a.format(**files) for a in argv]) == 5
    captured = capsys.readouterr()
    text = captured.err + captured.out
    assert "internal error" in text and "a planted bug" in text
    assert all(n in text for n in names), text
    assert "Traceback" not in captured.err


def test_debug_shows_the_traceback(files: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(checks, "check_target", _boom)
    assert _run(["--debug", "check", files["right"]]) == 5
    assert "Traceback" in capsys.readouterr().err
    assert _run(["check", files["right"], "--debug"]) == 5
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("GRADCHECK_DEBUG", "1")
    assert _run(["check", files["right"]]) == 5
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a planted bug" in err


def test_a_bug_costs_one_row_of_a_batch(files: dict[str, str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    real = grading.grade

    def buggy(problem, question_id, answer, **kwargs):  # type: ignore[no-untyped-def]
        if answer == "boom":
            raise ZeroDivisionError("planted")
        return real(problem, question_id, answer, **kwargs)

    monkeypatch.setattr(batch, "_default_grader", lambda: buggy)
    path = tmp_path / "answers.csv"
    path.write_text("student,problem,question,answer\n"
                    "ada,right,q,2x(wx-y)\nbob,right,q,boom\ncy,right,q,-2x(wx-y)\n")
    code = _run(["grade", "--bank", files["right"], "--submissions", str(path),
                 "--format", "json"])
    assert code == 5
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [(r["student"], r["verdict"], r["diagnosis"]) for r in rows] == [
        ("ada", "pass", None), ("bob", "error", "internal-error"), ("cy", "fail", "sign")]
    assert "'right'" in rows[1]["feedback"] and "'q'" in rows[1]["feedback"]
    report = batch.grade_batch([], [], grader=buggy)
    assert report.results == ()
