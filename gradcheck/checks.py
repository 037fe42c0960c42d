"""Check stage: is the symbolic derivative right? Compare independent opinions of it.

For every question, the symbolic derivative compiled to each backend is compared with
finite differences of the compiled function (float64 numpy), with the backend's own
autograd where it has one, with the numpy compilation (a translation bug shows up),
and with the teacher's reference answer. A disagreement is a failed Comparison in
the result, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from gradcheck import finite_diff, precise
from gradcheck.backends import Backend, get_backend, resolve_backends
from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.derivation import Target, derive
from gradcheck.errors import ProblemError, working_on
from gradcheck.parsing import TEACHER_LIMITS, parse_expression, parse_number
from gradcheck.points import SetAside, draw, format_point, given, label, rng_for
from gradcheck.problem import Problem
from gradcheck.referee import Referee, Side, settle
from gradcheck.refusals import check_backends
from gradcheck.tape import Tape
from gradcheck.tolerances import Tolerance, tolerance_for

DEFAULT_POINTS = 20
DEFAULT_SEED = 0
MAX_UNDEFINED = 0.2  # more undefined random points than this means the domain is wrong
MAX_OVERFLOW = 0.75  # more float64 overflow leaves too few points: check draws 4 per point
KINK_RTOL = 1e-4
DOMAIN_POINTS = 200
KEY_POINTS = 25  # undefined points domain_keys looks at
KEY_REDRAWS = 8  # fresh values of one symbol tried at each of them


@dataclass(frozen=True)
class Comparison:
    """Two opinions of the same values at the same points, and how far apart they are."""

    what: str
    got_by: str
    expected_by: str
    variable: str
    points: int
    failures: int
    worst_error: float
    worst_point: tuple[tuple[str, float], ...]
    got: float
    expected: float
    tolerance: Tolerance
    method: str | None = None
    step: float | None = None
    refereed: int = 0  # points where float64 disagreed and high precision decided

    @property
    def passed(self) -> bool:
        return self.failures == 0


@dataclass(frozen=True)
class QuestionResult:
    """Everything checked about one question on one backend."""

    problem: str
    question: str
    label: str
    backend: str
    dtype: str
    points: int
    value: float | None
    comparisons: tuple[Comparison, ...]
    set_aside: tuple[SetAside, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.comparisons)

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"

    @property
    def worst_error(self) -> float:
        return max((c.worst_error for c in self.comparisons), default=0.0)

    def __repr__(self) -> str:
        from gradcheck.report.notebook import question_result_repr

        return question_result_repr(self)

    def _repr_html_(self) -> str:
        from gradcheck.report.notebook import check_html

        return check_html(self)


@dataclass(frozen=True)
class CheckReport:
    """The results of one run, with everything needed to reproduce it."""

    seed: int
    points: int
    dtype: str
    backends: tuple[str, ...]
    results: tuple[QuestionResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def __repr__(self) -> str:
        from gradcheck.report.notebook import check_repr

        return check_repr(self)

    def _repr_html_(self) -> str:
        from gradcheck.report.notebook import check_html

        return check_html(self)


def check(problems: Sequence[Problem], *, backends: Sequence[str] = ("numpy",),
          points: int = DEFAULT_POINTS, seed: int = DEFAULT_SEED,
          dtype: str = "float64") -> CheckReport:
    """Check every question of every problem on every backend.

    Args:
        problems: loaded problems (see ``load_bank``).
        backends: backend names; ``auto`` means every backend available here.
        points: random points per question, besides the given point.
        seed: the only source of randomness; recorded in the report.
        dtype: ``float64`` or ``float32`` for the backends' evaluation.

    Raises:
        ProblemError: a problem cannot be checked (undefined at its given point or on
            most of its domain, or a function no backend compiles).
        BackendUnavailableError: a backend cannot run here.
    """
    if points < 1:
        raise ValueError(f"points must be at least 1, not {points}")
    names = resolve_backends(backends)
    built = [get_backend(name, dtype) for name in names]
    # Before any check starts: a function one of these backends lacks is refused here,
    # naming the file (numpy users may still use the problem).
    check_backends(problems, names)
    results = [r for p in problems for r in check_problem(p, built, points=points, seed=seed)]
    return CheckReport(seed=seed, points=points, dtype=dtype, backends=tuple(names),
                       results=tuple(results))


def check_problem(problem: Problem, backends: Sequence[Backend], *, points: int = DEFAULT_POINTS,
                  seed: int = DEFAULT_SEED) -> list[QuestionResult]:
    """Check one problem's questions; results in question order, then backend order.

    Raises:
        UnsupportedFunctionError: the problem uses a function one of the backends lacks.
    """
    check_backends([problem], [b.name for b in backends])
    if problem.arrays is not None:  # vectors and matrices: derived entry by entry
        from gradcheck.arrays.checking import check_problem as check_arrays
        return check_arrays(problem, backends, points=points, seed=seed)
    with working_on(f"deriving problem {problem.id!r}"):
        derivation = derive(problem)
    results = []
    for target in derivation.targets:
        with working_on(f"checking problem {problem.id!r}, question {target.question.id!r}"):
            results.extend(check_target(problem, target, backends, points=points, seed=seed))
    return results


@dataclass(frozen=True)
class _Sample:
    points: np.ndarray
    given_used: bool
    set_aside: tuple[SetAside, ...]


def check_target(problem: Problem, target: Target, backends: Sequence[Backend], *,
                 points: int, seed: int) -> list[QuestionResult]:
    """Check one question on each backend, all at the same points.

    Where float64 opinions disagree, the referee (``gradcheck.referee``) re-decides the
    point in high precision, judging every backend number against the exact value of
    its formula.
    """
    reference = NumpyBackend()
    tape = target_tape(problem, target, target.graph)
    sample = sample_points(problem, target, tape, points, seed)
    pts = sample.points
    fds = finite_differences(problem, target, pts)
    ref_values = reference.evaluate(tape, pts)
    answer = _reference_answer(problem, target)
    value = float(ref_values[2][0]) if sample.given_used else None
    exact = _Exact(target)
    results = []
    for backend in backends:
        tol = tolerance_for(backend.dtype, target.question.tolerance or problem.tolerance)
        eps = _eps(backend.dtype)
        values = backend.evaluate(tape, pts)
        comps = [compare(what, f"symbolic ({backend.name})", f"finite differences ({fd.method})",
                          values[row], fd.values, target, pts, tol, fd,
                          referee=exact.referee(row, [(values[row], row, eps)], oracle=src,
                                                function=(ref_values[src[0]], _eps("float64"))))
                 for what, row, fd, src in fds]
        comps += _autograd(problem, target, backend, pts, values[2], tol, exact, eps)
        if backend.name != reference.name or backend.dtype != reference.dtype:
            comps += [compare(f"{part} vs numpy", f"{backend.name}", "numpy float64",
                               values[row], ref_values[row], target, pts, tol,
                               referee=exact.referee(row, [(values[row], row, eps),
                                                           (ref_values[row], row, _eps("float64"))]))
                      for part, row in (("function", 0), ("derivative", 2))]
        if answer is not None:
            # An expression reference must equal SymPy's derivative: two exact formulas,
            # so the dtype's default applies; an override (for noisy finite differences or
            # rounded value answers) must not let a wrong formula through.
            ref_tol = tol if target.question.kind == "value" else tolerance_for(backend.dtype)
            comps.append(_answer_comparison(target, answer, backend, pts, values[2], ref_tol,
                                            sample.given_used, exact, eps))
        results.append(QuestionResult(
            problem=problem.id, question=target.question.id, label=target.question.label,
            backend=backend.name, dtype=backend.dtype, points=len(pts), value=value,
            comparisons=tuple(comps), set_aside=sample.set_aside))
    return results


def _eps(dtype: str) -> float:
    return float(np.finfo(np.dtype(dtype)).eps) / 2  # unit roundoff


class _Exact:
    """The question's formulas with exact constants, made once and only when a
    comparison needs the referee."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._graph: tuple[sympy.Expr, ...] | None = None
        self._program: tuple[tuple[sympy.Symbol, sympy.Expr], ...] | None = None

    def _build(self) -> None:
        if self._graph is None:
            self._graph = tuple(precise.exact(e) for e in self.target.graph)
            self._program = tuple((s, precise.exact(e)) for s, e in self.target.program)

    def referee(self, row: int, sides: Sequence[tuple[np.ndarray, int | sympy.Expr, float]],
                oracle: tuple[int, int] | None = None,
                function: tuple[np.ndarray, float] | None = None) -> Callable[[], Referee]:
        """A maker of the Referee of one comparison: the truth is output ``row``; each side
        is (numbers, output row or formula, unit roundoff); ``oracle`` is (output row of
        the function, variable index) when the derivation itself is under test, and
        ``function`` the compiled function's numbers at the points (numbers, unit
        roundoff): finite differences of a wrong compilation must not be excused."""

        def make() -> Referee:
            self._build()
            assert self._graph is not None and self._program is not None
            graph = self._graph

            def formula(which: int | sympy.Expr) -> sympy.Expr:
                return graph[which] if isinstance(which, int) else precise.exact(which)

            judged = [Side(np.asarray(v, dtype=np.float64), formula(w), e) for v, w, e in sides]
            if function is not None and oracle is not None:
                judged.append(Side(np.asarray(function[0], dtype=np.float64), graph[oracle[0]],
                                   function[1], same_quantity=False))
            return Referee(
                symbols=self.target.symbols, program=self._program, truth=graph[row],
                sides=tuple(judged),
                oracle=None if oracle is None else (graph[oracle[0]], oracle[1]))

        return make


def target_tape(problem: Problem, target: Target, exprs: Sequence[object]) -> Tape:
    """Compile expressions over the question's variables and its program's symbols."""
    try:
        return target.build(exprs)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ProblemError(problem.path, f"questions.{target.question.id}", str(exc)) from exc


def complete(target: Target, problem: Problem, symbol_points: np.ndarray) -> np.ndarray:
    """Add the forward value of each cut stage to points over the symbols."""
    if not target.cut_names:
        return symbol_points
    extra = NumpyBackend().evaluate(target.build_cut(), symbol_points)
    return np.column_stack([symbol_points, *extra])


def candidates(problem: Problem, target: Target, n: int,
               rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """The given point (when every symbol has a value), then ``4 n`` random draws to choose
    ``n`` usable points from; cut stages completed. Returns the points and whether the
    first one is the given point."""
    start = given(problem)
    rows = draw(problem, 4 * n, rng)
    if start is not None:
        rows = np.vstack([start, rows])
    return complete(target, problem, rows), start is not None


def sample_points(problem: Problem, target: Target, tape: Tape, n: int, seed: int) -> _Sample:
    """The given point (when it has one and is usable) then ``n`` random points in the domains.

    Points where the function or its derivative is not finite, or where one-sided
    differences disagree (a kink), are set aside and replaced.

    Raises:
        ProblemError: undefined at the given point, or on too much of the domain.
    """
    pts, has_given = candidates(problem, target, n, rng_for(seed, problem.id, target.question.id))
    values = NumpyBackend().evaluate(tape, pts)
    defined = np.all(np.isfinite(values), axis=0)
    # Where float64 overflows (exp(800)) high precision says whether the point is really
    # undefined: an overflow is set aside as such, never counted against the domains.
    overflow = _defined_in_high_precision(target, pts, ~defined)
    kink = kinks(problem, target, pts, defined)
    where = f"questions.{target.question.id}"
    if has_given and not defined[0]:
        raise ProblemError(problem.path, where,
                           f"{target.question.label} is undefined at the symbols' values",
                           "change the values or the question")
    if has_given and kink[0] and target.question.kind == "value":
        raise ProblemError(problem.path, where,
                           f"{target.question.label} is asked at a point where it is not "
                           f"differentiable ({format_point(label(target.variables, pts[0]))})",
                           "move the symbols' values off the kink, or ask for a formula")
    random_defined = (defined | overflow)[int(has_given):]
    if np.mean(overflow[int(has_given):]) > MAX_OVERFLOW:
        raise overflow_error(problem, target, pts[int(has_given):], overflow[int(has_given):],
                             seed)
    if np.mean(~random_defined) > MAX_UNDEFINED:
        undefined = pts[int(has_given):][~random_defined]
        bad = undefined[0]
        raise ProblemError(
            problem.path, domain_keys(problem, target, undefined, seed=seed),
            f"{target.question.label} is undefined at {np.mean(~random_defined):.0%} of random "
            f"points in the domains (e.g. {format_point(label(target.variables, bad))})",
            "choose domains where the function and its derivative are defined")
    usable = defined & ~kink
    set_aside = [SetAside(label(target.variables, row), ("float64 overflow" if overflow[i]
                                                          else "undefined") if not ok else
                          "non-differentiable", given=bool(has_given and i == 0))
                 for i, (row, ok) in enumerate(zip(pts, defined, strict=True)) if not usable[i]]
    keep = np.flatnonzero(usable)
    given_used = bool(has_given and usable[0])
    random_keep = keep[keep >= int(has_given)][:n]
    chosen = np.concatenate([[0] if given_used else [], random_keep]).astype(int)
    # Report only set-aside points up to the last one drawn, so the list does not depend on spares.
    last = chosen.max(initial=0)
    relevant = tuple(s for i, s in zip(np.flatnonzero(~usable), set_aside, strict=True) if i <= last)
    return _Sample(points=pts[chosen], given_used=given_used, set_aside=relevant)


def overflow_error(problem: Problem, target: Target, pts: np.ndarray, overflow: np.ndarray,
                   seed: int) -> ProblemError:
    """The domains are so wide that float64 overflows at most random points (more than
    ``MAX_OVERFLOW``): defined there, but no backend can evaluate it. Said the same way
    by ``check`` and ``lint``."""
    bad = pts[overflow]
    return ProblemError(
        problem.path, domain_keys(problem, target, bad, seed=seed),
        f"{target.question.label} overflows float64 at {np.mean(overflow):.0%} of random points "
        f"in the domains (e.g. {format_point(label(target.variables, bad[0]))}): it is defined "
        "there, but beyond float64's range, so no backend can evaluate it",
        "narrow the domains to where its values fit in float64 (|value| < 1.8e308)")


def float64_overflow(target: Target, pts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mask of the points where float64 gives a non-finite value (``values``: the tape's
    outputs there) but the function and its derivatives are defined in high precision."""
    return _defined_in_high_precision(target, pts, ~np.all(np.isfinite(values), axis=0))


def _defined_in_high_precision(target: Target, pts: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Mask of the points in ``which`` where the function and its derivatives are finite
    real numbers in high precision (float64 said they are not)."""
    found = np.zeros(len(pts), dtype=bool)
    if not which.any():
        return found
    exprs = [precise.exact(e) for e in target.graph]
    program = tuple((s, precise.exact(e)) for s, e in target.program)
    for i in np.flatnonzero(which):
        point = precise.exact_point(target.symbols, pts[i])
        found[i] = all(precise.evaluate(e, point, program) is not None for e in exprs)
    return found


def kinks(problem: Problem, target: Target, pts: np.ndarray, defined: np.ndarray) -> np.ndarray:
    """Mask of the defined points where one-sided differences of the function disagree."""
    kink = np.zeros(len(pts), dtype=bool)
    function, first, _ = target.graph
    exprs = [function] if len(target.wrt_index) == 1 else [function, first]
    for expr, var in zip(exprs, target.wrt_index, strict=False):
        tape = target_tape(problem, target, [expr])
        if tape.analytic:
            continue
        f = _scalar(tape)
        kink |= defined & finite_diff.one_sided_disagree(f, pts, var, rtol=KINK_RTOL)
    return kink


def _scalar(tape: Tape) -> finite_diff.Fn:
    backend = NumpyBackend()
    return lambda p: backend.evaluate(tape, p)[0]


def finite_differences(problem: Problem, target: Target, pts: np.ndarray
                        ) -> list[tuple[str, int, finite_diff.Derivative, tuple[int, int]]]:
    """(what, output row, estimate, (output row differentiated, variable index)): the
    derivative asked, and for order 2 also the first."""
    first_var = target.wrt_index[0]
    f_tape = target_tape(problem, target, target.graph[:1])
    first = _fd(f_tape, pts, first_var)
    if len(target.wrt_index) == 1:
        return [("symbolic vs finite differences", 2, first, (0, first_var))]
    d_tape = target_tape(problem, target, target.graph[1:2])
    second = _fd(d_tape, pts, target.wrt_index[1])
    return [("first derivative vs finite differences", 1, first, (0, first_var)),
            ("symbolic vs finite differences of the first derivative", 2, second,
             (1, target.wrt_index[1]))]


KINK_STEP = 1e-6  # finite_diff.one_sided_disagree looks this far (and twice as far) for kinks
STENCIL_AGREE = 1e-7


def _fd(tape: Tape, pts: np.ndarray, var: int) -> finite_diff.Derivative:
    """Finite differences that a kink or a domain edge cannot fool.

    Analytic tapes: the complex step, exact to rounding. Otherwise Richardson, whose
    stencil reaches 5% of |x| and so can straddle a kink, a jump or a domain edge
    that the point itself is far from. A central difference with a step inside the
    kink test's window checks it: where the two disagree (or Richardson is NaN), the
    central value is used, and the method name says so.
    """
    f = _scalar(tape)
    if tape.analytic:
        return finite_diff.complex_step(f, pts, var)
    wide = finite_diff.richardson(f, pts, var)
    near = finite_diff.central(f, pts, var, rel_step=KINK_STEP)
    with np.errstate(all="ignore"):
        band = np.maximum(STENCIL_AGREE * np.abs(near.values), 10 * near.error)
        apart = np.abs(wide.values - near.values) > band
    swap = np.isnan(wide.values) | apart
    # Where the two agree, the truth lies within the band of both: never excuse more.
    capped = np.where(swap, wide.error, np.minimum(wide.error, band))
    if not swap.any():
        return finite_diff.Derivative(values=wide.values, error=capped, steps=wide.steps,
                                      method=wide.method)
    near = _shrinking_central(f, pts, var, near)
    values, steps, error = wide.values.copy(), wide.steps.copy(), capped
    values[swap], steps[swap], error[swap] = near.values[swap], near.steps[swap], near.error[swap]
    return finite_diff.Derivative(
        values=values, error=error, steps=steps,
        method=f"{wide.method}; central (step 1e-6) at {int(swap.sum())} point(s) "
               "where its stencil crosses a kink or a domain edge")


FINE_STEPS = (1e-7, 1e-8, 1e-9, 1e-10)  # relative steps tried after KINK_STEP


def _shrinking_central(f: finite_diff.Fn, pts: np.ndarray, var: int,
                       first: finite_diff.Derivative) -> finite_diff.Derivative:
    """Central differences whose stencil keeps off a kink the point is very close to.

    Within a step of a kink whose slope is continuous (relu(x)**2, x*Abs(x) at 0), the
    one-sided test sees no kink, yet a central difference that straddles it is off by
    O(h). Steps shrink by 10 until two successive estimates agree; the larger of the two
    is kept (less rounding), its error widened by their gap. Where none agree (the point
    is on such a kink: x*Abs(x) at 0 gives h for every h), the error is taken as linear in
    h and the last two estimates are extrapolated to h = 0.
    """
    ests = [first, *(finite_diff.central(f, pts, var, rel_step=s) for s in FINE_STEPS)]
    values, error, steps = first.values.copy(), first.error.copy(), first.steps.copy()
    settled = np.zeros(len(pts), dtype=bool)
    for a, b in zip(ests, ests[1:], strict=False):
        with np.errstate(all="ignore"):
            gap = np.abs(a.values - b.values)
            ok = ~settled & (gap <= np.maximum(STENCIL_AGREE * np.abs(a.values),
                                               10 * (a.error + b.error)))
        values[ok], error[ok], steps[ok] = a.values[ok], (gap + a.error)[ok], a.steps[ok]
        settled |= ok
    a, b = ests[-2], ests[-1]
    with np.errstate(all="ignore"):
        linear = b.values - (a.values - b.values) / 9
        gap = np.abs(a.values - b.values) / 9 + b.error
    last = ~settled
    values[last], error[last], steps[last] = linear[last], gap[last], b.steps[last]
    return finite_diff.Derivative(values=values, error=error, steps=steps, method=first.method)


def _autograd(problem: Problem, target: Target, backend: Backend, pts: np.ndarray,
              symbolic: np.ndarray, tol: Tolerance, exact: _Exact, eps: float) -> list[Comparison]:
    f_tape = target_tape(problem, target, target.graph[:1])
    grads = backend.autograd(f_tape, pts, 0, target.wrt_index)
    if grads is None:
        return []
    # Autograd follows its own operations; the symbolic formula's rounding bound stands in.
    return [compare("autograd vs symbolic", f"autograd ({backend.name})",
                     f"symbolic ({backend.name})", grads, symbolic, target, pts, tol,
                     referee=exact.referee(2, [(grads, 2, eps), (symbolic, 2, eps)]))]


def _reference_answer(problem: Problem, target: Target) -> tuple[sympy.Expr, Tape | None] | None:
    """The reference answer as a formula, and its tape (None for a value)."""
    question = target.question
    if question.answer is None:
        return None
    if question.kind == "value":
        number = float(parse_number(question.answer))
        return sympy.Rational(number) if np.isfinite(number) else sympy.nan, None
    # Stages in the answer read their forward values through the program; a cut stage
    # is an input, as in the question.
    expr = parse_expression(question.answer, problem.names(), limits=TEACHER_LIMITS)
    return expr, target_tape(problem, target, [expr])


def _answer_comparison(target: Target, answer: tuple[sympy.Expr, Tape | None], backend: Backend,
                       pts: np.ndarray, symbolic: np.ndarray, tol: Tolerance, given_used: bool,
                       exact: _Exact, eps: float) -> Comparison:
    expr, tape = answer
    if tape is not None:
        got = backend.evaluate(tape, pts)[0]
        return compare("reference answer vs symbolic", "reference answer",
                        f"symbolic ({backend.name})", got, symbolic, target, pts, tol,
                        referee=exact.referee(2, [(got, expr, eps), (symbolic, 2, eps)]))
    if not given_used:
        # The given point is a kink: a value there is not a derivative, so nothing can agree.
        nan = np.array([np.nan])
        return compare("reference value vs symbolic", "reference value",
                        "symbolic at the given point", nan, nan, target, pts[:1], tol)
    value = np.array([float(expr)])
    return compare("reference value vs symbolic", "reference value",
                    "symbolic at the given point", value, symbolic[:1],
                    target, pts[:1], tol,
                    referee=exact.referee(2, [(value, expr, 0.0), (symbolic[:1], 2, eps)]))


def compare(what: str, got_by: str, expected_by: str, got: np.ndarray, expected: np.ndarray,
             target: Target, pts: np.ndarray, tol: Tolerance,
             fd: finite_diff.Derivative | None = None,
             referee: Callable[[], Referee] | None = None) -> Comparison:
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    with np.errstate(all="ignore"):
        if fd is None:
            error = tol.error(got, expected)
        else:
            # A finite-difference value is known only to within its own error estimate.
            gap = np.maximum(np.abs(got - expected) - np.nan_to_num(fd.error), 0.0)
            error = gap / np.maximum(np.abs(expected), tol.atol / tol.rtol)
    # A NaN on either side where the other is a number is a disagreement, not a pass.
    error = np.where(np.isnan(error), np.inf, error)
    refereed = 0
    if referee is not None and np.any(error > tol.rtol):
        error, expected, refereed = settle(referee(), pts, error, expected, tol)
    worst = int(np.argmax(error))
    return Comparison(
        what=what, got_by=got_by, expected_by=expected_by,
        variable=" ".join(target.question.wrt), points=len(got),
        failures=int(np.count_nonzero(error > tol.rtol)),
        worst_error=float(error[worst]), worst_point=label(target.variables, pts[worst]),
        got=float(got[worst]), expected=float(expected[worst]), tolerance=tol,
        method=fd.method if fd else None, step=float(fd.steps[worst]) if fd else None,
        refereed=refereed)


def domain_keys(problem: Problem, target: Target, undefined: np.ndarray | None = None, *,
                seed: int = 0) -> str:
    """The keys ``symbols.NAME.domain`` of the symbols whose domain makes ``target`` undefined.

    A symbol matters when changing it alone (to fresh random values from its domain, the
    other symbols kept) makes the question's function or derivative defined at one of
    the points where it was undefined: for ``log(w)*x`` that is ``w`` only. Deterministic
    (``rng_for(seed, ...)``).

    Args:
        problem: the problem.
        target: the question's Target (``derive(problem).target(question_id)``).
        undefined: points where it is undefined, shape (n, n_symbols) or completed with the
            cut stages (n, len(target.variables)); only the symbol columns are read. When
            None, they are drawn from the domains.
        seed: seed of the random values.

    Returns:
        E.g. ``"symbols.w.domain"``; when no single symbol can be blamed, the keys of every
        symbol of the function, or ``"symbols"`` when it has none.
    """
    names = problem.symbol_names
    free = target.inputs_of(target.graph[:1])
    fallback = ", ".join(f"symbols.{n}.domain" for n in names if n in free) or "symbols"
    try:
        tape = target.build(target.graph)
    except ValueError:
        return fallback
    backend = NumpyBackend()

    def defined(symbol_points: np.ndarray) -> np.ndarray:
        values = backend.evaluate(tape, complete(target, problem, symbol_points))
        return np.all(np.isfinite(values), axis=0)

    keys = ("domain-keys", problem.id, target.question.id)
    if undefined is None:
        undefined = draw(problem, DOMAIN_POINTS, rng_for(seed, *keys))
    base = np.asarray(undefined, dtype=np.float64)[:, :len(names)]
    base = base[~defined(base)][:KEY_POINTS] if len(base) else base
    if not len(base):
        return fallback
    matters = []
    for i, symbol in enumerate(problem.symbols):
        low, high = symbol.domain
        moved = np.repeat(base, KEY_REDRAWS, axis=0)
        moved[:, i] = low + (high - low) * rng_for(seed, *keys, symbol.name).random(len(moved))
        if np.any(defined(moved)):
            matters.append(symbol.name)
    return ", ".join(f"symbols.{n}.domain" for n in matters) or fallback
