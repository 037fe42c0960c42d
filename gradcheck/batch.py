"""Grade a class's submissions against a problem bank, never losing a row.

The batch reads rows as a stream, keeps at most ``WINDOW`` of them between reading and
writing, and sends each distinct answer (problem, question, answer text) to an executor
once: a repeat costs a dictionary look-up, not a trip to a worker. The executor grades
somewhere (forked, killable workers here by default; a Dask cluster with
``scheduler=``), with a deadline per answer. Results come back in input order, as a
stream, and do not depend on the executor or the number of workers.
"""

from __future__ import annotations

import difflib
import importlib
import io
import itertools
import os
import pickle
import tempfile
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, replace
from typing import Any, overload

from gradcheck.bounded import check_points, check_time_limit
from gradcheck.errors import UsageError
from gradcheck.executor import (
    EVIDENCE_POLICIES,
    INTERNAL_ERROR,
    EvidencePolicy,
    Executor,
    Grader,
    InProcess,
    Settings,
    Task,
    fork_safe,
    internal_error,
    task_grader,
)
from gradcheck.gradebook import Column, columns
from gradcheck.pool import LocalPool, can_fork, cpu_count
from gradcheck.problem import Problem
from gradcheck.submissions import Submission
from gradcheck.verdict import VERDICTS, Counts, GradeResult, VerdictName

__all__ = ["INTERNAL_ERROR", "BatchReport", "BatchSettings", "Grader", "Progress",
           "SpooledResults", "batch_report", "cpu_count", "grade_batch", "grade_stream",
           "internal_error"]

Progress = Callable[[int, int], None]
WINDOW = 4096  # rows read ahead of the first row not yet written: memory is flat in the rows
KNOWN = 4 * WINDOW  # graded distinct answers kept for repeats (at least WINDOW: see _emit)
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class BatchSettings:
    """What every row was graded with (recorded in every report)."""

    points: int = 20
    time_limit: float = 2.0
    evidence: EvidencePolicy = "all"

    def to_dict(self) -> dict[str, object]:
        return {"points": self.points, "time_limit": self.time_limit, "evidence": self.evidence}


@dataclass(frozen=True)
class BatchReport:
    """The graded batch: one result per submission, in input order."""

    seed: int
    settings: BatchSettings
    results: Sequence[GradeResult]
    """A tuple, or ``SpooledResults`` (kept on disk) for a batch graded as a stream."""
    counts: Counts
    """Rows per verdict, a mapping: ``report.counts["pass"]``."""
    names: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Each problem's declared symbol and stage names: the only names a renderer may
    print as math (they were validated by the loader)."""
    questions: tuple[Column, ...] = ()
    """Every question of the bank with its points, in bank order (the gradebook's columns)."""
    hidden: tuple[str, ...] = ()
    """Problems whose true value and expected formula students must not see (``hide_expected``
    of the problem, its bank's gradcheck.toml or ``--hide-expected``): pages handed back to
    students leave them out; the teacher's reports keep them."""

    @property
    def passed(self) -> bool:
        """True when every row passed (an empty batch passes)."""
        return self.counts["pass"] == len(self.results)

    def count(self, verdict: VerdictName) -> int:
        return self.counts[verdict]

    # notebook display and pandas: gradcheck/report/notebook.py
    def __repr__(self) -> str:
        from gradcheck.report.notebook import batch_repr

        return batch_repr(self)

    def _repr_html_(self) -> str:
        from gradcheck.report.notebook import batch_html

        return batch_html(self)

    def to_dataframe(self) -> Any:
        """One row per graded answer as a pandas DataFrame (``pip install 'gradcheck[pandas]'``)."""
        from gradcheck.report.notebook import to_dataframe

        return to_dataframe(self)


def grade_batch(bank: Sequence[Problem], submissions: Iterable[Submission], *, seed: int = 0,
                points: int = 20, time_limit: float = 2.0, workers: int = 1,
                progress: Progress | None = None, grader: Grader | None = None,
                evidence: EvidencePolicy = "all", scheduler: str | None = None) -> BatchReport:
    """Grade every submission; a bad row becomes an ``error``/``invalid`` result, never an exception.

    Args:
        bank: the problems (e.g. from ``load_bank``).
        submissions: e.g. from ``read_submissions``; broken ones become ``error`` rows with
            no student, problem or question (their ``answer`` is the line as read).
        seed, points, time_limit: passed to the grader for every row.
        workers: grading processes (at least 1).
        progress: called as ``progress(done, total)`` after each row.
        grader: the grading function (default ``gradcheck.grading.grade``).
        evidence: which results keep their evidence points: ``all`` (default), ``failing``
            (a ``fail``'s first point and first disagreeing ones, ``FAILING_POINTS`` in all,
            with the rest counted in ``GradeResult.omitted``) or ``none``.
        scheduler: a Dask scheduler's address (``tcp://host:8786``) or ``distributed.Client``
            to grade on a cluster (``workers`` is then unused; a custom ``grader`` must be a
            module-level function the Dask workers can import).

    Raises:
        UsageError: for workers < 1, points < 1, a time limit that is not positive or an
            unknown evidence policy.

    ``grade_stream`` takes the same arguments and yields the results one by one instead.
    """
    final = tuple(grade_stream(bank, submissions, seed=seed, points=points, time_limit=time_limit,
                               workers=workers, progress=progress, grader=grader,
                               evidence=evidence, scheduler=scheduler))
    return batch_report(bank, final, seed=seed, points=points, time_limit=time_limit,
                        evidence=evidence)


def batch_report(bank: Sequence[Problem], results: Sequence[GradeResult], *, seed: int = 0,
                 points: int = 20, time_limit: float = 2.0, evidence: EvidencePolicy = "all",
                 counts: Counts | None = None) -> BatchReport:
    """The report of graded results (``counts`` when already known, else counted)."""
    settings = BatchSettings(points=points, time_limit=float(time_limit), evidence=evidence)
    if counts is None:
        counts = Counts.of(r.verdict for r in results)
    names = tuple((p.id, tuple(p.names())) for p in bank)
    return BatchReport(seed=seed, settings=settings, results=results, counts=counts, names=names,
                       questions=columns(bank), hidden=tuple(p.id for p in bank if p.hide_expected))


def grade_stream(bank: Sequence[Problem], submissions: Iterable[Submission], *, seed: int = 0,
                 points: int = 20, time_limit: float = 2.0, workers: int = 1,
                 progress: Progress | None = None, grader: Grader | None = None,
                 evidence: EvidencePolicy = "all", scheduler: Any = None,
                 total: int | None = None) -> Iterator[GradeResult]:
    """Grade submissions as a stream: results in input order, as soon as each is known.

    Same arguments as ``grade_batch``; ``total`` is the number of rows for ``progress``
    (default ``len(submissions)`` when it has one, else 0: unknown). At most ``WINDOW`` rows
    are held at a time, so memory does not grow with the number of rows.
    """
    _check_options(workers, points, time_limit, evidence)
    settings = Settings(seed=seed, points=points, time_limit=float(time_limit), evidence=evidence)
    if total is None:
        total = len(submissions) if isinstance(submissions, Sized) else 0
    executor = _executor(bank, grader, settings, workers, scheduler)
    return _Stream(bank, executor, settings, progress, total).run(iter(submissions))


def _check_options(workers: int, points: int, time_limit: float, evidence: str) -> None:
    if workers < 1:
        raise UsageError(f"workers must be at least 1, not {workers}")
    check_points(points)
    check_time_limit(time_limit)
    if evidence not in EVIDENCE_POLICIES:
        raise UsageError(f"unknown evidence policy {evidence!r}; use one of "
                         + ", ".join(EVIDENCE_POLICIES))


def _default_grader() -> Grader:
    grader: Grader = importlib.import_module("gradcheck.grading").grade
    return grader


def _can_fork() -> bool:
    return can_fork()


def _executor(bank: Sequence[Problem], grader: Grader | None, settings: Settings, workers: int,
              scheduler: Any) -> Executor:
    if scheduler is not None:
        from gradcheck.dask_executor import DaskExecutor

        return DaskExecutor(scheduler, bank, settings, grader)
    grade_task = task_grader({p.id: p for p in bank}, grader or _default_grader(), settings)
    if _can_fork():  # the workers prepare the questions: a bank's truths built in parallel
        return LocalPool(fork_safe(grade_task), settings, workers, warm_in_workers=True)
    return InProcess(grade_task, settings)


# ---- rows that cannot be graded -------------------------------------------------------


def _nameless(sub: Submission) -> Submission:
    """A broken row keeps its row number and text, but names no student, problem or question
    (so it adds no student, column or suite to a report), however it was built."""
    if sub.broken is None or not (sub.student or sub.problem or sub.question):
        return sub
    return replace(sub, student="", problem="", question="")


def _result(sub: Submission, verdict: VerdictName, feedback: str) -> GradeResult:
    return GradeResult(problem=sub.problem, question=sub.question, answer=sub.answer,
                       verdict=verdict, feedback=feedback, student=sub.student, row=sub.row)


def _why_not_gradable(sub: Submission, by_id: dict[str, Problem],
                      known: dict[str, frozenset[str]]) -> str | None:
    if sub.broken is not None:
        return f"Row {sub.row} of the submissions file could not be read: {sub.broken}."
    problem = by_id.get(sub.problem)
    if problem is None:
        return (f"unknown problem {sub.problem!r}{_did_you_mean(sub.problem, by_id)}; "
                f"known problems: {', '.join(sorted(by_id)) or '(none)'}")
    if sub.question in known[problem.id]:
        return None
    ids = [q.id for q in problem.questions]
    return (f"problem {problem.id} has no question {sub.question!r}"
            f"{_did_you_mean(sub.question, ids)}; its questions are {', '.join(ids)}")


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---- the stream ----------------------------------------------------------------------


class _Row:
    """A row read and not yet written: its result, or the answer it waits for."""

    __slots__ = ("answer", "result", "sub")

    def __init__(self, sub: Submission, result: GradeResult | None,
                 answer: tuple[str, str, str] | None = None) -> None:
        self.sub = sub
        self.result = result
        self.answer = answer


class _Stream:
    """Reads rows, drops repeats, feeds the executor, writes results in input order."""

    def __init__(self, bank: Sequence[Problem], executor: Executor, settings: Settings,
                 progress: Progress | None, total: int) -> None:
        self.by_id = {p.id: p for p in bank}
        self.questions = {p.id: frozenset(q.id for q in p.questions) for p in bank}
        self.executor = executor
        self.settings = settings
        self.progress = progress
        self.total = total
        self.rows: deque[_Row] = deque()
        self.known: OrderedDict[tuple[str, str, str], GradeResult] = OrderedDict()
        self.waiting: dict[tuple[str, str, str], int] = {}  # answer -> key of its task
        self.answers: dict[int, tuple[str, str, str]] = {}  # key -> answer
        self.buffer: list[Task] = []
        self.next_key = 0
        self.exhausted = False
        self.prepared = False
        self.done = 0

    def run(self, submissions: Iterator[Submission]) -> Iterator[GradeResult]:
        with self.executor:
            while True:
                self._read(submissions)
                self._submit()
                yield from self._emit()
                if self.exhausted and not self.rows:
                    return
                if self.executor.pending():
                    full = self.exhausted or len(self.rows) >= WINDOW or not self.executor.room()
                    self._take(self.executor.collect(POLL_SECONDS if full else 0.0))

    def _read(self, submissions: Iterator[Submission]) -> None:
        want = self.executor.chunk_size * max(1, self.executor.room())
        while not self.exhausted and len(self.rows) < WINDOW and len(self.buffer) < want:
            sub = next(submissions, None)
            if sub is None:
                self.exhausted = True
                return
            known = self.questions.get(sub.problem)
            if sub.broken is not None or known is None or sub.question not in known:
                sub = _nameless(sub)  # the slow path: a row that cannot be graded
                reason = _why_not_gradable(sub, self.by_id, self.questions)
                if reason is not None:
                    self.rows.append(_Row(sub, _result(sub, "error", reason)))
                    continue
            answer = (sub.problem, sub.question, sub.answer)
            hit = self.known.get(answer)
            if hit is not None:
                self.rows.append(_Row(sub, hit))
                continue
            if answer not in self.waiting:
                self._ask(answer)
            self.rows.append(_Row(sub, None, answer))

    def _ask(self, answer: tuple[str, str, str]) -> None:
        self.waiting[answer] = self.next_key
        self.answers[self.next_key] = answer
        self.buffer.append(Task(self.next_key, *answer))
        self.next_key += 1

    def _submit(self) -> None:
        """Send the buffered tasks, spread over the idle workers, once there are enough of
        them (or no more rows will come soon)."""
        if not self.buffer:
            return
        room = self.executor.room()
        size = self.executor.chunk_size
        stalled = self.exhausted or len(self.rows) >= WINDOW
        if not (room or stalled) or (len(self.buffer) < size * max(room, 1) and not stalled):
            return
        if not self.prepared:  # the questions' truths, once, before any worker starts
            prepare = getattr(self.executor, "prepare", None)
            if prepare is not None:
                prepare(sorted({(t.problem, t.question) for t in self.buffer}))
            self.prepared = True
        pieces = max(1, room)
        step = min(size, -(-len(self.buffer) // pieces))
        for i in range(0, len(self.buffer), step):
            self.executor.submit(self.buffer[i:i + step])
        self.buffer = []

    def _take(self, finished: list[tuple[int, GradeResult]]) -> None:
        for key, result in finished:
            answer = self.answers.pop(key)
            del self.waiting[answer]
            self.known[answer] = result
            if len(self.known) > KNOWN:  # never one a waiting row needs: see _emit
                self.known.popitem(last=False)

    def _emit(self) -> Iterator[GradeResult]:
        """Results of the rows at the front whose answers are graded.

        A row waits for at most WINDOW answers, and KNOWN >= WINDOW, so its answer is still
        known when it reaches the front; were it not, it is asked for again.
        """
        seed = self.settings.seed
        while self.rows:
            row = self.rows[0]
            result = row.result
            if result is None:
                assert row.answer is not None
                result = self.known.get(row.answer)
                if result is None:
                    if row.answer not in self.waiting:
                        self._ask(row.answer)
                    return
            self.rows.popleft()
            sub = row.sub
            self.done += 1
            yield _stamped(result, sub.student, sub.row, seed)
            if self.progress is not None:
                self.progress(self.done, self.total)


def _stamped(result: GradeResult, student: str | None, row: int | None, seed: int) -> GradeResult:
    """The result as this row's: ``replace(result, student=, row=, seed=)``, in a microsecond
    (a repeated answer costs this copy, not ``replace``'s five)."""
    fields = getattr(result, "__dict__", None)
    if fields is None or type(result) is not GradeResult:
        return replace(result, student=student, row=row, seed=seed)
    copy = object.__new__(GradeResult)
    copy.__dict__.update(fields, student=student, row=row, seed=seed)
    return copy


# ---- results kept on disk --------------------------------------------------------------


class SpooledResults(Sequence[GradeResult]):
    """Results in a temporary file, read back at each iteration: a report of a million rows
    for the renderers without a million objects in memory. Iterations are independent
    (each reads with its own offset), so a renderer may make several passes.

    Rows are pickled in groups of ``GROUP``: a repeated answer's result shares its parts
    with the first one in its group, which keeps the file small and reading fast.
    """

    GROUP = 256

    def __init__(self, results: Iterable[GradeResult]) -> None:
        self._file = tempfile.TemporaryFile(buffering=1 << 20)
        tally = dict.fromkeys(VERDICTS, 0)
        count = 0
        internal = False
        group: list[GradeResult] = []
        for result in results:
            group.append(result)
            tally[result.verdict] += 1
            count += 1
            if result.diagnosis == INTERNAL_ERROR and result.verdict == "error":
                internal = True
            if len(group) == self.GROUP:
                pickle.dump(group, self._file, protocol=pickle.HIGHEST_PROTOCOL)
                group = []
        if group:
            pickle.dump(group, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.flush()
        self._len = count
        self.counts = Counts(tally)
        self.internal = internal
        """Whether a row is an ``error`` that a gradcheck bug caused (``INTERNAL_ERROR``)."""

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[GradeResult]:
        reader = io.BufferedReader(_PositionalReader(self._file), buffer_size=1 << 20)
        left = self._len
        while left > 0:
            group = pickle.load(reader)
            left -= len(group)
            yield from group

    @overload
    def __getitem__(self, index: int) -> GradeResult: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[GradeResult]: ...

    def __getitem__(self, index: int | slice) -> GradeResult | Sequence[GradeResult]:
        """By position (a linear scan: renderers iterate, they do not index)."""
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        return next(itertools.islice(self, index, None))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpooledResults:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _PositionalReader(io.RawIOBase):
    """Reads a file from offset 0 with a position of its own (os.pread where it exists)."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if hasattr(os, "pread"):
            data = os.pread(self.file.fileno(), len(buffer), self.offset)
        else:
            self.file.seek(self.offset)
            data = self.file.read(len(buffer))
        buffer[:len(data)] = data
        self.offset += len(data)
        return len(data)
