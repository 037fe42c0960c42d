"""What a student's wrong work reads as on the computational graph.

For a wrong local gradient (``edge_slip``): the known slips on that edge, as the grader
knows them (a flipped sign, the forward value, the other input's local gradient, the rows
of ``graph_mistakes.MUTATIONS`` and its power-rule slips, a constant factor). For a wrong
whole gradient (``answer_readings``): every single slip that reproduces it, from
``graph_mistakes.alternatives`` and the chain rule with one factor left out, ordered from
the output back. Both compare formulas along the forward pass: at the same points, within
the same tolerance, undefined at the same points (``same``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from gradcheck import graph_mistakes
from gradcheck.candidates import split_edge  # one edge's local gradient as its two chain-rule parts
from gradcheck.derivation import LocalGradient, adjoint_program, derive_question, expand, needed
from gradcheck.diagnosis import fraction_text
from gradcheck.errors import GradcheckError, UsageError
from gradcheck.problem import Problem, Question, sym
from gradcheck.tape import build_tape
from gradcheck.truth import BACKEND

__all__ = ["Between", "Reading", "answer_readings", "edge_slip", "evaluate", "same"]


@dataclass(frozen=True)
class Reading:
    """One account of where the student's work parts from the right backward pass.

    ``kind`` is a diagnosis name (problem.DIAGNOSES); ``where`` the edge (``d h / d z``)
    or node involved; ``text`` says what the student did, in the notes' words.
    """

    kind: str
    where: str
    text: str
    weak: bool = False  # one number agreeing with it proves too little (a power rule slip)


def evaluate(exprs: Sequence[sympy.Expr], problem: Problem, points: np.ndarray,
             program: Sequence[tuple[sympy.Symbol, sympy.Expr]] = ()) -> np.ndarray:
    """Expressions over the symbols, stages and ``program`` symbols at the points."""
    if not exprs:
        return np.empty((0, len(points)))
    bindings = (*((sym(s.name), s.expr) for s in problem.stages), *program)
    symbols = [sym(n) for n in problem.symbol_names]
    try:
        tape = build_tape(exprs, symbols, needed(bindings, exprs))
    except (TypeError, ValueError, ArithmeticError) as exc:
        if isinstance(exc, GradcheckError):
            raise
        raise UsageError(f"cannot evaluate: {exc}") from None
    with np.errstate(all="ignore"):
        return np.real_if_close(BACKEND.evaluate(tape, points))


def same(got: np.ndarray, right: np.ndarray, rtol: float, atol: float) -> bool:
    """Equal where both are defined, and defined at the same points."""
    ok_got, ok_right = np.isfinite(got), np.isfinite(right)
    if not np.array_equal(ok_got, ok_right):
        return False
    with np.errstate(all="ignore"):
        close = np.abs(got - right) <= rtol * np.maximum(np.abs(right), atol / rtol)
    return bool(close[ok_right].all())


class Between:
    """The graph as seen from one question: which nodes lie between its output and variable."""

    def __init__(self, problem: Problem, question: Question) -> None:
        self.problem, self.question = problem, question
        wrt = question.wrt[0]
        below = {wrt}  # the variable and everything computed from it
        for stage in problem.stages:
            if stage.name != wrt and any(s.name in below for s in stage.expr.free_symbols):
                below.add(stage.name)
        above = {question.of}  # the output and everything it is computed from
        for stage in reversed(problem.stages):
            if stage.name in above:
                above |= {s.name for s in stage.expr.free_symbols}
        if question.of not in problem.stage_names:
            above |= {s.name for s in question.of_expr.free_symbols}
        self.between = below & above
        order = [*reversed(problem.stage_names), *problem.symbol_names]
        self.nodes = [n for n in order if n in self.between and n != question.of]
        if wrt in self.nodes:  # a variable that is a stage: the pass stops there
            self.nodes = self.nodes[:self.nodes.index(wrt) + 1]

    def on_edge(self, stage: str, inp: str) -> bool:
        return stage in self.between and inp in self.between and stage != self.question.wrt[0]

    def backward_edges(self, grads: Sequence[LocalGradient]) -> list[LocalGradient]:
        """Every edge, from the output back: the stages last to first, each stage's inputs
        in graph order."""
        rank = {n: i for i, n in enumerate(reversed(self.problem.stage_names))}
        return sorted(grads, key=lambda g: rank[g.stage])


# -- a wrong local gradient ------------------------------------------------------------------

def edge_slip(problem: Problem, g: LocalGradient, grads: Sequence[LocalGradient],
              mine: np.ndarray, right: np.ndarray, points: np.ndarray, rtol: float,
              atol: float) -> str:
    """The known slips a wrong local gradient equals along the forward pass, said in the
    notes' words ("" when none fits): a flipped sign, the forward value, the local gradient
    for the stage's other input, a derivative rule misapplied (graph_mistakes' table), a
    constant factor."""
    stage = problem.stage(g.stage)
    var = sym(g.input)
    candidates: list[tuple[str, sympy.Expr]] = [
        ("the right one with its sign flipped", -g.expr),
        (f"{g.stage} itself, the forward value, where its derivative belongs", sym(g.stage))]
    candidates += [(f"d {g.stage} / d {h.input} = {sympy.sstr(h.expr)}, the local gradient with "
                    f"respect to the other input {h.input}", h.expr)
                   for h in grads if h.stage == g.stage and h.input != g.input]
    rules = len(candidates)
    for site, function, arg in graph_mistakes.activation_sites(stage.expr, var):
        if function == "power":
            slips = [w for w in graph_mistakes._power_slips(arg, site.exp)]
        else:
            slips = [(m.wrong(arg, site), m.says.format(u=sympy.sstr(arg)))
                     for m in graph_mistakes.MUTATIONS if m.function == function]
        for wrong, says in slips:
            try:
                mutated = graph_mistakes._wrong_local(stage.expr, var, site, wrong, arg)
            except (TypeError, ValueError):
                continue
            candidates.append((f"the derivative of {sympy.sstr(site)} written as {says}", mutated))
    try:
        values = evaluate([e for _, e in candidates], problem, points)
    except GradcheckError:
        values = np.empty((0, len(points)))
    fits = [i for i, v in enumerate(values)
            if not same(v, right, rtol, atol) and same(mine, v, rtol, atol)]
    if any(i >= rules for i in fits):  # a derivative rule's own words say more than "forward"
        fits = [i for i in fits if i != 1]
    found = [candidates[i][0] for i in fits]
    if not found:
        with np.errstate(all="ignore"):
            ratio = mine / right
        ratio = ratio[np.isfinite(ratio)]
        if ratio.size and np.all(np.abs(ratio - ratio[0]) <= rtol * abs(ratio[0])) and ratio[0] != 0:
            found.append(f"the right one times {fraction_text(float(ratio[0]))}")
    return " or ".join(dict.fromkeys(found))


# -- readings of a whole answer --------------------------------------------------------------

def answer_readings(problem: Problem, question: Question, graph: Between,
                    grads: Sequence[LocalGradient], answer: sympy.Expr, points: np.ndarray,
                    rtol: float, atol: float) -> tuple[Reading, ...]:
    """Every single slip on the graph whose formula agrees with the answer, where it differs
    from the truth (the grader's rule for a graph diagnosis), from the output back."""
    wrt = sym(question.wrt[0])
    prog, adj = adjoint_program(problem, question.of_expr, "R", grads)
    stage_count = len(problem.stages)
    truth_expr = adj.get(wrt.name, sympy.Integer(0))
    found: list[tuple[Reading, sympy.Expr]] = []
    # graph_mistakes works on expanded formulas: exponential in a deep graph's depth.
    alternatives = graph_mistakes.alternatives(problem, question) if derive_question(
        problem, question).expandable else ()
    for alt in alternatives:
        found.append((Reading(alt.kind, alt.where, alt.text, alt.weak), expand(problem, alt.expr)))
    program = list(prog[stage_count:])
    found += _chainanswer_readings(problem, question, graph, grads, adj, program)
    exprs = [truth_expr, answer, *(e for _, e in found)]
    vals = evaluate(exprs, problem, points, program)
    truth, mine = vals[0], vals[1]
    single = len(points) == 1
    scale = float(np.nanmax(np.abs(truth))) if np.isfinite(truth).any() else 1.0
    floor = max(atol, rtol * 1e-3 * scale)
    fits: dict[tuple[str, str], Reading] = {}
    chains: list[np.ndarray] = []
    for (reading, _), values in zip(found, vals[2:], strict=True):
        if same(values, truth, rtol, floor) or not np.any(np.abs(values[np.isfinite(values)]) > floor):
            continue
        if reading.weak and (single or _proportional(values, truth, rtol)):
            continue  # one number, or a multiple of the truth: the grader's factor says more
        if not same(mine, values, rtol, floor):
            continue
        if reading.kind == "chain":
            # One slip, found twice (a stop above an edge whose local gradient is 1): the
            # first account, the edge itself, is kept.
            if any(same(values, c, rtol, floor) for c in chains):
                continue
            chains.append(values)
        fits.setdefault((reading.kind, reading.where), reading)
    rank = _rank(problem, question, graph, grads)
    return tuple(sorted(fits.values(), key=lambda r: rank(r.where)))


def _proportional(values: np.ndarray, truth: np.ndarray, rtol: float) -> bool:
    with np.errstate(all="ignore"):
        ratio = values / truth
    ratio = ratio[np.isfinite(ratio)]
    return bool(ratio.size) and bool(np.all(np.abs(ratio - ratio[0]) <= rtol * abs(ratio[0])))


def _chainanswer_readings(problem: Problem, question: Question, graph: Between,
                    grads: Sequence[LocalGradient], adj: Mapping[str, sympy.Expr],
                    program: list[tuple[sympy.Symbol, sympy.Expr]],
                    ) -> list[tuple[Reading, sympy.Expr]]:
    """The chain rule with a factor left out: one edge's local gradient not multiplied in,
    a backward pass that stopped at a node (the node's gradient given for the variable's),
    and one that began at a node (its derivative, without the gradient coming down).

    The skipped edges' passes are appended to ``program`` (their adjoints are its symbols).
    """
    wrt, of = question.wrt[0], question.of
    stage_count = len(problem.stages)
    found: list[tuple[Reading, sympy.Expr]] = []
    if sum(graph.on_edge(g.stage, g.input) for g in grads) == 1:
        return found  # the question is one local gradient: no chain to leave a factor out of
    for i, g in enumerate(grads):
        if not graph.on_edge(g.stage, g.input) or g.expr == 1:
            continue
        edge = f"d {g.stage} / d {g.input}"
        # The whole local gradient left out, or one part of it when the stage applies a
        # function to a compound of its input (tanh(w*h + u*x): 1 - tanh^2 or the w).
        # A constant factor left out (a 2, a -1) is the grader's factor or sign: not here.
        variants = [] if g.expr.is_number else [(sympy.Integer(1), f"{edge} = {sympy.sstr(g.expr)}")]
        parts = split_edge(problem.stage(g.stage).expr, g.stage, g.input)
        for j, (label, part) in enumerate(parts):
            if not part.is_number:
                variants.append((parts[1 - j][1], f"{label} = {sympy.sstr(part)}, one factor of {edge}"))
        for k, (local, says) in enumerate(variants):
            skipped = [LocalGradient(h.stage, h.input, local if h is g else h.expr) for h in grads]
            prog, theirs = adjoint_program(problem, question.of_expr, f"K{i}_{k}", skipped)
            if wrt not in theirs:
                continue
            program.extend(prog[stage_count:])
            found.append((Reading(
                "chain", edge,
                f"your answer leaves out the local gradient {says}: on the way back from {of} "
                f"to {wrt}, multiply by every local gradient along the path (chain rule)."),
                theirs[wrt]))
    for node in graph.nodes:
        if node in (wrt, of) or node not in adj or node not in problem.stage_names:
            continue
        below = [s.name for s in sorted(problem.stage(node).expr.free_symbols, key=str)
                 if s.name in graph.between]
        edges = ", ".join(f"d {node} / d {b}" for b in below)
        found.append((Reading(
            "chain", edges,
            f"your answer is d {of} / d {node}: the backward pass stopped at {node}. The chain "
            f"rule goes on down to {wrt}: multiply by the local gradient {edges} and the "
            "ones below it."), adj[node]))
        kept = expand(problem, sym(node), keep=[wrt] if wrt in problem.stage_names else [])
        local = sympy.diff(kept, sym(wrt))
        if local == 0:
            continue
        found.append((Reading(
            "chain", f"d {of} / d {node}",
            f"your answer is d {node} / d {wrt}, the derivative of {node} alone: the gradient "
            f"coming back from {of}, d {of} / d {node}, was not multiplied in. The chain rule "
            "multiplies the upstream gradient by the local one."),
            expand(problem, local)))
    return found


def _rank(problem: Problem, question: Question, graph: Between,
          grads: Sequence[LocalGradient]) -> Any:
    """Position on the backward pass of an edge ``d a / d b`` or a node, from the output."""
    order = [f"d {g.stage} / d {g.input}" for g in graph.backward_edges(grads)]
    nodes = [question.of, *graph.nodes]

    def rank(where: str) -> tuple[int, int]:
        first = where.split(", ")[0]
        if first in order:
            return (0, order.index(first))
        if first.startswith(f"d {question.of} / d "):
            first = first.removeprefix(f"d {question.of} / d ")
        if first in nodes:
            node = nodes.index(first)
            # a node sits just above the edges that leave it
            at = next((i for i, e in enumerate(order) if e.startswith(f"d {first} / ")), len(order))
            return (0, at if node else -1)
        return (1, 0)

    return rank
