"""Every op of the torch table against the numpy table and against an mpmath oracle (SymPy evalf)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import sympy

from gradcheck.backends import get_backend
from gradcheck.backends.numpy_backend import TABLE as NUMPY_TABLE
from gradcheck.backends.torch_backend import table
from gradcheck.tape import build_tape
from gradcheck.tolerances import tolerance_for

pytest.importorskip("torch")

x, y = sympy.symbols("x y", real=True)
N_POINTS = 16


@dataclass(frozen=True)
class Case:
    """An expression that uses ``op``, where both its inputs are drawn from."""

    op: str
    expr: sympy.Basic
    x: tuple[float, float] = (-2.0, 2.0)
    y: tuple[float, float] = (-2.0, 2.0)
    oracle: sympy.Basic | None = None


POS = (0.1, 4.0)
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
    Case("sinh", sympy.sinh(x)), Case("cosh", sympy.cosh(x)), Case("tanh", sympy.tanh(x)),
    Case("sech", sympy.sech(x)), Case("csch", sympy.csch(x), x=(0.2, 3.0)),
    Case("coth", sympy.coth(x), x=(0.2, 3.0)),
    Case("asinh", sympy.asinh(x)), Case("acosh", sympy.acosh(x), x=(1.1, 5.0)),
    Case("atanh", sympy.atanh(x), x=(-0.9, 0.9)),
    Case("abs", sympy.Abs(x)), Case("sign", sympy.sign(x)),
    Case("max", sympy.Max(x, y, sympy.Rational(1, 2))), Case("min", sympy.Min(x, y, 0)),
    Case("heaviside", sympy.Heaviside(x)), Case("heaviside", x * sympy.Heaviside(x, 1)),
    Case("diracdelta", sympy.DiracDelta(x)),
    Case("erf", sympy.erf(x)), Case("erfc", sympy.erfc(x)), Case("erf", sympy.erf(sympy.sqrt(2) * x)),
    Case("gamma", sympy.gamma(x), x=(-3.9, 5.0)), Case("gamma", sympy.gamma(x), x=POS),
    Case("loggamma", sympy.loggamma(x), x=(0.1, 10.0)),
    Case("polygamma", sympy.polygamma(0, x), x=POS), Case("polygamma", sympy.polygamma(1, x), x=POS),
    Case("polygamma", sympy.polygamma(2, x), x=POS),
    Case("polygamma", sympy.polygamma(1, x), x=(-2.9, -0.1)),
    Case("floor", sympy.floor(x)), Case("ceiling", sympy.ceiling(x)),
    Case("factorial", sympy.factorial(x), x=(0.1, 5.0), oracle=sympy.gamma(x + 1)),
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


def test_every_numpy_op_is_in_the_torch_table_and_covered_here() -> None:
    assert set(table()) == set(NUMPY_TABLE)
    assert set(NUMPY_TABLE) <= {c.op for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_op_matches_numpy_and_the_oracle_in_float64(case: Case, backend_name: str) -> None:
    tape = build_tape([case.expr], [x, y])
    assert case.op in tape.ops
    pts = points_for(case)
    got = get_backend(backend_name).evaluate(tape, pts)[0]
    assert got.dtype == np.float64 and got.shape == (N_POINTS,)
    assert_close(got, get_backend("numpy").evaluate(tape, pts)[0], rtol=1e-12, atol=1e-13)
    assert_close(got, oracle(case, pts), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_op_matches_the_oracle_in_float32(case: Case, backend_name: str) -> None:
    tape = build_tape([case.expr], [x, y])
    # Round the points to float32 first: the oracle then sees the inputs torch computed on.
    pts = points_for(case).astype(np.float32).astype(np.float64)
    got = get_backend(backend_name, "float32").evaluate(tape, pts)[0]
    tol = tolerance_for("float32")
    assert_close(got, oracle(case, pts), rtol=tol.rtol, atol=tol.atol)
