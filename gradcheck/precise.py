"""High-precision evaluation: the referee when float64 cannot be trusted.

A float64 point is a dyadic rational, so it is substituted exactly; decimal constants
(``0.1``, ``1.380649e-23``) are read as the exact decimals they were written as; SymPy's
``evalf`` then raises its working precision until ``DIGITS`` digits of the result are
right (cancellation such as ``cosh(40) - sinh(40)`` included). A value that is not a
finite real number (a logarithm of a negative number, a division by zero) is None.

Used by the decision (``gradcheck.decision``) wherever float64 disagrees, is undefined, or
comes near the tolerance, and to confirm passes at extra points; by ``gradcheck.truth`` for
a truth that overflows or cancels in float64; and by the check stage for disagreements.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy

__all__ = ["DIGITS", "evaluate", "exact", "exact_point", "to_float"]

DIGITS = 30  # significant digits asked of evalf; decisions need far fewer
MAXN = 400  # the working precision evalf may raise itself to (digits)
_UNDEFINED = (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)


def exact(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with every Float replaced by the exact decimal it was written as.

    >>> exact(sympy.Float("0.1") * sympy.Symbol("x"))
    x/10
    """
    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sympy.Rational(str(f)) for f in floats})


def exact_point(symbols: Sequence[sympy.Symbol], row: np.ndarray) -> dict[sympy.Symbol, sympy.Rational]:
    """A float64 point as exact rationals (every float64 is one)."""
    return {s: sympy.Rational(float(v)) for s, v in zip(symbols, row, strict=True)}


def evaluate(expr: sympy.Expr, point: dict[sympy.Symbol, sympy.Rational],
             digits: int = DIGITS) -> sympy.Float | None:
    """``expr`` at ``point`` to ``digits`` significant digits, or None where it is not a
    finite real number. An exact zero, or a value too small for ``evalf`` to give any
    digit of (a difference that cancels completely), is returned as 0.

    Raises whatever SymPy raises on exotic input only as None; a time limit around the
    call (``gradcheck.deadline``) still interrupts it.

    >>> x = sympy.Symbol("x", real=True)
    >>> float(evaluate(sympy.cosh(x) - sympy.sinh(x), {x: sympy.Integer(40)}))
    4.248354255291589e-18
    >>> evaluate(sympy.log(x), {x: sympy.Integer(-1)}) is None
    True
    """
    try:
        value = expr.evalf(digits, subs=point, maxn=MAXN)
    except (ArithmeticError, ValueError, TypeError, AttributeError, RecursionError):
        return None
    if value in _UNDEFINED or not value.is_number:
        return None
    if not value.is_Float and not value.is_Rational:
        re, im = value.as_real_imag()
        if im != 0 and not (im.is_Float and _no_digits(im)):
            return None
        value = re
        if not (value.is_Float or value.is_Rational):
            return None
    if value.is_Rational:
        return sympy.Float(value, digits)
    if _no_digits(value):
        return sympy.Float(0)
    return value


def _no_digits(value: sympy.Float) -> bool:
    """An evalf result with no significant digit: only a bound on a (near-)zero magnitude."""
    return bool(value == 0 or getattr(value, "_prec", 53) <= 1)


def to_float(value: sympy.Float | None) -> float:
    """A high-precision value as float64 (nan for None; +-inf beyond float64's range)."""
    if value is None:
        return float("nan")
    return float(value)
