"""``gradcheck grade``: one answer, a batch, every format, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradcheck import batch
from gradcheck.cli import main
from gradcheck.problem import Problem
from gradcheck.verdict import GradeResult

ROOT = Path(__file__).parents[2]
BANK = str(ROOT / "problems")
LR_FILE = str(ROOT / "problems" / "seeds" / "linear-regression.toml")
LR = "linear-regression"


def fake_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
               points: int = 20, time_limit: float = 2.0) -> GradeResult:
    ok = answer == "x"
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass" if ok else "fail", feedback="ok" if ok else "no",
                       understood_as=answer, expected="x")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "_default_grader", lambda: fake_grade)


def answers(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "answers.csv"
    path.write_text("student,problem,question,answer\n" + "".join(r + "\n" for r in rows),
                    encoding="utf-8")
    return str(path)


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--submissions answers.csv --format html --output report.html" in out
    assert "--exit-zero" in out and "exit codes" in out


@pytest.mark.usefixtures("fake")
def test_batch_all_pass_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = answers(tmp_path, f"ada,{LR},dyhat_dw,x", f"bob,{LR},dyhat_dw,x")
    assert main(["grade", "--bank", BANK, "--submissions", path]) == 0
    captured = capsys.readouterr()
    assert "2 rows: 2 pass, 0 fail, 0 invalid, 0 error" in captured.out
    assert captured.err == ""   # no progress bar when stderr is not a terminal


@pytest.mark.usefixtures("fake")
def test_batch_with_a_failure_exits_1_unless_exit_zero(tmp_path: Path) -> None:
    path = answers(tmp_path, f"ada,{LR},dyhat_dw,x", f"bob,{LR},dyhat_dw,y", "cy,nope,q,x")
    assert main(["grade", "--bank", BANK, "--submissions", path, "--format", "csv"]) == 1
    assert main(["grade", "--bank", BANK, "--submissions", path, "--exit-zero"]) == 0


@pytest.mark.usefixtures("fake")
def test_batch_json_to_stdout_and_html_to_a_file(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = answers(tmp_path, f"ada,{LR},dyhat_dw,x", f"<b>eve</b>,{LR},dyhat_dw,<i>y")
    args = ["grade", "--bank", BANK, "--submissions", path, "--seed", "4", "--workers", "0"]
    assert main([*args, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["seed"] == 4 and data["counts"]["fail"] == 1
    report = tmp_path / "report.html"
    assert main([*args, "--format", "html", "--output", str(report)]) == 1
    page = report.read_text(encoding="utf-8")
    assert "&lt;b&gt;eve&lt;/b&gt;" in page and "<b>eve" not in page
    assert capsys.readouterr().out == ""


@pytest.mark.usefixtures("fake")
def test_jsonl_submissions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text(json.dumps({"student": "ada", "problem": LR, "question": "dyhat_dw",
                                "answer": "x"}) + "\n{oops\n", encoding="utf-8")
    assert main(["grade", "--bank", BANK, "--submissions", str(path)]) == 1
    assert "1 pass, 0 fail, 0 invalid, 1 error" in capsys.readouterr().out


USAGE_ERRORS = {
    "nothing": [],
    "problem-and-bank": [LR_FILE, "--question", "dloss_dw", "--answer", "x", "--bank", BANK],
    "problem-without-answer": [LR_FILE, "--question", "dloss_dw"],
    "bank-without-submissions": ["--bank", BANK],
    "unknown-question": [LR_FILE, "--question", "nope", "--answer", "x"],
    "missing-problem-file": ["no/such.toml", "--question", "q", "--answer", "x"],
    "missing-bank": ["--bank", "no/such/folder", "--submissions", LR_FILE],
    "missing-submissions": ["--bank", BANK, "--submissions", "no/such.csv"],
    "submissions-is-a-folder": ["--bank", BANK, "--submissions", BANK],
    "submissions-without-header": ["--bank", BANK, "--submissions", LR_FILE],
    "negative-workers": ["--bank", BANK, "--submissions", LR_FILE, "--workers", "-1"],
    "zero-time-limit": ["--bank", BANK, "--submissions", LR_FILE, "--time-limit", "0"],
}


@pytest.mark.parametrize("args", USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradcheck: error: ")


def test_bad_option_value_is_an_argparse_error_exit_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "--bank", BANK, "--submissions", "a.csv", "--format", "pdf"])
    assert exit_info.value.code == 2


def test_bad_problem_file_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "bad"\n[symbols.x]\nvalue = "one"\n', encoding="utf-8")
    path = answers(tmp_path, "ada,bad,q,x")
    assert main(["grade", "--bank", str(tmp_path), "--submissions", path]) == 3
    assert main(["grade", str(bad), "--question", "q", "--answer", "x"]) == 3
    assert "bad.toml" in capsys.readouterr().err


# ---- with the real grader ------------------------------------------------------------


def test_one_answer_pass_and_fail(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("gradcheck.grading")
    assert main(["grade", LR_FILE, "--question", "dloss_dw", "--answer", "2x(wx-y)"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("verdict:       PASS") and "understood as:" in out
    assert main(["grade", LR_FILE, "--question", "dloss_dw", "--answer=-2x(wx-y)"]) == 1
    out = capsys.readouterr().out
    assert "FAIL (sign)" in out and "evidence:" in out


def test_one_hostile_answer_is_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("gradcheck.grading")
    assert main(["grade", LR_FILE, "--question", "dloss_dw",
                 "--answer", "__import__('os').system('echo pwned')"]) == 2  # unreadable
    out = capsys.readouterr().out
    assert out.startswith("verdict:       INVALID") and "pwned\n" not in out.split("answer:")[0]


def test_real_batch_json_is_byte_identical(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("gradcheck.grading")
    path = answers(tmp_path, f"ada,{LR},dloss_dw,2x(wx-y)", f"bob,{LR},dloss_dw,x(wx-y)",
                   f"cy,{LR},dloss_dw_value,-2", f"dan,{LR},dloss_dw,9**9**9**9")
    args = ["grade", "--bank", BANK, "--submissions", path, "--format", "json"]
    assert main(args) == 1
    first = capsys.readouterr().out
    assert main([*args, "--workers", "2"]) == 1
    assert capsys.readouterr().out == first
    verdicts = [r["verdict"] for r in json.loads(first)["results"]]
    assert verdicts == ["pass", "fail", "pass", "invalid"]


@pytest.mark.usefixtures("fake")
def test_progress_on_a_terminal_goes_to_stderr_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = answers(tmp_path, f"ada,{LR},dyhat_dw,x", f"bob,{LR},dyhat_dw,x")
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["grade", "--bank", BANK, "--submissions", path, "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["counts"]["pass"] == 2
    assert "grading: 100%" in captured.err and "2/2" in captured.err  # tqdm: count,
    assert "row/s" in captured.err or "s/row" in captured.err         # rate,
    assert "<00:00" in captured.err                                    # and time left


@pytest.mark.usefixtures("fake")
@pytest.mark.parametrize(("out_tty", "quiet"), [(False, False), (True, True)],
                         ids=["stdout-not-a-terminal", "quiet"])
def test_no_progress_bar_when_piped_or_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], out_tty: bool,
                                             quiet: bool) -> None:
    path = answers(tmp_path, f"ada,{LR},dyhat_dw,x")
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: out_tty)
    args = ["grade", "--bank", BANK, "--submissions", path, "--format", "csv"]
    assert main(args + ["--quiet"] * quiet) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.usefixtures("fake")
def test_split_by_student_writes_a_page_each(tmp_path: Path) -> None:
    path = answers(tmp_path, f"ada,{LR},dyhat_dw,x", f"bob,{LR},dyhat_dw,<b>y</b>",
                   f"ada,{LR},dloss_dw,x")
    out = tmp_path / "pages"
    assert main(["grade", "--bank", BANK, "--submissions", path, "--format", "html",
                 "--split-by", "student", "--output", str(out)]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["ada.html", "bob.html", "index.html"]
    ada = (out / "ada.html").read_text(encoding="utf-8")
    assert ada.count('<article class="row') == 2 and "bob" not in ada
    bob = (out / "bob.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;y&lt;/b&gt;" in bob and "<b>y" not in bob


@pytest.mark.parametrize("extra", [[], ["--format", "csv"], ["--format", "html"]],
                         ids=["no-format", "csv", "html-without-output"])
def test_split_by_needs_html_and_a_folder(tmp_path: Path, extra: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = answers(tmp_path, f"ada,{LR},dyhat_dw,x")
    assert main(["grade", "--bank", BANK, "--submissions", path, "--split-by", "student",
                 *extra]) == 2
    assert "--split-by student" in capsys.readouterr().err


@pytest.mark.usefixtures("fake")
def test_attempts_reach_the_gradebook(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = answers(tmp_path, f"ada,{LR},dyhat_dw,x", f"ada,{LR},dyhat_dw,y")
    base = ["grade", "--bank", BANK, "--submissions", path, "--exit-zero"]
    for attempts, earned in (("best", "1"), ("first", "1"), ("last", "0")):
        assert main([*base, "--format", "csv", "--attempts", attempts]) == 0
        rows = [line.split(",") for line in capsys.readouterr().out.splitlines()]
        assert rows[1][rows[0].index(f"{LR}/dyhat_dw")] == earned, attempts


@pytest.mark.usefixtures("fake")
@pytest.mark.parametrize("fmt", ["csv", "junit"])
def test_malformed_lines_add_no_student_or_question(tmp_path: Path, fmt: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = answers(tmp_path, f"ada,{LR},dyhat_dw,x", "bad,line,with,too,many,fields",
                   'cy,p,q,"unbalanced')
    assert main(["grade", "--bank", BANK, "--submissions", path, "--format", fmt]) == 1
    out = capsys.readouterr().out
    if fmt == "csv":
        rows = [line.split(",") for line in out.splitlines()]
        assert [row[0] for row in rows] == ["student", "ada", "(unreadable row 2)",
                                            "(unreadable row 3)"]  # no line dropped
        assert rows[1][rows[0].index(f"{LR}/dyhat_dw")] == "1" and rows[1][-3] == "1"
    else:  # the line's text is in the error's body, its fields name no suite or case
        assert out.count("<testsuite ") == 2 and 'name="(unreadable rows)"' in out
        assert 'name="line"' not in out and "bad with" not in out
        assert 'name="row 2 (unreadable)"' in out and 'name="row 3 (unreadable)"' in out


def test_verbose_text_shows_the_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = answers(tmp_path, f"ada,{LR},dloss_dw,2x(wx-y)")
    base = ["grade", "--bank", LR_FILE, "--submissions", path]
    assert main(base) == 0
    assert "at x=1" not in capsys.readouterr().out
    assert main([*base, "--verbose"]) == 0
    # by hand: 2*x*(w*x - y) at x=1, y=2, w=1 is 2*(1 - 2) = -2
    assert "at x=1, y=2, w=1: got -2, expected -2, error 0 (agrees)" in capsys.readouterr().out
