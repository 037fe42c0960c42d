"""Fuzzing the answer parser and the grader with Hypothesis.

On CI the examples are few, bounded and derandomized (the same strings every run, no
example database), so the suite stays fast and cannot flake. For a long hunt:

    python -m pytest tests/hostile/test_fuzz.py --hypothesis-profile=fuzz

which runs 20,000 examples per test from a fresh seed (a failure is saved in the local
example database and replayed first next time).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck.deadline import Timeout, deadline
from gradcheck.errors import ExpressionError
from gradcheck.grading import grade
from gradcheck.loader import load_problem
from gradcheck.parsing import parse_expression
from gradcheck.problem import sym
from tests.helpers import SEEDS

FUZZING = settings.default.max_examples >= 1000  # --hypothesis-profile=fuzz was given
CI = settings(max_examples=300, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
CHOSEN = settings.default if FUZZING else CI

NAMES = {n: sym(n) for n in ("x", "y", "w")}
TOKENS = ("x", "y", "w", "z", "wx", "xy", "2", "0", "1.5", "1e300", "10", "9", "(", ")", "(",
          ")", "+", "-", "*", "/", "^", "**", "!", "|", " ", ".", ",", "sin", "exp", "log",
          "sqrt", "tanh", "σ", "sigmoid", "relu", "abs", "ln", "pi", "e", "\\frac{", "}{", "}",
          "\\cdot", "·", "−", "²", "λ", "__", "import", "'", "[", "]", "=", "\x00", "\u200b")
TOKEN_SOUP = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)
ANSWERS = st.one_of(st.text(max_size=60), TOKEN_SOUP)


@pytest.fixture(scope="module")
def problem():  # type: ignore[no-untyped-def]
    return load_problem(SEEDS / "linear-regression.toml")


@CHOSEN
@given(ANSWERS)
def test_the_parser_reads_or_refuses(text: str) -> None:
    try:
        with deadline(5.0):
            parse_expression(text, NAMES, student=True)
    except ExpressionError as exc:
        assert exc.message  # a reason for the student
    except Timeout:
        pytest.fail(f"parsing {text!r} took longer than 5 s")


@CHOSEN
@given(answer=ANSWERS)
def test_the_grader_gives_a_verdict(problem, answer: str) -> None:  # type: ignore[no-untyped-def]
    result = grade(problem, "dloss_dw", answer, time_limit=1.0)
    assert result.verdict in ("pass", "fail", "invalid"), result.feedback
    assert result.answer == answer and result.feedback
