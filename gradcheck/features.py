"""Where an answer's narrow features are: points that random sampling would miss.

A smooth bump added to a right answer (``cos(x) + exp(-1e6*(x - 0.3)**2)`` for d/dx
sin(x)) differs from the truth only within 1e-3 of x = 0.3: random points, shown or
secret, land there once in a thousand draws. Such a feature is made by a part of the
answer that the truth does not have, and it sits where that part's argument is zero or
stationary: the peak of ``exp(-k (x - c)**2)`` is where ``d/dx (-k (x - c)**2) = 0``,
the peak of ``1/(1 + k (x - c)**2)`` where its base is stationary, the middle of
``sech(k (x - c))`` or ``tanh(k (x - c))`` where ``k (x - c) = 0``.

The rule: for every function application and power in the answer that does not occur in
the truth, take its argument (a power's base); for each variable, with the other
variables at given values, where the argument is a polynomial in that variable (degree
at most ``MAX_DEGREE``), its real roots and those of its derivative inside the domain are
feature points. Polynomial roots are found numerically from exact coefficients: no clock
decides which points are found, so the same answer gets the same points on any machine.
Arguments that are not polynomials (``exp(-1e6*sin(x)**2)``) are not searched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy

__all__ = ["MAX_DEGREE", "MAX_POINTS", "feature_points"]

MAX_DEGREE = 8
MAX_POINTS = 16  # feature points per answer
MAX_PARTS = 32  # arguments searched per answer


def feature_points(answer: sympy.Expr, truth: sympy.Expr, symbols: Sequence[sympy.Symbol],
                   domains: Sequence[tuple[float, float]], rows: np.ndarray) -> np.ndarray:
    """Rows (over ``symbols``) where a part of ``answer`` that ``truth`` lacks has a zero
    or a stationary point of its argument; ``rows`` give the other variables' values.

    >>> x = sympy.Symbol("x", real=True)
    >>> bump = sympy.cos(x) + sympy.exp(-10**6 * (x - sympy.Rational(3, 10))**2)
    >>> feature_points(bump, sympy.cos(x), [x], [(-2.0, 2.0)], np.zeros((1, 1))).round(12).tolist()
    [[0.3]]
    """
    parts = _own_arguments(answer, truth)
    found: list[np.ndarray] = []
    for g in parts:
        for i, v in enumerate(symbols):
            if v not in g.free_symbols:
                continue
            low, high = domains[i]
            for row in rows[:2]:  # a feature in one variable: two settings of the others
                others = {s: sympy.Rational(float(row[j])) for j, s in enumerate(symbols) if j != i}
                for root in _roots(g.xreplace(others), v):
                    if low <= root <= high:
                        point = np.array(row, dtype=np.float64)
                        point[i] = root
                        if any(np.array_equal(point, p) for p in found):
                            continue
                        found.append(point)
                        if len(found) >= MAX_POINTS:
                            return np.array(found)
    return np.array(found).reshape(-1, len(symbols))


def _own_arguments(answer: sympy.Expr, truth: sympy.Expr) -> list[sympy.Expr]:
    """Arguments of the function applications and powers of ``answer`` not in ``truth``."""
    known = set(sympy.preorder_traversal(truth))
    parts: list[sympy.Expr] = []
    walk = sympy.preorder_traversal(answer)
    for node in walk:
        if node in known:
            walk.skip()
            continue
        if isinstance(node, sympy.Pow) and node.base.free_symbols:
            args: tuple[sympy.Expr, ...] = (node.base,)
        elif isinstance(node, sympy.Function) and not isinstance(node, sympy.Piecewise):
            args = node.args
        else:
            continue
        for a in args:
            if a.free_symbols and not a.is_Symbol and a not in parts:
                parts.append(a)
        if len(parts) >= MAX_PARTS:
            break
    return parts


def _roots(g: sympy.Expr, v: sympy.Symbol) -> list[float]:
    """Real roots of ``g`` and of ``d g / d v``, where ``g`` is a polynomial in ``v``."""
    if not g.is_polynomial(v):
        return []
    try:
        poly = sympy.Poly(g, v)
    except (sympy.PolynomialError, sympy.GeneratorsNeeded):
        return []
    if not 1 <= poly.degree() <= MAX_DEGREE or not all(c.is_number for c in poly.all_coeffs()):
        return []
    roots: list[float] = []
    for p in (poly, poly.diff(v)):
        if p.degree() < 1:
            continue
        try:
            coeffs = np.array([float(c) for c in p.all_coeffs()])
        except (TypeError, OverflowError):
            continue
        if not np.all(np.isfinite(coeffs)) or coeffs[0] == 0:
            continue
        with np.errstate(all="ignore"):
            found = np.roots(coeffs)
        roots += [float(r.real) for r in found
                  if np.isfinite(r) and abs(r.imag) <= 1e-6 * max(1.0, abs(r.real))]
    distinct: list[float] = []
    for r in sorted(roots):  # a double root comes back as two close ones
        if not distinct or r - distinct[-1] > 1e-9 * max(1.0, abs(r)):
            distinct.append(r)
    return distinct
