"""Symbolic side: derivatives of stages, local gradients, and the backward pass.

``derive(problem)`` is a pure function from a Problem to a Derivation. A question
asked with respect to a stage (``wrt = "s"``) is the backprop adjoint: the graph is
cut at that stage, which becomes an input variable whose value at any point is the
stage's forward value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sympy

from gradcheck.problem import Problem, Question, sym


@dataclass(frozen=True)
class Target:
    """What one question asks, ready to compile: a function and its derivative.

    ``variables`` are the inputs in order: the problem's symbols, then any stage the
    question differentiates with respect to. ``cut`` gives each such stage's forward
    expression over the symbols, so a point over the symbols can be completed.
    """

    question: Question
    variables: tuple[str, ...]
    function: sympy.Expr
    first: sympy.Expr
    derivative: sympy.Expr
    wrt_index: tuple[int, ...]
    cut: tuple[tuple[str, sympy.Expr], ...]

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        return tuple(sym(n) for n in self.variables)


@dataclass(frozen=True)
class LocalGradient:
    """d stage / d input for one edge of the graph, as the lecture notes draw it."""

    stage: str
    input: str
    expr: sympy.Expr


@dataclass(frozen=True)
class Derivation:
    """Everything symbolic about a problem."""

    problem: Problem
    forward: tuple[tuple[str, sympy.Expr], ...]
    local_gradients: tuple[LocalGradient, ...]
    targets: tuple[Target, ...]

    def target(self, question_id: str) -> Target:
        for target in self.targets:
            if target.question.id == question_id:
                return target
        self.problem.question(question_id)  # raises KeyError naming the known questions
        raise AssertionError("unreachable")


def expand(problem: Problem, expr: sympy.Expr, keep: Iterable[str] = ()) -> sympy.Expr:
    """Replace stage names by their definitions, except the stages in ``keep``.

    >>> from gradcheck.problem import Problem, Stage, SymbolSpec, sym
    >>> x = sym("x")
    >>> p = Problem("p", "", "", (SymbolSpec("x"),), (Stage("u", x**2, "x**2"),))
    >>> expand(p, 3 * sym("u"))
    3*x**2
    """
    kept = set(keep)
    for stage in reversed(problem.stages):
        if stage.name not in kept:
            expr = expr.xreplace({sym(stage.name): stage.expr})
    return expr


STEP_FUNCTIONS = (sympy.floor, sympy.ceiling)


def differentiate(expr: sympy.Expr, *wrt: sympy.Symbol) -> sympy.Expr:
    """``sympy.diff``, with the derivative of floor and ceiling taken as 0.

    SymPy leaves ``Derivative(floor(x), x)`` unevaluated; it is 0 away from the jumps,
    and the check sets points at a jump aside (one-sided differences disagree there).
    """
    result = sympy.diff(expr, *wrt)
    if not result.has(sympy.Derivative):
        return result
    return result.replace(
        lambda e: isinstance(e, sympy.Derivative) and e.expr.func in STEP_FUNCTIONS,
        lambda e: sympy.Integer(0))


def derive(problem: Problem) -> Derivation:
    """Derive every question of a problem, and the local gradient of every graph edge."""
    forward = tuple((s.name, expand(problem, s.expr)) for s in problem.stages)
    return Derivation(
        problem=problem,
        forward=forward,
        local_gradients=local_gradients(problem),
        targets=tuple(derive_question(problem, q) for q in problem.questions),
    )


def derive_question(problem: Problem, question: Question) -> Target:
    """The function a question is about, over its input variables, and its derivative."""
    stage_names = set(problem.stage_names)
    cut_names = tuple(dict.fromkeys(w for w in question.wrt if w in stage_names))
    variables = (*problem.symbol_names, *cut_names)
    function = expand(problem, question.of_expr, keep=cut_names)
    wrt_symbols = [sym(w) for w in question.wrt]
    first = differentiate(function, wrt_symbols[0])
    derivative = differentiate(first, *wrt_symbols[1:]) if len(wrt_symbols) > 1 else first
    cut = tuple((name, expand(problem, sym(name))) for name in cut_names)
    return Target(
        question=question,
        variables=variables,
        function=function,
        first=first,
        derivative=derivative,
        wrt_index=tuple(variables.index(w) for w in question.wrt),
        cut=cut,
    )


def local_gradients(problem: Problem) -> tuple[LocalGradient, ...]:
    """d stage / d input for every direct input of every stage, in graph order."""
    order = {name: i for i, name in enumerate((*problem.symbol_names, *problem.stage_names))}
    grads: list[LocalGradient] = []
    for stage in problem.stages:
        inputs = sorted((s.name for s in stage.expr.free_symbols), key=order.__getitem__)
        grads.extend(LocalGradient(stage.name, name, differentiate(stage.expr, sym(name)))
                     for name in inputs)
    return tuple(grads)


def adjoints(problem: Problem, output: str) -> dict[str, sympy.Expr]:
    """The backward pass: d output / d node for every stage and symbol upstream of ``output``.

    Each adjoint is expressed with local gradients over the stage names, the way the
    notes write ``dloss/dy_hat = dloss/ds * ds/dy_hat``; expand() it for a formula over
    the symbols. Nodes that do not reach ``output`` are left out.
    """
    result: dict[str, sympy.Expr] = {output: sympy.Integer(1)}
    grads = local_gradients(problem)
    for stage in reversed(problem.stages):
        if stage.name not in result:
            continue
        upstream = result[stage.name]
        for grad in grads:
            if grad.stage == stage.name:
                result[grad.input] = result.get(grad.input, sympy.Integer(0)) + upstream * grad.expr
    return result


def substitute_point(expr: sympy.Expr, point: Mapping[str, float]) -> sympy.Expr:
    """Exact value of ``expr`` at a point given by name (for explanations and tests)."""
    return expr.xreplace({sym(n): sympy.nsimplify(v) for n, v in point.items()})
