"""What a wrong answer is compared with: the alternatives a student may have given instead.

The forward value, the other stages, derivatives with respect to other symbols and stages,
partial chain-rule products along each path of the graph, and the answer re-evaluated with
a symbol the truth does not use moved elsewhere. Built per question on the first wrong
answer and cached in the Reference's ``extras``; ``gradcheck.diagnosis`` decides which of
them explains the answer.
"""

from __future__ import annotations

from functools import lru_cache, partial
from itertools import combinations
from typing import Any

import numpy as np
import sympy

from gradcheck import diagnosis, graph_mistakes
from gradcheck.checks import complete
from gradcheck.deadline import Timeout, deadline, paused
from gradcheck.derivation import (
    adjoint_program,
    exact_number,
    local_gradients,
    needed,
    reached_inputs,
)
from gradcheck.errors import UnsupportedFunctionError
from gradcheck.points import draw, number, rng_for
from gradcheck.problem import Problem, Question, sym
from gradcheck.tape import Tape, build_tape
from gradcheck.truth import BACKEND, Reference

__all__ = ["alternatives", "case", "warm"]

ALTERNATIVES_BUDGET = 30.0  # seconds to build one question's alternatives (once)



def case(ref: Reference, extras: list[Any], values: np.ndarray,
         full: sympy.Expr, text: str = "") -> diagnosis.Case:
    warm(ref, extras)
    forward, stages, derivatives, missing, graph, plugged = extras[0]
    single = ref.question.kind == "value"
    # Near zero, values are compared relative to the size of the truth over the domain (as
    # the decision does), not to a fixed floor that would make every tiny value alike.
    scale = ref.scale if ref.scale > 0 else 1.0
    atol = ref.tolerance.rtol * 1e-3 * (abs(float(ref.truth[0])) if single else scale)
    return diagnosis.Case(
        label=ref.question.label, of=ref.question.of, truth=ref.truth, answer=values,
        rtol=ref.tolerance.rtol, atol=atol or 1e-300, single_point=single, forward=forward,
        stages=stages, derivatives=derivatives, missing=missing,
        varied=() if single else _varied(ref, full), square=ref.square, graph=graph,
        plugged=plugged, text=text, given_used=ref.given_used,
        formula=bool(full.free_symbols))


def warm(ref: Reference, extras: list[Any]) -> None:
    """Build the question's alternatives into ``extras`` once, on their own budget (the
    running answer's timer is paused): they belong to the question, not to an answer."""
    if extras:
        return
    with paused():
        try:
            with deadline(ALTERNATIVES_BUDGET):
                extras.append(alternatives(ref))
        except Timeout:
            extras.append((None, (), (), (), (), ()))


def alternatives(ref: Reference) -> tuple[Any, ...]:
    """Values of the forward pass, other derivatives and partial chain products (cached)."""
    problem, question = ref.problem, ref.question
    program, adjoints = ((), {}) if question.order != 1 else adjoint_program(
        problem, question.of_expr)
    named: list[tuple[str, str, sympy.Expr]] = []
    groups = [_stage_values(problem, question), _derivatives(problem, question, adjoints),
              _missing_factors(problem, question)]
    sizes = [len(g) for g in groups]
    # Compiled over the stage graph (stages and adjoints as bindings), never expanded: the
    # expanded forms grow exponentially with the depth of the graph.
    forward = program or tuple((sym(s.name), s.expr) for s in problem.stages)
    # Usually every alternative compiles: one tape for all of them. Only when that fails
    # is each checked alone (an alternative gradcheck cannot compile, an unevaluated
    # derivative, is left out); a tape compiles exactly when each of its outputs does.
    exprs = [question.of_expr, *(e for group in groups for _, _, e in group)]
    tape = _tape(exprs, ref, forward)
    if tape is None:
        for i, group in enumerate(groups):
            usable = [g for g in group if _tape([g[2]], ref, forward) is not None]
            sizes[i] = len(usable)
            named.extend(usable)
        exprs = [question.of_expr, *(e for _, _, e in named)]
        tape = build_tape(exprs, ref.target.symbols, needed(forward, exprs))
    else:
        named = [g for group in groups for g in group]
    values = BACKEND.evaluate(tape, ref.points)
    out, start = [], 0
    for kind, size in enumerate(sizes):
        # A partial chain product's label reads `` = formula`` after it when the formula
        # is short: printed only if feedback names it.
        out.append(tuple(diagnosis.Candidate(n, lab, values[1 + i],
                                             constant=not reached_inputs(forward, [e]),
                                             shows=partial(_shown, e) if kind == 2 else None)
                         for i, (n, lab, e) in enumerate(named[start:start + size], start)))
        start += size
    return (values[0], *out, _graph(ref), _plugged(ref))


def _graph(ref: Reference) -> tuple[diagnosis.Candidate, ...]:
    """The graph mistakes' formulas (gradcheck.graph_mistakes) evaluated at the points."""
    if not ref.target.expandable:
        # graph_mistakes works on expanded formulas: exponential in a deep graph's depth.
        return ()
    alts = graph_mistakes.alternatives(ref.problem, ref.question)
    if not alts:
        return ()
    # Stages read through the question's program (a cut stage stays an input): no expansion.
    exprs = [a.expr for a in alts]
    try:
        values = BACKEND.evaluate(ref.target.build(exprs), ref.points)
    except (UnsupportedFunctionError, TypeError, ValueError, ArithmeticError):
        return ()
    return tuple(diagnosis.Candidate(a.where, a.where, values[i], kind=a.kind, text=a.text,
                                     stage=a.stage, weak=a.weak) for i, a in enumerate(alts))


def _plugged(ref: Reference) -> tuple[diagnosis.Candidate, ...]:
    """The truth with one symbol fixed at its given value (a formula question only)."""
    given = ref.problem.given_point
    if (ref.question.kind == "value" or not given or not ref.given_used
            or ref.truth_full is None):  # None: too large a closed form (a deep graph)
        return ()
    named = [(n, v) for n, v in given.items() if sym(n) in ref.truth_full.free_symbols]
    if len(named) < 2:
        return ()
    exprs = [ref.truth_full.xreplace({sym(n): exact_number(v)}) for n, v in named]
    values = BACKEND.evaluate(build_tape(exprs, ref.target.symbols), ref.points)
    return tuple(diagnosis.Candidate(n, f"{n} = {number(v)}", values[i])
                 for i, (n, v) in enumerate(named))


def _tape(exprs: list[sympy.Expr], ref: Reference, forward: Any) -> Tape | None:
    """The expressions compiled over the question's program, or None if one cannot be."""
    try:
        return build_tape(exprs, ref.target.symbols, needed(forward, exprs))
    except (UnsupportedFunctionError, TypeError, ValueError, ArithmeticError):
        return None


def _stage_values(problem: Problem, question: Question) -> list[tuple[str, str, sympy.Expr]]:
    return [(s.name, s.name, sym(s.name)) for s in problem.stages if s.name != question.of]


def _derivatives(problem: Problem, question: Question,
                 adjoints: dict[str, sympy.Expr]) -> list[tuple[str, str, sympy.Expr]]:
    """d of / d v for every other symbol and stage v (first-order questions only): the
    adjoints of one reverse pass over the whole graph (``adjoint_program``)."""
    if question.order != 1:
        return []
    return [(name, f"d {question.of} / d {name}", adjoints[name])
            for name in (*problem.symbol_names, *problem.stage_names)
            if name not in (question.wrt[0], question.of) and name in adjoints]


MAX_UNITS = 8  # more factors on a path than this: whole edges only (2^8 subsets at most)


def _missing_factors(problem: Problem, question: Question) -> list[tuple[str, str, sympy.Expr]]:
    """Products of some (not all) local gradients along each path from ``of`` to ``wrt``,
    labelled by their edges (``_shown`` prints the product after the label).

    An edge through an activation of a compound argument, h = tanh(w1*x), counts as its
    two chain-rule parts, d h / d (w1*x) = 1 - tanh(w1*x)**2 and d (w1*x) / d w1 = x, so
    an answer that keeps the x but lacks the activation's derivative is found too.
    """
    if question.order != 1:
        return []
    exprs = {s.name: s.expr for s in problem.stages}
    if question.of not in exprs:
        exprs[question.of] = question.of_expr
    found: dict[sympy.Expr, tuple[str, str, sympy.Expr]] = {}
    splits: dict[tuple[str, str], list[tuple[str, sympy.Expr]]] = {}
    for path in _paths(problem, question):
        edges = [e for e in path if e[2] != 1]
        units: list[tuple[int, str, sympy.Expr]] = []
        for i, (a, b, g) in enumerate(edges):
            if (a, b) not in splits:
                splits[(a, b)] = split_edge(exprs.get(a), a, b)
            parts = splits[(a, b)] or [(f"d {a} / d {b}", g)]
            units.extend((i, text, expr) for text, expr in parts)
        if len(units) > MAX_UNITS:
            units = [(i, f"d {a} / d {b}", g) for i, (a, b, g) in enumerate(edges)]
        # When an edge's local gradient is 1 (d v / d a for v = a + u), the answer may be
        # that 1 alone: every other local gradient is then the missing product.
        top = len(units) + (len(edges) < len(path))
        # A long path: only one factor missing (2^60 subsets would never end).
        sizes = range(1, top) if len(units) <= MAX_UNITS else (len(units) - 1,)
        for k in sizes:
            for subset in combinations(units, k):
                product = sympy.Mul(*(u[2] for u in subset))
                if product in found:
                    continue
                text = " * ".join(_unit_labels(subset, units, edges))
                found.setdefault(product, (edges[subset[0][0]][1], text, product))
    return list(found.values())


SHOWN_NODES = 40  # a partial product larger than this is named by its edges only


@lru_cache(maxsize=4096)
def _shown(product: sympy.Expr) -> str:
    """`` = formula`` for a label, when the formula is short enough to read in feedback.

    Printing every partial product of a long path (an RNN unrolled 10 steps) cost a
    quarter of a bank's preparation, for formulas no student would read.
    """
    for n, _ in enumerate(sympy.preorder_traversal(product)):
        if n >= SHOWN_NODES:
            return ""
    return f" = {sympy.sstr(product)}"


def _unit_labels(subset: tuple[tuple[int, str, sympy.Expr], ...],
                 units: list[tuple[int, str, sympy.Expr]],
                 edges: list[tuple[str, str, sympy.Expr]]) -> list[str]:
    """Labels of a subset of units; both parts of one edge read as the whole edge."""
    texts: list[str] = []
    for i in dict.fromkeys(u[0] for u in subset):
        mine = [u for u in subset if u[0] == i]
        if len(mine) > 1 and len(mine) == sum(u[0] == i for u in units):
            texts.append(f"d {edges[i][0]} / d {edges[i][1]}")
        else:
            texts.extend(u[1] for u in mine)
    return texts


@lru_cache(maxsize=4096)
def split_edge(expr: sympy.Expr | None, stage: str,
               name: str) -> list[tuple[str, sympy.Expr]]:
    """d stage / d name as (d stage / d (u), d (u) / d name) for the smallest compound u
    holding every use of ``name`` (tanh(w1*x): u = w1*x), when both parts vary; else []."""
    if expr is None:
        return []
    var = sym(name)
    inner = sympy.Dummy("u", real=True)  # real, as the symbols are: d|u|/du is sign(u)
    # Expressions only: a Piecewise condition (x < 1) is no factor of a chain rule.
    subs = sorted((e for e in sympy.preorder_traversal(expr) if isinstance(e, sympy.Expr)
                   and e != expr and not e.is_Atom and e.has(var)), key=sympy.count_ops)
    for sub in subs:
        arg = sub.as_coeff_Mul()[1]
        if arg.is_Atom or arg == expr:
            continue
        replaced = expr.subs(arg, inner)
        if replaced.has(var):
            continue
        outer = sympy.diff(replaced, inner).subs(inner, arg)
        local = sympy.diff(arg, var)
        if not outer.free_symbols or not local.free_symbols:
            return []
        shown = sympy.sstr(arg)
        return [(f"d {stage} / d ({shown})", outer), (f"d ({shown}) / d {name}", local)]
    return []


def _paths(problem: Problem, question: Question,
           limit: int = 32) -> list[list[tuple[str, str, sympy.Expr]]]:
    """Every path of graph edges (stage, input, local gradient) from ``of`` down to ``wrt``."""
    edges: dict[str, list[tuple[str, str, sympy.Expr]]] = {}
    for g in local_gradients(problem):
        edges.setdefault(g.stage, []).append((g.stage, g.input, g.expr))
    start = question.of
    if question.of not in problem.stage_names:
        # ``of`` is an expression (or a bare symbol): a virtual node over its free symbols,
        # never an edge to itself.
        edges[start] = [(start, s.name, sympy.diff(question.of_expr, s))
                        for s in sorted(question.of_expr.free_symbols, key=str) if s.name != start]
    paths: list[list[tuple[str, str, sympy.Expr]]] = []
    # Only nodes that depend on wrt lead to it; and a path of more than MAX_UNITS edges
    # (deep in an unrolled RNN or a training trace) would give 2^edges products: such
    # paths are not followed, so the walk and the products stay bounded at any depth.
    reach = {question.wrt[0]}
    for stage in problem.stages:
        if any(s.name in reach for s in stage.expr.free_symbols):
            reach.add(stage.name)

    def walk(node: str, trail: list[tuple[str, str, sympy.Expr]]) -> None:
        if node == question.wrt[0]:
            paths.append(trail)
            return
        if len(trail) >= MAX_UNITS:
            return
        for edge in edges.get(node, []):
            if len(paths) < limit and edge[1] in reach:
                walk(edge[1], [*trail, edge])

    walk(start, [])
    return paths


def _varied(ref: Reference, full: sympy.Expr) -> tuple[diagnosis.Candidate, ...]:
    """The answer re-evaluated with each symbol the truth does not use moved elsewhere."""
    used: set[str] = set()
    for s in full.free_symbols:
        used |= ref.inputs_of.get(s.name, {s.name})
    extra = sorted(used - ref.truth_symbols)
    if not extra:
        return ()
    tape = build_tape([full], ref.target.symbols)
    n_sym = len(ref.problem.symbols)
    found = []
    for name in extra:
        rows = np.array(ref.points[:, :n_sym])
        column = ref.problem.symbol_names.index(name)
        rng = rng_for(0, ref.problem.id, ref.question.id, "vary", name)
        rows[:, column] = draw(ref.problem, len(rows), rng)[:, column]
        pts = complete(ref.target, ref.problem, rows)
        found.append(diagnosis.Candidate(name, name, BACKEND.evaluate(tape, pts)[0]))
    return tuple(found)
