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
from typing import Literal

import numpy as np
import sympy

from gradcheck.derivation import (
    LocalGradient,
    adjoint_program,
    expand,
    local_gradients,
)
from gradcheck.errors import ExpressionError, UsageError
from gradcheck.explanation import explain, number_text, point_values, settle
from gradcheck.parsing import Limits, parse_expression
from gradcheck.points import draw, rng_for
from gradcheck.problem import Problem, Question, sym
from gradcheck.slips import Between, Reading, answer_readings, edge_slip, evaluate, same
from gradcheck.tolerances import tolerance_for
from gradcheck.truth import VALUE_TOLERANCE

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
    slip: str = ""  # a wrong one: which known slip it reads as, when one fits

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
    right_result: tuple[str, sympy.Expr] | None = None  # answer mode: explain's formula, value
    answer_value: sympy.Expr | None = None  # answer mode: the answer at the point

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
            "result": None if self.right_result is None else {
                "right": self.right_result[0], "right_value": _json(self.right_result[1]),
                "yours": self.answer,
                "your_value": None if self.answer_value is None else _json(self.answer_value)},
            "readings": [{"kind": r.kind, "where": r.where, "text": r.text}
                         for r in self.readings],
            "searched": self.searched,
            "edges": [{"edge": e.name, "right": e.right, "right_value": _json(e.right_value),
                       "yours": e.yours,
                       "your_value": None if e.your_value is None else _json(e.your_value),
                       "status": e.status, "on_path": e.on_path, "slip": e.slip}
                      for e in self.edges],
            "backward": [{"node": b.node, "gradient": f"d {self.output} / d {b.node}",
                          "right": b.right_formula, "right_value": _json(b.right_value),
                          "yours": b.your_formula,
                          "your_value": None if b.your_value is None else _json(b.your_value),
                          "agrees": b.agrees} for b in self.backward],
            "seed": self.seed, "points": self.points,
        }


def _json(value: sympy.Expr) -> float | str:
    shown = number_text(value)
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
    graph = Between(problem, question)
    ordered = graph.backward_edges(grads)
    edge_values = evaluate([e for g in ordered if (g.stage, g.input) in theirs
                             for e in (g.expr, theirs[(g.stage, g.input)])], problem, pts)
    rows, k = [], 0
    for g in ordered:
        mine = theirs.get((g.stage, g.input))
        status: Status = "not given"
        slip = ""
        if mine is not None:
            right_values, my_values = edge_values[2 * k], edge_values[2 * k + 1]
            status = "right" if same(my_values, right_values, rtol, atol) else "wrong"
            if status == "wrong":
                slip = edge_slip(problem, g, grads, my_values, right_values, pts, rtol, atol)
            k += 1
        rows.append(EdgeRow(g.stage, g.input, sympy.sstr(g.expr), _at(g.expr.xreplace(forward)),
                            None if mine is None else sympy.sstr(mine),
                            None if mine is None else _at(mine.xreplace(forward)),
                            status, graph.on_edge(g.stage, g.input), slip))
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
    rtol, atol = _tolerance(problem, question, answer=True)
    graph = Between(problem, question)
    grads = local_gradients(problem)
    backward: tuple[BackwardRow, ...] = ()
    if question.of in problem.stage_names:
        backward = _backward_rows(problem, question, graph, grads, None, forward, pts, rtol, atol)
    mine = _at(full.xreplace({sym(n): v for n, v in values.items()}))
    edges = tuple(EdgeRow(g.stage, g.input, sympy.sstr(g.expr), _at(g.expr.xreplace(forward)),
                          None, None, "not given", graph.on_edge(g.stage, g.input))
                  for g in graph.backward_edges(grads))
    readings: tuple[Reading, ...] = ()
    searched = len(problem.stages) <= READING_STAGES
    if result.verdict == "fail" and searched:
        readings = answer_readings(problem, question, graph, grads, full, pts, rtol, atol)
        if question.kind == "value":
            # One number agrees with many slips by coincidence: only the grader's reading,
            # chosen in its order of likelihood, is placed on the graph.
            readings = tuple(x for x in readings if x.kind == result.diagnosis)
    if backward:
        last = backward[-1]
        agrees = result.verdict == "pass"
        backward = (*backward[:-1], BackwardRow(last.node, last.right_formula, last.right_terms,
                                                last.right_value, sympy.sstr(parsed), (), mine,
                                                agrees))
    right = explain(problem, question_id, point).result
    return StudentBackward(problem.id, question.id, question.label, question.of, question.wrt[0],
                           "answer", tuple(values.items()), _forward_lines(problem, forward),
                           edges, backward, "pass" if result.verdict == "pass" else "fail",
                           answer=answer, understood_as=result.understood_as,
                           diagnosis=result.diagnosis, feedback=result.feedback,
                           readings=readings, searched=searched, seed=seed, points=len(pts),
                           right_result=(right.formula, right.value), answer_value=mine)


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
    values = point_values(problem, point)
    forward: dict[sympy.Symbol, sympy.Expr] = {sym(n): v for n, v in values.items()}
    for stage in problem.stages:
        forward[sym(stage.name)] = _at(stage.expr.xreplace(forward))
    return question, values, forward


def _at(value: sympy.Expr) -> sympy.Expr:
    """A value at the point as explain shows it; a student's formula whose number overflows
    there (exp(exp(exp(exp(10))))) stays unevaluated, and is shown as undefined."""
    try:
        return settle(value)
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        return value


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


def _tolerance(problem: Problem, question: Question, answer: bool = False) -> tuple[float, float]:
    """Formulas (local gradients) as an expression question compares them; a whole answer
    to a value question as the grader does (``truth.VALUE_TOLERANCE``: rounded numbers)."""
    if answer and question.kind == "value":
        tol = tolerance_for("float64", question.tolerance or problem.tolerance or VALUE_TOLERANCE)
    else:
        tol = tolerance_for("float64", question.tolerance)
    return tol.rtol, tol.atol


def _backward_rows(problem: Problem, question: Question, graph: Between,
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
        vals = evaluate(exprs, problem, points, (*prog_r[stage_count:], *prog_s[stage_count:]))
        agree = {n: same(vals[len(nodes) + i], vals[i], rtol, atol) for i, n in enumerate(nodes)}
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

    def terms(self, node: str, graph: Between) -> tuple[tuple[str, sympy.Expr, sympy.Expr], ...]:
        return tuple((c, self.values[c], v) for (c, i), v in self.local.items()
                     if i == node and c in self.values and c in graph.between)


def _pass(problem: Problem, output: str, grads: Sequence[LocalGradient],
          forward: Mapping[sympy.Symbol, sympy.Expr], nodes: Sequence[str]) -> _Pass:
    p = _Pass()
    p.values[output] = sympy.Integer(1)
    p.formulas[output] = sympy.Integer(1)
    exprs = {(g.stage, g.input): g.expr for g in grads}
    for (stage, inp), expr in exprs.items():
        p.local[(stage, inp)] = _at(expr.xreplace(forward))
    for stage in reversed(problem.stage_names):
        if stage not in p.values:
            continue
        for (consumer, inp), value in p.local.items():
            if consumer != stage:
                continue
            p.values[inp] = _at(p.values.get(inp, sympy.Integer(0)) + p.values[stage] * value)
            up, before = p.formulas.get(stage), p.formulas.get(inp, sympy.Integer(0))
            grown = None if up is None or before is None else before + up * exprs[(consumer, inp)]
            p.formulas[inp] = grown if grown is not None and _small(grown) else None
    return p


def _small(expr: sympy.Expr) -> bool:
    return sum(1 for _ in sympy.preorder_traversal(expr)) <= FORMULA_NODES


