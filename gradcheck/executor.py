"""Where a batch's answers are graded: one small interface, several executors.

The batch (``gradcheck.batch``) decides *what* to grade: it reads the rows as a stream,
drops repeats, and hands each distinct answer over once, as a ``Task`` in a chunk.
An executor decides *where*: in this process (``InProcess``), in forked, killable
workers on this machine (``gradcheck.pool.LocalPool``), or on a Dask cluster
(``gradcheck.dask_executor.DaskExecutor``). Every executor grades a task with the
same ``TaskGrader`` and the same settings, so where a task ran never changes its result.

An executor is used like this (the batch's loop)::

    with executor:
        while work:
            if executor.room():            # a chunk would start now
                executor.submit(chunk)
            for key, result in executor.collect(timeout=0.05):
                ...                        # results as they finish, any order
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Literal, NamedTuple, Protocol, Self

from gradcheck.errors import InternalError
from gradcheck.problem import Problem
from gradcheck.verdict import GradeResult, Omitted

__all__ = ["EVIDENCE_POLICIES", "FAILING_POINTS", "INTERNAL_ERROR", "KILL_GRACE", "EvidencePolicy",
           "Executor", "Grader", "InProcess", "Settings", "Task", "TaskGrader", "crashed",
           "fork_safe", "internal_error", "keep_evidence", "prepare_questions", "task_grader", "telling_points",
           "timed_out"]

EvidencePolicy = Literal["all", "failing", "none"]
EVIDENCE_POLICIES: tuple[EvidencePolicy, ...] = ("all", "failing", "none")
KILL_GRACE = 0.5  # seconds a row may run past the time limit before its worker is killed


class Task(NamedTuple):
    """One distinct answer to grade; ``key`` is the batch's number for it."""

    key: int
    problem: str
    question: str
    answer: str


@dataclass(frozen=True)
class Settings:
    """What every task of a batch is graded with (plain data: it travels to any worker)."""

    seed: int = 0
    points: int = 20
    time_limit: float = 2.0
    evidence: EvidencePolicy = "all"

    @property
    def deadline(self) -> float:
        """Seconds after which a task's worker is killed."""
        return self.time_limit + KILL_GRACE


class Grader(Protocol):
    """The signature of ``gradcheck.grading.grade``."""

    def __call__(self, problem: Problem, question_id: str, answer: str, *, seed: int = 0,
                 points: int = 20, time_limit: float = 2.0) -> GradeResult: ...


TaskGrader = Callable[[Task], GradeResult]


def task_grader(problems: dict[str, Problem], grader: Grader, settings: Settings) -> TaskGrader:
    """Grade one task: the grader with the batch's settings, then the evidence policy.

    A grader that raises costs its row (an ``error`` result), never the batch.
    """
    def grade_task(task: Task) -> GradeResult:
        try:
            result = grader(problems[task.problem], task.question, task.answer, seed=settings.seed,
                            points=settings.points, time_limit=settings.time_limit)
        except Exception as exc:  # a grader bug must cost one row, not the batch
            return internal_error(task, exc)
        return keep_evidence(result, settings.evidence)
    return grade_task


def fork_safe(grade_task: TaskGrader) -> TaskGrader:
    """``grade_task``, which in a process forked after this call first drops the GC callbacks
    it inherited (e.g. Dask's GC diagnosis, in a Dask worker or a program with a Dask
    client): a grading deadline's alarm that fires inside a GC callback is lost
    ("Exception ignored in ... _gc_callback"), so the answer would run past its budget
    where a plain process stops it, and could get another result."""
    parent = os.getpid()

    def grade_task_forked(task: Task) -> GradeResult:
        if gc.callbacks and os.getpid() != parent:
            gc.callbacks.clear()
        return grade_task(task)
    return grade_task_forked


INTERNAL_ERROR = "internal-error"  # the diagnosis of an error row that a gradcheck bug caused


def internal_error(row: Task | Any, exc: BaseException) -> GradeResult:
    """The ``error`` row for an unexpected exception: names the problem and question, and
    is marked with the diagnosis ``internal-error`` (exit status 5 for a single answer)."""
    if os.environ.get("GRADCHECK_DEBUG", "").strip().lower() not in ("", "0", "false", "no"):
        traceback.print_exception(exc, file=sys.stderr)
    error = InternalError(f"grading problem {row.problem!r}, question {row.question!r}", exc)
    return GradeResult(problem=row.problem, question=row.question, answer=row.answer,
                       verdict="error", feedback=str(error), diagnosis=INTERNAL_ERROR)


FAILING_POINTS = 2  # points a failing answer keeps under ``failing``: the first, then a disagreement


def keep_evidence(result: GradeResult, policy: EvidencePolicy) -> GradeResult:
    """The result with the evidence the policy keeps: ``all``; ``none``; ``failing``: for a
    ``fail`` only, the points that show the failure (see ``telling_points``), else none."""
    if not result.evidence or policy == "all":
        return result
    if policy == "failing" and result.verdict == "fail":
        return telling_points(result)
    return replace(result, evidence=())


def telling_points(result: GradeResult, most: int = FAILING_POINTS) -> GradeResult:
    """The result with at most ``most`` evidence points, and a count of the others.

    Kept: the first point (the problem's given point, where the answer is defined there),
    then the first points where the answer disagrees with the truth, in the order they
    were compared. ``result.omitted`` counts the points left out, and how many of those
    disagree: enough to say "wrong at 19 of 21 points" without 19 points in the report.
    """
    evidence = result.evidence
    if len(evidence) <= most:
        return result
    first, rest = evidence[0], evidence[1:]
    disagree = [e for e in rest if not e.agrees]
    shown = disagree[:most - 1]
    return replace(result, evidence=(first, *shown),
                   omitted=Omitted(points=len(rest) - len(shown), disagree=len(disagree) - len(shown)))


def _result(task: Task, verdict: Literal["error"], feedback: str) -> GradeResult:
    return GradeResult(problem=task.problem, question=task.question, answer=task.answer,
                       verdict=verdict, feedback=feedback)


def timed_out(task: Task, limit: float) -> GradeResult:
    """The ``error`` result of a task stopped at its deadline (its worker killed, or the alarm
    rang): the grader did not answer in time, so nothing is known of the answer (issue 13).

    The grader's own deadline, when it answers first, gives an ``invalid`` row instead
    (``... took longer than the time limit``): that one says the answer itself is too slow.
    """
    return _result(task, "error", f"Grading this answer exceeded the time limit: it took longer "
                                  f"than {limit:g} s, so it was stopped; write it in a simpler "
                                  "form and submit it again.")


def crashed(task: Task, exitcode: int | None) -> GradeResult:
    """The result of a task whose worker died while grading it."""
    how = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit {exitcode}"
    return _result(task, "error", f"The grading process died on this answer ({how}); "
                                  "please report it as a gradcheck bug.")


class Executor(Protocol):
    """Grades chunks of tasks somewhere; hands results back as they finish, in any order."""

    chunk_size: int
    """Tasks per chunk this executor works best with."""

    def room(self) -> int:
        """How many more chunks would start now (0: submit later, after collecting)."""
        ...

    def submit(self, chunk: Sequence[Task]) -> None:
        """Queue a chunk; every task of it comes back from ``collect`` exactly once."""
        ...

    def collect(self, timeout: float) -> list[tuple[int, GradeResult]]:
        """(task key, result) pairs finished since the last call; waits up to ``timeout``
        seconds when none is ready yet."""
        ...

    def pending(self) -> int:
        """Tasks submitted and not yet collected."""
        ...

    def close(self, cancel: bool = False) -> None:
        """Release the workers; ``cancel`` stops work in progress at once."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class ExecutorBase:
    """Context-manager plumbing: leaving the block normally closes, an exception cancels."""

    def close(self, cancel: bool = False) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(cancel=kind is not None)


class InProcess(ExecutorBase):
    """Grades in this process, a task at a time (where ``fork`` does not exist).

    An alarm stops a slow task where one can be set (main thread, Unix); elsewhere a
    task runs to its end: weaker isolation than the forked pool.
    """

    chunk_size = 50

    def __init__(self, grade_task: TaskGrader, settings: Settings) -> None:
        self.grade_task = grade_task
        self.settings = settings
        self.queue: deque[Task] = deque()

    def prepare(self, questions: Sequence[tuple[str, str]]) -> None:
        """Fill the grader's per-question caches before any task's time limit starts."""
        prepare_questions(self.grade_task, questions, self.settings)

    def room(self) -> int:
        return 0 if self.queue else 1

    def submit(self, chunk: Sequence[Task]) -> None:
        self.queue.extend(chunk)

    def pending(self) -> int:
        return len(self.queue)

    def collect(self, timeout: float) -> list[tuple[int, GradeResult]]:
        done = []
        while self.queue:
            task = self.queue.popleft()
            done.append((task.key, run_guarded(self.grade_task, task, self.settings)))
        return done

    def close(self, cancel: bool = False) -> None:
        self.queue.clear()


class _Overtime(BaseException):
    """Raised by the alarm; a BaseException so the grader's ``except Exception`` lets it out."""


def alarm_works() -> bool:
    return threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")


PREPARE_SECONDS = 180.0  # a question's truth and diagnosis have their own budgets (grading)


def prepare_questions(grade_task: TaskGrader, questions: Sequence[tuple[str, str]],
                      settings: Settings) -> None:
    """Grade the trusted answer "0" once per question, so that its truth is built on the
    question's own budget, never under a student's time limit (issue 14.4)."""
    warm = replace(settings, time_limit=PREPARE_SECONDS)
    for problem, question in questions:
        run_guarded(grade_task, Task(-1, problem, question, "0"), warm)


def run_guarded(grade_task: TaskGrader, task: Task, settings: Settings) -> GradeResult:
    """Grade a task under a SIGALRM at its deadline where that works, else unguarded."""
    if not alarm_works():
        return grade_task(task)

    def ring(signum: int, frame: object) -> None:
        raise _Overtime

    previous = signal.signal(signal.SIGALRM, ring)
    try:
        signal.setitimer(signal.ITIMER_REAL, settings.deadline)
        try:
            return grade_task(task)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Overtime:
        return timed_out(task, settings.time_limit)
    finally:
        signal.signal(signal.SIGALRM, previous)
