"""The registry of operations: one row per operation, from which everything else is derived.

A row says how an operation is written (the names the parser accepts, and their
arity), which SymPy classes compile to it, whether the complex-step derivative may go
through it, and how each backend computes it: numpy (with scipy.special), torch (given
the torch module, so nothing here imports torch), and high precision (an mpmath
function; SymPy's ``evalf`` computes the same value, and a test checks that it does).
A row may instead *rewrite* its SymPy form into other rows (sec(x) -> 1/cos(x)), so no
backend needs it.

The parser's function names (``gradcheck.parsing.FUNCTIONS``), the tape's SymPy table
(``gradcheck.tape.FUNCTION_OPS``), the numpy table and the torch table are all read
from here: adding a function is adding one row, and a test fails when a backend lacks
a row without saying why (``refused``).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import mpmath
import numpy as np
import sympy

from gradcheck.backends import torch_ops as T

__all__ = ["BY_NAME", "OPS", "PARSE_ONLY", "Op", "ParseOnly", "evalf_form", "kink_classes",
           "numpy_table",
           "refusals", "sympy_ops", "torch_table"]

Impl = Callable[..., Any]


def _scipy() -> Any:
    """scipy.special, imported on first use: importing it costs 0.4 s of every process's
    start-up, and most problems never call one of its functions."""
    import scipy.special

    return scipy.special


def _special(name: str) -> Impl:
    """The scipy.special function ``name``, looked up when first called."""
    def call(*args: Any) -> Any:
        return getattr(_scipy(), name)(*args)

    call.__name__ = call.__qualname__ = name
    return call


@dataclass(frozen=True)
class Op:
    """One operation of the tape.

    name: the op's name on the tape.
    classes: the SymPy classes that compile to it (none for structural ops: add, mul, pow...).
    names: the function names the parser accepts for it (none: not written by name).
    arity: (fewest, most) arguments when written by name; None means no upper bound.
    analytic: the complex step may go through it: the function is analytic *and* the
        numpy implementation takes complex input. False for kinks (Abs, floor...) and
        for functions scipy computes on real input only (atan2, erfinv, Bessel...).
    numpy: the numpy/scipy implementation (array arguments).
    torch: the torch implementation, called as ``torch(torch_module, *args)``.
    mpmath: the high-precision value from mpmath numbers (None for structural ops).
        SymPy's evalf gives the same value for every row but erfcinv, which SymPy 1.14
        leaves unevaluated: ``evalf_form`` rewrites it (tests/core/test_ops.py checks).
    evalf: an identity SymPy's evalf can evaluate, where it cannot evaluate the row.
    rewrite: builds the SymPy form from other rows instead of an implementation.
    refused: backend family -> why it has no implementation (e.g. torch has no Ei).
    bounded: argument indices whose numeric value is limited (SymPy would evaluate
        factorial(10**9) or lowergamma(10**6, x) for ages).
    kink: the value or the slope jumps at breakpoints (Abs, sign, Max, Min, Heaviside,
        floor, ceiling, Piecewise): where such points lie, samples must cover each piece.
    """

    name: str
    classes: tuple[type, ...] = ()
    names: tuple[str, ...] = ()
    arity: tuple[int, int | None] = (1, 1)
    analytic: bool = True
    numpy: Impl | None = None
    torch: Impl | None = None
    mpmath: Impl | None = None
    rewrite: Callable[..., sympy.Expr] | None = None
    refused: Mapping[str, str] = field(default_factory=dict)
    bounded: tuple[int, ...] = ()
    kink: bool = False
    evalf: Callable[..., sympy.Expr] | None = None


@dataclass(frozen=True)
class ParseOnly:
    """A name the parser accepts that builds other rows (sigmoid -> 1/(1 + exp(-x)))."""

    name: str
    build: Callable[..., sympy.Expr]
    arity: tuple[int, int | None] = (1, 1)
    bounded: tuple[int, ...] = ()


# -- numpy implementations that need more than one call ------------------------------------

def _np_piecewise(*args: Any) -> Any:
    # SymPy's Piecewise takes the first true condition: fold from the last pair back.
    result: Any = np.nan
    for value, cond in reversed(list(zip(args[::2], args[1::2], strict=True))):
        result = np.where(cond, value, result)
    return result


def _np_heaviside(x: Any, h0: Any = 0.5) -> Any:
    return np.where(x > 0, 1.0, np.where(x < 0, 0.0, h0))


def _np_diracdelta(x: Any, k: Any = 0) -> Any:
    # Zero away from the origin; undefined (NaN) on it, so that point is set aside.
    return np.where(x == 0, np.nan, 0.0 * x)


def _np_gamma(x: Any) -> Any:
    # scipy's complex gamma is NaN for Re(z) < 0: the reflection formula there keeps the
    # complex step's tiny imaginary part exact (exp(loggamma) would drown it in rounding).
    if np.iscomplexobj(x):
        reflected = np.pi / (np.sin(np.pi * x) * _scipy().gamma(1 - x))
        return np.where(x.real < 0.5, reflected, _scipy().gamma(x))
    return _scipy().gamma(x)


def _np_polygamma(n: Any, x: Any) -> Any:
    if np.iscomplexobj(x) and n == 0:
        return _scipy().psi(x)
    return _scipy().polygamma(np.asarray(n).astype(int), x)


def _np_zeta(s: Any, a: Any = None) -> Any:
    return _scipy().zeta(s) if a is None else _scipy().zeta(s, a)


def _np_lambertw(x: Any, k: Any = 0) -> Any:
    w = _scipy().lambertw(x, int(k))
    if np.iscomplexobj(x):
        return w
    # Off the real branch (x < -1/e, or branch -1 for x > 0) the value is complex: undefined.
    return np.where(w.imag == 0, w.real, np.nan)


def _np_binary(f: Impl) -> Impl:
    return lambda *a: functools.reduce(f, a)


def _mp_heaviside(x: Any, h0: Any = 0.5) -> Any:
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0) if x < 0 else h0


def _mp_sign(x: Any) -> Any:
    return mpmath.mpf(mpmath.sign(x))


def _row(name: str, cls: Any, numpy: Impl, torch: Impl, mp: Impl, **more: Any) -> Op:
    """A one-argument function written by its SymPy name."""
    return Op(name, (cls,), (cls.__name__,), numpy=numpy, torch=torch, mpmath=mp, **more)


_NO_TORCH_EI = {"torch": "torch has no exponential integral; use --backend numpy"}
# torch 2.13's bessel_j0/j1/y0/y1 are off by up to 1e-7 absolute in float64 (measured
# against mpmath): too coarse for a 1e-6 relative check near their zeros.
_NO_TORCH_JY = {"torch": "torch's Bessel J and Y are accurate to about 1e-7 only; "
                "use --backend numpy"}
_NO_TORCH_W = {"torch": "torch has no Lambert W function; use --backend numpy"}

OPS: tuple[Op, ...] = (
    # structural: built from Add, Mul and Pow, never written by name
    Op("add", numpy=_np_binary(operator.add), torch=lambda t, *a: functools.reduce(operator.add, a),
       arity=(2, None)),
    Op("mul", numpy=_np_binary(operator.mul), torch=lambda t, *a: functools.reduce(operator.mul, a),
       arity=(2, None)),
    Op("neg", numpy=operator.neg, torch=lambda t, x: -x),
    Op("reciprocal", numpy=lambda x: 1.0 / x, torch=lambda t, x: t.reciprocal(x)),
    Op("powi", numpy=lambda x, n: x * x if n == 2 else x**n,
       torch=lambda t, x, n: x * x if n == 2 else x**n, arity=(2, 2)),
    Op("pow", numpy=np.power, torch=lambda t, x, y: t.pow(x, y), arity=(2, 2)),
    Op("sqrt", numpy=np.sqrt, torch=lambda t, x: t.sqrt(x), mpmath=mpmath.sqrt),
    Op("piecewise", (sympy.Piecewise,), ("Piecewise",), (1, None), analytic=False, kink=True,
       numpy=_np_piecewise, torch=T.piecewise),
    # elementary functions
    _row("exp", sympy.exp, np.exp, lambda t, x: t.exp(x), mpmath.exp),
    Op("log", (sympy.log,), arity=(1, 2), numpy=np.log, torch=lambda t, x: t.log(x),
       mpmath=mpmath.log),
    _row("sin", sympy.sin, np.sin, lambda t, x: t.sin(x), mpmath.sin),
    _row("cos", sympy.cos, np.cos, lambda t, x: t.cos(x), mpmath.cos),
    _row("tan", sympy.tan, np.tan, lambda t, x: t.tan(x), mpmath.tan),
    Op("sec", (sympy.sec,), ("sec",), rewrite=lambda x: 1 / sympy.cos(x), mpmath=mpmath.sec),
    Op("csc", (sympy.csc,), ("csc",), rewrite=lambda x: 1 / sympy.sin(x), mpmath=mpmath.csc),
    Op("cot", (sympy.cot,), ("cot",), rewrite=lambda x: 1 / sympy.tan(x), mpmath=mpmath.cot),
    _row("asin", sympy.asin, np.arcsin, lambda t, x: t.asin(x), mpmath.asin),
    _row("acos", sympy.acos, np.arccos, lambda t, x: t.acos(x), mpmath.acos),
    _row("atan", sympy.atan, np.arctan, lambda t, x: t.atan(x), mpmath.atan),
    # numpy's arctan2 takes no complex input: never the complex step
    Op("atan2", (sympy.atan2,), ("atan2",), (2, 2), analytic=False, numpy=np.arctan2,
       torch=lambda t, y, x: t.atan2(y, x), mpmath=mpmath.atan2),
    # inverse reciprocal functions, for real x (SymPy's principal values there)
    Op("acot", (sympy.acot,), ("acot",), rewrite=lambda x: sympy.atan(1 / x), mpmath=mpmath.acot),
    Op("asec", (sympy.asec,), ("asec",), rewrite=lambda x: sympy.acos(1 / x), mpmath=mpmath.asec),
    Op("acsc", (sympy.acsc,), ("acsc",), rewrite=lambda x: sympy.asin(1 / x), mpmath=mpmath.acsc),
    Op("sinc", (sympy.sinc,), ("sinc",), mpmath=mpmath.sinc,
       rewrite=lambda x: sympy.Piecewise((sympy.sin(x) / x, sympy.Ne(x, 0)), (1, True))),
    _row("sinh", sympy.sinh, np.sinh, lambda t, x: t.sinh(x), mpmath.sinh),
    _row("cosh", sympy.cosh, np.cosh, lambda t, x: t.cosh(x), mpmath.cosh),
    _row("tanh", sympy.tanh, np.tanh, lambda t, x: t.tanh(x), mpmath.tanh),
    Op("sech", (sympy.sech,), ("sech",), rewrite=lambda x: 1 / sympy.cosh(x), mpmath=mpmath.sech),
    Op("csch", (sympy.csch,), ("csch",), rewrite=lambda x: 1 / sympy.sinh(x), mpmath=mpmath.csch),
    Op("coth", (sympy.coth,), ("coth",), rewrite=lambda x: 1 / sympy.tanh(x), mpmath=mpmath.coth),
    Op("acoth", (sympy.acoth,), ("acoth",), rewrite=lambda x: sympy.atanh(1 / x),
       mpmath=mpmath.acoth),
    Op("asech", (sympy.asech,), ("asech",), rewrite=lambda x: sympy.acosh(1 / x),
       mpmath=mpmath.asech),
    Op("acsch", (sympy.acsch,), ("acsch",), rewrite=lambda x: sympy.asinh(1 / x),
       mpmath=mpmath.acsch),
    _row("asinh", sympy.asinh, np.arcsinh, lambda t, x: t.asinh(x), mpmath.asinh),
    _row("acosh", sympy.acosh, np.arccosh, lambda t, x: t.acosh(x), mpmath.acosh),
    _row("atanh", sympy.atanh, np.arctanh, lambda t, x: t.atanh(x), mpmath.atanh),
    # kinks, steps and selections
    Op("abs", (sympy.Abs,), ("Abs", "abs"), analytic=False, kink=True, numpy=np.abs,
       torch=lambda t, x: t.abs(x), mpmath=mpmath.fabs),
    Op("sign", (sympy.sign,), ("sign",), analytic=False, kink=True, numpy=np.sign,
       torch=lambda t, x: t.sign(x), mpmath=_mp_sign),
    Op("max", (sympy.Max,), ("Max", "max"), (2, None), analytic=False, kink=True,
       numpy=_np_binary(np.maximum), torch=lambda t, *a: functools.reduce(t.maximum, a),
       mpmath=max),
    Op("min", (sympy.Min,), ("Min", "min"), (2, None), analytic=False, kink=True,
       numpy=_np_binary(np.minimum), torch=lambda t, *a: functools.reduce(t.minimum, a),
       mpmath=min),
    Op("heaviside", (sympy.Heaviside,), ("Heaviside",), (1, 2), analytic=False, kink=True,
       numpy=_np_heaviside, torch=T.heaviside, mpmath=_mp_heaviside),
    Op("diracdelta", (sympy.DiracDelta,), analytic=False, kink=True, numpy=_np_diracdelta,
       torch=T.diracdelta),
    Op("floor", (sympy.floor,), ("floor",), analytic=False, kink=True, numpy=np.floor,
       torch=lambda t, x: t.floor(x), mpmath=mpmath.floor),
    Op("ceiling", (sympy.ceiling,), ("ceiling",), analytic=False, kink=True, numpy=np.ceil,
       torch=lambda t, x: t.ceil(x), mpmath=mpmath.ceil),
    # special functions
    _row("erf", sympy.erf, _special("erf"), lambda t, x: t.special.erf(x), mpmath.erf),
    _row("erfc", sympy.erfc, _special("erfc"), lambda t, x: t.special.erfc(x), mpmath.erfc),
    _row("erfinv", sympy.erfinv, _special("erfinv"), lambda t, x: t.special.erfinv(x),
         mpmath.erfinv, analytic=False),
    _row("erfcinv", sympy.erfcinv, _special("erfcinv"), T.erfcinv,
         lambda x: mpmath.erfinv(1 - x), analytic=False, evalf=lambda x: sympy.erfinv(1 - x)),
    _row("gamma", sympy.gamma, _np_gamma, T.gamma, mpmath.gamma, bounded=(0,)),
    _row("loggamma", sympy.loggamma, _special("loggamma"), T.loggamma, mpmath.loggamma,
         bounded=(0,)),
    Op("factorial", (sympy.factorial,), ("factorial",), rewrite=lambda x: sympy.gamma(x + 1),
       mpmath=mpmath.factorial, bounded=(0,)),
    Op("beta", (sympy.beta,), ("beta",), (2, 2), mpmath=mpmath.beta, bounded=(0, 1),
       rewrite=lambda a, b: sympy.gamma(a) * sympy.gamma(b) / sympy.gamma(a + b)),
    # polygamma(n >= 1) goes through scipy's real-only zeta: no complex step
    Op("polygamma", (sympy.polygamma,), ("polygamma",), (2, 2), analytic=False,
       numpy=_np_polygamma, torch=T.polygamma, mpmath=mpmath.polygamma, bounded=(0,)),
    Op("lowergamma", (sympy.lowergamma,), ("lowergamma",), (2, 2), analytic=False,
       numpy=lambda s, x: _scipy().gammainc(s, x) * _scipy().gamma(s),
       torch=T.lowergamma, mpmath=lambda s, x: mpmath.gammainc(s, 0, x), bounded=(0,)),
    Op("uppergamma", (sympy.uppergamma,), ("uppergamma",), (2, 2), analytic=False,
       numpy=lambda s, x: _scipy().gammaincc(s, x) * _scipy().gamma(s),
       torch=T.uppergamma, mpmath=lambda s, x: mpmath.gammainc(s, x), bounded=(0,)),
    Op("zeta", (sympy.zeta,), ("zeta",), (1, 2), analytic=False, numpy=_np_zeta,
       torch=T.zeta, mpmath=lambda s, a=1: mpmath.zeta(s, a), bounded=(0,)),
    Op("besselj", (sympy.besselj,), ("besselj",), (2, 2), analytic=False,
       numpy=_special("jv"), mpmath=mpmath.besselj, bounded=(0,), refused=_NO_TORCH_JY),
    Op("bessely", (sympy.bessely,), ("bessely",), (2, 2), analytic=False,
       numpy=_special("yv"), mpmath=mpmath.bessely, bounded=(0,), refused=_NO_TORCH_JY),
    Op("besseli", (sympy.besseli,), ("besseli",), (2, 2), analytic=False,
       numpy=_special("iv"), torch=T.besseli, mpmath=mpmath.besseli, bounded=(0,)),
    Op("besselk", (sympy.besselk,), ("besselk",), (2, 2), analytic=False,
       numpy=_special("kv"), torch=T.besselk, mpmath=mpmath.besselk, bounded=(0,)),
    Op("Ei", (sympy.Ei,), ("Ei",), analytic=False, numpy=_special("expi"), mpmath=mpmath.ei,
       refused=_NO_TORCH_EI),
    Op("LambertW", (sympy.LambertW,), ("LambertW",), (1, 2), analytic=False,
       numpy=_np_lambertw, mpmath=lambda x, k=0: mpmath.lambertw(x, int(k)),
       refused=_NO_TORCH_W),
    # conditions (inside Piecewise)
    Op("lt", (sympy.StrictLessThan,), arity=(2, 2), analytic=False, numpy=np.less,
       torch=lambda t, a, b: t.lt(a, b)),
    Op("le", (sympy.LessThan,), arity=(2, 2), analytic=False, numpy=np.less_equal,
       torch=lambda t, a, b: t.le(a, b)),
    Op("gt", (sympy.StrictGreaterThan,), arity=(2, 2), analytic=False, numpy=np.greater,
       torch=lambda t, a, b: t.gt(a, b)),
    Op("ge", (sympy.GreaterThan,), arity=(2, 2), analytic=False, numpy=np.greater_equal,
       torch=lambda t, a, b: t.ge(a, b)),
    Op("eq", (sympy.Equality,), arity=(2, 2), analytic=False, numpy=np.equal,
       torch=lambda t, a, b: t.eq(a, b)),
    Op("ne", (sympy.Unequality,), arity=(2, 2), analytic=False, numpy=np.not_equal,
       torch=lambda t, a, b: t.ne(a, b)),
    Op("and", (sympy.And,), arity=(2, None), analytic=False, numpy=_np_binary(np.logical_and),
       torch=lambda t, *a: functools.reduce(t.logical_and, a)),
    Op("or", (sympy.Or,), arity=(2, None), analytic=False, numpy=_np_binary(np.logical_or),
       torch=lambda t, *a: functools.reduce(t.logical_or, a)),
    Op("not", (sympy.Not,), analytic=False, numpy=np.logical_not,
       torch=lambda t, a: t.logical_not(a)),
)

BY_NAME: Mapping[str, Op] = MappingProxyType({op.name: op for op in OPS})


def _log(x: sympy.Expr, base: sympy.Expr | None = None) -> sympy.Expr:
    """Natural log, or log base ``base``."""
    return sympy.log(x) if base is None else sympy.log(x, base)


def _rational(p: sympy.Expr, q: sympy.Expr = sympy.S.One) -> sympy.Expr:
    if not (isinstance(p, sympy.Rational) and isinstance(q, sympy.Rational)):
        raise ValueError("Rational takes numbers, e.g. Rational(1, 3)")
    if q == 0:
        raise ValueError("the denominator is 0")
    return sympy.Rational(p, q)


def _integer(n: sympy.Expr) -> sympy.Expr:
    if not isinstance(n, sympy.Integer):
        raise ValueError("Integer takes a whole number")
    return n


# Names that build other rows; how the parser writes them is documented in docs/answers.md.
PARSE_ONLY: tuple[ParseOnly, ...] = (
    ParseOnly("log", _log, (1, 2)),
    ParseOnly("sqrt", sympy.sqrt),
    ParseOnly("cbrt", sympy.cbrt),
    ParseOnly("sigmoid", lambda x: 1 / (1 + sympy.exp(-x))),
    ParseOnly("softplus", lambda x: sympy.log(1 + sympy.exp(x))),
    ParseOnly("relu", lambda x: sympy.Max(x, 0)),
    ParseOnly("log1p", lambda x: sympy.log(1 + x)),
    ParseOnly("expm1", lambda x: sympy.exp(x) - 1),
    ParseOnly("digamma", lambda x: sympy.polygamma(0, x)),
    ParseOnly("trigamma", lambda x: sympy.polygamma(1, x)),
    ParseOnly("Rational", _rational, (1, 2)),
    ParseOnly("Integer", _integer),
)


def parser_functions() -> dict[str, ParseOnly]:
    """Every function name the parser accepts -> how to build it (rows first, then the rest)."""
    table: dict[str, ParseOnly] = {}
    for op in OPS:
        if op.classes:
            for name in op.names:
                table[name] = ParseOnly(name, op.classes[0], op.arity, op.bounded)
    for extra in PARSE_ONLY:
        table[extra.name] = extra
    return table


def sympy_ops() -> dict[type, Op]:
    """SymPy class -> its row, for the tape compiler."""
    return {cls: op for op in OPS for cls in op.classes}


def evalf_form(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` with every function SymPy cannot evalf rewritten by an exact identity.

    For high-precision evaluation at exact points: erfcinv(x) becomes erfinv(1 - x),
    whose cancellation near x = 0 costs nothing at 50 digits.

    >>> x = sympy.Symbol("x")
    >>> evalf_form(sympy.erfcinv(x) + 1)
    erfinv(1 - x) + 1
    """
    if not expr.atoms(*_evalf_classes()):  # the common case: one walk instead of one per row
        return expr
    for op in OPS:
        if op.evalf is not None:
            expr = expr.replace(lambda e, cls=op.classes: isinstance(e, cls),
                                lambda e, f=op.evalf: f(*e.args))
    return expr


@functools.cache
def kink_classes() -> tuple[type, ...]:
    """The SymPy classes whose value or slope jumps at breakpoints (rows with ``kink``)."""
    return tuple(cls for op in OPS if op.kink for cls in op.classes)


@functools.cache
def _evalf_classes() -> tuple[type, ...]:
    return tuple(cls for op in OPS if op.evalf is not None for cls in op.classes)


def numpy_table() -> dict[str, Impl]:
    """op name -> numpy implementation, for every row that is not a rewrite."""
    return {op.name: op.numpy for op in OPS if op.numpy is not None}


def torch_table(torch: Any) -> dict[str, Impl]:
    """op name -> torch implementation bound to the torch module (rows torch refuses left out)."""
    return {op.name: functools.partial(op.torch, torch) for op in OPS if op.torch is not None}


def refused_in(expr: sympy.Basic, family: str) -> dict[str, str]:
    """op name -> why the backend family has no implementation, for each function in
    ``expr`` that the family refuses (``{}`` when it can evaluate all of them).

    >>> refused_in(sympy.Ei(sympy.Symbol("x")) + 1, "torch")
    {'Ei': 'torch has no exponential integral; use --backend numpy'}
    """
    rows = [op for op in OPS if family in op.refused]
    found = expr.atoms(*(cls for op in rows for cls in op.classes)) if rows else set()
    return {op.name: op.refused[family] for op in rows
            if any(isinstance(f, op.classes) for f in found)}


def refusals(family: str) -> dict[str, str]:
    """op name -> why the backend family (``numpy``, ``torch``) has no implementation."""
    return {op.name: op.refused[family] for op in OPS if family in op.refused}
