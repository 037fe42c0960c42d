"""The 40-digit evaluation of array entries: the compiled mpmath form must give the float64
that SymPy's own 40-digit evaluation (the oracle) gives, and leave to SymPy what it cannot vouch for."""

from __future__ import annotations

import math
from types import SimpleNamespace

import mpmath
import numpy as np
import pytest
import sympy

from gradcheck.arrays import highprec
from gradcheck.arrays.derivation import exact, truth
from gradcheck.loader import load_bank
from gradcheck.problem import sym
from tests.helpers import PROBLEMS

BANK = load_bank([PROBLEMS / "matrices"])
x, y = sym("x"), sym("y")
TWO = SimpleNamespace(arrays=SimpleNamespace(inputs=(x, y)))


def _sympy_40(entries: list[sympy.Expr], inputs, point) -> list[float]:
    subs = {v: sympy.Rational(float(p)) for v, p in zip(inputs, point, strict=True)}
    return [float(sympy.N(e.xreplace(subs), 40)) for e in entries]


@pytest.mark.parametrize("problem", [p for p in BANK if p.id in ("softmax-ce-batch", "mlp-relu", "batchnorm")],
                         ids=lambda p: p.id)
def test_bank_truths_equal_sympys_40_digit_values_bit_for_bit(problem) -> None:
    rng = np.random.default_rng(7)
    inputs = problem.arrays.inputs
    for q in problem.arrays.questions:
        m = truth(problem, q)
        for _ in range(2):
            point = rng.uniform(-2, 2, len(inputs))
            got = exact(problem, m, point)
            assert got.ravel().tolist() == _sympy_40(list(m), inputs, point)


def test_what_the_fast_form_cannot_vouch_for_is_left_to_sympy() -> None:
    entries = [sympy.cosh(x) - sympy.sinh(x),            # cancels 35 digits at x = 40
               sympy.sin(x) ** 2 + sympy.cos(x) ** 2 - 1,  # an exact zero SymPy does not see
               sympy.gamma(y),                            # a function the program does not know
               sympy.exp(20 * x),                         # beyond float64's range
               x * y]
    program = highprec.compile_entries(entries, (x, y))
    quick = highprec.run(program, [40.0, 3.5])
    assert quick[:4] == [None, None, None, None]
    assert quick[4] == 140.0
    got = exact(TWO, sympy.ImmutableMatrix(1, 5, entries), np.array([40.0, 3.5]))
    assert got[0, 0] == pytest.approx(math.exp(-40), rel=1e-15)
    assert abs(got[0, 1]) < 1e-100
    assert got[0, 2] == pytest.approx(float(mpmath.gamma(3.5)), rel=1e-15)
    assert got[0, 3] == math.inf
    assert got[0, 4] == 140.0


def test_undefined_values_are_nan_and_steps_take_sympys_values() -> None:
    entries = [sympy.log(x), 1 / y, sympy.sqrt(x), sympy.Heaviside(y), sympy.Max(x, 0), sympy.sign(y),
               sympy.Abs(x) * sympy.tanh(x)]
    got = exact(TWO, sympy.ImmutableMatrix(1, 7, entries), np.array([-0.5, 0.0]))
    assert np.isnan(got[0, :3]).all()
    assert got[0, 3:6].tolist() == [0.5, 0.0, 0.0]
    assert got[0, 6] == pytest.approx(0.5 * math.tanh(-0.5), rel=1e-15)


def test_rounding_is_sympys_for_values_with_many_digits() -> None:
    rng = np.random.default_rng(3)
    entries = [sympy.exp(x) / (1 + sympy.exp(-y)), sympy.log(1 + x ** 2) * y ** 3 - sympy.erf(x * y),
               (x ** 2 + y ** 2) ** sympy.Rational(3, 2), sympy.Max(x, y, 0) - sympy.Min(x, y)]
    for _ in range(200):
        point = rng.normal(size=2) * rng.choice([1e-3, 1.0, 30.0])
        got = exact(TWO, sympy.ImmutableMatrix(1, 4, entries), point)
        assert got.ravel().tolist() == _sympy_40(entries, (x, y), point)
