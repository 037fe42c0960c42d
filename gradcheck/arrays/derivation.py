"""The truth of an array question, entry by entry, and the numbers it takes at points.

A gradient of a scalar with respect to an m x n array is the m x n matrix of partial
derivatives; a Jacobian of a vector (p entries) with respect to a vector (n entries) is
p x n (numerator layout, as torch and jax). A question with respect to a stage is the
backprop adjoint: that stage's entries are held as variables, then given their forward
values.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy
from sympy import ImmutableMatrix as Matrix

from gradcheck.arrays import algebra as A
from gradcheck.arrays import highprec
from gradcheck.arrays.model import ArrayModel, ArrayQuestion, entry_symbols
from gradcheck.arrays.reader import TEACHER_LIMITS, read
from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.points import rng_for
from gradcheck.problem import Problem
from gradcheck.tape import build_tape

BACKEND = NumpyBackend()
_CACHE: OrderedDict[tuple[int, str, str | None], Matrix] = OrderedDict()
_DERIVATIVES: OrderedDict[tuple[int, Matrix, str, bool], tuple[ArrayModel, Matrix]] = OrderedDict()
_PROGRAMS: OrderedDict[int, tuple[Matrix, tuple[sympy.Symbol, ...], highprec.Program]] = OrderedDict()


def derivative(model: ArrayModel, of: Matrix, wrt: str, *, substitute: bool = True) -> Matrix:
    """d(of)/d(wrt) over the inputs; ``of`` is over local names (stages as entries).

    With respect to a stage, its entries stay variables when ``substitute`` is False.
    Kept per model: a question's truth is another question's known mistake (``wrt``).
    """
    key = (id(model), of, wrt, substitute)
    hit = _DERIVATIVES.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    out = _derivative(model, of, wrt, substitute)
    _DERIVATIVES[key] = (model, out)
    if len(_DERIVATIVES) > 256:
        _DERIVATIVES.popitem(last=False)
    return out


def _derivative(model: ArrayModel, of: Matrix, wrt: str, substitute: bool) -> Matrix:
    keep = wrt if model.stage(wrt) is not None else None
    f = model.compose(of, keep=keep)
    shape = model.shape_of(wrt)
    variables = list(entry_symbols(wrt, shape))
    if f.shape == (1, 1):
        out = Matrix(shape[0], shape[1], [sympy.diff(f[0, 0], v) for v in variables])
    else:
        out = Matrix(len(f), len(variables), [sympy.diff(fp, v) for fp in f for v in variables])
    if keep is not None and substitute:
        forward = dict(zip(variables, model.composed[wrt], strict=True))
        out = Matrix(out.rows, out.cols, [v.xreplace(forward) for v in out])
    return out


def truth(problem: Problem, question: ArrayQuestion) -> Matrix:
    """The derivative a question asks for, over the free inputs (cached per problem)."""
    key = (id(problem), question.id, None)
    hit = _CACHE.get(key)
    if hit is None:
        model: ArrayModel = problem.arrays
        of = read(question.of, model.local_names(), limits=TEACHER_LIMITS).value
        hit = derivative(model, of, question.wrt)
        _CACHE[key] = hit
        if len(_CACHE) > 256:
            _CACHE.popitem(last=False)
    return hit


def clear() -> None:
    _CACHE.clear()
    _DERIVATIVES.clear()


@dataclass(frozen=True)
class Points:
    """Where an array question is compared: rows of input values, the given point first."""

    values: np.ndarray          # (n_points, n_inputs)
    names: tuple[str, ...]
    given: bool


def draw_points(problem: Problem, qid: str, seed: int, n: int) -> Points:
    """The given point (when every symbol has a value) and ``n`` seeded random points."""
    names = tuple(s.name for s in problem.symbols)
    rng = rng_for(seed, problem.id, qid, "arrays")
    lows = np.array([s.domain[0] for s in problem.symbols])
    highs = np.array([s.domain[1] for s in problem.symbols])
    rows = lows + (highs - lows) * rng.random((n, len(names)))
    given = problem.given_point
    if given is not None:
        rows = np.vstack([np.array([[given[name] for name in names]]), rows])
    return Points(values=rows.reshape(-1, len(names)), names=names, given=given is not None)


def evaluate(problem: Problem, matrices: Sequence[Matrix], pts: np.ndarray) -> list[np.ndarray]:
    """Each matrix's entries at each point: arrays of shape (n_points, rows, cols)."""
    model: ArrayModel = problem.arrays
    exprs = [v for m in matrices for v in m]
    tape = build_tape(exprs, model.inputs)
    flat = BACKEND.evaluate(tape, pts) if exprs else np.zeros((0, len(pts)))
    out, k = [], 0
    for m in matrices:
        size = m.rows * m.cols
        out.append(flat[k:k + size].T.reshape(len(pts), m.rows, m.cols))
        k += size
    return out


def exact(problem: Problem, m: Matrix, point: np.ndarray, digits: int = 40) -> np.ndarray:
    """``m`` at a point in high precision (the point's floats as exact rationals): float64 of it."""
    model: ArrayModel = problem.arrays
    inputs = model.inputs
    if len(point) != len(inputs):
        raise ValueError(f"a point of {len(point)} values for {len(inputs)} inputs")
    # mpmath on a compiled form where it vouches for the float64 SymPy's 40 digits round to;
    # SymPy itself for every other entry (see gradcheck.arrays.highprec).
    fast = highprec.run(_program(m, inputs), point) if digits == 40 else [None] * len(m)
    subs: dict[sympy.Symbol, sympy.Rational] | None = None
    values: list[complex | float] = []
    for entry, quick in zip(m, fast, strict=True):
        if quick is not None:
            values.append(quick)
            continue
        if subs is None:
            subs = {v: sympy.Rational(float(x)) for v, x in zip(inputs, point, strict=True)}
        try:
            value = sympy.N(entry.xreplace(subs), digits)
            values.append(complex(value) if not value.is_real else float(value))
        except (TypeError, ValueError, ArithmeticError):
            values.append(float("nan"))
    arr = np.array(values, dtype=np.complex128)
    real = np.where(np.abs(arr.imag) > 1e-30, np.nan, arr.real)
    return real.reshape(m.rows, m.cols)


def _program(m: Matrix, inputs: tuple[sympy.Symbol, ...]) -> highprec.Program:
    """``m`` compiled for ``highprec.run`` (kept: a truth and an answer meet several points)."""
    hit = _PROGRAMS.get(id(m))
    if hit is not None and hit[0] is m and hit[1] == inputs:
        return hit[2]
    program = highprec.compile_entries(list(m), inputs)
    _PROGRAMS[id(m)] = (m, inputs, program)
    if len(_PROGRAMS) > 512:
        _PROGRAMS.popitem(last=False)
    return program


def names_for_answers(model: ArrayModel) -> Mapping[str, Matrix]:
    return model.local_names()


def as_matrix(value: sympy.Expr | Matrix) -> Matrix:
    return value if isinstance(value, Matrix) else A.scalar(value)
