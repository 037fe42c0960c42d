"""Grade one answer to one question: read it safely, decide numerically, diagnose mistakes.

The truth (SymPy's derivative) is derived, compiled and evaluated once per question,
seed and number of points, and cached: grading an answer costs one parse, one tape
build and one vectorised evaluation. Wrong answers are then compared with the known
mistakes of ``gradcheck.diagnosis``, whose alternatives are cached per question too.
How the decision is made is described in docs/grading.md.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any

import numpy as np
import sympy

from gradcheck import candidates, derivation, precise, readable, truth
from gradcheck.deadline import Timeout, deadline
from gradcheck.decision import decide_expression, decide_value
from gradcheck.derivation import expand
from gradcheck.errors import ExpressionError, GradcheckError, ProblemError, UnsupportedFunctionError
from gradcheck.parsing import Limits, parse_expression
from gradcheck.problem import AnswerTest, Problem
from gradcheck.tape import Tape, build_tape
from gradcheck.truth import BACKEND, VALUE_TOLERANCE, Reference
from gradcheck.verdict import GradeResult

__all__ = ["VALUE_TOLERANCE", "clear_answer_cache", "clear_cache", "grade", "prepare"]

NOT_REAL = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)
ANSWER_CACHE_SIZE = 20_000
_ANSWERS: OrderedDict[tuple[Any, ...], tuple[Problem, GradeResult]] = OrderedDict()


def grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0, points: int = 20,
          time_limit: float = 2.0, limits: Limits | None = None,
          hide: bool | None = None) -> GradeResult:
    """Grade one student answer to one question of a problem.

    Args:
        problem: a loaded problem.
        question_id: the id of one of its questions.
        answer: the student's text (student notation: ``2x(wx-y)``, ``x^2``, ``·``).
        seed: fixes the random points (with the problem and question ids).
        points: random points for an expression question, besides the given point.
        time_limit: seconds for reading and evaluating the answer (main thread only).
        limits: parser limits (length, nesting, exponents); ``Limits()`` by default.
        hide: keep the true value and the expected formula out of the feedback (they stay
            in ``expected`` and ``evidence``, for the teacher); None: the problem's
            ``hide_expected``.

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
    if problem.arrays is not None:  # vectors and matrices: numpy semantics, their own reader
        from gradcheck.arrays.grading import grade as grade_array
        return grade_array(problem, question_id, answer, seed=seed, points=points, time_limit=time_limit,
                           hide=problem.hide_expected if hide is None else hide)
    hide = problem.hide_expected if hide is None else hide
    key = (id(problem), question_id, seed, points, limits, time_limit, answer, hide)
    hit = _ANSWERS.get(key) if isinstance(answer, str) else None
    if hit is not None and hit[0] is problem:
        _ANSWERS.move_to_end(key)
        return hit[1]
    result = _grade(problem, question_id, answer, seed=seed, points=points,
                    time_limit=time_limit, limits=limits, hide=hide)
    if isinstance(answer, str) and "(limit: time_limit)" not in result.feedback:
        # A class repeats answers: the same text gets the same (deterministic) result.
        # Timeouts are not kept: they depend on the machine's load, not on the answer.
        _ANSWERS[key] = (problem, result)
        if len(_ANSWERS) > ANSWER_CACHE_SIZE:
            _ANSWERS.popitem(last=False)
    return result


def _grade(problem: Problem, question_id: str, answer: str, *, seed: int, points: int,
           time_limit: float, limits: Limits | None, hide: bool) -> GradeResult:
    text = answer if isinstance(answer, str) else repr(answer)
    base: dict[str, Any] = {"problem": problem.id, "question": question_id, "answer": text, "seed": seed}
    try:
        ref, extras = truth.reference(problem, question_id, seed, points)
    except (KeyError, GradcheckError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        return GradeResult(verdict="error", feedback=f"Cannot grade: {message}", **base)
    if not isinstance(answer, str):
        return GradeResult(verdict="invalid", feedback="The answer must be text.", **base)
    try:
        with deadline(time_limit):
            parsed, full, values, tape = _read(ref, answer, limits or Limits())
            exact_answer = precise.exact(full)
    except ExpressionError as exc:
        which = f" (limit: {exc.limit})" if exc.limit else ""
        return GradeResult(verdict="invalid", feedback=f"Cannot read your answer: {exc.message}"
                           f"{which}.", **base)
    except Timeout:
        return GradeResult(verdict="invalid", feedback=f"Reading your answer took longer than "
                           f"the time limit ({time_limit:g} s) (limit: time_limit).", **base)
    except _Unreadable as exc:
        return GradeResult(verdict="invalid", feedback=str(exc), **base)
    expected = ref.expected if ref.question.kind == "value" else readable.shown(problem, question_id)
    base |= {"understood_as": sympy.sstr(parsed), "expected": expected}
    if ref.question.kind == "value":
        result = decide_value(ref, extras, full, values, base, exact_answer, hide=hide)
    else:
        try:
            result = decide_expression(ref, extras, full, values, base, exact_answer, tape,
                                       time_limit, hide=hide)
        except Timeout:
            return GradeResult(verdict="invalid", feedback=f"Checking your answer took longer "
                               f"than the time limit ({time_limit:g} s) (limit: time_limit).",
                               **base)
    words = _teacher_words(ref, values, result.verdict, limits or Limits())
    if words:
        result = replace(result, feedback=f"{words} {result.feedback}")
    return result


# -- the teacher's own words ------------------------------------------------------------------

_TEACHER: OrderedDict[int, tuple[Reference, list[tuple[AnswerTest, np.ndarray]]]] = OrderedDict()


def _teacher_words(ref: Reference, values: np.ndarray, verdict: str, limits: Limits) -> str:
    """The ``feedback`` of the question test whose answer equals this one, by the grading rule.

    A rejected answer's words go with a fail, an accepted one's with a pass.
    """
    expect = {"fail": "reject", "pass": "accept"}.get(verdict)
    tests = [t for t in ref.question.tests if t.feedback and t.expect == expect]
    if not tests:
        return ""
    hit = _TEACHER.get(id(ref))
    if hit is None or hit[0] is not ref:
        evaluated = []
        for t in (t for t in ref.question.tests if t.feedback):
            try:
                evaluated.append((t, _read(ref, t.answer, limits)[2]))
            except (ExpressionError, _Unreadable):
                continue
        hit = (ref, evaluated)
        _TEACHER[id(ref)] = hit
        if len(_TEACHER) > truth.CACHE_SIZE:
            _TEACHER.popitem(last=False)
    for test, theirs in hit[1]:
        if test.expect == expect and equivalent(values, theirs, ref):
            return str(test.feedback)
    return ""


def equivalent(values: np.ndarray, other: np.ndarray, ref: Reference) -> bool:
    """Two answers are one by the rule that decides a verdict: they agree within the
    question's tolerance wherever both are defined, and both are defined at half the points
    or more (a value question: its one point)."""
    both = np.isfinite(values) & np.isfinite(other)
    if 2 * both.sum() < len(values) or not both.any():
        return False
    with np.errstate(all="ignore"):
        error = ref.tolerance.error(values[both], other[both])
    return bool(np.all(error <= ref.tolerance.rtol))


# -- reading the answer ---------------------------------------------------------------------

class _Unreadable(Exception):
    """The answer parsed but cannot be evaluated as a real function."""


def _read(ref: Reference, text: str,
          limits: Limits) -> tuple[sympy.Expr, sympy.Expr, np.ndarray, Tape]:
    """Parse, expand the stages (keeping a stage the question is asked with respect to),
    compile and evaluate at the question's points."""
    parsed = parse_expression(text, ref.names, student=True, limits=limits)
    full = parsed
    if not parsed.free_symbols.isdisjoint(ref.stage_symbols):
        full = expand(ref.problem, parsed, keep=ref.cut)
    try:
        tape = build_tape([full], ref.target.symbols)
        with np.errstate(all="ignore"):
            values = BACKEND.evaluate(tape, ref.points)[0]
    except (UnsupportedFunctionError, TypeError, ValueError, ArithmeticError) as exc:
        raise _Unreadable(_not_real(full) or f"Cannot evaluate your answer: {exc}.") from None
    if not np.isfinite(values).any() and _not_real(full):
        raise _Unreadable(_not_real(full))
    return parsed, full, values, tape


def _not_real(expr: sympy.Expr) -> str:
    if expr.has(*NOT_REAL):
        return ("Your answer is not a finite real number or formula (a division by zero, "
                "an infinity or the root of a negative number).")
    return ""


def prepare(problem: Problem, question_id: str, *, seed: int = 0, points: int = 20) -> None:
    """Build a question's truth and its diagnosis alternatives now, each on its own budget,
    so that no answer's time limit is ever charged for them (``grade`` does this lazily).

    Raises:
        ProblemError: the truth cannot be prepared (undefined on the domains, or over
            ``truth.TRUTH_BUDGET`` seconds): the problem is at fault, not an answer.
    """
    if problem.arrays is not None:  # vectors and matrices have their own grader
        return
    try:
        ref, extras = truth.reference(problem, question_id, seed, points)
    except GradcheckError as exc:
        raise ProblemError(problem.path, f"questions.{question_id}", str(exc)) from None
    candidates.warm(ref, extras)
    if ref.question.kind != "value":
        readable.formula(problem, question_id)


def clear_answer_cache() -> None:
    """Forget graded answers but keep each question's truth (benchmarks of repeated grading)."""
    _ANSWERS.clear()


def clear_cache() -> None:
    """Forget every cached truth and graded answer, and what derivation memoises per
    problem (for benchmarks that measure a cold start)."""
    truth.clear()
    derivation.clear_cache()
    _ANSWERS.clear()
