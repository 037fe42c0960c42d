"""Explain a derivative the way the lecture notes teach it.

Three steps: the forward pass (each stage's value), the local gradients (d stage /
d input for each edge), and the backward pass (the chain rule from the output back
to the variable asked about). Values are exact where they are rational (the notes'
examples) and kept to 30 significant digits otherwise (tanh(tanh(0.9)/2 - 0.3): exact
values of a deep graph nest without end). Every value is computed stage by stage, as
the notes do, so the cost is linear in the depth of the graph.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import sympy

from gradcheck import readable
from gradcheck.derivation import derive_question, local_gradients
from gradcheck.errors import UsageError
from gradcheck.problem import Problem, sym


@dataclass(frozen=True)
class Line:
    """One line of an explanation: a name, its formula, and its value at the point."""

    name: str
    formula: str
    value: sympy.Expr


@dataclass(frozen=True)
class BackwardLine:
    """d output / d node as a sum over consumers of (upstream adjoint * local gradient)."""

    node: str
    terms: tuple[tuple[str, sympy.Expr, sympy.Expr], ...]  # (consumer, upstream value, local value)
    value: sympy.Expr


@dataclass(frozen=True)
class Explanation:
    problem: str
    label: str
    output: str
    point: tuple[tuple[str, sympy.Expr], ...]
    forward: tuple[Line, ...]
    local: tuple[Line, ...]
    backward: tuple[BackwardLine, ...]
    result: Line


def explain(problem: Problem, question_id: str,
            point: Mapping[str, float] | None = None) -> Explanation:
    """Forward pass, local gradients and backward pass for one first-order question.

    Raises:
        UsageError: the question has no point (no values and none given), or is second order.
    """
    question = problem.question(question_id)
    if question.order != 1:
        raise UsageError("explain covers first derivatives; this question is second order")
    values = point_values(problem, point)
    exact = {sym(n): v for n, v in values.items()}
    forward_values: dict[sympy.Symbol, sympy.Expr] = dict(exact)
    forward = []
    for stage in problem.stages:
        value = settle(stage.expr.xreplace(forward_values))
        forward_values[sym(stage.name)] = value
        forward.append(Line(stage.name, stage.text, value))
    local = tuple(Line(f"d {g.stage} / d {g.input}", sympy.sstr(g.expr),
                       settle(g.expr.xreplace(forward_values)))
                  for g in local_gradients(problem))
    target = derive_question(problem, question)
    # The derivative's value from its program: the adjoints, one assignment at a time.
    known = dict(forward_values)
    for symbol, expr in target.program:
        if symbol not in known:
            known[symbol] = settle(expr.xreplace(known))
    result = Line(question.label, readable.shown(problem, question_id),
                  settle(target.graph[2].xreplace(known)))
    backward = _backward(problem, question.of, question.wrt[0], forward_values)
    return Explanation(problem.id, question.label, question.of, tuple(values.items()),
                       tuple(forward), local, backward, result)


def point_values(problem: Problem, point: Mapping[str, float] | None) -> dict[str, sympy.Expr]:
    given = dict(problem.given_point or {})
    given.update(point or {})
    missing = [n for n in problem.symbol_names if n not in given]
    if missing:
        raise UsageError("no value for " + ", ".join(missing) + "; pass --at NAME=VALUE")
    return {n: sympy.nsimplify(given[n], rational=True) for n in problem.symbol_names}


def settle(value: sympy.Expr) -> sympy.Expr:
    """A rational value as it is, any other number to 30 significant digits."""
    if value.is_Rational or not value.is_number:
        return value
    return value.evalf(30)


def _backward(problem: Problem, output: str, wrt: str,
              at: Mapping[sympy.Symbol, sympy.Expr]) -> tuple[BackwardLine, ...]:
    """The backward pass with values: each node's adjoint is the sum, over the stages that
    use it, of the stage's adjoint times the local gradient (values, never formulas)."""
    if output not in problem.stage_names:
        return ()
    adj: dict[str, sympy.Expr] = {output: sympy.Integer(1)}
    local: dict[tuple[str, str], sympy.Expr] = {}
    for g in local_gradients(problem):
        local[(g.stage, g.input)] = settle(g.expr.xreplace(at))
    for stage in reversed(problem.stages):
        if stage.name not in adj:
            continue
        for (consumer, node), value in local.items():
            if consumer == stage.name:
                adj[node] = settle(adj.get(node, sympy.Integer(0)) + adj[stage.name] * value)
    on_path = _downstream_of(problem, wrt)
    lines = []
    for node in [*reversed(problem.stage_names), *problem.symbol_names]:
        if node not in adj or node not in on_path or node == output:
            continue
        terms = tuple((consumer, adj[consumer], value)
                      for (consumer, inp), value in local.items()
                      if inp == node and consumer in adj and consumer in on_path)
        lines.append(BackwardLine(node, terms, adj[node]))
        if node == wrt:
            break
    return tuple(lines)


def _downstream_of(problem: Problem, name: str) -> set[str]:
    """``name`` and every stage that depends on it, directly or not."""
    reached = {name}
    for stage in problem.stages:
        if any(s.name in reached for s in stage.expr.free_symbols):
            reached.add(stage.name)
    return reached


def render_explanation(e: Explanation) -> str:
    """Plain text, in the notes' order: forward pass, local gradients, backward pass."""
    at = ", ".join(f"{n}={number_text(v)}" for n, v in e.point)
    out = [f"{e.problem}: {e.label} at {at}", ""]
    if e.forward:
        out.append("Forward pass")
        out += _table([(f"{f.name} = {f.formula}", number_text(f.value)) for f in e.forward])
        out += ["", "Local gradients"]
        out += _table([(f"{g.name} = {g.formula}", number_text(g.value)) for g in e.local])
    if e.backward:
        out += ["", "Backward pass (chain rule)"]
        rows = []
        for b in e.backward:
            products = " + ".join(f"{number_text(up)} * {number_text(loc)}" for _, up, loc in b.terms)
            names = " + ".join(f"d {e.output} / d {c} * d {c} / d {b.node}"
                               for c, _, _ in b.terms)
            rows.append((f"d {e.output} / d {b.node} = {names}",
                         f"{products} = {number_text(b.value)}" if products else number_text(b.value)))
        out += _table(rows)
    out += ["", f"{e.result.name} = {e.result.formula} = {number_text(e.result.value)}"]
    return "\n".join(out) + "\n"


def _table(rows: list[tuple[str, str]]) -> list[str]:
    width = max((len(left) for left, _ in rows), default=0)
    return [f"  {left.ljust(width)}  = {right}" for left, right in rows]


def number_text(value: sympy.Expr) -> str:
    """A value as a number, or ``undefined (...)`` where a stage has a jump (a DiracDelta
    from Heaviside or sign), divides by zero (sqrt, log at 0) or is not real."""
    if value.is_Integer:
        return str(value)
    if not value.is_number:
        return sympy.sstr(value)
    if value.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        return "undefined (infinite: a division by zero or the log of 0)" if value.has(
            sympy.zoo, sympy.oo) else "undefined (0/0 or infinity minus infinity)"
    try:
        number = complex(value.evalf())
    except (TypeError, ValueError, ArithmeticError):
        return f"undefined ({sympy.sstr(value)})"
    if number.imag != 0:
        return f"undefined (not a real number: {sympy.sstr(value)})"
    if not math.isfinite(number.real):
        return f"undefined ({sympy.sstr(value)})"
    return f"{number.real:.10g}"
