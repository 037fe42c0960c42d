"""Hostile problem files: each one a clear one-line error with its documented exit code.

Every file goes through ``check``, ``lint``, ``grade`` (one answer) and ``explain``, in
process (``main``): an exception escaping ``main`` fails the test, and pytest turns any
warning (numpy's overflow RuntimeWarning included) into an error.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from gradcheck import loader
from gradcheck.cli import main

BASE = """\
id = "{stem}"
title = "linear regression"
[symbols.x]
value = 1.0
[symbols.y]
value = 2.0
[symbols.w]
value = 1.0
[graph]
y_hat = "w*x"
s = "y_hat - y"
loss = "s**2"
[[questions]]
id = "q"
of = "loss"
wrt = "w"
answer = "2*x*(w*x - y)"
"""


def base(stem: str) -> str:
    return BASE.format(stem=stem)


def swap(old: str, new: str) -> Callable[[str], str]:
    def make(stem: str) -> str:
        text = base(stem)
        assert old in text
        return text.replace(old, new, 1)
    return make


def append(extra: str) -> Callable[[str], str]:
    return lambda stem: base(stem) + extra


def jump(stem: str) -> str:
    return (base(stem).replace("value = 2.0", "value = 1.0").replace('"s**2"', '"Heaviside(s)*s"')
            .replace('"2*x*(w*x - y)"', '"x*Heaviside(w*x - y)"'))


def soup(stem: str) -> bytes:
    return bytes(random.Random(7).randrange(256) for _ in range(3000))


# (id, contents from the file stem, exit code of check, of lint, of grade, of explain,
#  a fragment of the message)
BAD = 3
CASES: list[tuple[str, Callable[[str], str | bytes], int, int, int, int, str]] = [
    ("int-400-digits", swap("value = 1.0", "value = 1" + "0" * 400), BAD, BAD, BAD, BAD, "too large"),
    ("int-5000-digits", swap("value = 1.0", "value = " + "7" * 5000), BAD, BAD, BAD, BAD,
     "too many digits"),
    ("nested-arrays", append("deep = " + "[" * 10_000 + "]" * 10_000 + "\n"), BAD, BAD, BAD, BAD,
     "nested too deeply"),
    ("nested-tables", swap('title = "linear regression"',
                           'title = "t"\nz = ' + "{a=" * 10_000 + "1" + "}" * 10_000),
     BAD, BAD, BAD, BAD, "nested too deeply"),
    ("binary", soup, BAD, BAD, BAD, BAD, "not"),
    ("utf-16", lambda stem: base(stem).encode("utf-16"), BAD, BAD, BAD, BAD, "UTF-8"),
    ("empty", lambda stem: "", BAD, BAD, BAD, BAD, ""),
    ("comment-only", lambda stem: "# nothing here\n", BAD, BAD, BAD, BAD, ""),
    ("nul-byte", swap("linear regression", "linear\x00regression"), BAD, BAD, BAD, BAD, "TOML"),
    ("surrogate-escape", swap("linear regression", "\\ud800"), BAD, BAD, BAD, BAD, "TOML"),
    ("duplicate-key", append("[symbols.x]\nvalue = 2.0\n"), BAD, BAD, BAD, BAD, "TOML"),
    ("value-text", swap("value = 1.0", 'value = "abc"'), BAD, BAD, BAD, BAD, "number"),
    ("value-inf", swap("value = 1.0", "value = inf"), BAD, BAD, BAD, BAD, "finite"),
    ("value-nan", swap("value = 1.0", "value = nan"), BAD, BAD, BAD, BAD, "finite"),
    ("domain-reversed", swap("value = 1.0", "value = 1.0\ndomain = [2, 1]"), BAD, BAD, BAD, BAD,
     "domain"),
    ("domain-infinite", swap("value = 1.0", "value = 1.0\ndomain = [-inf, inf]"),
     BAD, BAD, BAD, BAD, "domain"),
    ("domain-text", swap("value = 1.0", 'value = 1.0\ndomain = "x"'), BAD, BAD, BAD, BAD, "domain"),
    ("domain-float-extremes", swap("[symbols.w]\nvalue = 1.0", "[symbols.w]\nvalue = 1.0\n"
                                   "domain = [-1e308, 1e308]"), BAD, 1, 0, 0, "overflows float64"),
    # (w*x - y)**2 overflows float64 at nearly every point: check and lint both refuse the
    # domain with the same words (check used to compare at the given point alone and pass)
    ("symbol-dunder", swap("[symbols.x]", "[symbols.__import__]"), BAD, BAD, BAD, BAD, "__import__"),
    ("stage-injection", swap('"w*x"', "\"__import__('os').system('touch {canary}/p1')\""),
     BAD, BAD, BAD, BAD, "graph.y_hat"),
    ("stage-open", swap('"w*x"', "\"open('{canary}/p2', 'w')\""), BAD, BAD, BAD, BAD, "graph.y_hat"),
    ("stage-exponent-bomb", swap('"s**2"', '"s**(10**10)"'), BAD, BAD, BAD, BAD, "exponent"),
    ("stage-slow", swap('"s**2"', '"floor(exp(10**9))*s"'), BAD, BAD, BAD, BAD, "took longer"),
    ("stage-parens", swap('"s**2"', '"' + "(" * 5000 + "s" + ")" * 5000 + '"'), BAD, BAD, BAD, BAD,
     "graph.loss"),
    ("stage-huge-text", swap('"s**2"', '"' + "s+" * 200_000 + 's"'), BAD, BAD, BAD, BAD,
     "graph.loss"),
    ("stage-cycle", swap('"w*x"', '"loss*x"'), BAD, BAD, BAD, BAD, "before it is defined"),
    ("wrt-unknown", swap('wrt = "w"', 'wrt = "nope"'), BAD, BAD, BAD, BAD, "nope"),
    ("of-unknown", swap('of = "loss"', 'of = "nope"'), BAD, BAD, BAD, BAD, "nope"),
    ("questions-not-a-list", lambda stem: base(stem).split("[[questions]]")[0] + "questions = 5\n",
     BAD, BAD, BAD, BAD, "questions"),
    ("no-questions", lambda stem: base(stem).split("[[questions]]")[0], BAD, BAD, BAD, BAD,
     "questions"),
    ("id-traversal", swap('id = "{stem}"'.format(stem="id-traversal"), 'id = "../../etc/passwd"'),
     BAD, BAD, BAD, BAD, "id"),
    ("answer-bomb", swap('answer = "2*x*(w*x - y)"', 'answer = "9**9**9**9"'), BAD, BAD, BAD, BAD,
     "answer"),
    ("tolerance-negative", append("[tolerance]\nrtol = -1.0\n"), BAD, BAD, BAD, BAD, "tolerance"),
    ("stage-jump", jump, BAD, 1, 1, 0, "undefined"),  # explain at s = 0, where it jumps
    ("stage-undefined-at-point", swap('"s**2"', '"sqrt(s + 1)"'), BAD, 1, BAD, 0, "undefined"),
]


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    folder = tmp_path / "canary"
    folder.mkdir()
    return folder


def write(tmp_path: Path, canary: Path, stem: str, make: Callable[[str], str | bytes]) -> Path:
    content = make(stem)
    path = tmp_path / f"{stem}.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.replace("{canary}", str(canary)).encode("utf-8", "surrogatepass"))
    return path


@pytest.mark.parametrize("stem, make, check, lint, grade, explain, fragment", CASES,
                         ids=[c[0] for c in CASES])
def test_hostile_problem_file(stem: str, make: Callable[[str], str | bytes], check: int, lint: int,
                              grade: int, explain: int, fragment: str, tmp_path: Path, canary: Path,
                              monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    if stem == "stage-slow":  # stopped sooner; the others keep the full budget (a loaded CI)
        monkeypatch.setattr(loader, "PARSE_SECONDS", 1.0)
    path = str(write(tmp_path, canary, stem, make))
    runs = [(["check", path, "--points", "5"], check),
            (["lint", path], lint),
            (["grade", path, "--question", "q", "--answer", "2x(wx-y)", "--points", "5"], grade),
            (["explain", path, "--question", "q"], explain)]
    for argv, code in runs:
        assert main(argv) == code, (argv[0], capsys.readouterr())
        captured = capsys.readouterr()
        text = captured.err + captured.out
        assert "Traceback" not in text
        if code == BAD:
            assert fragment in text, (argv[0], text[-500:])
            first_error = [line for line in captured.err.splitlines() if "error" in line]
            assert all(len(line) < 2000 for line in first_error)  # one readable line
    assert sorted(p.name for p in canary.iterdir()) == []
