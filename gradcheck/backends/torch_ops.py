"""torch implementations that need more than one torch call, for the op registry.

Each function takes the torch module first (``gradcheck.ops`` binds it when the torch
table is built), so importing this module never imports torch.

Conventions at kinks, where autograd returns one subgradient and the symbolic
derivative another (or none):

- ``Abs``: torch's abs'(0) = 0; SymPy's d|x|/dx = sign(x), also 0 at 0.
- ``Max``/``Min``: torch splits the gradient between tied arguments (Max(w, 0) at
  w = 0 gives 1/2); relu'(0) = 0 in torch; SymPy's derivative holds Heaviside(0) = 1/2.
- ``Heaviside``: SymPy's Heaviside(0) = 1/2 (its second argument); autograd gives 0
  everywhere. ``DiracDelta`` is 0 off the origin and NaN on it (undefined, set aside).
- ``floor``/``ceiling``/``sign`` and comparisons: zero gradient.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from gradcheck.errors import UnsupportedFunctionError

# Integer Bessel orders up to this are computed by recurrence from orders 0 and 1.
MAX_BESSEL_ORDER = 8


def piecewise(t: Any, *args: Any) -> Any:
    # SymPy's Piecewise takes the first true condition: fold from the last pair back.
    result = t.full_like(args[0], float("nan"))
    for value, cond in reversed(list(zip(args[::2], args[1::2], strict=True))):
        result = t.where(cond, value, result)
    return result


def heaviside(t: Any, x: Any, h0: Any = 0.5) -> Any:
    one, zero = t.ones_like(x), t.zeros_like(x)
    return t.where(x > 0, one, t.where(x < 0, zero, h0 * one))


def diracdelta(t: Any, x: Any, k: Any = 0) -> Any:
    # Zero away from the origin; undefined (NaN) on it, so that point is set aside.
    return t.where(x == 0, t.full_like(x, float("nan")), 0.0 * x)


def gamma(t: Any, x: Any) -> Any:
    # |gamma| = exp(lgamma); gamma < 0 exactly for x < 0 with floor(x) odd.
    negative = (x < 0) & (t.remainder(t.floor(x), 2) == 1)
    return t.where(negative, -1.0, 1.0).to(x.dtype) * t.exp(t.lgamma(x))


def loggamma(t: Any, x: Any) -> Any:
    # scipy's loggamma (the numpy backend) is NaN for real x <= 0; torch.lgamma is log|gamma|.
    return t.where(x > 0, t.lgamma(x), t.full_like(x, float("nan")))


def polygamma(t: Any, n: Any, x: Any) -> Any:
    order = _integer_order(n, "polygamma")
    if order == 0:
        return _digamma(t)(x)
    # torch's trigamma kernel (polygamma(1, .)) is off by ~5e-10 relative in float64; the
    # Hurwitz zeta form is exact to rounding, as for scipy, and differentiable in x.
    sign = -1.0 if order % 2 == 0 else 1.0
    return sign * math.factorial(order) * t.special.zeta(float(order + 1), x)


@functools.cache
def _digamma(t: Any) -> Any:
    """digamma whose derivative is the Hurwitz zeta form of trigamma (torch's own trigamma,
    which autograd of torch.special.digamma uses, is off by ~5e-10 relative in float64)."""

    class Digamma(t.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return t.special.digamma(x)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            return grad * t.special.zeta(2.0, x)

    return Digamma.apply


def zeta(t: Any, s: Any, a: Any = 1.0) -> Any:
    # torch has the Hurwitz zeta only, defined for s > 1 (NaN below, where scipy continues).
    return t.special.zeta(s, a)


def lowergamma(t: Any, s: Any, x: Any) -> Any:
    return t.special.gammainc(s, x) * t.exp(t.lgamma(s))


def uppergamma(t: Any, s: Any, x: Any) -> Any:
    return t.special.gammaincc(s, x) * t.exp(t.lgamma(s))


def erfcinv(t: Any, x: Any) -> Any:
    # torch has no erfcinv; erfinv(1 - x) loses relative accuracy only for x near 0.
    return t.special.erfinv(1.0 - x)


def _integer_order(n: Any, name: str) -> int:
    """The order of polygamma or a Bessel function as a Python int, or an error."""
    if hasattr(n, "dim") and n.dim() > 0:
        if n.numel() == 0 or not bool((n == n.reshape(-1)[0]).all()):
            raise UnsupportedFunctionError("torch", f"{name} of a variable order",
                                           reason="torch needs a constant integer order; "
                                           "use --backend numpy")
        n = n.reshape(-1)[0]
    value = float(n.item() if hasattr(n, "item") else n)
    if not value.is_integer():
        raise UnsupportedFunctionError("torch", f"{name} of order {value:g}",
                                       reason=f"torch has no {name} of non-integer order; "
                                       "use --backend numpy")
    return int(value)


def refused_order(expr: Any, extra: int = 0) -> str | None:
    """Why torch cannot evaluate this ``besseli``/``besselk``/``polygamma`` node, judged
    from the formula (for refusal at load time), or None. ``extra``: how much derivatives
    may raise a Bessel order (each one turns order n into n - 1 and n + 1).

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> refused_order(sympy.besseli(8, x), extra=1)
    'torch computes integer orders up to 8 only; use --backend numpy'
    """
    import sympy

    name = type(expr).__name__
    if name not in ("besseli", "besselk", "polygamma"):
        return None
    order = expr.args[0]
    if order.free_symbols:
        return "torch needs a constant integer order; use --backend numpy"
    if not order.is_integer:
        return f"torch has no {name} of non-integer order; use --backend numpy"
    if name != "polygamma" and abs(int(sympy.Integer(order))) + extra > MAX_BESSEL_ORDER:
        return f"torch computes integer orders up to {MAX_BESSEL_ORDER} only; use --backend numpy"
    return None


def besseli(t: Any, n: Any, x: Any) -> Any:
    return _bessel(t, "i", n, x)


def besselk(t: Any, n: Any, x: Any) -> Any:
    return _bessel(t, "k", n, x)


def _bessel(t: Any, kind: str, n: Any, x: Any) -> Any:
    """Integer-order Bessel functions: torch's orders 0 and 1, then the three-term recurrence.

    Upward recurrence is stable for K; for I it loses digits where the order exceeds x
    (about 3 digits at order 3 and x = 0.1): documented in docs/answers.md. J and Y are
    here for completeness but refused by the registry (torch's orders 0 and 1 are coarse).
    """
    order = _integer_order(n, f"bessel{kind}")
    if abs(order) > MAX_BESSEL_ORDER:
        raise UnsupportedFunctionError("torch", f"bessel{kind} of order {order}",
                                       reason=f"torch computes integer orders up to "
                                       f"{MAX_BESSEL_ORDER} only; use --backend numpy")
    sign = 1.0
    if order < 0:  # J and Y: (-1)^n; I and K are even in the order
        order = -order
        sign = -1.0 if kind in "jy" and order % 2 else 1.0
    low, high = (_bessel_functions(t)[kind](k, x) for k in (0, 1))
    if order == 0:
        return sign * low
    for k in range(1, order):
        if kind in "jy":
            low, high = high, (2.0 * k / x) * high - low
        elif kind == "i":
            low, high = high, low - (2.0 * k / x) * high
        else:
            low, high = high, low + (2.0 * k / x) * high
    return sign * high


@functools.cache
def _bessel_functions(t: Any) -> dict[str, Any]:
    """Orders 0 and 1 of J, Y, I, K as differentiable functions (order, x) -> value.

    torch.special.bessel_j0 and friends have no autograd (their outputs do not even
    require grad): these wrap them with the derivatives J0' = -J1, J1' = J0 - J1/x,
    Y likewise, I0' = I1, I1' = I0 - I1/x, K0' = -K1, K1' = -K0 - K1/x. The backward
    is written with the same functions, so second derivatives work too.
    """
    raw = {
        ("j", 0): t.special.bessel_j0, ("j", 1): t.special.bessel_j1,
        ("y", 0): t.special.bessel_y0, ("y", 1): t.special.bessel_y1,
        ("i", 0): t.special.modified_bessel_i0, ("i", 1): t.special.modified_bessel_i1,
        ("k", 0): t.special.modified_bessel_k0, ("k", 1): t.special.modified_bessel_k1,
    }
    functions: dict[tuple[str, int], Any] = {}

    def derivative(kind: str, order: int, x: Any) -> Any:
        f0, f1 = functions[(kind, 0)], functions[(kind, 1)]
        if order == 0:
            return f1(x) if kind == "i" else -f1(x)
        if kind == "k":
            return -f0(x) - f1(x) / x
        return f0(x) - f1(x) / x

    def make(kind: str, order: int) -> Any:
        class Bessel(t.autograd.Function):
            @staticmethod
            def forward(ctx: Any, x: Any) -> Any:
                ctx.save_for_backward(x)
                return raw[(kind, order)](x)

            @staticmethod
            def backward(ctx: Any, grad: Any) -> Any:
                (x,) = ctx.saved_tensors
                return grad * derivative(kind, order, x)

        return Bessel.apply

    for key in raw:
        functions[key] = make(*key)
    return {kind: (lambda k, x, kind=kind: functions[(kind, k)](x)) for kind in "jyik"}
