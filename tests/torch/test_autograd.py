"""torch autograd of compiled tapes against SymPy's derivatives, one batched call per case."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from gradcheck.backends import get_backend
from gradcheck.tape import build_tape

pytest.importorskip("torch")

x, y = sympy.symbols("x y", real=True)
E = sympy.exp
N_POINTS = 64

# (id, expression over x and y, x domain, y domain)
EXPRESSIONS = [
    ("polynomial", 3 * x**4 - 2 * x**2 * y + y**3 - 7, (-2, 2), (-2, 2)),
    ("rational", (x**2 + 1) / (x - 3) + y / (1 + x**2), (-2, 2), (-2, 2)),
    ("exp-log", E(x * y) + sympy.log(x**2 + y**2 + 1), (-2, 2), (-2, 2)),
    ("log-of-positive", sympy.log(x) * y, (0.1, 5), (-2, 2)),
    ("trig", sympy.sin(x) * sympy.cos(y) + sympy.tan(x / 2), (-2, 2), (-2, 2)),
    ("sec-csc-cot", sympy.sec(x) + sympy.csc(y) + sympy.cot(y), (-1.2, 1.2), (0.3, 2.8)),
    ("inverse-trig", sympy.asin(x / 3) + sympy.acos(y / 3) + sympy.atan(x * y), (-2, 2), (-2, 2)),
    ("atan2", sympy.atan2(y, x), (-2, 2), (-2, 2)),
    ("hyperbolic", sympy.sinh(x) * sympy.cosh(y) + sympy.tanh(x * y), (-2, 2), (-2, 2)),
    ("inverse-hyperbolic", sympy.asinh(x) + sympy.acosh(y) + sympy.atanh(x / 3), (-2, 2), (1.1, 4)),
    ("sqrt", sympy.sqrt(x**2 + y**2 + 1) + sympy.sqrt(x), (0.1, 4), (-2, 2)),
    ("power", x**y + 2**x, (0.2, 3), (-2, 2)),
    ("sigmoid", 1 / (1 + E(-x * y)), (-3, 3), (-3, 3)),
    ("softplus", sympy.log(1 + E(x)) * y, (-5, 5), (-2, 2)),
    ("log1p-expm1", sympy.log(1 + x) + E(y) - 1, (-0.9, 3), (-2, 2)),
    ("erf", sympy.erf(x * y) + sympy.erfc(x), (-2, 2), (-2, 2)),
    ("gamma", sympy.gamma(x) + sympy.loggamma(y), (0.2, 4), (0.2, 4)),
    ("abs", sympy.Abs(x) * y + sympy.Abs(x - y), (-2, 2), (-2, 2)),
    ("max-min", sympy.Max(x, 0) * y + sympy.Min(x, y, 1), (-2, 2), (-2, 2)),
    ("piecewise", sympy.Piecewise((x**2 * y, x < 0), (sympy.sin(x) * y, True)), (-2, 2), (-2, 2)),
    ("heaviside", sympy.Heaviside(x) * x * y, (-2, 2), (-2, 2)),
    ("sign", sympy.sign(x) * x**2 * y, (-2, 2), (-2, 2)),
    ("bessel-i-k", sympy.besseli(1, x) * y + sympy.besselk(0, x * y) + sympy.besselk(2, x),
     (0.3, 3), (0.5, 2)),
    ("special", sympy.erfinv(x / 3) * y + sympy.zeta(3, x) + sympy.polygamma(0, x * y)
     + sympy.lowergamma(sympy.Rational(7, 3), x) * y + sympy.uppergamma(sympy.Rational(4, 3), y),
     (0.3, 2.5), (0.5, 2)),
    ("mlp-chain", sympy.tanh(0.5 * x + 0.3 * sympy.tanh(1.2 * x - y)) ** 2, (-2, 2), (-2, 2)),
]
SMOOTH = {"polynomial", "rational", "exp-log", "trig", "inverse-trig", "hyperbolic", "sqrt",
          "power", "sigmoid", "softplus", "log1p-expm1", "erf", "gamma", "mlp-chain",
          "bessel-i-k", "special"}
WRT = [(0,), (1,)]
WRT2 = [(0, 0), (0, 1), (1, 1)]


def points(dx: tuple[float, float], dy: tuple[float, float]) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.column_stack([rng.uniform(*dx, N_POINTS), rng.uniform(*dy, N_POINTS)])


def symbolic(expr: sympy.Expr, wrt: tuple[int, ...], pts: np.ndarray) -> np.ndarray:
    derivative = sympy.diff(expr, *[(x, y)[i] for i in wrt])
    return get_backend("numpy").evaluate(build_tape([derivative], [x, y]), pts)[0]


def assert_autograd_matches(backend_name: str, expr: sympy.Expr, wrt: tuple[int, ...],
                            pts: np.ndarray, rtol: float = 1e-10) -> None:
    got = get_backend(backend_name).autograd(build_tape([expr], [x, y]), pts, 0, wrt)
    assert got.dtype == np.float64 and got.shape == (len(pts),)
    np.testing.assert_allclose(got, symbolic(expr, wrt, pts), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("wrt", WRT, ids=["d-dx", "d-dy"])
@pytest.mark.parametrize(("name", "expr", "dx", "dy"), EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_first_derivative_matches_sympy(name: str, expr: sympy.Expr, dx: tuple[float, float],
                                        dy: tuple[float, float], wrt: tuple[int, ...],
                                        backend_name: str) -> None:
    assert_autograd_matches(backend_name, expr, wrt, points(dx, dy))


@pytest.mark.parametrize("wrt", WRT2, ids=["d2-dx2", "d2-dxdy", "d2-dy2"])
@pytest.mark.parametrize(("name", "expr", "dx", "dy"),
                         [e for e in EXPRESSIONS if e[0] in SMOOTH],
                         ids=[e[0] for e in EXPRESSIONS if e[0] in SMOOTH])
def test_second_derivative_matches_sympy(name: str, expr: sympy.Expr, dx: tuple[float, float],
                                         dy: tuple[float, float], wrt: tuple[int, ...],
                                         backend_name: str) -> None:
    assert_autograd_matches(backend_name, expr, wrt, points(dx, dy), rtol=1e-9)


def test_a_constant_or_unused_input_has_zero_gradient(backend_name: str) -> None:
    pts = points((-2, 2), (-2, 2))
    backend = get_backend(backend_name)
    for expr in (sympy.Integer(3), sympy.sin(y), sympy.floor(x)):
        got = backend.autograd(build_tape([expr], [x, y]), pts, 0, (0,))
        np.testing.assert_array_equal(got, np.zeros(N_POINTS))


def test_autograd_in_float32_is_within_the_float32_tolerance(backend_name: str) -> None:
    expr = 1 / (1 + E(-x * y)) + sympy.log(1 + E(x))
    pts = points((-3, 3), (-3, 3)).astype(np.float32).astype(np.float64)
    got = get_backend(backend_name, "float32").autograd(build_tape([expr], [x, y]), pts, 0, (0,))
    np.testing.assert_allclose(got, symbolic(expr, (0,), pts), rtol=2e-3, atol=1e-4)
