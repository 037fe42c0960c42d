"""The grader on random questions: equal rewrites of the truth pass, perturbations do not."""

from __future__ import annotations

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck.strategies import (
    equal_rewrites,
    expressions,
    narrow_bumps,
    perturbations,
    small_perturbations,
)
from tests.properties.helpers import SYMBOLS, X, problem_for, text

grade = pytest.importorskip("gradcheck.grading").grade

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def with_truth(strategy: object) -> st.SearchStrategy[tuple[sympy.Expr, sympy.Expr]]:
    """(f, an answer built from d f / d x by ``strategy``)."""
    return expressions(SYMBOLS, max_depth=2).flatmap(
        lambda f: st.tuples(st.just(f), strategy(sympy.diff(f, X))))  # type: ignore[operator]


@SETTINGS
@given(with_truth(equal_rewrites))
def test_equal_rewrites_of_the_truth_are_accepted(case: tuple[sympy.Expr, sympy.Expr]) -> None:
    f, answer = case
    result = grade(problem_for(f), "df_dx", text(answer))
    assert result.verdict == "pass", (f, text(answer), result)


@SETTINGS
@given(with_truth(lambda d: perturbations(d, SYMBOLS)))
def test_perturbed_answers_are_rejected(case: tuple[sympy.Expr, sympy.Expr]) -> None:
    f, answer = case
    result = grade(problem_for(f), "df_dx", text(answer))
    assert result.verdict == "fail", (f, text(answer), result)



@SETTINGS
@given(with_truth(lambda d: small_perturbations(d, X)))
def test_small_perturbations_are_rejected(case: tuple[sympy.Expr, sympy.Expr]) -> None:
    # A narrow tent or a step inside the domain, a relative 1e-7 change, a term undefined
    # on part of the domain: each is a different function, so each must fail.
    f, answer = case
    result = grade(problem_for(f), "df_dx", text(answer))
    assert result.verdict == "fail", (f, text(answer), result)


@SETTINGS
@given(with_truth(lambda d: narrow_bumps(d, X)), st.integers(0, 49))
def test_narrow_smooth_bumps_are_rejected(case: tuple[sympy.Expr, sympy.Expr], seed: int) -> None:
    # Smooth, 1e-3 to 1e-6 wide: no random point lands on one, shown or secret; the
    # confirmation looks where the answer's own parts have a stationary argument.
    f, answer = case
    result = grade(problem_for(f), "df_dx", text(answer), seed=seed)
    assert result.verdict == "fail", (f, text(answer), seed, result)


BUMPS = ["cos(x) + exp(-1000000*(x - 3/10)**2)", "cos(x) + 1/(1 + 10**8*(x + 1.1)**2)",
         "cos(x) + sech(10**6*(x - 1.7))", "cos(x)*(1 + exp(-(1000*x - 300)**2))"]


@pytest.mark.slow
@pytest.mark.parametrize("answer", BUMPS)
def test_a_narrow_bump_fails_at_every_seed(answer: str) -> None:
    # The example: d/dx sin(x) on [-2, 2] with a bump 1e-3 wide or narrower.
    problem = problem_for(sympy.sin(X))
    passed = [seed for seed in range(50)
              if grade(problem, "df_dx", answer, seed=seed).verdict != "fail"]
    assert passed == []
