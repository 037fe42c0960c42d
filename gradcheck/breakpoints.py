"""Points on every piece: where a formula switches (Abs, Max/Min, Heaviside, sign, floor,
ceiling, Piecewise), find the switches in the domain and put a point inside each piece.

Random points alone miss a small piece: ``cos(x) + 5*Heaviside(x - 1.99)`` differs from
``cos(x)`` only on [1.99, 2]. A switch is where an argument crosses 0 (``Abs(u)``,
``sign(u)``, ``Heaviside(u)``, ``Max(a, b)`` at ``a - b``, a condition ``a < b`` at
``a - b``) or an integer (``floor(u)``, ``ceiling(u)``). Along lines through a few base
points, one per symbol, the switches are located on a fine grid and refined by bisection;
each piece between two consecutive switches then gets one random point inside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import numpy as np
import sympy

from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.derivation import needed
from gradcheck.errors import UnsupportedFunctionError
from gradcheck.tape import build_tape

__all__ = ["Switch", "piece_points", "switches"]

GRID = 2049  # grid points per line: finds every switch farther than 2e-3 of the width apart
BISECT = 60  # halvings of a bracketing cell: to float64 resolution
MAX_LINES = 2  # base points per symbol
MAX_PIECES = 48  # pieces sampled per line (the narrowest first)
MAX_INTEGERS = 4  # integers bracketed per grid cell for floor and ceiling
_BACKEND = NumpyBackend()

Switch = tuple[sympy.Expr, bool]  # (argument, integer): where it crosses 0, or an integer


def switches(exprs: Iterable[sympy.Expr]) -> tuple[Switch, ...]:
    """The switching arguments of the expressions, in a fixed order, without repeats.

    >>> x = sympy.Symbol("x", real=True)
    >>> switches([sympy.Abs(x - 1) + sympy.floor(2*x)])
    ((x - 1, False), (2*x, True))
    """
    found: dict[Switch, None] = {}
    for expr in exprs:
        for node in sympy.preorder_traversal(expr):
            for item in _node_switches(node):
                if item[0].free_symbols and item[0].is_finite is not False:
                    found.setdefault(item, None)
    return tuple(sorted(found, key=lambda s: (sympy.default_sort_key(s[0]), s[1])))


def _node_switches(node: sympy.Basic) -> list[Switch]:
    if isinstance(node, (sympy.Abs, sympy.sign, sympy.Heaviside, sympy.DiracDelta)):
        return [(node.args[0], False)]
    if isinstance(node, (sympy.floor, sympy.ceiling)):
        return [(node.args[0], True)]
    if isinstance(node, (sympy.Max, sympy.Min)):
        args = node.args
        return [(a - b, False) for i, a in enumerate(args) for b in args[i + 1:]]
    if isinstance(node, sympy.Piecewise):
        out: list[Switch] = []
        for _, cond in node.args:
            for rel in _relations(cond):
                out.append((rel.lhs - rel.rhs, False))
        return out
    if isinstance(node, _kink_classes()):
        # A registry row that jumps (gradcheck.ops) and has no rule above: where its
        # first argument crosses 0 is the best guess, and a test keeps this list complete.
        return [(cast(sympy.Basic, node).args[0], False)]
    return []


def _kink_classes() -> tuple[type, ...]:
    from gradcheck import ops

    return ops.kink_classes()


HANDLED = (sympy.Abs, sympy.sign, sympy.Heaviside, sympy.DiracDelta, sympy.floor, sympy.ceiling,
           sympy.Max, sympy.Min, sympy.Piecewise)


def _relations(cond: sympy.Basic) -> list[sympy.core.relational.Relational]:
    if isinstance(cond, sympy.core.relational.Relational):
        if isinstance(cond, (sympy.Eq, sympy.Ne)):
            return []
        return [cond]
    if isinstance(cond, sympy.logic.boolalg.BooleanFunction):
        return [r for arg in cond.args for r in _relations(arg)]
    return []


def piece_points(found: Sequence[Switch], symbols: Sequence[sympy.Symbol],
                 domains: Sequence[tuple[float, float]], base: np.ndarray,
                 rng: np.random.Generator,
                 program: Sequence[tuple[sympy.Symbol, sympy.Expr]] = ()) -> np.ndarray:
    """Rows over ``symbols``, one inside each piece that the switches cut the domain into,
    along the line through each of the first ``MAX_LINES`` rows of ``base`` parallel to
    each symbol's axis. Empty (shape (0, n)) when nothing switches. ``program``: stage
    assignments the arguments may use (compiled, never expanded).
    """
    n = len(symbols)
    rows: list[np.ndarray] = []
    if not found or not len(base):
        return np.zeros((0, n))
    try:
        tapes = [(build_tape([arg], symbols, needed(program, [arg])), integer,
                  reached(program, arg)) for arg, integer in found]
    except (UnsupportedFunctionError, TypeError, ValueError, ArithmeticError):
        return np.zeros((0, n))
    for start in base[:MAX_LINES]:
        for column, symbol in enumerate(symbols):
            mine = [(tape, integer) for tape, integer, free in tapes if symbol in free]
            if not mine:
                continue
            low, high = domains[column]
            cuts = sorted({c for tape, integer in mine
                           for c in _crossings(tape, integer, start, column, low, high)})
            for value in _inside(low, high, cuts, rng):
                row = np.array(start, dtype=np.float64)
                row[column] = value
                rows.append(row)
    return np.array(rows).reshape(-1, n)


def reached(program: Sequence[tuple[sympy.Symbol, sympy.Expr]],
            arg: sympy.Expr) -> set[sympy.Basic]:
    """The symbols an argument depends on, through the program's stages."""
    from gradcheck.derivation import reached_inputs

    names = reached_inputs(program, [arg]) if program else {s.name for s in arg.free_symbols}
    return {s for s in arg.free_symbols | {sympy.Symbol(n, real=True) for n in names}}


def _line(start: np.ndarray, column: int, values: np.ndarray) -> np.ndarray:
    pts = np.repeat(start[None, :].astype(np.float64), len(values), axis=0)
    pts[:, column] = values
    return pts


def _crossings(tape: object, integer: bool, start: np.ndarray, column: int, low: float,
               high: float) -> list[float]:
    """Where the argument crosses 0 (or an integer) along the line, to float64 resolution."""
    grid = np.linspace(low, high, GRID)
    with np.errstate(all="ignore"):
        g = _BACKEND.evaluate(tape, _line(start, column, grid))[0]  # type: ignore[arg-type]
        levels = np.floor(g) if integer else np.sign(g)
    ok = np.isfinite(levels[:-1]) & np.isfinite(levels[1:])
    cells = np.flatnonzero(ok & (levels[:-1] != levels[1:]))
    lefts, rights, targets = [], [], []
    for i in cells:
        if integer:
            a, b = sorted((levels[i], levels[i + 1]))
            ks = np.arange(a + 1, min(b, a + MAX_INTEGERS) + 1)
        else:
            ks = np.array([0.0])
        for k in ks:
            lefts.append(grid[i])
            rights.append(grid[i + 1])
            targets.append(k)
    if not lefts:
        return []
    lo, hi, k = np.array(lefts), np.array(rights), np.array(targets)
    with np.errstate(all="ignore"):
        side_lo = _BACKEND.evaluate(tape, _line(start, column, lo))[0] >= k  # type: ignore[arg-type]
        for _ in range(BISECT):
            mid = (lo + hi) / 2
            above = _BACKEND.evaluate(tape, _line(start, column, mid))[0] >= k  # type: ignore[arg-type]
            same = above == side_lo
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
    return [float(v) for v in (lo + hi) / 2]


def _inside(low: float, high: float, cuts: list[float],
            rng: np.random.Generator) -> list[float]:
    """One random value strictly inside each piece (the narrowest ``MAX_PIECES`` pieces)."""
    inner = [c for c in cuts if low < c < high]
    if not inner:
        return []
    edges = [low, *inner, high]
    pieces = [(b - a, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
    pieces.sort()
    out = []
    for width, a, b in pieces[:MAX_PIECES]:
        # Keep off the switch itself by a hair: its value there is a convention.
        margin = min(width * 0.05, 1e-9 * max(1.0, abs(a), abs(b)))
        out.append(float(a + margin + (width - 2 * margin) * rng.random()))
    return sorted(out)
