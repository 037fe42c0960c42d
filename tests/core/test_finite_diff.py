"""Finite differences against exact derivatives from sympy.diff (the oracle)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import sympy as sp

from gradcheck.errors import UsageError
from gradcheck.finite_diff import (
    METHODS,
    Derivative,
    central,
    complex_step,
    one_sided_disagree,
    richardson,
    second_derivative,
)

x, y, z = sp.symbols("x y z")
EPS = float(np.finfo(np.float64).eps)


def compile_expr(expr: sp.Expr, variables: list[sp.Symbol]) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised f(points) -> values of shape (n_points,), complex-capable."""
    fn = sp.lambdify(variables, expr, "numpy")

    def f(points: np.ndarray) -> np.ndarray:
        return np.asarray(fn(*points.T)) + 0 * points[:, 0]

    return f


@dataclass(frozen=True)
class Case:
    expr: sp.Expr
    variables: list[sp.Symbol]
    points: list[list[float]]


# Points avoid zeros of the derivatives, so relative error is meaningful everywhere.
CASES = {
    "cubic": Case(x**3 - 2 * x + 1, [x], [[-2.5], [0.3], [1.7], [40.0]]),
    "exp": Case(sp.exp(x), [x], [[-5.0], [0.0], [0.7], [6.0]]),
    "log-positive": Case(sp.log(x), [x], [[0.5], [1.0], [3.0], [250.0]]),
    "log-large-x": Case(sp.log(x), [x], [[1e8], [3.7e12]]),
    "sin": Case(sp.sin(x), [x], [[-2.0], [0.4], [3.0], [10.0]]),
    "sin-tiny-x": Case(sp.sin(x), [x], [[1e-10], [-3e-300], [0.0]]),
    "tanh": Case(sp.tanh(x), [x], [[-2.0], [0.0], [0.9], [3.0]]),
    "sqrt": Case(sp.sqrt(x), [x], [[0.6], [2.0], [1e6]]),
    "x-exp-minus-x2": Case(x * sp.exp(-(x**2)), [x], [[-1.5], [0.2], [1e-12], [2.0]]),
    "sigmoid": Case(1 / (1 + sp.exp(-x)), [x], [[-6.0], [0.0], [2.5]]),
    "two-vars": Case(sp.sin(x * y) + y**2, [x, y], [[0.3, 1.2], [-1.1, 0.4], [2.0, -0.7]]),
    "three-vars": Case(
        sp.exp(x * y / 3) * sp.cos(z) + x * z, [x, y, z], [[0.5, -1.0, 0.3], [1.5, 2.0, -1.0]]
    ),
}
# Per-method worst relative error allowed on the table: measured, with a margin.
TOLERANCE = {"central": 1e-6, "richardson": 1e-9, "complex-step": 1e-14}


def table_params() -> list:
    params = []
    for case_id, case in CASES.items():
        for var in range(len(case.variables)):
            for method in METHODS:
                params.append(pytest.param(case, var, method, id=f"{method}-{case_id}-var{var}"))
    return params


def exact_derivative(case: Case, var: int, points: np.ndarray) -> np.ndarray:
    return compile_expr(sp.diff(case.expr, case.variables[var]), case.variables)(points)


@pytest.mark.parametrize(("case", "var", "method"), table_params())
def test_first_derivative_matches_sympy(case: Case, var: int, method: str) -> None:
    points = np.array(case.points)
    exact = exact_derivative(case, var, points)
    got = METHODS[method](compile_expr(case.expr, case.variables), points, var)
    rel = np.abs(got.values - exact) / np.abs(exact)
    assert got.method == method
    assert got.values.shape == got.error.shape == got.steps.shape == (len(points),)
    assert np.all(got.steps > 0)
    assert np.all(np.isfinite(got.error)) and np.all(got.error >= 0)
    assert rel.max() < TOLERANCE[method], rel


@pytest.mark.parametrize(
    ("case", "var"),
    [
        pytest.param(c, v, id=f"{k}-var{v}")
        for k, c in CASES.items()
        for v in range(len(c.variables))
    ],
)
def test_richardson_error_estimate_is_honest(case: Case, var: int) -> None:
    points = np.array(case.points)
    got = richardson(compile_expr(case.expr, case.variables), points, var)
    true_error = np.abs(got.values - exact_derivative(case, var, points))
    assert np.all(true_error <= 10 * got.error)


def test_complex_step_error_is_the_documented_bound() -> None:
    points = np.array([[1.0], [-2.0]])
    got = complex_step(compile_expr(sp.exp(x), [x]), points, 0)
    scale = np.exp(points[:, 0]) / np.array([1.0, 2.0])
    np.testing.assert_allclose(got.error, 8 * EPS * (np.abs(got.values) + scale))


@pytest.mark.parametrize(
    ("case", "var"),
    [
        pytest.param(c, v, id=f"{k}-var{v}")
        for k, c in CASES.items()
        for v in range(len(c.variables))
    ],
)
def test_complex_step_error_estimate_is_honest(case: Case, var: int) -> None:
    # Not a strict bound: three-vars cancels in both f and f' (e*cos(-1) - 1.5), off by ~3x.
    points = np.array(case.points)
    got = complex_step(compile_expr(case.expr, case.variables), points, var)
    true_error = np.abs(got.values - exact_derivative(case, var, points))
    assert np.all(true_error <= 10 * got.error)


def test_steps_are_relative_to_x_and_exact() -> None:
    points = np.array([[0.1], [3.0], [-1e8]])
    scale = np.array([1.0, 3.0, 1e8])
    got = central(compile_expr(sp.sin(x), [x]), points, 0)
    np.testing.assert_allclose(got.steps, np.cbrt(EPS) * scale, rtol=1e-9)
    # The step is the one f saw: (x + h) - x is exact.
    np.testing.assert_array_equal((points[:, 0] + got.steps) - points[:, 0], got.steps)
    np.testing.assert_allclose(
        richardson(compile_expr(sp.sin(x), [x]), points, 0).steps, 0.05 * scale, rtol=1e-9
    )
    np.testing.assert_allclose(
        complex_step(compile_expr(sp.sin(x), [x]), points, 0).steps, 1e-20 * scale
    )


SECOND_CASES = {
    "x3y-mixed": (x**3 * y, (0, 1)),
    "x3y-xx": (x**3 * y, (0, 0)),
    "exp-sin-mixed": (sp.exp(x) * sp.sin(y), (1, 0)),
    "exp-sin-yy": (sp.exp(x) * sp.sin(y), (1, 1)),
    "log-xy-mixed": (sp.log(x * y + 3), (0, 1)),
    "tanh-x-plus-y2-xx": (sp.tanh(x + y**2), (0, 0)),
}


@pytest.mark.parametrize(("expr", "pair"), list(SECOND_CASES.values()), ids=list(SECOND_CASES))
def test_second_derivative_matches_sympy(expr: sp.Expr, pair: tuple[int, int]) -> None:
    points = np.array([[0.7, 1.3], [1.9, 0.4], [-0.6, 2.2]])
    variables = [x, y]
    exact = compile_expr(sp.diff(expr, variables[pair[0]], variables[pair[1]]), variables)(points)
    got = second_derivative(compile_expr(expr, variables), points, *pair)
    assert np.max(np.abs(got.values - exact) / np.abs(exact)) < 1e-8
    assert np.all(np.abs(got.values - exact) <= 10 * got.error)


KINKS = {
    "abs-at-0": (sp.Abs(x), [x], [0.0], 0),
    "max-x-0-at-0": (sp.Max(x, 0), [x], [0.0], 0),
    "abs-x-minus-1-at-1": (sp.Abs(x - 1), [x], [1.0], 0),
    "3-abs-xy-at-x-0": (3 * sp.Abs(x * y), [x, y], [0.0, 0.5], 0),
    "abs-at-0-large-slope": (1e6 * sp.Abs(x), [x], [0.0], 0),
}
NOT_KINKS = {
    "abs-away-from-0": (sp.Abs(x), [x], [0.5], 0),
    "max-x-0-away-from-0": (sp.Max(x, 0), [x], [-0.5], 0),
    "3-abs-xy-at-x-0-along-y": (3 * sp.Abs(x * y), [x, y], [0.0, 0.5], 1),
}


@pytest.mark.parametrize(("expr", "variables", "point", "var"), KINKS.values(), ids=list(KINKS))
def test_kink_is_flagged(expr, variables, point, var) -> None:
    f = compile_expr(expr, variables)
    assert one_sided_disagree(f, np.array([point]), var, rtol=1e-3).tolist() == [True]


@pytest.mark.parametrize(
    ("expr", "variables", "point", "var"), NOT_KINKS.values(), ids=list(NOT_KINKS)
)
def test_smooth_point_of_kinked_function_is_not_flagged(expr, variables, point, var) -> None:
    f = compile_expr(expr, variables)
    assert one_sided_disagree(f, np.array([point]), var, rtol=1e-3).tolist() == [False]


@pytest.mark.parametrize(
    "expr", [sp.exp(3 * x), x**4, sp.sin(10 * x)], ids=["exp-3x", "x4", "sin-10x"]
)
@pytest.mark.parametrize("rtol", [1e-3, 1e-6])
def test_large_curvature_is_not_a_kink(expr: sp.Expr, rtol: float) -> None:
    points = np.random.default_rng(7).uniform(-2, 2, size=(2000, 1))
    assert not one_sided_disagree(compile_expr(expr, [x]), points, 0, rtol=rtol).any()


@pytest.mark.parametrize("method", list(METHODS))
def test_nan_where_f_is_undefined_without_warnings(method: str) -> None:
    points = np.array([[-1.0], [2.0], [0.0]])
    got = METHODS[method](compile_expr(sp.log(x), [x]), points, 0)
    assert np.isnan(got.values[[0, 2]]).all() and np.isnan(got.error[[0, 2]]).all()
    assert abs(got.values[1] - 0.5) < 1e-6


def test_richardson_stencil_crossing_a_domain_edge_is_nan() -> None:
    # Documented limitation: the initial step 0.05 reaches x - 0.05 < 0.
    got = richardson(compile_expr(sp.log(x), [x]), np.array([[0.01]]), 0)
    assert np.isnan(got.values[0])


def test_one_sided_disagree_does_not_flag_undefined_points() -> None:
    f = compile_expr(sp.log(x), [x])
    assert one_sided_disagree(f, np.array([[-1.0], [0.0]]), 0, rtol=1e-3).tolist() == [False] * 2


class CountingFn:
    """Wraps f and records how often, and with how many points, it was called."""

    def __init__(self, f: Callable[[np.ndarray], np.ndarray]) -> None:
        self.f = f
        self.sizes: list[int] = []

    def __call__(self, points: np.ndarray) -> np.ndarray:
        self.sizes.append(len(points))
        return self.f(points)


ESTIMATORS = {
    "central": (lambda f, p: central(f, p, 1), 2),
    "richardson": (lambda f, p: richardson(f, p, 1, levels=6), 12),
    "complex-step": (lambda f, p: complex_step(f, p, 1), 2),
    "second-derivative": (lambda f, p: second_derivative(f, p, 0, 1, levels=6), 24),
    "one-sided-disagree": (lambda f, p: one_sided_disagree(f, p, 1, rtol=1e-3), 5),
}


@pytest.mark.parametrize(("estimate", "per_point"), ESTIMATORS.values(), ids=list(ESTIMATORS))
def test_f_is_called_once_on_all_points(estimate, per_point: int) -> None:
    f = CountingFn(compile_expr(sp.exp(x) * sp.cos(y), [x, y]))
    points = np.random.default_rng(0).uniform(-1, 1, size=(1000, 2))
    estimate(f, points)
    assert f.sizes == [per_point * 1000]


def test_complex_step_passes_complex_points() -> None:
    seen: list[np.dtype] = []

    def f(points: np.ndarray) -> np.ndarray:
        seen.append(points.dtype)
        return points[:, 0] ** 2

    complex_step(f, np.array([[1.0]]), 0)
    assert seen == [np.dtype(np.complex128)]


def test_complex_step_on_a_branch_cut_is_nan() -> None:
    # log(-1 + ih) is finite in complex arithmetic (i*pi), but the real function is undefined.
    got = complex_step(compile_expr(sp.sqrt(x) + sp.log(x), [x]), np.array([[-1.0], [4.0]]), 0)
    assert np.isnan(got.values[0]) and abs(got.values[1] - 0.5) < 1e-15


def test_methods_table() -> None:
    assert list(METHODS) == ["central", "richardson", "complex-step"]
    for name, method in METHODS.items():
        got = method(compile_expr(x**2, [x]), np.array([[1.0]]), 0)
        assert isinstance(got, Derivative) and got.method == name


def _real_only(points: np.ndarray) -> np.ndarray:
    return np.real(points[:, 0]) ** 2


def _wrong_shape(points: np.ndarray) -> np.ndarray:
    return points


BAD_INPUTS = {
    "points-1d": (lambda: central(_real_only, np.array([1.0, 2.0]), 0), "2-D"),
    "var-out-of-range": (lambda: central(_real_only, np.ones((3, 2)), 2), "out of range"),
    "negative-var": (lambda: richardson(_real_only, np.ones((3, 2)), -1), "out of range"),
    "complex-points": (lambda: central(_real_only, np.ones((2, 1), complex), 0), "real"),
    "one-level": (lambda: richardson(_real_only, np.ones((2, 1)), 0, levels=1), "levels"),
    "f-wrong-shape": (lambda: central(_wrong_shape, np.ones((2, 2)), 0), "shape"),
    "complex-step-real-f": (lambda: complex_step(_real_only, np.ones((2, 1)), 0), "complex"),
}


@pytest.mark.parametrize(("call", "message"), BAD_INPUTS.values(), ids=list(BAD_INPUTS))
def test_bad_input_raises_usage_error(call, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        call()
