"""Explain an array derivative the way the notes teach it, with shapes (dimension analysis).

Forward pass: each stage's shape and value. Local gradients: for each edge, the shape of
d stage / d input (a gradient has the shape of its variable). Backward pass: the adjoint
of every stage and input on the way back, and for a matrix product ``S = A @ B`` the
rule that the shapes force: dA = dS @ B.T and dB = A.T @ dS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from gradcheck.arrays.derivation import derivative, exact
from gradcheck.arrays.model import ArrayModel
from gradcheck.arrays.reader import TEACHER_LIMITS, read
from gradcheck.errors import UsageError
from gradcheck.points import rng_for
from gradcheck.problem import Problem

_MATMUL = re.compile(r"(?<![\w.])([A-Za-z]\w*)(\.T)?\s*@\s*([A-Za-z]\w*)(\.T)?(?![\w(])")


def _shape(shape: tuple[int, int]) -> str:
    return f"{shape[0]}x{shape[1]}"


def _show(m: np.ndarray) -> str:
    if m.shape == (1, 1):
        return f"{m[0, 0]:.6g}"
    rows = ["[" + ", ".join(f"{v:.4g}" for v in row) + "]" for row in m]
    return "[" + ", ".join(rows) + "]"


def explain_text(problem: Problem, question_id: str, point: Mapping[str, float] | None = None,
                 seed: int = 0) -> str:
    """The explanation as text (forward pass, local gradients, backward pass, result)."""
    model: ArrayModel = problem.arrays
    try:
        q = model.question(question_id)
    except KeyError:
        raise UsageError(f"problem {problem.id!r} has no question {question_id!r}") from None
    values = _point(problem, point, seed)
    where = "the symbols' values" if point is None and problem.given_point is not None else "a random point"
    lines = [f"{problem.id}: d {q.of} / d {q.wrt} at {where}", ""]
    lines.append("Inputs")
    for sym_ in model.symbols:
        kind = "data" if sym_.fixed else "variable"
        val = exact(problem, sym_.entries, values)
        lines.append(f"  {sym_.name}  {_shape(sym_.shape)}  ({kind})  = {_show(val)}")
    lines += ["", "Forward pass (shapes follow numpy: @ multiplies, * is elementwise)"]
    width = max((len(f"{s.name} = {s.text}") for s in model.stages), default=0)
    for s in model.stages:
        val = exact(problem, model.composed[s.name], values)
        lines.append(f"  {f'{s.name} = {s.text}':<{width}}  -> {_shape(s.shape)}  = {_show(val)}")
    names = model.local_names()
    of_local = read(q.of, names, limits=TEACHER_LIMITS).value
    lines += ["", "Local gradients (a gradient has the shape of what it is taken with respect to)"]
    for s in model.stages:
        for used in _inputs(model, s.text, free_only=True):
            lines.append(f"  d {s.name} / d {used}: each entry of {s.name} ({_shape(s.shape)}) against each "
                         f"entry of {used} ({_shape(model.shape_of(used))})")
    lines += ["", f"Backward pass (d {q.of} / d node, from {q.of} back to {q.wrt})"]
    for node in _path(model, q.of, q.wrt):
        adj = derivative(model, of_local, node)
        val = exact(problem, adj, values)
        rule = _rule(model, node)
        tail = f"    {rule}" if rule else ""
        lines.append(f"  d {q.of} / d {node}  {_shape(adj.shape)}  = {_show(val)}{tail}")
    result = derivative(model, of_local, q.wrt)
    lines += ["", f"d {q.of} / d {q.wrt} ({_shape(result.shape)}) = {q.answer or '(no reference formula)'}"
              f" = {_show(exact(problem, result, values))}"]
    return "\n".join(lines)


def _point(problem: Problem, point: Mapping[str, float] | None, seed: int) -> np.ndarray:
    names = [s.name for s in problem.symbols]
    if point:
        unknown = sorted(set(point) - set(names))
        if unknown:
            raise UsageError(f"unknown entries {', '.join(unknown)}; the entries are named like "
                             f"{names[0] if names else 'W__0_1'}")
    given = problem.given_point or {}
    rng = rng_for(seed, problem.id, "explain")
    out = []
    for s in problem.symbols:
        if point and s.name in point:
            out.append(float(point[s.name]))
        elif s.name in given:
            out.append(given[s.name])
        else:
            lo, hi = s.domain
            out.append(round(lo + (hi - lo) * float(rng.random()), 2))
    return np.array(out)


def _inputs(model: ArrayModel, text: str, free_only: bool = False) -> list[str]:
    words = re.findall(r"[A-Za-z]\w*", text)
    known = {s.name for s in model.symbols if not (free_only and s.fixed)} | {s.name for s in model.stages}
    seen: list[str] = []
    for w in words:
        if w in known and w not in seen:
            seen.append(w)
    return seen


def _path(model: ArrayModel, of: str, wrt: str) -> list[str]:
    """The stages between ``of`` and ``wrt`` (in backward order), then ``wrt``."""
    order = [s.name for s in model.stages]
    if of not in order:
        return [wrt]
    depends: dict[str, set[str]] = {}
    for s in model.stages:
        deps = set(_inputs(model, s.text))
        for d in list(deps):
            deps |= depends.get(d, set())
        depends[s.name] = deps
    path = [name for name in reversed(order[: order.index(of) + 1])
            if name == of or (wrt in depends.get(name, set()) and name in depends.get(of, set()))]
    return [*path, wrt] if wrt not in path else path


def _rule(model: ArrayModel, node: str) -> str:
    """Dimension analysis for a node used in a matrix product ``A @ B`` by some stage."""
    for s in model.stages:
        for a, at, b, bt in _MATMUL.findall(s.text):
            a_used = model.shape_of(a)[::-1] if not at else model.shape_of(a)
            b_used = model.shape_of(b)[::-1] if not bt else model.shape_of(b)
            if node == a and not at:
                return (f"= d{s.name} @ {b}{'.T' if not bt else ''}  (shapes: {_shape(s.shape)} @ "
                        f"{_shape(b_used)} = {_shape(model.shape_of(a))})")
            if node == b and not bt:
                return (f"= {a}{'.T' if not at else ''} @ d{s.name}  (shapes: {_shape(a_used)} @ "
                        f"{_shape(s.shape)} = {_shape(model.shape_of(b))})")
    return ""
