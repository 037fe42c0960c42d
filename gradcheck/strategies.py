"""Hypothesis strategies for testing gradient checkers and graders (gradcheck's own included).

Everything is built from SymPy objects: no string is ever parsed or evaluated here.
Import this module only in tests; it is the one gradcheck module that imports
Hypothesis.

* ``points(problem)``: dicts of symbol values inside the problem's domains.
* ``expressions(symbols)``: random smooth expressions, defined and finite on [-2, 2]^n.
* ``equal_rewrites(expr)``: expressions equal to ``expr`` as functions, written differently.
* ``perturbations(expr)``: expressions that differ from ``expr`` as functions.

Example::

    from hypothesis import given
    from gradcheck.problem import sym
    from gradcheck.strategies import expressions, perturbations

    @given(expressions([sym("x"), sym("y")]).flatmap(
        lambda e: perturbations(e).map(lambda p: (e, p))))
    def test_grader_rejects(pair): ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy
from hypothesis import strategies as st

from gradcheck.problem import Problem, sym

__all__ = ["equal_rewrites", "expressions", "narrow_bumps", "perturbations", "points",
           "small_perturbations"]

# Where perturbations are told apart from the original (inside every default domain).
_PROBES = tuple(sympy.Rational(n, d) for n, d in ((3, 7), (-5, 4), (11, 6), (-2, 9)))
_MIN_DIFFERENCE = 1e-3


def points(problem: Problem) -> st.SearchStrategy[dict[str, float]]:
    """Dicts ``{symbol name: value}``, in the problem's order, each value inside its domain."""
    names = problem.symbol_names
    values = st.tuples(*(st.floats(s.domain[0], s.domain[1], allow_nan=False,
                                   allow_infinity=False) for s in problem.symbols))
    return values.map(lambda vs: dict(zip(names, vs, strict=True)))


def _sigmoid(e: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-e))


def _log1p_square(e: sympy.Expr) -> sympy.Expr:
    return sympy.log(1 + e**2)


# Functions defined and smooth on the whole real line, whatever their argument's size.
_SMOOTH: tuple[Callable[[sympy.Expr], sympy.Expr], ...] = (
    sympy.sin, sympy.cos, sympy.tanh, _log1p_square)
# Functions that grow fast: given only bounded or small arguments, so nothing overflows.
_GROWING: tuple[Callable[[sympy.Expr], sympy.Expr], ...] = (sympy.exp, _sigmoid)


def expressions(symbols: Sequence[sympy.Symbol], *,
                max_depth: int = 3) -> st.SearchStrategy[sympy.Expr]:
    """Random smooth expressions over ``symbols``: finite, with finite derivatives, on [-2, 2]^n.

    Sums, products, squares and cubes, sin, cos, tanh, log(1 + e**2), and exp and a
    sigmoid of bounded arguments (sin, cos, tanh of anything, or a small linear form).

    Raises:
        ValueError: for no symbols or a negative depth.
    """
    if not symbols:
        raise ValueError("expressions() needs at least one symbol, e.g. [sym('x')]")
    if max_depth < 0:
        raise ValueError(f"max_depth must be 0 or more, not {max_depth}")
    return _expressions(tuple(symbols), max_depth)


def _linear(symbols: tuple[sympy.Symbol, ...]) -> st.SearchStrategy[sympy.Expr]:
    return st.builds(lambda a, s, b: a * s + b, st.sampled_from((-2, -1, 1, 2)),
                     st.sampled_from(symbols), st.integers(-1, 1))


def _expressions(symbols: tuple[sympy.Symbol, ...], depth: int) -> st.SearchStrategy[sympy.Expr]:
    leaf = st.sampled_from(symbols) | _linear(symbols)
    if depth == 0:
        return leaf
    sub = _expressions(symbols, depth - 1)
    bounded = st.builds(lambda f, e: f(e), st.sampled_from(_SMOOTH[:3]), sub) | _linear(symbols)
    return st.one_of(
        leaf,
        st.builds(sympy.Add, sub, sub),
        st.builds(sympy.Mul, sub, sub),
        st.builds(lambda c, e: c * e, st.sampled_from((-3, -2, -1, 2, 3)), sub),
        st.builds(sympy.Pow, sub, st.integers(2, 3)),
        st.builds(lambda f, e: f(e), st.sampled_from(_SMOOTH), sub),
        st.builds(lambda f, e: f(e), st.sampled_from(_GROWING), bounded),
    )


def equal_rewrites(expr: sympy.Expr) -> st.SearchStrategy[sympy.Expr]:
    """Expressions equal to ``expr`` everywhere it is defined, written another way.

    expand, factor, terms reordered, multiplied by a/a (a never zero), sin^2 + cos^2 = 1
    inserted, exp(a + b) split into exp(a)*exp(b). Unevaluated forms are kept unevaluated;
    print them with ``sympy.sstr(e, order="none")`` to keep the order.
    """
    names = sorted(expr.free_symbols, key=str) or [sym("x")]
    chosen = st.sampled_from(names)
    options = [
        st.just(expr).map(sympy.expand),
        st.just(expr).map(sympy.factor),
        st.builds(_times_one, st.just(expr), chosen, st.sampled_from(_NONZERO)),
        st.builds(_trig_one, st.just(expr), chosen, st.booleans()),
        st.just(expr).map(_split_exp),
    ]
    if isinstance(expr, sympy.Add):
        options.append(st.permutations(expr.args).map(lambda ts: sympy.Add(*ts, evaluate=False)))
    return st.one_of(options)


# Factors a/a with a nonzero everywhere, so the rewrite is defined wherever expr is.
_NONZERO: tuple[Callable[[sympy.Expr], sympy.Expr], ...] = (
    lambda s: 1 + s**2, sympy.exp, lambda s: 2 + sympy.cos(s))


def _times_one(expr: sympy.Expr, s: sympy.Symbol,
               make: Callable[[sympy.Expr], sympy.Expr]) -> sympy.Expr:
    a = make(s)
    return sympy.Mul(expr, a, sympy.Pow(a, -1, evaluate=False), evaluate=False)


def _trig_one(expr: sympy.Expr, s: sympy.Symbol, times: bool) -> sympy.Expr:
    one = sympy.Add(sympy.sin(s) ** 2, sympy.cos(s) ** 2, evaluate=False)
    if times:
        return sympy.Mul(expr, one, evaluate=False)
    return sympy.Add(expr, one, -1, evaluate=False)


def _split_exp(expr: sympy.Expr) -> sympy.Expr:
    """exp(a + b + ...) -> exp(a)*exp(b)*..., everywhere in the tree."""
    def split(e: sympy.Expr) -> sympy.Expr:
        return sympy.Mul(*(sympy.exp(t) for t in e.args[0].args), evaluate=False)

    def splittable(e: sympy.Basic) -> bool:
        return isinstance(e, sympy.exp) and isinstance(e.args[0], sympy.Add)

    return expr.replace(splittable, split) if expr.has(sympy.exp) else expr


def perturbations(expr: sympy.Expr,
                  symbols: Sequence[sympy.Symbol] = ()) -> st.SearchStrategy[sympy.Expr]:
    """Expressions that differ from ``expr`` as functions (checked at a few rational points).

    A flipped sign, a factor 2, a term dropped, a symbol replaced by another (from
    ``symbols`` or ``expr``'s own), a constant added.
    """
    names = sorted({*expr.free_symbols, *symbols}, key=str)
    options = [st.just(-expr), st.just(2 * expr), st.just(expr + 1)]
    if isinstance(expr, sympy.Add):
        options.append(st.sampled_from(expr.args).map(lambda t: expr - t))
    if len(names) >= 2:
        pairs = st.permutations(names).map(lambda p: (p[0], p[1]))
        options.append(pairs.map(lambda ab: expr.xreplace({ab[0]: ab[1]})))
    return st.one_of(options).filter(lambda other: _differs(other, expr))


def _differs(a: sympy.Expr, b: sympy.Expr) -> bool:
    """True when a and b differ clearly at one of the probe points."""
    names = sorted(a.free_symbols | b.free_symbols, key=str)
    for k, _ in enumerate(_PROBES):
        point = {s: _PROBES[(k + i) % len(_PROBES)] for i, s in enumerate(names)}
        try:
            va, vb = (complex(e.xreplace(point).evalf()) for e in (a, b))
        except TypeError:  # not a number there (zoo, nan): no evidence either way
            continue
        if abs(va - vb) > _MIN_DIFFERENCE * max(1.0, abs(vb)):
            return True
    return False


def small_perturbations(expr: sympy.Expr, symbol: sympy.Symbol,
                        domain: tuple[float, float] = (-2.0, 2.0)) -> st.SearchStrategy[sympy.Expr]:
    """Expressions that differ from ``expr`` only a little, or only on a small part of the
    domain of ``symbol``: what a grader that samples a few float64 points may miss.

    A smooth narrow bump (``narrow_bumps``), a narrow tent (half-width 1e-3) or a step
    (Heaviside) at a random place inside the domain, a relative change of 1e-7, and a term
    that is 0 where it is defined but undefined on part of the domain
    (``sqrt(x - c)*Heaviside(c - x)``: undefined for x < c).
    """
    low, high = domain
    where = st.integers(1, 99).map(lambda k: sympy.Rational(k, 100) * (high - low) + low)
    u = symbol
    options = [
        narrow_bumps(expr, symbol, domain),
        where.map(lambda c: expr + sympy.Max(0, 1 - 1000 * sympy.Abs(u - c))),
        where.map(lambda c: expr + sympy.Heaviside(u - c)),
        where.map(lambda c: expr + sympy.sqrt(u - c) * sympy.Heaviside(c - u)),
        st.just((1 + sympy.Rational(1, 10**7)) * expr if expr != 0 else expr + u / 10**7),
    ]
    return st.one_of(options)


def narrow_bumps(expr: sympy.Expr, symbol: sympy.Symbol,
                 domain: tuple[float, float] = (-2.0, 2.0)) -> st.SearchStrategy[sympy.Expr]:
    """``expr`` plus a smooth bump of height 1 that is narrower than 1e-3 (down to 1e-6),
    centred at a random place inside the domain of ``symbol``: a Gaussian
    ``exp(-k (u - c)**2)``, a Lorentzian ``1/(1 + k (u - c)**2)`` or ``sech(sqrt(k) (u - c))``.
    Random points land on it about once in a thousand draws or less.
    """
    low, high = domain
    where = st.integers(1, 999).map(lambda k: sympy.Rational(k, 1000) * (high - low) + low)
    sharp = st.sampled_from([10**6, 10**8, 10**12])
    shapes: tuple[Callable[[sympy.Expr, int], sympy.Expr], ...] = (
        lambda d, k: sympy.exp(-k * d**2),
        lambda d, k: 1 / (1 + k * d**2),
        lambda d, k: sympy.sech(sympy.sqrt(k) * d),
    )
    return st.tuples(where, sharp, st.sampled_from(shapes)).map(
        lambda t: expr + t[2](symbol - t[0], t[1]))
