"""Check an array problem's derivatives three ways, as for scalars.

Per question and backend:
- symbolic vs finite differences: the derivative (every entry, derived on explicit
  matrices) contracted with a seeded random direction, against the directional derivative
  of the compiled function by Richardson extrapolation (or the complex step where the
  function is analytic). One direction checks every entry at once; over 20 points and
  fresh directions a wrong entry cannot hide.
- autograd vs symbolic (torch backends): torch autograd of the compiled function, entry
  by entry, for a question with respect to a symbol.
- derivative vs numpy (backends other than numpy float64), and the teacher's reference
  answer vs symbolic (read with numpy semantics).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sympy import ImmutableMatrix as Matrix

from gradcheck import finite_diff
from gradcheck.arrays.derivation import derivative, draw_points
from gradcheck.arrays.model import ArrayModel, ArrayQuestion, entry_symbols
from gradcheck.arrays.reader import TEACHER_LIMITS, read
from gradcheck.backends import Backend
from gradcheck.checks import Comparison, QuestionResult
from gradcheck.errors import ProblemError
from gradcheck.points import label, rng_for
from gradcheck.problem import Problem
from gradcheck.tape import Tape, build_tape
from gradcheck.tolerances import Tolerance, tolerance_for

NUMPY_FLOAT64 = ("numpy", "float64")


def check_problem(problem: Problem, backends: Sequence[Backend], *, points: int = 20,
                  seed: int = 0) -> list[QuestionResult]:
    model: ArrayModel = problem.arrays
    results = []
    for q in model.questions:
        results.extend(_check_question(problem, q, backends, points, seed))
    return results


def _label(q: ArrayQuestion) -> str:
    of = q.of if q.of.isidentifier() else f"({q.of})"
    return f"d {of} / d {q.wrt}"


def _check_question(problem: Problem, q: ArrayQuestion, backends: Sequence[Backend], n: int,
                    seed: int) -> list[QuestionResult]:
    model: ArrayModel = problem.arrays
    names = model.local_names()
    of_local = read(q.of, names, limits=TEACHER_LIMITS).value
    stage = model.stage(q.wrt)
    keep = q.wrt if stage is not None else None
    # With respect to a stage, the graph is cut there: its entries become variables whose
    # values at a point are the stage's forward values (the backprop adjoint).
    f = model.compose(of_local, keep=keep)
    t = derivative(model, of_local, q.wrt, substitute=False)
    wrt_entries = list(entry_symbols(q.wrt, model.shape_of(q.wrt)))
    variables = [*model.inputs, *(wrt_entries if keep else [])]
    tape = build_tape([*f, *t], variables)
    raw = draw_points(problem, q.id, seed, 3 * n + 3)
    from gradcheck.backends.numpy_backend import NumpyBackend
    base = NumpyBackend()
    all_pts = raw.values
    if keep is not None:
        forward = base.evaluate(build_tape(list(model.composed[keep]), model.inputs), raw.values)
        all_pts = np.column_stack([raw.values, forward.T])
    values = base.evaluate(tape, all_pts)
    defined = np.isfinite(values).all(axis=0) & np.isfinite(all_pts).all(axis=1)
    if raw.given and not defined[0]:
        raise ProblemError(problem.path, f"questions.{q.id}",
                           f"{_label(q)} is undefined at the symbols' values",
                           "change the values, or the expression")
    if defined.mean() < 0.5:
        raise ProblemError(problem.path, f"questions.{q.id}",
                           f"{_label(q)} is undefined at {100 * (1 - defined.mean()):.0f}% of random points",
                           "narrow the symbols' domains")
    keep_rows = np.flatnonzero(defined)[: n + (1 if raw.given else 0)]
    pts = all_pts[keep_rows]
    n_f = len(f)
    position = {v: k for k, v in enumerate(variables)}
    wrt_idx = [position[v] for v in wrt_entries]
    direction = np.zeros(len(variables))
    direction[wrt_idx] = rng_for(seed, problem.id, q.id, "direction").standard_normal(len(wrt_idx))
    fd = _directional_fd(tape, pts, direction, n_f)
    symbolic = values[n_f:, keep_rows]
    labels = tuple(str(v) for v in variables)
    results = []
    for backend in backends:
        tol = tolerance_for(backend.dtype)
        comps = []
        got_b = backend.evaluate(tape, pts)
        sym_b = got_b[n_f:]
        if (backend.name, backend.dtype) != NUMPY_FLOAT64:
            comps.append(_compare("function vs numpy", backend.name, "numpy", got_b[:n_f],
                                  values[:n_f, keep_rows], q, pts, labels, tol))
            comps.append(_compare("derivative vs numpy", backend.name, "numpy", sym_b, symbolic, q, pts,
                                  labels, tol))
        contracted = _contract(sym_b, direction[wrt_idx], t)
        comps.append(_compare("symbolic vs finite differences", f"symbolic ({backend.name})",
                              f"finite differences along a random direction ({fd[2]})",
                              contracted, fd[0], q, pts, labels, tol, fd_error=fd[1]))
        auto = _autograd(backend, tape, pts, n_f, wrt_idx, t)
        if auto is not None:
            comps.append(_compare("autograd vs symbolic", f"autograd ({backend.name})",
                                  "symbolic", auto, sym_b, q, pts, labels, tol))
        if q.answer is not None:
            ref = model.compose(read(q.answer, names, student=True, limits=TEACHER_LIMITS).value)
            if ref.shape == t.shape:
                # A value question's reference is a number at the given point; a formula is compared everywhere.
                at = pts[:1] if q.kind == "value" else pts
                ref_vals = base.evaluate(build_tape(list(ref), variables), at)
                comps.append(_compare("reference answer vs symbolic", "reference answer", "symbolic",
                                      ref_vals, symbolic[:, :len(at)], q, at, labels, tol))
        results.append(QuestionResult(problem=problem.id, question=q.id, label=_label(q),
                                      backend=backend.name, dtype=backend.dtype, points=len(pts),
                                      value=None, comparisons=tuple(comps), set_aside=()))
    return results


def _contract(sym: np.ndarray, dvec: np.ndarray, t: Matrix) -> np.ndarray:
    """The symbolic directional derivative, sum over entries of d(of)/d(wrt) times the direction."""
    if t.cols * t.rows == len(dvec):          # gradient of a scalar: (entries, points)
        return np.einsum("ep,e->p", sym, dvec)
    rows = t.rows                              # Jacobian p x n: contract over n, keep p (flattened)
    return np.einsum("rnp,n->rp", sym.reshape(rows, len(dvec), -1), dvec).reshape(-1)


def _directional_fd(tape: Tape, pts: np.ndarray, direction: np.ndarray,
                    n_f: int) -> tuple[np.ndarray, np.ndarray, str]:
    from gradcheck.backends.numpy_backend import NumpyBackend
    backend = NumpyBackend()
    norm = float(np.linalg.norm(direction)) or 1.0
    unit = direction / norm
    values, errors = [], []
    method = "complex-step" if tape.analytic else "richardson"
    for out in range(n_f):
        single = Tape(tape.n_inputs, tape.instructions, (tape.outputs[out],))

        def along(p: np.ndarray, single: Tape = single) -> np.ndarray:
            base = p[:, :-1] + p[:, -1:] * unit
            return backend.evaluate(single, base)[0]

        aug = np.column_stack([pts, np.zeros(len(pts))])
        if method == "complex-step":
            d = finite_diff.complex_step(along, aug, aug.shape[1] - 1)
        else:
            d = finite_diff.richardson(along, aug, aug.shape[1] - 1, rel_step=1e-3)
        values.append(d.values * norm)
        errors.append(d.error * norm)
    return np.concatenate(values), np.concatenate(errors), method


def _autograd(backend: Backend, tape: Tape, pts: np.ndarray, n_f: int, wrt: list[int],
              t: Matrix) -> np.ndarray | None:
    rows = []
    outputs = range(n_f) if t.rows * t.cols != len(wrt) else [0]
    for out in outputs:
        for var in wrt:
            value = backend.autograd(tape, pts, out, [var])
            if value is None:
                return None
            rows.append(value)
    return np.array(rows)


def _compare(what: str, got_by: str, expected_by: str, got: np.ndarray, expected: np.ndarray,
             q: ArrayQuestion, pts: np.ndarray, names: tuple[str, ...], tol: Tolerance,
             fd_error: np.ndarray | None = None) -> Comparison:
    """Entries x points compared; an entry's error is relative to the size of its whole array."""
    got = np.atleast_2d(np.asarray(got, dtype=np.float64))
    expected = np.atleast_2d(np.asarray(expected, dtype=np.float64))
    if got.ndim == 2 and got.shape != expected.shape:
        got = got.reshape(expected.shape)
    with np.errstate(all="ignore"):
        scale = np.maximum(np.linalg.norm(expected, axis=0), tol.atol / tol.rtol)
        gap = np.abs(got - expected)
        if fd_error is not None:
            gap = np.maximum(gap - np.nan_to_num(np.atleast_2d(fd_error).reshape(expected.shape)), 0.0)
        error = gap / scale
    error = np.where(np.isnan(error), np.inf, error)
    per_point = error.max(axis=0)
    worst = int(np.argmax(per_point))
    entry = int(np.argmax(error[:, worst]))
    return Comparison(what=what, got_by=got_by, expected_by=expected_by, variable=q.wrt,
                      points=len(per_point), failures=int(np.count_nonzero(per_point > tol.rtol)),
                      worst_error=float(per_point[worst]), worst_point=label(names, pts[worst]),
                      got=float(got[entry, worst]), expected=float(expected[entry, worst]), tolerance=tol,
                      method="richardson" if fd_error is not None else None)
