"""High-precision evaluation: the referee when float64 cannot be trusted.

A float64 point is a dyadic rational, so it is substituted exactly; decimal constants
(``0.1``, ``1.380649e-23``) are read as the exact decimals they were written as. The
expression is then evaluated with mpmath, each distinct subexpression once (a graph of
60 nested stages costs 60 steps, not 60 squared), at 50 digits and again at 100: when
the two agree to ``DIGITS`` significant digits the value is kept, else the precision
doubles (cancellation such as ``cosh(40) - sinh(40)`` needs it) up to ``MAX_DPS``; an
argument out of bounds (log of 0) is retried at higher precision too. A
value that shrinks with every doubling is an exact zero that cancels. A value that is
not a finite real number (a logarithm of a negative number, a division by zero, a root
of a negative number) is None.

Used by the decision (``gradcheck.decision``) wherever float64 disagrees, is undefined
or comes near the tolerance, and to confirm passes at secret points; by
``gradcheck.truth`` for the truth at every point (a truth that cancels or overflows in
float64 is right here); and by the check stage for its disagreements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import mpmath
import numpy as np
import sympy

__all__ = ["DIGITS", "Value", "evaluate", "exact", "exact_point", "relative", "to_float"]

DIGITS = 30  # significant digits two evaluations must share; decisions need far fewer
START_DPS = 50
MAX_DPS = 800
Value: TypeAlias = mpmath.mpf  # a high-precision real (mpmath ships no types: Any to mypy)


class _Undefined(Exception):
    """Not a finite real number at this point."""


def exact(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with every Float replaced by the exact decimal it was written as.

    >>> exact(sympy.Float("0.1") * sympy.Symbol("x"))
    x/10
    """
    from gradcheck import ops  # rewrites of what SymPy cannot evalf (erfcinv)

    expr = ops.evalf_form(expr)
    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sympy.Rational(str(f)) for f in floats})


def exact_point(symbols: Sequence[sympy.Symbol], row: np.ndarray) -> dict[sympy.Symbol, sympy.Rational]:
    """A float64 point as exact rationals (every float64 is one)."""
    return {s: sympy.Rational(float(v)) for s, v in zip(symbols, row, strict=True)}


Assignment = tuple[sympy.Symbol, sympy.Expr]


def evaluate(expr: sympy.Expr, point: dict[sympy.Symbol, sympy.Rational],
             program: Sequence[Assignment] = ()) -> Value | None:
    """``expr`` at ``point`` to ``DIGITS`` significant digits, or None where it is not a
    finite real number. An exact zero (or a difference that cancels completely) is 0.

    ``program``: assignments (a stage's symbol, its expression) that ``expr`` may use, in
    order; each one it needs is evaluated once, so a deep graph is never expanded.
    A time limit around the call (``gradcheck.deadline``) still interrupts it.

    >>> x = sympy.Symbol("x", real=True)
    >>> float(evaluate(sympy.cosh(x) - sympy.sinh(x), {x: sympy.Integer(40)}))
    4.248354255291589e-18
    >>> evaluate(sympy.log(x), {x: sympy.Integer(-1)}) is None
    True
    >>> evaluate(sympy.sin(x)**2 + sympy.cos(x)**2 - 1, {x: sympy.Rational(3, 10)})
    mpf('0.0')
    """
    if isinstance(expr, sympy.Rational):  # a number answer: exact, nothing to evaluate
        with mpmath.workdps(START_DPS):
            return _Evaluator._rational(expr)
    steps: Sequence[Assignment] = ()
    if program and expr.free_symbols & {s for s, _ in program}:
        from gradcheck.derivation import needed

        steps = needed(program, [expr])
    previous: Value | None = None
    dps = START_DPS
    while dps <= MAX_DPS:
        try:
            with mpmath.workdps(dps):
                evaluator = _Evaluator(point)
                for symbol, definition in steps:
                    evaluator.memo[symbol] = evaluator.value(definition)
                value = evaluator.value(expr)
        except (_Undefined, ZeroDivisionError, ValueError, OverflowError, TypeError,
                ArithmeticError, AttributeError, RecursionError, MemoryError):
            # MemoryError: a number too large to hold (x!!!!!!!!!!!! at x = 2), like overflow
            # log(1 - 1/(1 + exp(-190))) meets log(0) at 50 digits, not at 100: only an
            # argument that stays out of bounds at every precision is undefined.
            if previous is not None or dps * 2 > MAX_DPS:
                return None
            dps *= 2
            continue
        if previous is not None:
            with mpmath.workdps(dps):
                if value == previous or abs(value - previous) <= abs(value) * mpmath.mpf(10) ** -DIGITS:
                    return value
                if abs(value) < abs(previous) * mpmath.mpf(10) ** (-(dps // 4)):
                    return mpmath.mpf(0)  # it shrinks with the precision: an exact zero
        previous = value
        dps *= 2
    assert previous is not None
    return previous if abs(previous) > mpmath.mpf(10) ** (-MAX_DPS // 4) else mpmath.mpf(0)


def relative(got: Value, expected: Value, floor: float) -> float:
    """|got - expected| / max(|expected|, floor) (inf when both scales are 0), as a float."""
    with mpmath.workdps(START_DPS):
        gap = abs(got - expected)
        if gap == 0:
            return 0.0
        scale = max(abs(expected), mpmath.mpf(floor))
        if scale == 0:
            return float("inf")
        return float(gap / scale)


def to_float(value: Value | None) -> float:
    """A high-precision value as float64 (nan for None; +-inf beyond float64's range)."""
    if value is None:
        return float("nan")
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def _real(value: Any) -> Value:
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            raise _Undefined
        value = value.real
    if not mpmath.isfinite(value):
        raise _Undefined
    return value


def _sqrt(x: Value) -> Value:
    if x < 0:
        raise _Undefined
    return mpmath.sqrt(x)


def _log(x: Value, base: Value | None = None) -> Value:
    if x <= 0 or (base is not None and base <= 0):
        raise _Undefined
    return mpmath.log(x) if base is None else mpmath.log(x) / mpmath.log(base)


def _heaviside(x: Value, h0: Value | None = None) -> Value:
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else (mpmath.mpf(0.5) if h0 is None else h0)


def _diracdelta(x: Value, *_: Value) -> Value:
    if x == 0:
        raise _Undefined
    return mpmath.mpf(0)


def _sign(x: Value) -> Value:
    return mpmath.mpf(mpmath.sign(x))


# SymPy function class -> mpmath function; anything else falls back to SymPy's evalf.
_FUNCTIONS: dict[type, Callable[..., Any]] = {
    sympy.exp: mpmath.exp, sympy.log: _log,
    sympy.sin: mpmath.sin, sympy.cos: mpmath.cos, sympy.tan: mpmath.tan,
    sympy.sec: mpmath.sec, sympy.csc: mpmath.csc, sympy.cot: mpmath.cot,
    sympy.asin: mpmath.asin, sympy.acos: mpmath.acos, sympy.atan: mpmath.atan,
    sympy.atan2: mpmath.atan2,
    sympy.sinh: mpmath.sinh, sympy.cosh: mpmath.cosh, sympy.tanh: mpmath.tanh,
    sympy.sech: mpmath.sech, sympy.csch: mpmath.csch, sympy.coth: mpmath.coth,
    sympy.asinh: mpmath.asinh, sympy.acosh: mpmath.acosh, sympy.atanh: mpmath.atanh,
    sympy.Abs: abs, sympy.sign: _sign,
    sympy.Max: max, sympy.Min: min,
    sympy.Heaviside: _heaviside, sympy.DiracDelta: _diracdelta,
    sympy.erf: mpmath.erf, sympy.erfc: mpmath.erfc, sympy.gamma: mpmath.gamma,
    sympy.loggamma: mpmath.loggamma,
    sympy.polygamma: lambda n, x: mpmath.psi(int(n), x),
    sympy.floor: lambda x: mpmath.floor(x), sympy.ceiling: lambda x: mpmath.ceil(x),
    sympy.factorial: mpmath.factorial,
}
_RELATIONS: dict[type, Callable[[Value, Value], bool]] = {
    sympy.StrictLessThan: lambda a, b: a < b, sympy.LessThan: lambda a, b: a <= b,
    sympy.StrictGreaterThan: lambda a, b: a > b, sympy.GreaterThan: lambda a, b: a >= b,
    sympy.Equality: lambda a, b: a == b, sympy.Unequality: lambda a, b: a != b,
}


class _Evaluator:
    """One evaluation at the current mpmath precision, each distinct subexpression once."""

    def __init__(self, point: dict[sympy.Symbol, sympy.Rational]) -> None:
        self.memo: dict[Any, Any] = {s: self._rational(v) for s, v in point.items()}

    @staticmethod
    def _rational(r: sympy.Rational) -> Value:
        p, q = int(r.p), int(r.q)
        if q & (q - 1) == 0:  # a float64 point: p / 2**k is exact as (mantissa, exponent)
            return mpmath.mpf((p, 1 - q.bit_length()))
        return mpmath.mpf(p) / q

    def value(self, expr: Any) -> Any:
        hit = self.memo.get(expr)
        if hit is not None:
            return hit
        result = self._compute(expr)
        self.memo[expr] = result
        return result

    def _compute(self, expr: Any) -> Any:
        if expr is sympy.true or expr is sympy.false:
            return bool(expr)
        if isinstance(expr, sympy.Rational):
            return self._rational(expr)
        if isinstance(expr, sympy.Symbol):
            raise _Undefined  # a symbol without a value
        if expr.is_number and not expr.free_symbols and not isinstance(expr, sympy.Piecewise):
            return self._constant(expr)
        if isinstance(expr, sympy.Add):
            return _real(mpmath.fsum(self.value(a) for a in expr.args))
        if isinstance(expr, sympy.Mul):
            return _real(mpmath.fprod(self.value(a) for a in expr.args))
        if isinstance(expr, sympy.Pow):
            return self._pow(expr)
        if isinstance(expr, sympy.Piecewise):
            for value, cond in expr.args:
                if self.value(cond):
                    return self.value(value)
            raise _Undefined
        relation = _RELATIONS.get(type(expr))
        if relation is not None:
            return relation(self.value(expr.lhs), self.value(expr.rhs))
        if isinstance(expr, sympy.And):
            return all(self.value(a) for a in expr.args)
        if isinstance(expr, sympy.Or):
            return any(self.value(a) for a in expr.args)
        if isinstance(expr, sympy.Not):
            return not self.value(expr.args[0])
        function = _FUNCTIONS.get(expr.func)
        args = [self.value(a) for a in expr.args]
        if function is not None:
            return _real(function(*args))
        return self._fallback(expr, args)

    def _pow(self, expr: sympy.Pow) -> Value:
        base, exp = expr.args
        b = self.value(base)
        if exp.is_Integer:
            if b == 0 and exp < 0:
                raise _Undefined
            return _real(mpmath.power(b, int(exp)))
        if exp == sympy.S.Half:
            return _sqrt(b)
        e = self.value(exp)
        if b < 0:  # as in SymPy and numpy: (-8)**(1/3) is not a real number
            raise _Undefined
        if b == 0 and e <= 0:
            raise _Undefined
        return _real(mpmath.power(b, e))

    @staticmethod
    def _constant(expr: sympy.Expr) -> Value:
        dps = mpmath.mp.dps
        value = expr.evalf(dps + 10)
        if not value.is_real or value in (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            raise _Undefined
        return _real(mpmath.mpf(value._mpf_) if value.is_Float else
                     mpmath.mpf(int(value.p)) / int(value.q))

    @staticmethod
    def _fallback(expr: sympy.Expr, args: list[Any]) -> Value:
        """A function mpmath is not told about here: SymPy's own evalf at this precision."""
        dps = mpmath.mp.dps
        sym_args = [sympy.Float(a, dps) if isinstance(a, mpmath.mpf) else sympy.sympify(a)
                    for a in args]
        value = expr.func(*sym_args).evalf(dps)
        if not value.is_Float:
            if value.is_Rational:
                return mpmath.mpf(int(value.p)) / int(value.q)
            raise _Undefined
        return _real(mpmath.mpf(value._mpf_))


def rounding_bound(expr: sympy.Expr, point: dict[sympy.Symbol, sympy.Rational],
                   program: Sequence[Assignment] = (), *, eps: float) -> float | None:
    """How far a float evaluation of ``expr`` (unit roundoff ``eps``) may stray from its
    exact value at ``point``: a first-order running error bound, or None where ``expr``
    is not a finite real number there.

    Every operation rounds its result (``eps`` times its size) and passes on its
    arguments' errors times its own sensitivity to them (an Add its terms' errors, a
    Mul each factor's error times the other factors, a function ``|f'(a)|`` times the
    error of ``a``, its derivative taken numerically in high precision). So
    ``cosh(x) - sinh(x)`` at x = 30 may be off by about ``eps * cosh(30)`` although its
    value is ``exp(-30)``: that is float64 cancellation, not a wrong number. The inputs
    (float64 points) are exact.

    >>> x = sympy.Symbol("x", real=True)
    >>> b = rounding_bound(sympy.cosh(x) - sympy.sinh(x), {x: sympy.Integer(30)}, eps=2.0**-53)
    >>> bool(1e-4 < b / (2.0**-53 * float(mpmath.cosh(30))) < 10)
    True
    """
    steps: Sequence[Assignment] = ()
    if program:
        from gradcheck.derivation import needed

        steps = needed(program, [expr])
    try:
        with mpmath.workdps(START_DPS):
            evaluator = _Evaluator(point)
            errors: dict[Any, Any] = {s: mpmath.mpf(0) for s in point}
            for symbol, definition in steps:
                evaluator.memo[symbol] = evaluator.value(definition)
                errors[symbol] = _error(definition, evaluator, errors, mpmath.mpf(eps))
            evaluator.value(expr)
            return float(_error(expr, evaluator, errors, mpmath.mpf(eps)))
    except (_Undefined, ZeroDivisionError, ValueError, OverflowError, TypeError,
            ArithmeticError, AttributeError, RecursionError, MemoryError):
        return None


def _error(expr: Any, ev: _Evaluator, errors: dict[Any, Any], u: Value) -> Value:
    """The running error bound of one subexpression (memoised in ``errors``)."""
    hit = errors.get(expr)
    if hit is not None:
        return hit
    value = ev.value(expr)
    if isinstance(value, bool) or expr.is_Atom and not isinstance(expr, sympy.Symbol):
        result = mpmath.mpf(0) if isinstance(value, bool) else u * abs(value)
    elif isinstance(expr, sympy.Add):
        terms = [ev.value(a) for a in expr.args]
        result = (mpmath.fsum(_error(a, ev, errors, u) for a in expr.args)
                  + u * (len(terms) - 1) * mpmath.fsum(abs(t) for t in terms))
    elif isinstance(expr, sympy.Mul):
        factors = [ev.value(a) for a in expr.args]
        result = u * (len(factors) - 1) * abs(value)
        for i, a in enumerate(expr.args):
            others = mpmath.fprod(f for j, f in enumerate(factors) if j != i)
            result += abs(others) * _error(a, ev, errors, u)
    elif isinstance(expr, sympy.Piecewise):
        chosen = next(v for v, c in expr.args if ev.value(c))
        result = _error(chosen, ev, errors, u) + u * abs(value)
    elif isinstance(expr, sympy.Pow):
        base, exp = expr.args
        b, e = ev.value(base), ev.value(exp)
        result = u * (1 + mpmath.log(1 + abs(e), 2)) * abs(value)
        if b != 0:
            result += abs(e * value / b) * _error(base, ev, errors, u)
        if not exp.is_Number and b > 0:
            result += abs(value * mpmath.log(b)) * _error(exp, ev, errors, u)
    elif expr.args and not isinstance(value, bool):
        args = [ev.value(a) for a in expr.args]
        result = u * abs(value)
        for i, a in enumerate(expr.args):
            err = _error(a, ev, errors, u)
            if err:
                result += _slope(expr, args, i) * err
    else:
        result = mpmath.mpf(0)
    errors[expr] = result
    return result


def _slope(expr: Any, args: list[Any], i: int) -> Value:
    """|d f / d args[i]| in high precision (0 where f is flat or steps: floor, sign)."""
    function = _FUNCTIONS.get(expr.func)

    def f(t: Value) -> Value:
        moved = [*args[:i], t, *args[i + 1:]]
        if function is not None:
            return _real(function(*moved))
        return _Evaluator._fallback(expr, moved)

    try:
        return abs(mpmath.diff(f, args[i]))
    except (_Undefined, ZeroDivisionError, ValueError, OverflowError, TypeError, ArithmeticError):
        return mpmath.mpf(0)
