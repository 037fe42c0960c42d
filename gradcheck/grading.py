"""Grade one answer to one question: read it safely, decide numerically, diagnose mistakes.

The truth (SymPy's derivative) is derived, compiled and evaluated once per question,
seed and number of points, and cached: grading an answer costs one parse, one tape
build and one vectorised evaluation. Wrong answers are then compared with the known
mistakes of ``gradcheck.diagnosis``, whose alternatives are cached per question too.
How the decision is made is described in docs/grading.md.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import sympy

from gradcheck import diagnosis
from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.checks import MAX_UNDEFINED, candidates, complete
from gradcheck.derivation import Target, derive_question, expand, local_gradients, reached_inputs
from gradcheck.errors import ExpressionError, GradcheckError, UnsupportedFunctionError
from gradcheck.parsing import Limits, parse_expression
from gradcheck.points import draw, format_point, given, label, number, rng_for
from gradcheck.problem import Problem, Question, sym
from gradcheck.tape import Tape, build_tape
from gradcheck.tolerances import Tolerance, tolerance_for
from gradcheck.verdict import Evidence, GradeResult

__all__ = ["VALUE_TOLERANCE", "grade"]

# Students round numbers: 1e-3 accepts 4 significant digits (rounding error <= 5e-4) and
# still rejects every slip the bank lists (the nearest, -8 for -7.84, is 2% off).
VALUE_TOLERANCE = Tolerance(rtol=1e-3, atol=1e-9, reason="default for value answers: "
                            "accepts 4 significant digits")
# A numeric pass whose worst relative error is above this is checked symbolically too
# (when both sides are polynomials): float64 roundoff of an equal formula stays far below it.
MARGINAL = 1e-12
POLY_OPS = frozenset({"input", "const", "add", "mul", "neg", "powi"})
NOT_REAL = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)
CACHE_SIZE = 512
TOO_LARGE = "(too large to show as one formula: the derivative was computed stage by stage)"
_BACKEND = NumpyBackend()


class _Timeout(Exception):
    """The per-answer time budget ran out."""


@dataclass(frozen=True)
class _Reference:
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
        return tuple(name for name, _ in self.target.cut)


_CACHE: OrderedDict[tuple[int, str, int, int], tuple[_Reference, list[Any]]] = OrderedDict()
ANSWER_CACHE_SIZE = 20_000
_ANSWERS: OrderedDict[tuple[Any, ...], tuple[Problem, GradeResult]] = OrderedDict()


def grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0, points: int = 20,
          time_limit: float = 2.0, limits: Limits | None = None) -> GradeResult:
    """Grade one student answer to one question of a problem.

    Args:
        problem: a loaded problem.
        question_id: the id of one of its questions.
        answer: the student's text (student notation: ``2x(wx-y)``, ``x^2``, ``·``).
        seed: fixes the random points (with the problem and question ids).
        points: random points for an expression question, besides the given point.
        time_limit: seconds for reading and evaluating the answer (main thread only).
        limits: parser limits (length, nesting, exponents); ``Limits()`` by default.

    Returns:
        A GradeResult: ``pass``, ``fail`` (with a diagnosis when a known mistake
        explains it), ``invalid`` (unreadable or over a limit) or ``error`` (the
        question cannot be graded). Never raises for a bad answer.

    >>> from gradcheck.loader import load_problem
    >>> p = load_problem("problems/seeds/linear-regression.toml")
    >>> grade(p, "dloss_dw", "2x(wx - y)").verdict
    'pass'
    >>> grade(p, "dloss_dw", "-2*x*(w*x - y)").diagnosis
    'sign'
    """
    key = (id(problem), question_id, seed, points, limits, time_limit, answer)
    hit = _ANSWERS.get(key) if isinstance(answer, str) else None
    if hit is not None and hit[0] is problem:
        _ANSWERS.move_to_end(key)
        return hit[1]
    result = _grade(problem, question_id, answer, seed=seed, points=points,
                    time_limit=time_limit, limits=limits)
    if isinstance(answer, str) and "(limit: time_limit)" not in result.feedback:
        # A class repeats answers: the same text gets the same (deterministic) result.
        # Timeouts are not kept: they depend on the machine's load, not on the answer.
        _ANSWERS[key] = (problem, result)
        if len(_ANSWERS) > ANSWER_CACHE_SIZE:
            _ANSWERS.popitem(last=False)
    return result


def _grade(problem: Problem, question_id: str, answer: str, *, seed: int, points: int,
           time_limit: float, limits: Limits | None) -> GradeResult:
    text = answer if isinstance(answer, str) else repr(answer)
    base: dict[str, Any] = {"problem": problem.id, "question": question_id, "answer": text, "seed": seed}
    try:
        ref, extras = _reference(problem, question_id, seed, points)
    except (KeyError, GradcheckError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        return GradeResult(verdict="error", feedback=f"Cannot grade: {message}", **base)
    if not isinstance(answer, str):
        return GradeResult(verdict="invalid", feedback="The answer must be text.", **base)
    try:
        with _deadline(time_limit):
            parsed, full, values = _read(ref, answer, limits or Limits())
    except ExpressionError as exc:
        which = f" (limit: {exc.limit})" if exc.limit else ""
        return GradeResult(verdict="invalid", feedback=f"Cannot read your answer: {exc.message}"
                           f"{which}.", **base)
    except _Timeout:
        return GradeResult(verdict="invalid", feedback=f"Reading your answer took longer than "
                           f"the time limit ({time_limit:g} s) (limit: time_limit).", **base)
    except _Unreadable as exc:
        return GradeResult(verdict="invalid", feedback=str(exc), **base)
    base |= {"understood_as": sympy.sstr(parsed), "expected": ref.expected}
    if ref.question.kind == "value":
        return _decide_value(ref, extras, full, values, base)
    return _decide_expression(ref, extras, full, values, base, time_limit)


# -- the truth, once per question ---------------------------------------------------------

def _reference(problem: Problem, question_id: str, seed: int,
               n: int) -> tuple[_Reference, list[Any]]:
    key = (id(problem), question_id, seed, n)
    hit = _CACHE.get(key)
    if hit is not None and hit[0].problem is problem:
        _CACHE.move_to_end(key)
        return hit
    question = problem.question(question_id)
    entry: tuple[_Reference, list[Any]] = (_build_reference(problem, question, seed, n), [])
    _CACHE[key] = entry
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return entry


def _build_reference(problem: Problem, question: Question, seed: int, n: int) -> _Reference:
    target = derive_question(problem, question)
    # The truth is evaluated from the compiled adjoint program; its closed form (built
    # only when small enough) is for showing, and for the exact polynomial difference.
    tape = target.build(target.graph[2:])
    pts, given_used = _sample(problem, target, tape, seed, max(n, 1))
    truth = _BACKEND.evaluate(tape, pts)[0]
    full = target.closed_form("derivative")
    if question.kind == "value":
        tol = tolerance_for("float64", question.tolerance or problem.tolerance or VALUE_TOLERANCE)
        expected = f"{float(truth[0]):.10g}"
    else:
        tol = tolerance_for("float64", question.tolerance)
        expected = sympy.sstr(full) if full is not None else TOO_LARGE
    n_sym = len(problem.symbols)
    return _Reference(
        problem=problem, question=question, target=target, tolerance=tol, points=pts,
        given_used=given_used, truth=truth,
        labels=tuple(label(target.variables, row) for row in pts),
        shown=tuple(format_point(label(problem.symbol_names, row[:n_sym])) for row in pts),
        expected=expected, truth_full=full,
        truth_symbols=(frozenset(s.name for s in full.free_symbols) if full is not None
                       else target.inputs_of(target.graph[2:])),
        truth_poly=tape.ops <= POLY_OPS and all(i.param >= 0 for i in tape.instructions
                                                if i.op == "powi"),
        names=dict(problem.names()), stage_symbols=frozenset(map(sym, problem.stage_names)),
        inputs_of={name: reached_inputs(target.stages, [sym(name)]) for name in target.cut_names},
        square=_has_square(target))


def _has_square(target: Target) -> bool:
    """Whether the function squares something that depends on the (first) variable."""
    wrt = sym(target.question.wrt[0])
    function = target.closed_form("function")
    if function is None:
        # Too deep to expand: any stage that squares something depending on wrt.
        return any(p.exp == 2 and target.inputs_of([p.base]) & {wrt.name}
                   for _, expr in target.stages
                   for p in expr.atoms(sympy.Pow))
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
        ok = np.isfinite(_BACKEND.evaluate(tape, pts)[0])
        if function is not None:
            ok &= np.isfinite(_BACKEND.evaluate(function, pts)[0])
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


# -- reading the answer ---------------------------------------------------------------------

class _Unreadable(Exception):
    """The answer parsed but cannot be evaluated as a real function."""


def _read(ref: _Reference, text: str,
          limits: Limits) -> tuple[sympy.Expr, sympy.Expr, np.ndarray]:
    """Parse, expand the stages (keeping a stage the question is asked with respect to),
    compile and evaluate at the question's points."""
    parsed = parse_expression(text, ref.names, student=True, limits=limits)
    full = parsed
    if not parsed.free_symbols.isdisjoint(ref.stage_symbols):
        full = expand(ref.problem, parsed, keep=ref.cut)
    try:
        tape = build_tape([full], ref.target.symbols)
        values = _BACKEND.evaluate(tape, ref.points)[0]
    except (UnsupportedFunctionError, TypeError, ValueError, ArithmeticError) as exc:
        raise _Unreadable(_not_real(full) or f"Cannot evaluate your answer: {exc}.") from None
    if not np.isfinite(values).any() and _not_real(full):
        raise _Unreadable(_not_real(full))
    return parsed, full, values


def _not_real(expr: sympy.Expr) -> str:
    if expr.has(*NOT_REAL):
        return ("Your answer is not a finite real number or formula (a division by zero, "
                "an infinity or the root of a negative number).")
    return ""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` with _Timeout (main thread only; else no limit).

    An outer timer that fires sooner is left alone; one that fires later is re-armed.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    outer_delay, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_delay and outer_delay <= seconds:
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise _Timeout

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))


# -- deciding -----------------------------------------------------------------------------

def _decide_value(ref: _Reference, extras: list[Any], full: sympy.Expr, values: np.ndarray,
                  base: dict[str, Any]) -> GradeResult:
    label_ = ref.question.label
    got, truth = float(values[0]), float(ref.truth[0])
    formula = bool(full.free_symbols)
    if not math.isfinite(got):
        return GradeResult(verdict="fail", feedback=f"Your answer is undefined at {ref.shown[0]}; "
                           f"{label_} is a number there.", **base)
    error = float(ref.tolerance.error(np.array(got), np.array(truth)))
    ok = error <= ref.tolerance.rtol
    evidence = (Evidence(ref.labels[0], truth, got, error, ok),)
    note = " You gave a formula; the question asks for the number." if formula else ""
    if ok:
        return GradeResult(verdict="pass", feedback=f"Correct: {label_} = {number(truth)} at "
                           f"{ref.shown[0]}.{note}", evidence=evidence, **base)
    finding = diagnosis.diagnose(_case(ref, extras, values, full))
    where = f"at {ref.shown[0]} your answer gives {number(got)} but {label_} is {number(truth)}."
    feedback = f"{finding.feedback} A{where[1:]}" if finding else f"Not right: {where}"
    return GradeResult(verdict="fail", feedback=feedback + note, evidence=evidence,
                       diagnosis=finding.diagnosis if finding else None, **base)


def _decide_expression(ref: _Reference, extras: list[Any], full: sympy.Expr, values: np.ndarray,
                       base: dict[str, Any], time_limit: float) -> GradeResult:
    label_ = ref.question.label
    tol = ref.tolerance
    both = np.isfinite(values)
    with np.errstate(all="ignore"):
        error = np.where(both, tol.error(values, ref.truth), np.inf)
    agree = error <= tol.rtol
    rows = zip(ref.labels, ref.truth.tolist(), values.tolist(), error.tolist(), agree.tolist(),
               both.tolist(), strict=True)
    evidence = tuple(Evidence(*row[:5]) for row in rows if row[5])
    base |= {"evidence": evidence}
    if 2 * both.sum() < len(values):
        bad = int(np.flatnonzero(~both)[0])
        return GradeResult(verdict="fail", feedback=f"Your answer is undefined at {ref.shown[bad]}"
                           f"{_more(int((~both).sum()) - 1, len(values))}, where {label_} is defined.",
                           **base)
    wrong = np.flatnonzero(both & ~agree)
    if wrong.size == 0:
        worst = float(error[both].max())
        differs = _symbolic_difference(ref, full, time_limit) if worst > MARGINAL else None
        if differs is None:
            return GradeResult(verdict="pass", feedback=f"Correct: your answer equals {label_} "
                               f"at {_where(ref, int(both.sum()))}.", **base)
        return GradeResult(verdict="fail", feedback=f"Very close, but not equal: your answer "
                           f"minus {label_} is {differs}, not 0.", **base)
    first = int(wrong[0])
    finding = diagnosis.diagnose(_case(ref, extras, values, full))
    where = (f"at {ref.shown[first]} your answer gives {number(values[first])} but {label_} is "
             f"{number(ref.truth[first])}.")
    if ref.given_used and first > 0 and agree[0]:
        where = f"Right at the given point ({ref.shown[0]}) but not as a function: {where}"
        if not full.free_symbols:
            where += " A formula in the variables is asked, not the value at the given point."
    else:
        where = f"{'At' if finding else 'Not right: at'}{where[2:]}"
    feedback = f"{finding.feedback} {where}" if finding else where
    return GradeResult(verdict="fail", feedback=feedback,
                       diagnosis=finding.diagnosis if finding else None, **base)


def _where(ref: _Reference, compared: int) -> str:
    if ref.given_used:
        random = compared - 1
        return (f"the given point and at {_count(random, 'random point')}" if random
                else "the given point")
    return _count(compared, "random point")


def _count(n: int, noun: str) -> str:
    """``1 random point``, ``2 random points``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _more(others: int, total: int) -> str:
    """`` (and at 3 more of the 21 points)``; nothing when there are no others."""
    if others <= 0:
        return ""
    return f" (and at {others} more of the {_count(total, 'point')})"


def _symbolic_difference(ref: _Reference, full: sympy.Expr, time_limit: float) -> str | None:
    """For polynomials only: the exact difference when it is not zero, else None."""
    if not ref.truth_poly or ref.truth_full is None:
        return None
    answer = expand(ref.problem, full)
    try:
        with _deadline(time_limit):
            if not answer.is_polynomial(*answer.free_symbols):
                return None
            difference = sympy.expand(answer - ref.truth_full)
    except _Timeout:
        return None
    return None if difference == 0 else sympy.sstr(difference)


# -- what a wrong answer is compared with -------------------------------------------------

def _case(ref: _Reference, extras: list[Any], values: np.ndarray,
          full: sympy.Expr) -> diagnosis.Case:
    if not extras:
        extras.append(_alternatives(ref))
    forward, stages, derivatives, missing = extras[0]
    single = ref.question.kind == "value"
    return diagnosis.Case(
        label=ref.question.label, of=ref.question.of, truth=ref.truth, answer=values,
        rtol=ref.tolerance.rtol, atol=ref.tolerance.atol, single_point=single, forward=forward,
        stages=stages, derivatives=derivatives, missing=missing,
        varied=() if single else _varied(ref, full), square=ref.square)


def _alternatives(ref: _Reference) -> tuple[Any, ...]:
    """Values of the forward pass, other derivatives and partial chain products (cached)."""
    problem, question = ref.problem, ref.question
    of_full = expand(problem, question.of_expr)
    named: list[tuple[str, str, sympy.Expr]] = []
    groups = [_stage_values(problem, question), _derivatives(problem, question),
              _missing_factors(problem, question)]
    sizes = [len(g) for g in groups]
    for group in groups:
        named.extend(group)
    exprs = [of_full, *(expand(problem, e) for _, _, e in named)]
    values = _BACKEND.evaluate(build_tape(exprs, ref.target.symbols), ref.points)
    cands = [diagnosis.Candidate(n, lab, values[i + 1], constant=not e.free_symbols)
             for i, (n, lab, e) in enumerate(named)]
    out, start = [], 0
    for size in sizes:
        out.append(tuple(cands[start:start + size]))
        start += size
    return (values[0], *out)


def _stage_values(problem: Problem, question: Question) -> list[tuple[str, str, sympy.Expr]]:
    return [(s.name, s.name, sym(s.name)) for s in problem.stages if s.name != question.of]


def _derivatives(problem: Problem, question: Question) -> list[tuple[str, str, sympy.Expr]]:
    """d of / d v for every other symbol and stage v (first-order questions only)."""
    if question.order != 1:
        return []
    found = []
    for name in (*problem.symbol_names, *problem.stage_names):
        if name in (question.wrt[0], question.of):
            continue
        function = expand(problem, question.of_expr, keep=[name])
        derivative = sympy.diff(function, sym(name))
        if derivative != 0:
            found.append((name, f"d {question.of} / d {name}", derivative))
    return found


MAX_UNITS = 8  # more factors on a path than this: whole edges only (2^8 subsets at most)


def _missing_factors(problem: Problem, question: Question) -> list[tuple[str, str, sympy.Expr]]:
    """Products of some (not all) local gradients along each path from ``of`` to ``wrt``.

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
                splits[(a, b)] = _split_edge(exprs.get(a), a, b)
            parts = splits[(a, b)] or [(f"d {a} / d {b}", g)]
            units.extend((i, text, expr) for text, expr in parts)
        if len(units) > MAX_UNITS:
            units = [(i, f"d {a} / d {b}", g) for i, (a, b, g) in enumerate(edges)]
        for k in range(1, len(units)):
            for subset in combinations(units, k):
                product = sympy.Mul(*(u[2] for u in subset))
                text = " * ".join(_unit_labels(subset, units, edges))
                found.setdefault(product, (edges[subset[0][0]][1],
                                           f"{text} = {sympy.sstr(product)}", product))
    return list(found.values())


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


def _split_edge(expr: sympy.Expr | None, stage: str,
                name: str) -> list[tuple[str, sympy.Expr]]:
    """d stage / d name as (d stage / d (u), d (u) / d name) for the smallest compound u
    holding every use of ``name`` (tanh(w1*x): u = w1*x), when both parts vary; else []."""
    if expr is None:
        return []
    var = sym(name)
    inner = sympy.Dummy("u")
    subs = sorted((e for e in sympy.preorder_traversal(expr)
                   if e != expr and not e.is_Atom and e.has(var)), key=sympy.count_ops)
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

    def walk(node: str, trail: list[tuple[str, str, sympy.Expr]]) -> None:
        if node == question.wrt[0]:
            paths.append(trail)
            return
        for edge in edges.get(node, []):
            if len(paths) < limit:
                walk(edge[1], [*trail, edge])

    walk(start, [])
    return paths


def _varied(ref: _Reference, full: sympy.Expr) -> tuple[diagnosis.Candidate, ...]:
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
        found.append(diagnosis.Candidate(name, name, _BACKEND.evaluate(tape, pts)[0]))
    return tuple(found)


def clear_answer_cache() -> None:
    """Forget graded answers but keep each question's truth (benchmarks of repeated grading)."""
    _ANSWERS.clear()


def clear_cache() -> None:
    """Forget every cached truth and graded answer (for benchmarks that measure a cold start)."""
    _CACHE.clear()
    _ANSWERS.clear()
