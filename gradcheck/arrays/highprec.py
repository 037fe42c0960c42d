"""A matrix's entries at a point in high precision, as float64, without rebuilding it in SymPy.

``derivation.exact`` puts a point's floats into a matrix as exact rationals and asks
SymPy for 40 digits of every entry: SymPy rebuilds (and re-simplifies) the whole
expression at every point, which was most of the cost of confirming an answer. Here a
matrix is compiled once into a program of mpmath steps (each distinct subexpression one
step, shared by the entries), then run at 50 and at 100 digits. An entry is kept only
when both runs give the same float64 and agree to 30 significant digits (or are both an
exact 0), with a value inside float64's normal range; any other entry (cancellation
beyond 50 digits, a complex or undefined value, a function the program does not know)
comes back as None and is left to SymPy's own evaluation. The point is the same exact
rational as SymPy's and both values are correct to far more digits than float64 holds, so
both round to the same float64; they could round apart only for an exact value within
about 1e-30 (relative) of the midpoint between two float64 numbers (the 100-digit run is
then still the more accurate one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy

__all__ = ["Program", "compile_entries", "run"]

LOW_DPS, HIGH_DPS = 50, 100
AGREE = mpmath.mpf(10) ** -30
_SMALLEST, _LARGEST = mpmath.mpf("1e-300"), mpmath.mpf("1e300")


class _Unknown(Exception):
    """A node the program cannot evaluate (its entries go to SymPy)."""


def _log(x: Any) -> Any:
    if x <= 0:
        raise ValueError("log of a non-positive number")
    return mpmath.log(x)


def _heaviside(x: Any, h0: Any = None) -> Any:
    if x > 0:
        return mpmath.mpf(1)
    if x < 0:
        return mpmath.mpf(0)
    if h0 is None:
        raise ValueError("Heaviside(0) without a value")
    return h0


def _sign(x: Any) -> Any:
    return mpmath.mpf(mpmath.sign(x))


_FUNCTIONS: dict[type, Callable[..., Any]] = {
    sympy.exp: mpmath.exp, sympy.log: _log, sympy.sin: mpmath.sin, sympy.cos: mpmath.cos,
    sympy.tan: mpmath.tan, sympy.sinh: mpmath.sinh, sympy.cosh: mpmath.cosh, sympy.tanh: mpmath.tanh,
    sympy.erf: mpmath.erf, sympy.Abs: abs, sympy.sign: _sign, sympy.Heaviside: _heaviside,
    sympy.Max: max, sympy.Min: min,
}

# A step: (function, argument step indices); a leaf: (None, input index) or (None, -1) for a
# constant, whose value is computed at each precision from its SymPy form.
Step = tuple[Callable[..., Any] | None, tuple[int, ...], Any]


class Program:
    """Steps in an order where every argument comes before its use; ``outputs``: one step
    index per entry (None: the entry has a node the program does not know)."""

    def __init__(self, steps: list[Step], outputs: list[int | None]) -> None:
        self.steps = steps
        self.outputs = outputs


def compile_entries(entries: Sequence[sympy.Expr], inputs: Sequence[sympy.Symbol]) -> Program:
    position = {s: k for k, s in enumerate(inputs)}
    steps: list[Step] = []
    index: dict[Any, int] = {}

    def add(expr: Any) -> int:
        hit = index.get(expr)
        if hit is not None:
            return hit
        if expr.is_Symbol:
            if expr not in position:
                raise _Unknown(expr)
            step: Step = (None, (position[expr],), None)
        elif expr.is_Rational or expr.is_NumberSymbol or expr.is_Float:
            step = (None, (-1,), expr)
        elif expr.is_Add:
            step = (_add, tuple(add(a) for a in expr.args), None)
        elif expr.is_Mul:
            step = (_mul, tuple(add(a) for a in expr.args), None)
        elif expr.is_Pow:
            base, exp = expr.args
            if exp.is_Integer:
                step = (_integer_power(int(exp)), (add(base),), None)
            elif exp == sympy.S.Half:
                step = (_sqrt, (add(base),), None)
            else:
                step = (_power, (add(base), add(exp)), None)
        elif expr.func in _FUNCTIONS:
            step = (_FUNCTIONS[expr.func], tuple(add(a) for a in expr.args), None)
        else:
            raise _Unknown(expr)
        index[expr] = len(steps)
        steps.append(step)
        return index[expr]

    outputs: list[int | None] = []
    for entry in entries:
        try:
            outputs.append(add(entry))
        except (_Unknown, RecursionError):
            outputs.append(None)
    return Program(steps, outputs)


def _add(*xs: Any) -> Any:
    return mpmath.fsum(xs)


def _mul(*xs: Any) -> Any:
    return mpmath.fprod(xs)


def _integer_power(n: int) -> Callable[[Any], Any]:
    def power(b: Any) -> Any:
        if b == 0 and n < 0:
            raise ZeroDivisionError
        return mpmath.power(b, n)
    return power


def _sqrt(b: Any) -> Any:
    if b < 0:
        raise ValueError("root of a negative number")
    return mpmath.sqrt(b)


def _power(b: Any, e: Any) -> Any:
    if b <= 0:
        raise ValueError("a non-integer power of a number that is not positive")
    return mpmath.power(b, e)


def _constant(expr: sympy.Expr, dps: int) -> Any:
    if expr.is_Rational:
        return mpmath.mpf(int(expr.p)) / int(expr.q)
    value = expr.evalf(dps + 10)
    if not value.is_Float:
        raise _Unknown(expr)
    return mpmath.mpf(value._mpf_)


def _values(program: Program, point: Sequence[Any], dps: int) -> list[Any]:
    out: list[Any] = []
    with mpmath.workdps(dps):
        for function, args, constant in program.steps:
            try:
                if function is None:
                    value = point[args[0]] if args[0] >= 0 else _constant(constant, dps)
                elif any(out[a] is None for a in args):
                    value = None
                else:
                    value = function(*(out[a] for a in args))
                    if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value):
                        value = None
            except (_Unknown, ValueError, ZeroDivisionError, ArithmeticError, TypeError, OverflowError):
                value = None
            out.append(value)
    return out


def run(program: Program, point: Sequence[float] | np.ndarray) -> list[float | None]:
    """Each entry as float64 where two precisions vouch for it, else None (see the module doc)."""
    exact = [mpmath.mpf(float(x)) for x in point]  # a float64 is held exactly
    low = _values(program, exact, LOW_DPS)
    high = _values(program, exact, HIGH_DPS)
    out: list[float | None] = []
    with mpmath.workdps(HIGH_DPS):
        for k in program.outputs:
            a = None if k is None else low[k]
            b = None if k is None else high[k]
            out.append(_vouched(a, b))
    return out


def _vouched(a: Any, b: Any) -> float | None:
    if a is None or b is None:
        return None
    if b == 0 or a == 0:
        return 0.0 if a == b else None
    if not _SMALLEST < abs(b) < _LARGEST or abs(a - b) > abs(b) * AGREE:
        return None
    fa, fb = float(a), float(b)
    return fb if fa == fb else None
