"""Grade a class's submissions against a problem bank, never losing a row.

Every answer is graded in a forked worker process that the batch kills when a row
runs past its deadline (or replaces when it dies): SymPy and big-integer work can
ignore signals, so only killing a process is a safe stop. Rows go to workers in
chunks to keep the per-row cost low; the deadline is per row. Results come back in
input order and do not depend on the number of workers.
"""

from __future__ import annotations

import ctypes
import difflib
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from typing import Any, NamedTuple, Protocol

from gradcheck.errors import UsageError
from gradcheck.gradebook import Column, columns
from gradcheck.problem import Problem
from gradcheck.submissions import Submission
from gradcheck.verdict import Counts, GradeResult, VerdictName

__all__ = ["BatchReport", "BatchSettings", "Grader", "Progress", "grade_batch"]

Progress = Callable[[int, int], None]
KILL_GRACE = 0.5  # seconds a row may run past the time limit before its worker is killed
MAX_CHUNK = 200
FLUSH_SECONDS = 0.02  # a worker sends its results at least this often
POLL_SECONDS = 0.05   # how often the parent looks at workers that are between rows
PARENT_POLL_SECONDS = 0.2  # how often a worker checks that the batch that forked it still lives
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Grader(Protocol):
    """The signature of ``gradcheck.grading.grade``."""

    def __call__(self, problem: Problem, question_id: str, answer: str, *, seed: int = 0,
                 points: int = 20, time_limit: float = 2.0) -> GradeResult: ...


@dataclass(frozen=True)
class BatchSettings:
    """What every row was graded with (recorded in every report)."""

    points: int = 20
    time_limit: float = 2.0

    def to_dict(self) -> dict[str, object]:
        return {"points": self.points, "time_limit": self.time_limit}


@dataclass(frozen=True)
class BatchReport:
    """The graded batch: one result per submission, in input order."""

    seed: int
    settings: BatchSettings
    results: tuple[GradeResult, ...]
    counts: Counts
    """Rows per verdict, a mapping: ``report.counts["pass"]``."""
    names: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Each problem's declared symbol and stage names: the only names a renderer may
    print as math (they were validated by the loader)."""
    questions: tuple[Column, ...] = ()
    """Every question of the bank with its points, in bank order (the gradebook's columns)."""

    @property
    def passed(self) -> bool:
        """True when every row passed (an empty batch passes)."""
        return all(r.passed for r in self.results)

    def count(self, verdict: VerdictName) -> int:
        return self.counts[verdict]


class _Job(NamedTuple):
    position: int
    submission: Submission


def grade_batch(bank: Sequence[Problem], submissions: Iterable[Submission], *, seed: int = 0,
                points: int = 20, time_limit: float = 2.0, workers: int = 1,
                progress: Progress | None = None, grader: Grader | None = None) -> BatchReport:
    """Grade every submission; a bad row becomes an ``error``/``invalid`` result, never an exception.

    Args:
        bank: the problems (e.g. from ``load_bank``).
        submissions: e.g. from ``read_submissions``; broken ones become ``error`` rows with
            no student, problem or question (their ``answer`` is the line as read).
        seed, points, time_limit: passed to the grader for every row.
        workers: grading processes (at least 1).
        progress: called as ``progress(done, total)`` after each row.
        grader: the grading function (default ``gradcheck.grading.grade``).

    Raises:
        UsageError: for workers < 1, points < 1 or a time limit that is not positive.
    """
    _check_options(workers, points, time_limit)
    rows = tuple(_nameless(sub) for sub in submissions)
    settings = BatchSettings(points=points, time_limit=float(time_limit))
    by_id = {p.id: p for p in bank}
    known = {p.id: frozenset(q.id for q in p.questions) for p in bank}
    results: list[GradeResult | None] = [None] * len(rows)
    done = 0

    def record(index: int, result: GradeResult) -> None:
        nonlocal done
        sub = rows[index]
        results[index] = replace(result, student=sub.student, row=sub.row, seed=seed)
        done += 1
        if progress is not None:
            progress(done, len(rows))

    jobs = []
    for index, sub in enumerate(rows):
        reason = _why_not_gradable(sub, by_id, known)
        if reason is None:
            jobs.append(_Job(index, sub))
        else:
            record(index, _result(sub, "error", reason))
    if jobs:
        grade_row = _row_grader(by_id, grader or _default_grader(), seed, settings)
        deadline = settings.time_limit + KILL_GRACE
        if _can_fork():
            _warm(jobs, grade_row, deadline)
            _run_pool(jobs, grade_row, workers, deadline, record)
        else:
            _run_in_process(jobs, grade_row, deadline, record)
    final = tuple(r for r in results if r is not None)
    counts = Counts.of(r.verdict for r in final)
    names = tuple((p.id, tuple(p.names())) for p in bank)
    return BatchReport(seed=seed, settings=settings, results=final, counts=counts, names=names,
                       questions=columns(bank))


def _check_options(workers: int, points: int, time_limit: float) -> None:
    if workers < 1:
        raise UsageError(f"workers must be at least 1, not {workers}")
    if points < 1:
        raise UsageError(f"points must be at least 1, not {points}")
    if not time_limit > 0:
        raise UsageError(f"the time limit must be a positive number of seconds, not {time_limit}")


def _default_grader() -> Grader:
    grader: Grader = importlib.import_module("gradcheck.grading").grade
    return grader


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


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


def _timeout(sub: Submission, limit: float) -> GradeResult:
    return _result(sub, "invalid", f"Grading this answer took longer than {limit:g} s, so it "
                                   "was stopped; write it in a simpler form and submit it again.")


def _crashed(sub: Submission, exitcode: int | None) -> GradeResult:
    how = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"exit {exitcode}"
    return _result(sub, "error", f"The grading process died on this answer ({how}); "
                                 "please report it as a gradcheck bug.")


def _row_grader(by_id: dict[str, Problem], grader: Grader, seed: int,
                settings: BatchSettings) -> Callable[[_Job], GradeResult]:
    def grade_row(job: _Job) -> GradeResult:
        sub = job.submission
        try:
            return grader(by_id[sub.problem], sub.question, sub.answer, seed=seed,
                          points=settings.points, time_limit=settings.time_limit)
        except Exception as exc:  # a grader bug must cost one row, not the batch
            return _result(sub, "error", f"gradcheck could not grade this answer "
                                         f"({type(exc).__name__}: {exc}); please report it.")
    return grade_row


def _warm(jobs: list[_Job], grade_row: Callable[[_Job], GradeResult], deadline: float) -> None:
    """Fill the grader's per-question caches before forking, so that every worker (and every
    replacement of a killed one) starts warm and a row's time is spent on its answer alone.

    Only the trusted answer "0" is graded here, never a student's text.
    """
    seen: set[tuple[str, str]] = set()
    for job in jobs:
        key = (job.submission.problem, job.submission.question)
        if key not in seen:
            seen.add(key)
            probe = replace(job.submission, answer="0")
            if _alarm_works():
                _with_alarm(grade_row, _Job(job.position, probe), deadline)
            else:
                grade_row(_Job(job.position, probe))


# ---- forked, killable workers ---------------------------------------------------------
#
# Each worker publishes the row it is grading and when it began in two shared doubles
# (written start-last, read like a seqlock), so results can travel in batches while the
# parent still knows, per row, which one is running and for how long.


def _serve(conn: Connection, grade_row: Callable[[_Job], GradeResult], now: Any,
           parent: int) -> None:
    """Worker loop: grade each chunk, sending results in small batches."""
    _orphan_proof(parent, keep=conn)
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        done: list[tuple[int, GradeResult]] = []
        sent = time.monotonic()
        for job in chunk:
            now[1] = 0.0
            now[0] = job.position
            now[1] = time.monotonic()
            done.append((job.position, grade_row(job)))
            if time.monotonic() - sent > FLUSH_SECONDS:
                _send(conn, done)
                done, sent = [], time.monotonic()
        now[1] = 0.0
        _send(conn, done)


def _send(conn: Connection, done: list[tuple[int, GradeResult]]) -> None:
    try:
        conn.send(done)
    except OSError:  # the parent is gone: nobody wants these results
        os._exit(0)


# Pipe ends the parent holds. A forked worker inherits them all: while it holds the
# parent's end of its own pipe, its recv() never sees end-of-file, so a worker whose
# parent was killed would wait on the pipe for ever. Each worker closes them first.
_PARENT_ENDS: set[Connection] = set()


def _orphan_proof(parent: int, keep: Connection) -> None:
    """Make this worker exit when the batch that forked it dies, however it dies.

    Three independent ways: no inherited pipe ends (so reading the pipe ends at
    end-of-file), PR_SET_PDEATHSIG on Linux (the kernel kills us with the parent),
    and a thread that polls the parent's pid (other systems, and the moment before
    prctl took effect).
    """
    for end in list(_PARENT_ENDS):
        if end is not keep:
            end.close()
    _PARENT_ENDS.clear()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for name in ("SIGTERM", "SIGHUP"):  # not the parent's handlers: just die
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(0)


class _Worker:
    """One forked grading process, the rows sent to it and not yet answered."""

    def __init__(self, ctx: Any, grade_row: Callable[[_Job], GradeResult]) -> None:
        self.conn, child = ctx.Pipe()
        self.now = ctx.RawArray("d", 2)  # [position of the row being graded, its start]
        _PARENT_ENDS.update((self.conn, child))
        self.process = ctx.Process(target=_serve, args=(child, grade_row, self.now, os.getpid()),
                                   daemon=True)
        try:
            self.process.start()
        finally:
            _PARENT_ENDS.discard(child)
            child.close()
        self.jobs: deque[_Job] = deque()

    def give(self, chunk: list[_Job]) -> None:
        """Send a chunk; a worker that died meanwhile is found by ``_attend`` (its pipe is shut)."""
        self.jobs.extend(chunk)
        try:
            self.conn.send(chunk)
        except OSError:
            pass

    def running(self) -> tuple[int, float] | None:
        """(position, start) of the row being graded, or None between rows."""
        start = self.now[1]
        position = int(self.now[0])
        if start == 0.0 or self.now[1] != start:
            return None
        return position, start

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.close()

    def close(self) -> None:
        _PARENT_ENDS.discard(self.conn)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.close()


def _chunk_size(jobs: int, workers: int) -> int:
    return max(1, min(MAX_CHUNK, -(-jobs // (workers * 4))))


def _run_pool(jobs: list[_Job], grade_row: Callable[[_Job], GradeResult], workers: int,
              deadline: float, record: Callable[[int, GradeResult], None]) -> None:
    size = _chunk_size(len(jobs), workers)
    queue = deque(jobs[i:i + size] for i in range(0, len(jobs), size))
    ctx = multiprocessing.get_context("fork")
    pool: list[_Worker] = []
    finished = False
    try:
        pool.extend(_Worker(ctx, grade_row) for _ in range(min(workers, len(queue))))
        while queue or any(w.jobs for w in pool):
            for w in pool:
                if not w.jobs and queue:
                    w.give(queue.popleft())
            busy = [w for w in pool if w.jobs]
            wait([w.conn for w in busy], timeout=_next_check(busy, deadline))
            for i, w in enumerate(pool):
                if w.jobs:
                    pool[i] = _attend(w, ctx, grade_row, queue, deadline, record)
        finished = True
    finally:  # interrupted (Ctrl-C, SIGTERM, SIGHUP): kill at once, but reap every worker
        for w in pool:
            if finished:
                w.stop()
            else:
                w.kill()


def _next_check(busy: list[_Worker], deadline: float) -> float:
    """Seconds until the earliest deadline of a running row (or a short poll)."""
    starts = [r[1] for r in (w.running() for w in busy) if r is not None]
    due = min(starts) + deadline - time.monotonic() if starts else POLL_SECONDS
    return max(0.0, min(due, POLL_SECONDS * 10))


def _attend(w: _Worker, ctx: Any, grade_row: Callable[[_Job], GradeResult],
            queue: deque[list[_Job]], deadline: float,
            record: Callable[[int, GradeResult], None]) -> _Worker:
    """Take a worker's results; replace it when it died or its row is overdue."""
    died = not _collect(w, record)
    running = w.running()
    overdue = running is not None and time.monotonic() - running[1] > deadline
    if not (died or overdue):
        return w
    w.kill()
    culprit = running[0] if running is not None else w.jobs[0].position
    for job in w.jobs:
        if job.position == culprit:
            record(job.position, _crashed(job.submission, w.process.exitcode) if died
                   else _timeout(job.submission, deadline - KILL_GRACE))
    rest = [job for job in w.jobs if job.position != culprit]
    if rest:  # rows graded but not yet sent are graded again: same inputs, same result
        queue.appendleft(rest)
    return _Worker(ctx, grade_row)


def _collect(w: _Worker, record: Callable[[int, GradeResult], None]) -> bool:
    """Read every batch of results waiting from a worker; False when the worker has died."""
    try:
        while w.jobs and w.conn.poll():
            for position, result in w.conn.recv():
                w.jobs.popleft()
                record(position, result)
    except (EOFError, OSError):
        return False
    return True


# ---- in process, where fork is not available -------------------------------------------


class _Overtime(BaseException):
    """Raised by the alarm; a BaseException so the grader's ``except Exception`` lets it out."""


def _run_in_process(jobs: list[_Job], grade_row: Callable[[_Job], GradeResult],
                    deadline: float, record: Callable[[int, GradeResult], None]) -> None:
    """Grade in this process; an alarm stops a slow row (main thread, Unix only)."""
    guard = _alarm_works()
    for job in jobs:
        if not guard:
            record(job.position, grade_row(job))
            continue
        record(job.position, _with_alarm(grade_row, job, deadline))


def _alarm_works() -> bool:
    return threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")


def _with_alarm(grade_row: Callable[[_Job], GradeResult], job: _Job, deadline: float) -> GradeResult:
    def ring(signum: int, frame: object) -> None:
        raise _Overtime

    previous = signal.signal(signal.SIGALRM, ring)
    try:
        signal.setitimer(signal.ITIMER_REAL, deadline)
        try:
            return grade_row(job)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Overtime:
        return _timeout(job.submission, deadline - KILL_GRACE)
    finally:
        signal.signal(signal.SIGALRM, previous)


def cpu_count() -> int:
    """CPUs this process may use (for ``--workers 0``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
