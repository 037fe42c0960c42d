"""One or more expressions per row of the op registry, with the domains they are drawn from.

Shared by tests/core/test_ops.py (numpy, no torch needed) and tests/torch/test_ops.py.
The oracle is SymPy's evalf at 30 digits (mpmath), independent of both backends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

x, y = sympy.symbols("x y", real=True)
N_POINTS = 16
POS = (0.1, 4.0)


@dataclass(frozen=True)
class Case:
    """An expression that uses ``op``, where both its inputs are drawn from.

    rtol: the float64 tolerance against the oracle, looser only where a backend says why.
    """

    op: str
    expr: sympy.Basic
    x: tuple[float, float] = (-2.0, 2.0)
    y: tuple[float, float] = (-2.0, 2.0)
    oracle: sympy.Basic | None = None
    rtol: float = 1e-12


CASES = [
    Case("add", x + y), Case("mul", x * y), Case("neg", -x), Case("reciprocal", 1 / x, x=POS),
    Case("powi", x**3), Case("powi", x**-2, x=POS), Case("pow", x**y, x=POS),
    Case("pow", 2**x), Case("sqrt", sympy.sqrt(x), x=POS),
    Case("exp", sympy.exp(x)), Case("log", sympy.log(x), x=POS),
    Case("sin", sympy.sin(x)), Case("cos", sympy.cos(x)), Case("tan", sympy.tan(x), x=(-1.3, 1.3)),
    Case("sec", sympy.sec(x), x=(-1.3, 1.3)), Case("csc", sympy.csc(x), x=(0.2, 3.0)),
    Case("cot", sympy.cot(x), x=(0.2, 3.0)),
    Case("asin", sympy.asin(x), x=(-0.95, 0.95)), Case("acos", sympy.acos(x), x=(-0.95, 0.95)),
    Case("atan", sympy.atan(x)), Case("atan2", sympy.atan2(y, x)),
    Case("acot", sympy.acot(x), x=(-3.0, 3.0)), Case("asec", sympy.asec(x), x=(1.1, 4.0)),
    Case("asec", sympy.asec(x), x=(-4.0, -1.1)), Case("acsc", sympy.acsc(x), x=(-4.0, -1.1)),
    Case("acsc", sympy.acsc(x), x=(1.1, 4.0)), Case("sinc", sympy.sinc(x), x=(-3.0, 3.0)),
    Case("acoth", sympy.acoth(x), x=(1.1, 4.0)), Case("acoth", sympy.acoth(x), x=(-4.0, -1.1)),
    Case("asech", sympy.asech(x), x=(0.1, 0.95)), Case("acsch", sympy.acsch(x), x=(-3.0, 3.0)),
    Case("sinh", sympy.sinh(x)), Case("cosh", sympy.cosh(x)), Case("tanh", sympy.tanh(x)),
    Case("sech", sympy.sech(x)), Case("csch", sympy.csch(x), x=(0.2, 3.0)),
    Case("coth", sympy.coth(x), x=(0.2, 3.0)), Case("coth", sympy.coth(x), x=(-3.0, -0.2)),
    Case("asinh", sympy.asinh(x)), Case("acosh", sympy.acosh(x), x=(1.1, 5.0)),
    Case("atanh", sympy.atanh(x), x=(-0.9, 0.9)),
    Case("abs", sympy.Abs(x)), Case("sign", sympy.sign(x)),
    Case("max", sympy.Max(x, y, sympy.Rational(1, 2))), Case("min", sympy.Min(x, y, 0)),
    Case("heaviside", sympy.Heaviside(x)), Case("heaviside", x * sympy.Heaviside(x, 1)),
    Case("diracdelta", sympy.DiracDelta(x)),
    Case("erf", sympy.erf(x)), Case("erfc", sympy.erfc(x)), Case("erf", sympy.erf(sympy.sqrt(2) * x)),
    Case("erfinv", sympy.erfinv(x), x=(-0.95, 0.95)),
    # SymPy 1.14 cannot evalf erfcinv: the oracle is erfinv(1 - x) at 30 digits
    Case("erfcinv", sympy.erfcinv(x), x=(0.05, 1.95), oracle=sympy.erfinv(1 - x), rtol=1e-10),
    Case("gamma", sympy.gamma(x), x=(-3.9, 5.0)), Case("gamma", sympy.gamma(x), x=POS),
    Case("loggamma", sympy.loggamma(x), x=(0.1, 10.0)),
    Case("factorial", sympy.factorial(x), x=(0.1, 5.0), oracle=sympy.gamma(x + 1)),
    Case("beta", sympy.beta(x, y), x=POS, y=POS),
    Case("polygamma", sympy.polygamma(0, x), x=POS), Case("polygamma", sympy.polygamma(1, x), x=POS),
    Case("polygamma", sympy.polygamma(2, x), x=POS),
    Case("polygamma", sympy.polygamma(1, x), x=(-2.9, -0.1)),
    Case("lowergamma", sympy.lowergamma(sympy.Rational(7, 3), x), x=POS),
    Case("lowergamma", sympy.lowergamma(x, y), x=(0.5, 4.0), y=POS, rtol=1e-11),
    Case("uppergamma", sympy.uppergamma(sympy.Rational(4, 3), x), x=POS, rtol=1e-11),
    Case("zeta", sympy.zeta(x), x=(1.5, 6.0)), Case("zeta", sympy.zeta(2, x), x=POS),
    Case("zeta", sympy.zeta(x, y), x=(1.5, 6.0), y=POS),
    Case("besselj", sympy.besselj(0, x), x=(-10.0, 10.0)),
    Case("besselj", sympy.besselj(1, x), x=(0.5, 10.0)),
    Case("besselj", sympy.besselj(3, x), x=(1.0, 10.0), rtol=1e-9),
    Case("bessely", sympy.bessely(0, x), x=(0.5, 10.0)),
    Case("bessely", sympy.bessely(2, x), x=(0.5, 10.0), rtol=1e-10),
    Case("besseli", sympy.besseli(1, x), x=(-3.0, 3.0)),
    Case("besseli", sympy.besseli(2, x), x=(0.5, 3.0), rtol=1e-9),
    Case("besselk", sympy.besselk(0, x), x=(0.1, 5.0)),
    Case("besselk", sympy.besselk(3, x), x=(0.1, 5.0), rtol=1e-10),
    Case("Ei", sympy.Ei(x), x=(-3.0, 3.0)),
    Case("LambertW", sympy.LambertW(x), x=(-0.3, 5.0)),
    Case("LambertW", sympy.LambertW(x, -1), x=(-0.35, -0.05)),
    Case("floor", sympy.floor(x)), Case("ceiling", sympy.ceiling(x)),
    Case("piecewise", sympy.Piecewise((x**2, x < 0), (sympy.sin(x), y > 0), (-x, True))),
    Case("lt", x < y), Case("le", x <= y), Case("gt", x > y), Case("ge", x >= y),
    Case("eq", sympy.Eq(sympy.floor(x), 0)), Case("ne", sympy.Ne(sympy.floor(x), 0)),
    Case("and", sympy.And(x < 0, y > 0)), Case("or", sympy.Or(x < 0, y > 0)),
    Case("not", sympy.Not(sympy.And(x < 0, y > 0))),
]
IDS = [f"{c.op}-{c.expr}" for c in CASES]


def points_for(case: Case, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(*case.x, N_POINTS), rng.uniform(*case.y, N_POINTS)])


def oracle(case: Case, pts: np.ndarray) -> np.ndarray:
    """30-digit values from SymPy's evalf (mpmath); booleans as 1.0 and 0.0."""
    expr = case.oracle if case.oracle is not None else case.expr
    values = []
    for a, b in pts:
        value = expr.subs({x: sympy.Float(a, 30), y: sympy.Float(b, 30)})
        values.append(float(bool(value)) if isinstance(value, sympy.logic.boolalg.Boolean)
                      else float(value.evalf(30)))
    return np.array(values)


def assert_close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> None:
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=False)
