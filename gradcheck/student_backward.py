"""A student's backward pass beside the right one, and the first edge where they part.

Two ways in, as a student hands work in:

- ``compare_local``: the student's local gradients for named edges (``dloss/ds = 2*s``).
  Their backward pass is the right one's recipe (each node's gradient is the sum, over
  the stages that use it, of the stage's gradient times the local gradient of the edge)
  with their local gradients put in, and the right ones on the edges they left out. The
  first edge from the output whose local gradient is wrong is where the two part.
- ``compare_answer``: the student's formula for the whole gradient. It is graded
  (``gradcheck.grading.grade``), then compared with what a student may have done instead
  on the graph (``gradcheck.graph_mistakes``: a missing path, term or product-rule term,
  an activation's value, a wrong local gradient on one edge) and with a backward pass
  that stopped early or began late (a chain rule with a factor left out). Every reading
  that fits is named, ordered from the output back; none that fits is said so.

A local gradient (or a gradient) is right when it equals the right one as a function
along the forward pass: at the given point and at seeded random points of the symbols'
domains, within the question's tolerance, and undefined at the same points. Values are
shown exactly at the given point, as ``gradcheck explain`` shows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sympy

from gradcheck import graph_mistakes
from gradcheck.derivation import (
    LocalGradient,
    adjoint_program,
    derive_question,
    expand,
    local_gradients,
    needed,
)
from gradcheck.errors import ExpressionError, GradcheckError, UsageError
from gradcheck.explanation import _num, _point, _settle
from gradcheck.parsing import Limits, parse_expression
from gradcheck.points import draw, rng_for
from gradcheck.problem import Problem, Question, sym
from gradcheck.tape import build_tape
from gradcheck.tolerances import tolerance_for
from gradcheck.truth import BACKEND

__all__ = ["BackwardRow", "EdgeRow", "Reading", "StudentBackward", "compare_answer",
           "compare_local", "edge_names", "parse_local"]

RANDOM_POINTS = 12  # besides the given point: enough to tell a formula from its value there
FORMULA_NODES = 120  # a node's gradient formula larger than this is not shown (values are)
READING_STAGES = 40  # deeper graphs are not searched for single slips (see graph_mistakes)
Status = Literal["right", "wrong", "not given"]


@dataclass(frozen=True)
class EdgeRow:
    """One edge's local gradient d stage / d input: the right one and the student's.

    ``yours`` is the student's formula as read (None: not given, the right one is used);
    ``on_path``: the edge lies on a path from the question's output to its variable.
    """

    stage: str
    input: str
    right: str
    right_value: sympy.Expr
    yours: str | None
    your_value: sympy.Expr | None
    status: Status
    on_path: bool

    @property
    def name(self) -> str:
        return f"d {self.stage} / d {self.input}"


@dataclass(frozen=True)
class BackwardRow:
    """d output / d node, right and the student's: formula (over the stages, as the notes
    write ``2*s*x``; None when too large), the chain-rule products at the point, the value.

    ``terms`` are (consumer, upstream value, local value) for each stage that uses the node.
    ``yours`` is empty and ``your_value`` None where the student's pass is not known (an
    answer gives only the last row).
    """

    node: str
    right_formula: str | None
    right_terms: tuple[tuple[str, sympy.Expr, sympy.Expr], ...]
    right_value: sympy.Expr
    your_formula: str | None
    your_terms: tuple[tuple[str, sympy.Expr, sympy.Expr], ...]
    your_value: sympy.Expr | None
    agrees: bool | None


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


@dataclass(frozen=True)
class StudentBackward:
    """The student's backward pass for one question beside the right one.

    ``mode`` is ``local`` (local gradients given) or ``answer`` (the whole gradient).
    ``first_wrong`` (local mode) is the first wrong edge on the backward pass from the
    output; ``readings`` (answer mode) every single slip that reproduces the answer,
    from the output back. ``verdict``: ``pass`` or ``fail``; in local mode ``fail`` when a
    local gradient the student gave is wrong. ``diagnosis`` and ``feedback`` are the
    grader's (answer mode). ``seed`` and ``points`` fix the points compared at.
    """

    problem: str
    question: str
    label: str
    output: str
    wrt: str
    mode: Literal["local", "answer"]
    point: tuple[tuple[str, sympy.Expr], ...]
    forward: tuple[tuple[str, str, sympy.Expr], ...]
    edges: tuple[EdgeRow, ...]
    backward: tuple[BackwardRow, ...]
    verdict: Literal["pass", "fail"]
    first_wrong: EdgeRow | None = None
    answer: str | None = None
    understood_as: str | None = None
    diagnosis: str | None = None
    feedback: str = ""
    readings: tuple[Reading, ...] = ()
    searched: bool = True
    seed: int = 0
    points: int = 0

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_dict(self) -> dict[str, object]:
        """Plain data in a fixed key order (for JSON); numbers as floats where real."""
        return {
            "problem": self.problem, "question": self.question, "label": self.label,
            "mode": self.mode, "verdict": self.verdict,
            "point": {n: _json(v) for n, v in self.point},
            "forward": [{"stage": n, "formula": f, "value": _json(v)} for n, f, v in self.forward],
            "answer": self.answer, "understood_as": self.understood_as,
            "diagnosis": self.diagnosis, "feedback": self.feedback,
            "first_wrong": self.first_wrong.name if self.first_wrong else None,
            "readings": [{"kind": r.kind, "where": r.where, "text": r.text}
                         for r in self.readings],
            "searched": self.searched,
            "edges": [{"edge": e.name, "right": e.right, "right_value": _json(e.right_value),
                       "yours": e.yours,
                       "your_value": None if e.your_value is None else _json(e.your_value),
                       "status": e.status, "on_path": e.on_path} for e in self.edges],
            "backward": [{"node": b.node, "gradient": f"d {self.output} / d {b.node}",
                          "right": b.right_formula, "right_value": _json(b.right_value),
                          "yours": b.your_formula,
                          "your_value": None if b.your_value is None else _json(b.your_value),
                          "agrees": b.agrees} for b in self.backward],
            "seed": self.seed, "points": self.points,
        }


def _json(value: sympy.Expr) -> float | str:
    shown = _num(value)
    try:
        return float(shown)
    except ValueError:
        return shown


# -- reading the student's local gradients ------------------------------------------------

_EDGE = re.compile(r"\s*[d∂]\s*([A-Za-z_]\w*)\s*/\s*[d∂]\s*([A-Za-z_]\w*)\s*")


def edge_names(problem: Problem) -> tuple[str, ...]:
    """Every edge of the graph as the command line writes it: ``dloss/ds``."""
    return tuple(f"d{g.stage}/d{g.input}" for g in local_gradients(problem))


def parse_local(problem: Problem, items: Sequence[str]) -> dict[tuple[str, str], str]:
    """``["dloss/ds=2*s", ...]`` as {(stage, input): text}, names checked against the graph.

    Raises:
        UsageError: an item without ``=``, an edge the graph does not have (the message
            lists the edges), or one edge given twice.
    """
    known = {(g.stage, g.input) for g in local_gradients(problem)}
    found: dict[tuple[str, str], str] = {}
    for item in items:
        left, eq, right = item.partition("=")
        match = _EDGE.fullmatch(left)
        if not eq or match is None:
            raise UsageError(f"--local {item!r}: write EDGE=FORMULA, e.g. --local "
                             f"'{edge_names(problem)[-1] if known else 'dloss/ds'}=2*s'")
        edge = (match.group(1), match.group(2))
        if edge not in known:
            raise UsageError(f"--local {item!r}: d{edge[0]}/d{edge[1]} is not an edge of "
                             f"{problem.id}'s graph; its edges are "
                             + ", ".join(edge_names(problem)))
        if edge in found:
            raise UsageError(f"--local {item!r}: d{edge[0]}/d{edge[1]} is given twice")
        found[edge] = right
    return found


# -- the two comparisons ------------------------------------------------------------------

def compare_local(problem: Problem, question_id: str, local: Mapping[tuple[str, str], str]
                  | Sequence[str], point: Mapping[str, float] | None = None, *,
                  seed: int = 0) -> StudentBackward:
    """The backward pass with the student's local gradients, beside the right one.

    Args:
        problem: a loaded scalar problem.
        question_id: a first-order question whose ``of`` is a stage.
        local: the student's local gradients, {(stage, input): formula text} or
            command-line items ``["dloss/ds=2*s"]``; edges left out keep the right one.
        point: values instead of the file's (as ``explain``'s ``--at``).
        seed: fixes the random points the formulas are compared at.

    Raises:
        UsageError: an array problem, a second-order question, an ``of`` that is not a
            stage, no point, an unknown edge or an unreadable formula.

    >>> from gradcheck.loader import load_problem
    >>> p = load_problem("problems/seeds/linear-regression.toml")
    >>> r = compare_local(p, "dloss_dw", ["dloss/ds=s"])
    >>> r.first_wrong.name, float(r.backward[-1].your_value)
    ('d loss / d s', -1.0)
    """
    question, values, forward = _setup(problem, question_id, point)
    if question.of not in problem.stage_names:
        raise UsageError(f"--local needs a question about a stage; {question.id} asks for "
                         f"d ({question.of}) / d {question.wrt[0]}: ask about a stage of the graph")
    given = local if isinstance(local, Mapping) else parse_local(problem, local)
    grads = local_gradients(problem)
    names = problem.names()
    theirs: dict[tuple[str, str], sympy.Expr] = {}
    for (stage, inp), text in given.items():
        if not any(g.stage == stage and g.input == inp for g in grads):
            raise UsageError(f"d{stage}/d{inp} is not an edge of {problem.id}'s graph; its "
                             "edges are " + ", ".join(edge_names(problem)))
        theirs[(stage, inp)] = _read(text, names, f"d {stage} / d {inp}")
    student = tuple(LocalGradient(g.stage, g.input, theirs.get((g.stage, g.input), g.expr))
                    for g in grads)
    pts = _points(problem, question, values, seed)
    rtol, atol = _tolerance(problem, question)
    graph = _Graph(problem, question)
    ordered = graph.backward_edges(grads)
    edge_values = _evaluate([e for g in ordered if (g.stage, g.input) in theirs
                             for e in (g.expr, theirs[(g.stage, g.input)])], problem, pts)
    rows, k = [], 0
    for g in ordered:
        mine = theirs.get((g.stage, g.input))
        status: Status = "not given"
        if mine is not None:
            status = "right" if _same(edge_values[2 * k + 1], edge_values[2 * k], rtol, atol) else "wrong"
            k += 1
        rows.append(EdgeRow(g.stage, g.input, sympy.sstr(g.expr), _settle(g.expr.xreplace(forward)),
                            None if mine is None else sympy.sstr(mine),
                            None if mine is None else _settle(mine.xreplace(forward)),
                            status, graph.on_edge(g.stage, g.input)))
    backward = _backward_rows(problem, question, graph, grads, student, forward, pts, rtol, atol)
    first = next((r for r in rows if r.on_path and r.status == "wrong"), None)
    verdict: Literal["pass", "fail"] = "fail" if any(r.status == "wrong" for r in rows) else "pass"
    return StudentBackward(problem.id, question.id, question.label, question.of, question.wrt[0],
                           "local", tuple(values.items()), _forward_lines(problem, forward),
                           tuple(rows), backward, verdict, first_wrong=first, seed=seed,
                           points=len(pts))


def compare_answer(problem: Problem, question_id: str, answer: str,
                   point: Mapping[str, float] | None = None, *, seed: int = 0) -> StudentBackward:
    """The student's whole gradient beside the right backward pass, with every single slip
    on the graph that reproduces it (see the module doc) and the grader's diagnosis.

    Raises:
        UsageError: an array problem, a second-order question, no point, or an answer the
            reader cannot read (the reader's message).

    >>> from gradcheck.loader import load_problem
    >>> p = load_problem("problems/backprop/sigmoid-neuron.toml")
    >>> r = compare_answer(p, "dloss_dw", "(a - y)*a*x")
    >>> [(x.kind, x.where) for x in r.readings]
    [('activation', 'd a / d z')]
    """
    from gradcheck.grading import grade

    question, values, forward = _setup(problem, question_id, point)
    parsed = _read(answer, problem.names(), "the answer")
    result = grade(problem, question_id, answer, seed=seed)
    if result.verdict not in ("pass", "fail"):
        raise UsageError(f"{question.label}: {result.feedback}")
    full = expand(problem, parsed)
    pts = _points(problem, question, values, seed)
    rtol, atol = _tolerance(problem, question)
    graph = _Graph(problem, question)
    grads = local_gradients(problem)
    backward: tuple[BackwardRow, ...] = ()
    if question.of in problem.stage_names:
        backward = _backward_rows(problem, question, graph, grads, None, forward, pts, rtol, atol)
    mine = _settle(full.xreplace({sym(n): v for n, v in values.items()}))
    edges = tuple(EdgeRow(g.stage, g.input, sympy.sstr(g.expr), _settle(g.expr.xreplace(forward)),
                          None, None, "not given", graph.on_edge(g.stage, g.input))
                  for g in graph.backward_edges(grads))
    readings: tuple[Reading, ...] = ()
    searched = len(problem.stages) <= READING_STAGES
    if result.verdict == "fail" and searched:
        readings = _readings(problem, question, graph, grads, full, pts, rtol, atol)
    if backward:
        last = backward[-1]
        agrees = result.verdict == "pass"
        backward = (*backward[:-1], BackwardRow(last.node, last.right_formula, last.right_terms,
                                                last.right_value, sympy.sstr(parsed), (), mine,
                                                agrees))
    return StudentBackward(problem.id, question.id, question.label, question.of, question.wrt[0],
                           "answer", tuple(values.items()), _forward_lines(problem, forward), edges, backward,
                           "pass" if result.verdict == "pass" else "fail", answer=answer,
                           understood_as=result.understood_as, diagnosis=result.diagnosis,
                           feedback=result.feedback, readings=readings, searched=searched,
                           seed=seed, points=len(pts))


# -- helpers -------------------------------------------------------------------------------

def _setup(problem: Problem, question_id: str, point: Mapping[str, float] | None,
           ) -> tuple[Question, dict[str, sympy.Expr], dict[sympy.Symbol, sympy.Expr]]:
    if problem.arrays is not None:
        raise UsageError(f"{problem.id} has vectors or matrices; --answer and --local cover "
                         "scalar problems (grade the answer with gradcheck grade)")
    try:
        question = problem.question(question_id)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if question.order != 1:
        raise UsageError("a student's backward pass is compared for first derivatives; "
                         f"{question.id} is of order {question.order}")
    values = _point(problem, point)
    forward: dict[sympy.Symbol, sympy.Expr] = {sym(n): v for n, v in values.items()}
    for stage in problem.stages:
        forward[sym(stage.name)] = _settle(stage.expr.xreplace(forward))
    return question, values, forward


def _forward_lines(problem: Problem, forward: Mapping[sympy.Symbol, sympy.Expr],
                   ) -> tuple[tuple[str, str, sympy.Expr], ...]:
    return tuple((s.name, s.text, forward[sym(s.name)]) for s in problem.stages)


def _read(text: str, names: Mapping[str, sympy.Basic], what: str) -> sympy.Expr:
    """The student's formula through the project's reader (never eval or sympify)."""
    try:
        return parse_expression(text, names, student=True, limits=Limits())
    except ExpressionError as exc:
        raise UsageError(f"{what}: cannot read {text!r}: {exc.message}") from None


def _points(problem: Problem, question: Question, values: Mapping[str, sympy.Expr],
            seed: int) -> np.ndarray:
    """The given point, then seeded random points (a value question: the given point only)."""
    given = np.array([[float(values[n]) for n in problem.symbol_names]], dtype=np.float64)
    if question.kind == "value" or not problem.symbols:
        return given
    rng = rng_for(seed, problem.id, question.id, "student-backward")
    return np.vstack([given, draw(problem, RANDOM_POINTS, rng)])


def _tolerance(problem: Problem, question: Question) -> tuple[float, float]:
    tol = tolerance_for("float64", question.tolerance or problem.tolerance)
    return tol.rtol, tol.atol


def _evaluate(exprs: Sequence[sympy.Expr], problem: Problem, points: np.ndarray,
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


def _same(got: np.ndarray, right: np.ndarray, rtol: float, atol: float) -> bool:
    """Equal where both are defined, and defined at the same points."""
    ok_got, ok_right = np.isfinite(got), np.isfinite(right)
    if not np.array_equal(ok_got, ok_right):
        return False
    with np.errstate(all="ignore"):
        close = np.abs(got - right) <= rtol * np.maximum(np.abs(right), atol / rtol)
    return bool(close[ok_right].all())


class _Graph:
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


def _backward_rows(problem: Problem, question: Question, graph: _Graph,
                   grads: Sequence[LocalGradient], student: Sequence[LocalGradient] | None,
                   forward: Mapping[sympy.Symbol, sympy.Expr], points: np.ndarray,
                   rtol: float, atol: float) -> tuple[BackwardRow, ...]:
    """Right (and, given local gradients, the student's) d output / d node for the nodes on
    the way from the output to the variable: formulas, products and values."""
    right = _pass(problem, question.of, grads, forward, graph.nodes)
    mine = _pass(problem, question.of, student, forward, graph.nodes) if student else None
    agree: dict[str, bool] = {}
    if student is not None:
        output = sym(question.of)
        prog_r, adj_r = adjoint_program(problem, output, "R", grads)
        prog_s, adj_s = adjoint_program(problem, output, "S", student)
        nodes = [n for n in graph.nodes if n in adj_r and n in adj_s]
        exprs = [*(adj_r[n] for n in nodes), *(adj_s[n] for n in nodes)]
        stage_count = len(problem.stages)
        vals = _evaluate(exprs, problem, points, (*prog_r[stage_count:], *prog_s[stage_count:]))
        agree = {n: _same(vals[len(nodes) + i], vals[i], rtol, atol) for i, n in enumerate(nodes)}
    rows = []
    for node in graph.nodes:
        if node not in right.values:
            continue
        rows.append(BackwardRow(
            node, right.formula(node), right.terms(node, graph), right.values[node],
            mine.formula(node) if mine else None, mine.terms(node, graph) if mine else (),
            mine.values.get(node) if mine else None,
            agree.get(node) if mine else None))
    return tuple(rows)


class _Pass:
    """One backward pass at the point: values, and formulas over the stages while small."""

    def __init__(self) -> None:
        self.values: dict[str, sympy.Expr] = {}
        self.formulas: dict[str, sympy.Expr | None] = {}
        self.local: dict[tuple[str, str], sympy.Expr] = {}

    def formula(self, node: str) -> str | None:
        f = self.formulas.get(node)
        return None if f is None else sympy.sstr(f)

    def terms(self, node: str, graph: _Graph) -> tuple[tuple[str, sympy.Expr, sympy.Expr], ...]:
        return tuple((c, self.values[c], v) for (c, i), v in self.local.items()
                     if i == node and c in self.values and c in graph.between)


def _pass(problem: Problem, output: str, grads: Sequence[LocalGradient],
          forward: Mapping[sympy.Symbol, sympy.Expr], nodes: Sequence[str]) -> _Pass:
    p = _Pass()
    p.values[output] = sympy.Integer(1)
    p.formulas[output] = sympy.Integer(1)
    exprs = {(g.stage, g.input): g.expr for g in grads}
    for (stage, inp), expr in exprs.items():
        p.local[(stage, inp)] = _settle(expr.xreplace(forward))
    for stage in reversed(problem.stage_names):
        if stage not in p.values:
            continue
        for (consumer, inp), value in p.local.items():
            if consumer != stage:
                continue
            p.values[inp] = _settle(p.values.get(inp, sympy.Integer(0)) + p.values[stage] * value)
            up, before = p.formulas.get(stage), p.formulas.get(inp, sympy.Integer(0))
            grown = None if up is None or before is None else before + up * exprs[(consumer, inp)]
            p.formulas[inp] = grown if grown is not None and _small(grown) else None
    return p


def _small(expr: sympy.Expr) -> bool:
    return sum(1 for _ in sympy.preorder_traversal(expr)) <= FORMULA_NODES


# -- readings of a whole answer --------------------------------------------------------------

def _readings(problem: Problem, question: Question, graph: _Graph,
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
    found += _chain_readings(problem, question, graph, grads, adj, program)
    exprs = [truth_expr, answer, *(e for _, e in found)]
    vals = _evaluate(exprs, problem, points, program)
    truth, mine = vals[0], vals[1]
    single = len(points) == 1
    scale = float(np.nanmax(np.abs(truth))) if np.isfinite(truth).any() else 1.0
    floor = max(atol, rtol * 1e-3 * scale)
    fits: dict[tuple[str, str], Reading] = {}
    chains: list[np.ndarray] = []
    for (reading, _), values in zip(found, vals[2:], strict=True):
        if _same(values, truth, rtol, floor) or not np.any(np.abs(values[np.isfinite(values)]) > floor):
            continue
        if reading.weak and (single or _proportional(values, truth, rtol)):
            continue  # one number, or a multiple of the truth: the grader's factor says more
        if not _same(mine, values, rtol, floor):
            continue
        if reading.kind == "chain":
            # One slip, found twice (a stop above an edge whose local gradient is 1): the
            # first account, the edge itself, is kept.
            if any(_same(values, c, rtol, floor) for c in chains):
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


def _chain_readings(problem: Problem, question: Question, graph: _Graph,
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
    for i, g in enumerate(grads):
        if not graph.on_edge(g.stage, g.input) or g.expr == 1:
            continue
        skipped = [LocalGradient(h.stage, h.input, sympy.Integer(1) if h is g else h.expr)
                   for h in grads]
        prog, theirs = adjoint_program(problem, question.of_expr, f"K{i}", skipped)
        if wrt not in theirs:
            continue
        program.extend(prog[stage_count:])
        edge = f"d {g.stage} / d {g.input}"
        found.append((Reading(
            "chain", edge,
            f"your answer leaves out the local gradient {edge} = {sympy.sstr(g.expr)}: on the "
            f"way back from {of} to {wrt}, multiply by every local gradient along the path "
            "(chain rule)."), theirs[wrt]))
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


def _rank(problem: Problem, question: Question, graph: _Graph,
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
