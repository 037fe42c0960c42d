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

from gradcheck import precise
from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.breakpoints import Switch, piece_points, switches
from gradcheck.checks import MAX_UNDEFINED, candidates, complete, kinks
from gradcheck.deadline import Timeout, deadline
from gradcheck.derivation import Assignment, Target, derive_question, reached_inputs
from gradcheck.errors import GradcheckError, UnsupportedFunctionError
from gradcheck.points import format_point, given, label, rng_for
from gradcheck.problem import Problem, Question, sym
from gradcheck.readable import TOO_LARGE, raw_derivative
from gradcheck.tape import Tape
from gradcheck.tolerances import Tolerance, tolerance_for

__all__ = ["TOO_LARGE", "VALUE_TOLERANCE", "Reference", "clear", "reference"]

# Students round numbers: 1e-3 accepts 4 significant digits (rounding error <= 5e-4) and
# still rejects every slip the bank lists (the nearest, -8 for -7.84, is 2% off).
VALUE_TOLERANCE = Tolerance(rtol=1e-3, atol=1e-9, reason="default for value answers: "
                            "accepts 4 significant digits")
POLY_OPS = frozenset({"input", "const", "add", "mul", "neg", "powi"})
CACHE_SIZE = 512
TRUTH_BUDGET = 60.0  # seconds to prepare one question's truth (derive, sample, evaluate)
BACKEND = NumpyBackend()


@dataclass(frozen=True)
class Reference:
    """Everything about one question that does not depend on the answer.

    ``truth`` holds the truth at ``points`` as float64, rounded from ``truth_hp`` (its
    high-precision values, see ``gradcheck.precise``): a truth that cancels or overflows
    in float64 is still right here. ``scale`` is the largest |truth| over the points,
    the size that comparisons near a zero of the truth are relative to.
    """

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
    truth_full: sympy.Expr | None  # None: too large to build (Target.closed_form), or a value question
    truth_symbols: frozenset[str]
    truth_poly: bool
    names: dict[str, sympy.Expr]
    stage_symbols: frozenset[sympy.Symbol]
    inputs_of: dict[str, frozenset[str]]
    square: bool
    symbols: tuple[sympy.Symbol, ...] = ()
    exact_truth: sympy.Expr = sympy.Integer(0)
    truth_hp: tuple[sympy.Float | None, ...] = ()
    scale: float = 0.0
    switches: tuple[Switch, ...] = ()
    pieces: int = 0
    notes: tuple[str, ...] = ()
    program: tuple[Assignment, ...] = ()

    @property
    def cut(self) -> tuple[str, ...]:
        return self.target.cut_names


_CACHE: OrderedDict[tuple[int, str, int, int], tuple[Reference, list[Any]]] = OrderedDict()


def reference(problem: Problem, question_id: str, seed: int,
              n: int) -> tuple[Reference, list[Any]]:
    """The question's Reference (cached per problem object, question, seed and ``n``) and
    a list the diagnosis fills with its cached alternatives on first use.

    The truth is prepared under its own time budget (``TRUTH_BUDGET``), never under an
    answer's: a truth that cannot be prepared in time is the problem's fault.

    Raises:
        KeyError: no such question.
        GradcheckError: the truth cannot be evaluated on the question's domains, or cannot
            be prepared within ``TRUTH_BUDGET`` seconds.
    """
    key = (id(problem), question_id, seed, n)
    hit = _CACHE.get(key)
    if hit is not None and hit[0].problem is problem:
        _CACHE.move_to_end(key)
        return hit
    question = problem.question(question_id)
    try:
        with deadline(TRUTH_BUDGET):
            built = _build(problem, question, seed, n)
    except Timeout:
        raise GradcheckError(f"the truth of {question.label} in problem {problem.id!r} could "
                             f"not be prepared within {TRUTH_BUDGET:g} s; simplify the "
                             "problem (fewer or smaller stages)") from None
    entry: tuple[Reference, list[Any]] = (built, [])
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
    symbols = tuple(map(sym, problem.symbol_names))
    program = hp_program(target)
    exact_truth = precise.exact(target.graph[2])
    exact_function = precise.exact(target.graph[0])
    exprs = (exact_truth, exact_function)
    pts, given_used, notes = _sample(problem, target, tape, seed, max(n, 1), exprs, symbols,
                                     program)
    # The closed form (a stage the question is asked about expanded too) is what a formula
    # question shows, proves against and diagnoses with; a value question's answer is one
    # number, compared with the compiled truth (building it was most of the 10-step RNN's
    # value questions: 0.06-0.35 s each).
    full = raw_derivative(problem, target) if question.kind != "value" else None
    found: tuple[Switch, ...] = ()
    pieces = 0
    if question.kind != "value":
        found = switches([exact_truth, exact_function, *(e for _, e in program)])
        extra = piece_points(found, symbols, [s.domain for s in problem.symbols],
                             pts[int(given_used):, :len(symbols)],
                             rng_for(seed, problem.id, question.id, "pieces"), program)
        if len(extra):
            extra = complete(target, problem, extra)
            extra = extra[_defined_rows(target, tape, extra, exprs, symbols, program)]
        if len(extra):
            pts = np.vstack([pts, extra])
            pieces = len(extra)
    truth_hp = tuple(precise.evaluate(exact_truth, precise.exact_point(symbols, row[:len(symbols)]),
                                      program) for row in pts)
    float_truth = BACKEND.evaluate(tape, pts)[0]
    truth = np.array([precise.to_float(v) if v is not None else float_truth[i]
                      for i, v in enumerate(truth_hp)], dtype=np.float64)
    finite = truth[np.isfinite(truth)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    if scale == 0.0:
        scale = float(max((abs(v) for v in truth_hp if v is not None), default=0))
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
        square=_has_square(target), symbols=symbols, exact_truth=exact_truth,
        truth_hp=truth_hp, scale=scale, switches=found, pieces=pieces, notes=notes,
        program=program)


def _has_square(target: Target) -> bool:
    """Whether the function squares something that depends on the (first) variable."""
    wrt = sym(target.question.wrt[0])
    function = target.closed_form("function")
    if function is None:
        # Too deep to expand: any stage that squares something depending on wrt.
        return any(p.exp == 2 and wrt.name in target.inputs_of([p.base])
                   for _, expr in target.stages for p in expr.atoms(sympy.Pow))
    return any(p.exp == 2 and p.base.has(wrt) for p in function.atoms(sympy.Pow))


def _sample(problem: Problem, target: Target, tape: Tape, seed: int, n: int,
            exact_exprs: tuple[sympy.Expr, sympy.Expr], symbols: tuple[sympy.Symbol, ...],
            program: tuple[Assignment, ...]) -> tuple[np.ndarray, bool, tuple[str, ...]]:
    """The given point then ``n`` random points, each where the truth is defined, and notes
    on points set aside.

    "Defined" means the question's function (``of``) and its derivative are both finite
    real numbers: log(x) has the derivative 1/x, defined at x = -1, but log(-1) is not a
    real number. Where float64 says undefined (an overflow, 0*inf), high precision decides.
    More than ``MAX_UNDEFINED`` of the random draws undefined means the domains are wrong
    (``gradcheck check`` refuses such a question too). A given point where the function
    has a kink is set aside, as ``gradcheck check`` does.
    """
    start = given(problem)
    where = f"{target.question.label} in problem {problem.id!r}"

    def defined_at(pts: np.ndarray) -> np.ndarray:
        return _defined_rows(target, tape, pts, exact_exprs, symbols, program)

    if target.question.kind == "value":
        if start is None:
            raise GradcheckError(f"{where} asks for a value but not every symbol has a value")
        pts = complete(target, problem, start)
        if not defined_at(pts)[0]:
            raise GradcheckError(f"{where} is undefined at the symbols' values")
        if kinks(problem, target, pts, np.array([True]))[0]:
            raise GradcheckError(f"{where} is asked at a point where it is not differentiable "
                                 f"({format_point(label(target.variables, pts[0]))})")
        return pts, True, ()
    pts, has_given = candidates(problem, target, n, rng_for(seed, problem.id, target.question.id,
                                                             "grade"))
    defined = defined_at(pts)
    notes: tuple[str, ...] = ()
    given_used = bool(has_given and defined[0])
    if given_used and kinks(problem, target, pts[:1], defined[:1])[0]:
        given_used = False
        notes = (f"the given point ({format_point(label(problem.symbol_names, pts[0, :len(symbols)]))}"
                 f") is a kink of {target.question.of}, so it was set aside",)
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
    return pts[chosen], given_used, notes


def _defined_rows(target: Target, tape: Tape, pts: np.ndarray,
                  exact_exprs: tuple[sympy.Expr, sympy.Expr], symbols: tuple[sympy.Symbol, ...],
                  program: tuple[Assignment, ...]) -> np.ndarray:
    """Where the derivative and the function are finite real numbers: float64 first, high
    precision where float64 says no (an overflow is not an undefined value)."""
    function = _function_tape(target)
    with np.errstate(all="ignore"):
        ok = np.isfinite(BACKEND.evaluate(tape, pts)[0])
        if function is not None:
            ok &= np.isfinite(BACKEND.evaluate(function, pts)[0])
    for i in np.flatnonzero(~ok):
        point = precise.exact_point(symbols, pts[i, :len(symbols)])
        ok[i] = all(precise.evaluate(e, point, program) is not None for e in exact_exprs)
    return ok


def hp_program(target: Target) -> tuple[Assignment, ...]:
    """The question's straight-line program for high precision, over the problem's symbols:
    every forward stage (a cut stage too, from its definition), then the adjoints and
    tangents; decimals exact (``precise.exact``)."""
    defined = {symbol for symbol, _ in target.stages}
    return (*((s, precise.exact(e)) for s, e in target.stages),
            *((s, precise.exact(e)) for s, e in target.program if s not in defined))


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

