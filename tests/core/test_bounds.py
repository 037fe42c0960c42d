"""Bounds on what a command may be asked for, and the work a function may cost (issue 14)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gradcheck.bounded import MAX_POINTS, MAX_TIME_LIMIT, Overrun, run_bounded
from gradcheck.cli import main
from gradcheck.errors import UsageError
from gradcheck.explanation import explain, render_explanation
from gradcheck.loader import load_problem
from gradcheck.verification import verify


def test_verify_stops_a_function_that_never_finishes() -> None:
    start = time.monotonic()
    with pytest.raises(UsageError, match="preparing the function .* took longer than 1 s"):
        verify("floor(exp(10^9))*x", "x", "2x", time_limit=1.0)
    assert time.monotonic() - start < 1.0 + 1.0 + 2.0  # the limit, the start-up grace, slack


def test_verify_stops_an_answer_that_never_finishes() -> None:
    start = time.monotonic()
    result = verify("x^2", "x", "floor(exp(10^9))*x", time_limit=1.0)
    assert result.verdict == "invalid" and "took longer than" in result.feedback
    assert time.monotonic() - start < 2 * 1.0 + 1.0 + 2.0


@pytest.mark.parametrize("kwargs, words", [
    ({"points": MAX_POINTS + 1}, "points must be between 1 and 100000"),
    ({"points": 0}, "points must be between 1"),
    ({"time_limit": float("inf")}, "at most 3600"),
    ({"time_limit": 1e300}, "at most 3600"),
    ({"time_limit": float("nan")}, "positive number"),
    ({"time_limit": MAX_TIME_LIMIT + 1}, "at most 3600"),
])
def test_verify_refuses_unbounded_options(kwargs: dict[str, float], words: str) -> None:
    with pytest.raises(UsageError, match=words):
        verify("x^2", "x", "2x", **kwargs)  # type: ignore[arg-type]


def test_an_error_about_the_answer_does_not_name_the_function() -> None:
    result = verify("x^2", "x", "y" * (10**6 + 1))
    assert result.verdict == "invalid" and "--function" not in result.feedback


@pytest.mark.parametrize("argv", [
    ["verify", "--function", "x^2", "--wrt", "x", "--answer", "2x", "--points", "1000000000"],
    ["check", "problems/seeds/linear-regression.toml", "--points", "100000000"],
    ["grade", "problems/seeds/linear-regression.toml", "--question", "dloss_dw", "--answer", "x",
     "--time-limit", "inf"],
], ids=["verify-points", "check-points", "grade-time-limit"])
def test_cli_refuses_unbounded_options_at_once(argv: list[str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - start < 5
    err = capsys.readouterr().err
    assert err.startswith("gradcheck: error: --") and err.count("\n") == 1


def test_cli_verify_takes_a_negative_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--function", "x^2", "--wrt", "x", "--answer", "-2x"]) == 1
    assert "understood as: -2*x" in capsys.readouterr().out


def test_run_bounded_relays_results_errors_and_overruns() -> None:
    assert run_bounded(lambda mark: 6 * 7, 5.0) == 42
    with pytest.raises(UsageError, match="planted"):
        run_bounded(lambda mark: (_ for _ in ()).throw(UsageError("planted")), 5.0)

    def slow(mark) -> None:  # type: ignore[no-untyped-def]
        mark("first")
        mark("second")
        while True:
            pass

    with pytest.raises(Overrun) as info:
        run_bounded(slow, 0.2, stages=2)
    assert info.value.stage == "second"


PROBLEM = """\
id = "{stem}"
title = "a stage that jumps or is undefined at the point"
[symbols.x]
value = {value}
domain = [0.5, 2]
[graph]
s = "{stage}"
out = "s*x"
[[questions]]
id = "q"
of = "out"
wrt = "x"
answer = "0"
"""


@pytest.mark.parametrize("stage, value, shown", [
    ("Heaviside(x)", 0, "d s / d x = DiracDelta(x)  = undefined (DiracDelta(0))"),
    ("sign(x)", 0, "d s / d x = 2*DiracDelta(x)  = undefined ("),
    ("sqrt(x)", 0, "d s / d x = 1/(2*sqrt(x))  = undefined (infinite"),
    ("log(x - 1)", 1, "s = log(x - 1)  = undefined (infinite"),
], ids=["heaviside", "sign", "sqrt", "log"])
def test_explain_shows_undefined_values(stage: str, value: int, shown: str, tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(PROBLEM.format(stem="p", value=value, stage=stage), encoding="utf-8")
    text = render_explanation(explain(load_problem(path), "q"))
    assert shown in text


def test_a_timer_that_fires_inside_a_finalizer_is_not_lost() -> None:
    # An exception raised inside __del__ (or a weakref callback) is "ignored" by Python: a
    # Timeout raised there would be dropped and the block would run on without a budget.
    import sys
    import time

    from gradcheck.deadline import Timeout, deadline

    dropped: list[object] = []

    def busy(seconds: float) -> None:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            pass

    class Slow:
        def __del__(self) -> None:
            busy(0.03)  # the 0.01 s alarm lands in here

    old = sys.unraisablehook
    sys.unraisablehook = dropped.append
    rounds = 0
    try:
        with pytest.raises(Timeout), deadline(0.01):
            while rounds < 100:  # 6 s: far past the 0.01 s budget
                Slow()
                busy(0.03)
                rounds += 1
    finally:
        sys.unraisablehook = old
    assert not dropped and rounds < 5
