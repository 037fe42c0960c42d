"""The truth of one question and the points it is compared at, built once and cached.

Everything here is independent of the answer: SymPy's derivative, its expanded form,
the grading points (the given point, then seeded random points where the truth is
defined), the truth's values there, and what the diagnosis needs about the graph.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.checks import MAX_UNDEFINED, candidates, complete
from gradcheck.derivation import (
    CLOSED_FORM_LIMIT,
    Target,
    derive_question,
    expand,
    reached_inputs,
    tree_size,
)
from gradcheck.errors import GradcheckError, UnsupportedFunctionError
from gradcheck.points import format_point, given, label, rng_for
from gradcheck.problem import Problem, Question, sym
from gradcheck.tape import Tape
from gradcheck.tolerances import Tolerance, tolerance_for

__all__ = ["VALUE_TOLERANCE", "Reference", "clear", "reference"]

# Students round numbers: 1e-3 accepts 4 significant digits (rounding error <= 5e-4) and
# still rejects every slip the bank lists (the nearest, -8 for -7.84, is 2% off).
VALUE_TOLERANCE = Tolerance(rtol=1e-3, atol=1e-9, reason="default for value answers: "
                            "accepts 4 significant digits")
POLY_OPS = frozenset({"input", "const", "add", "mul", "neg", "powi"})
CACHE_SIZE = 512
TOO_LARGE = "(too large to show as one formula: the derivative was computed stage by stage)"
BACKEND = NumpyBackend()


@dataclass(frozen=True)
class Reference:
    """Everything about one question that does not depend on the answer."""

    problem: Problem
    question: Question
    target: Target
    tolerance: Tolerance
    points: np.ndarray
    given_used: bool
    truth: np.ndarray
    labels: tuple[tuple[tuple[str, float], ...], ...]
    shown: tuple[str, ...]
    expected: str
    truth_full: sympy.Expr | None  # None: too large to build (see Target.closed_form)
    truth_symbols: frozenset[str]
    truth_poly: bool
    names: dict[str, sympy.Expr]
    stage_symbols: frozenset[sympy.Symbol]
    inputs_of: dict[str, frozenset[str]]
    square: bool

    @property
    def cut(self) -> tuple[str, ...]:
        return self.target.cut_names


_CACHE: OrderedDict[tuple[int, str, int, int], tuple[Reference, list[Any]]] = OrderedDict()


def reference(problem: Problem, question_id: str, seed: int,
              n: int) -> tuple[Reference, list[Any]]:
    """The question's Reference (cached per problem object, question, seed and ``n``) and
    a list the diagnosis fills with its cached alternatives on first use.

    Raises:
        KeyError: no such question.
        GradcheckError: the truth cannot be evaluated on the question's domains.
    """
    key = (id(problem), question_id, seed, n)
    hit = _CACHE.get(key)
    if hit is not None and hit[0].problem is problem:
        _CACHE.move_to_end(key)
        return hit
    question = problem.question(question_id)
    entry: tuple[Reference, list[Any]] = (_build(problem, question, seed, n), [])
    _CACHE[key] = entry
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return entry


def clear() -> None:
    """Forget every cached truth."""
    _CACHE.clear()


def _build(problem: Problem, question: Question, seed: int, n: int) -> Reference:
    target = derive_question(problem, question)
    # The truth is evaluated from the compiled adjoint program; its closed form (built
    # only when small enough) is for showing, and for the exact polynomial difference.
    tape = target.build(target.graph[2:])
    pts, given_used = _sample(problem, target, tape, seed, max(n, 1))
    truth = BACKEND.evaluate(tape, pts)[0]
    full = target.closed_form("derivative")
    if full is not None and target.cut_names:
        # Shown over the symbols: a stage the question is asked about is expanded too.
        full = (expand(problem, full) if tree_size(target.stages, full) <= CLOSED_FORM_LIMIT
                else None)
    if question.kind == "value":
        tol = tolerance_for("float64", question.tolerance or problem.tolerance or VALUE_TOLERANCE)
        expected = f"{float(truth[0]):.10g}"
    else:
        tol = tolerance_for("float64", question.tolerance)
        expected = sympy.sstr(full) if full is not None else TOO_LARGE
    n_sym = len(problem.symbols)
    return Reference(
        problem=problem, question=question, target=target, tolerance=tol, points=pts,
        given_used=given_used, truth=truth,
        labels=tuple(label(target.variables, row) for row in pts),
        shown=tuple(format_point(label(problem.symbol_names, row[:n_sym])) for row in pts),
        expected=expected, truth_full=full,
        truth_symbols=(frozenset(s.name for s in full.free_symbols) if full is not None
                       else reached_inputs((*target.stages, *target.program),
                                           target.graph[2:])),
        truth_poly=tape.ops <= POLY_OPS and all(i.param >= 0 for i in tape.instructions
                                                if i.op == "powi"),
        names=dict(problem.names()), stage_symbols=frozenset(map(sym, problem.stage_names)),
        inputs_of={name: reached_inputs(target.stages, [sym(name)])
                   for name in target.cut_names},
        square=_has_square(target))


def _has_square(target: Target) -> bool:
    """Whether the function squares something that depends on the (first) variable."""
    wrt = sym(target.question.wrt[0])
    function = target.closed_form("function")
    if function is None:
        # Too deep to expand: any stage that squares something depending on wrt.
        return any(p.exp == 2 and wrt.name in target.inputs_of([p.base])
                   for _, expr in target.stages for p in expr.atoms(sympy.Pow))
    return any(p.exp == 2 and p.base.has(wrt) for p in function.atoms(sympy.Pow))


def _sample(problem: Problem, target: Target, tape: Tape, seed: int,
            n: int) -> tuple[np.ndarray, bool]:
    """The given point then ``n`` random points, each where the truth is defined.

    "Defined" means the question's function (``of``) and its derivative are both finite:
    log(x) has the derivative 1/x, defined at x = -1, but log(-1) is not a real number.
    More than ``MAX_UNDEFINED`` of the random draws undefined means the domains are wrong
    (``gradcheck check`` refuses such a question too).
    """
    start = given(problem)
    where = f"{target.question.label} in problem {problem.id!r}"
    function = _function_tape(target)

    def defined_at(pts: np.ndarray) -> np.ndarray:
        ok = np.isfinite(BACKEND.evaluate(tape, pts)[0])
        if function is not None:
            ok &= np.isfinite(BACKEND.evaluate(function, pts)[0])
        return ok

    if target.question.kind == "value":
        if start is None:
            raise GradcheckError(f"{where} asks for a value but not every symbol has a value")
        pts = complete(target, problem, start)
        if not defined_at(pts)[0]:
            raise GradcheckError(f"{where} is undefined at the symbols' values")
        return pts, True
    pts, has_given = candidates(problem, target, n, rng_for(seed, problem.id, target.question.id,
                                                             "grade"))
    defined = defined_at(pts)
    given_used = bool(has_given and defined[0])
    offset = int(has_given)
    share = float(np.mean(~defined[offset:]))
    keep = np.flatnonzero(defined[offset:])[:n] + offset
    if share > MAX_UNDEFINED or len(keep) < n:
        bad = pts[offset:][~defined[offset:]][0]
        raise GradcheckError(f"{where} is undefined at {share:.0%} of random points in the "
                             f"domains (more than {MAX_UNDEFINED:.0%}), e.g. at "
                             f"{format_point(label(target.variables, bad))}; choose domains "
                             "where the function and its derivative are defined")
    chosen = np.concatenate([[0] if given_used else [], keep]).astype(int)
    return pts[chosen], given_used


def _function_tape(target: Target) -> Tape | None:
    """The question's function compiled, or None when it is a bare variable (always defined)
    or cannot be compiled (the derivative's own definedness is then all that is checked)."""
    function = target.graph[0]
    if function.is_Number or (function.is_Symbol and function.name in target.variables):
        return None
    try:
        return target.build([function])
    except (UnsupportedFunctionError, TypeError, ValueError, ArithmeticError):
        return None

