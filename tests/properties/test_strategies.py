"""The strategies themselves: declared API, no Hypothesis in gradcheck, and they keep their word."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradcheck.strategies as strategies
from gradcheck.loader import load_problem
from gradcheck.strategies import equal_rewrites, expressions, perturbations, points
from tests.properties.helpers import SYMBOLS, X, Y

SEEDS = Path(__file__).resolve().parents[2] / "problems" / "seeds"
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
GRID = [sympy.Float(v) for v in np.linspace(-2.0, 2.0, 7)]


def values(expr: sympy.Expr) -> np.ndarray:
    """expr on a 7x7 grid of [-2, 2]^2 (exact SymPy evaluation, no lambdify)."""
    return np.array([[complex(sympy.sympify(expr).xreplace({X: a, Y: b}).evalf()) for b in GRID] for a in GRID])


def test_public_api_is_declared() -> None:
    public = {n for n in vars(strategies) if not n.startswith("_") and callable(getattr(strategies, n))
              and getattr(getattr(strategies, n), "__module__", "") == strategies.__name__}
    assert set(strategies.__all__) == public == {"points", "expressions", "equal_rewrites",
                                                 "perturbations", "small_perturbations",
                                                 "narrow_bumps"}


def test_importing_gradcheck_does_not_import_hypothesis() -> None:
    code = "import sys, gradcheck, gradcheck.cli; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@FAST
@given(points(load_problem(SEEDS / "linear-regression.toml")))
def test_points_lie_in_the_domains(point: dict[str, float]) -> None:
    assert list(point) == ["x", "y", "w"]
    assert all(-2.0 <= v <= 2.0 for v in point.values())


@FAST
@given(expressions(SYMBOLS))
def test_expressions_are_finite_with_finite_derivatives(expr: sympy.Expr) -> None:
    for e in (expr, sympy.diff(expr, X)):
        assert np.all(np.isfinite(values(e)))


@FAST
@given(expressions(SYMBOLS, max_depth=2).flatmap(lambda e: st.tuples(st.just(e), equal_rewrites(e))))
def test_equal_rewrites_are_equal(pair: tuple[sympy.Expr, sympy.Expr]) -> None:
    expr, rewrite = pair
    np.testing.assert_allclose(values(rewrite), values(expr), rtol=1e-9, atol=1e-9)


@FAST
@given(expressions(SYMBOLS, max_depth=2).flatmap(
    lambda e: st.tuples(st.just(e), perturbations(e, SYMBOLS))))
def test_perturbations_differ(pair: tuple[sympy.Expr, sympy.Expr]) -> None:
    expr, other = pair
    assert not np.allclose(values(other), values(expr), rtol=1e-6, atol=1e-9)


def test_bad_arguments_say_what_to_do() -> None:
    for call in (lambda: expressions([]), lambda: expressions(SYMBOLS, max_depth=-1)):
        try:
            call()
        except ValueError as exc:
            assert "expressions()" in str(exc) or "max_depth" in str(exc)
        else:
            raise AssertionError("no error")
