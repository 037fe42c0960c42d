"""Forked, killable grading workers on this machine: the batch's default executor.

SymPy and big-integer work can ignore signals, so only killing a process is a safe
stop: every task is graded in a forked worker that the pool kills when the task runs
past its deadline (or replaces when it dies). Tasks travel in chunks to keep the
per-task cost low; the deadline is per task. Each worker publishes the task it is
grading, when it began and how long it may take in three shared doubles (written
start-last, read like a seqlock), so results can travel in batches while the pool
still knows, per task, which one is running and for how long.

With ``warm_in_workers``, the questions' truths are built by the workers, not before
forking: each problem belongs to one worker (the tasks of its questions go to its queue,
and its questions share derivations cached per process), which prepares a question before
its first task, on the question's own budget
(``PREPARE_SECONDS``), not on a student's time limit. Preparing a bank is then shared
by the workers instead of done once, alone, before any starts; an idle worker takes
tasks from the longest other queue, so one popular question does not idle the rest.

Workers never outlive the process that forked them: each closes the pipe ends it
inherited (so reading its pipe ends at end-of-file when the parent is gone), asks
Linux to kill it with its parent (PR_SET_PDEATHSIG), and polls its parent's pid.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections import Counter, deque
from collections.abc import Sequence
from contextlib import suppress
from multiprocessing.connection import Connection, wait
from typing import Any

from gradcheck.executor import (
    PREPARE_SECONDS,
    ExecutorBase,
    Settings,
    Task,
    TaskGrader,
    crashed,
    prepare_questions,
    timed_out,
)
from gradcheck.verdict import GradeResult

__all__ = ["LocalPool", "can_fork", "cpu_count"]

MAX_CHUNK = 100
FLUSH_SECONDS = 0.02  # a worker sends its results at least this often
POLL_SECONDS = 0.05   # how often the pool looks at workers that are between tasks
PARENT_POLL_SECONDS = 0.2  # how often a worker checks that the process that forked it lives
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def cpu_count() -> int:
    """CPUs this process may use (for ``--workers 0``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class LocalPool(ExecutorBase):
    """``workers`` forked processes grading chunks of tasks; a task past the settings'
    deadline is an ``error`` (it exceeded the time limit), a task whose worker died is an
    ``error`` too; no task is lost.

    Workers are forked on the first ``submit``, so they inherit whatever the caller
    cached before (the questions' truths). With ``warm_in_workers``, ``prepare`` does
    nothing and each worker prepares the questions it is given (see the module's notes).
    """

    chunk_size = MAX_CHUNK

    def __init__(self, grade_task: TaskGrader, settings: Settings, workers: int = 1, *,
                 warm_in_workers: bool = False) -> None:
        self.grade_task = grade_task
        self.settings = settings
        self.size = workers
        self.warm_in_workers = warm_in_workers
        self.ctx = multiprocessing.get_context("fork")
        self.workers: list[_Worker] = []
        self.queues: list[deque[Task]] = [deque() for _ in range(workers)]
        # problem -> the worker slot that prepares it (its questions share the problem's
        # derivations, cached per process), and the problems each slot has begun
        self.owner: dict[str, int] = {}
        self.given: list[set[str]] = [set() for _ in range(workers)]
        self.done: list[tuple[int, GradeResult]] = []
        self.count = 0

    def prepare(self, questions: Sequence[tuple[str, str]]) -> None:
        """Fill the grader's per-question caches before forking, so that every worker (and
        every replacement of a killed one) starts warm and a task's time is its answer's alone.

        Only the trusted answer "0" is graded here, never a student's text. With
        ``warm_in_workers``, nothing: the workers prepare their questions themselves.
        """
        if self.workers or self.warm_in_workers:
            return
        prepare_questions(self.grade_task, questions, self.settings)

    def room(self) -> int:
        idle = self.size - sum(1 for w in self.workers if w.tasks)
        queued = sum(len(q) for q in self.queues)
        return max(0, idle - -(-queued // MAX_CHUNK))

    def submit(self, chunk: Sequence[Task]) -> None:
        """Queue each task with its problem's worker (a new problem goes to the slot with the
        fewest problems so far)."""
        if not chunk:
            return
        for task in chunk:
            slot = self.owner.get(task.problem)
            if slot is None:
                slot = self.owner[task.problem] = self._next_slot()
            self.queues[slot].append(task)
        self.count += len(chunk)
        self._dispatch()

    def _next_slot(self) -> int:
        owned = [0] * self.size
        for slot in self.owner.values():
            owned[slot] += 1
        return owned.index(min(owned))

    def pending(self) -> int:
        return self.count

    def collect(self, timeout: float) -> list[tuple[int, GradeResult]]:
        self._dispatch()
        busy = [w for w in self.workers if w.tasks]
        if busy and not self.done:
            wait([w.conn for w in busy], timeout=min(timeout, self._next_check(busy)))
        for i, w in enumerate(self.workers):
            if w.tasks:
                self.workers[i] = self._attend(w)
        self._dispatch()
        done, self.done = self.done, []
        self.count -= len(done)
        return done

    def close(self, cancel: bool = False) -> None:
        """Stop every worker (at once when cancelling) and reap it."""
        workers, self.workers = self.workers, []
        for w in workers:
            if cancel:
                w.kill()
            else:
                w.stop()

    def _dispatch(self) -> None:
        """Give each idle worker a chunk: from its own queue, else taken from another's."""
        while len(self.workers) < self.size and any(self.queues):
            self.workers.append(self._fork())
        for slot, (w, own) in enumerate(zip(self.workers, self.queues, strict=False)):
            if not w.tasks and own:
                self._give(slot, [own.popleft() for _ in range(min(MAX_CHUNK, len(own)))])
        for slot, w in enumerate(self.workers):
            if not w.tasks:
                chunk = self._steal(slot)
                if chunk:
                    self._give(slot, chunk)

    def _give(self, slot: int, chunk: list[Task]) -> None:
        self.given[slot].update(t.problem for t in chunk)
        self.workers[slot].give(chunk)

    def _steal(self, thief: int) -> list[Task]:
        """Tasks for an idle worker from the longest other queue (its worker is busy), without
        making two workers prepare one problem where that can be helped: first the problems
        their owner has not begun (they change owner), then those the thief has; else half the
        answers of the question with the most queued (at least ``MAX_CHUNK // 2``), so that
        preparing it a second time is paid for by many answers."""
        victim = max((i for i in range(self.size) if i != thief), key=lambda i: len(self.queues[i]),
                     default=None)
        if victim is None or not self.queues[victim]:
            return []
        queue, begun, mine = self.queues[victim], self.given[victim], self.given[thief]
        moved = {t.problem for t in queue if t.problem not in begun}
        if moved:
            for problem in moved:
                self.owner[problem] = thief
        else:
            moved = {t.problem for t in queue} & mine
        if not moved:
            counts = Counter((t.problem, t.question) for t in queue)
            question, most = counts.most_common(1)[0]
            if most < MAX_CHUNK // 2:
                return []
            mine_now = [t for t in queue if (t.problem, t.question) == question][most // 2:]
            moving = {t.key for t in mine_now[:MAX_CHUNK]}
            kept = [t for t in queue if t.key not in moving]
            queue.clear()
            queue.extend(kept)
            return mine_now[:MAX_CHUNK]
        taken = [t for t in queue if t.problem in moved]
        kept = [t for t in queue if t.problem not in moved]
        queue.clear()
        queue.extend(kept)
        self.queues[thief].extend(taken[MAX_CHUNK:])
        return taken[:MAX_CHUNK]

    def _fork(self) -> _Worker:
        return _Worker(self.ctx, self.grade_task, self.settings if self.warm_in_workers else None,
                       deadline=self.settings.deadline)

    def _next_check(self, busy: list[_Worker]) -> float:
        """Seconds until the earliest deadline of a running task (or a short poll)."""
        dues = [r[1] + r[2] for r in (w.running() for w in busy) if r is not None]
        due = min(dues) - time.monotonic() if dues else POLL_SECONDS
        return max(0.0, min(due, POLL_SECONDS * 10))

    def _attend(self, w: _Worker) -> _Worker:
        """Take a worker's results; replace it when it died or its task is overdue."""
        died = not w.collect(self.done)
        if died and not w.tasks:  # it died after sending its last result
            w.kill()
            self.given[self.workers.index(w)] = set()
            return self._fork()
        running = w.running()
        overdue = running is not None and time.monotonic() - running[1] > running[2]
        if not (died or overdue):
            return w
        w.kill()
        culprit = running[0] if running is not None else w.tasks[0].key
        for task in w.tasks:
            if task.key == culprit:
                self.done.append((task.key, crashed(task, w.exitcode) if died
                                  else timed_out(task, self.settings.time_limit)))
        rest = [task for task in w.tasks if task.key != culprit]
        # tasks graded but not yet sent are graded again: same inputs, same result
        slot = self.workers.index(w)
        self.queues[slot].extendleft(reversed(rest))
        self.given[slot] = set()  # a new process: nothing prepared
        return self._fork()


# ---- one worker -------------------------------------------------------------------------


def _serve(conn: Connection, grade_task: TaskGrader, now: Any, parent: int,
           settings: Settings | None) -> None:
    """Worker loop: grade each chunk, sending results in small batches. With ``settings``,
    each question met for the first time is prepared first, on its own budget."""
    _orphan_proof(parent, keep=conn)
    ready: set[tuple[str, str]] = set()
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        done: list[tuple[int, GradeResult]] = []
        sent = time.monotonic()
        for task in chunk:
            question = (task.problem, task.question)
            if settings is not None and question not in ready:
                _publish(now, task.key, PREPARE_SECONDS + settings.deadline - settings.time_limit)
                prepare_questions(grade_task, [question], settings)
                ready.add(question)
            if settings is not None:
                _publish(now, task.key, settings.deadline)
            else:
                now[1] = 0.0
                now[0] = task.key
                now[1] = time.monotonic()
            done.append((task.key, grade_task(task)))
            if time.monotonic() - sent > FLUSH_SECONDS:
                _send(conn, done)
                done, sent = [], time.monotonic()
        now[1] = 0.0
        _send(conn, done)


def _publish(now: Any, key: int, allowed: float) -> None:
    """Tell the pool which task runs, since when, and for how long it may (start last)."""
    now[1] = 0.0
    now[0] = key
    now[2] = allowed
    now[1] = time.monotonic()


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
    """Make this worker exit when the process that forked it dies, however it dies.

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
    """One forked grading process, and the tasks sent to it and not yet answered.

    Forked with ``os.fork``, not ``multiprocessing.Process``: a Dask worker is a daemonic
    process, which multiprocessing forbids to have children.
    """

    def __init__(self, ctx: Any, grade_task: TaskGrader, settings: Settings | None = None,
                 deadline: float = 0.0) -> None:
        self.conn, child = ctx.Pipe()
        # [key of the task being graded, its start, seconds it may take]
        self.now = ctx.RawArray("d", 3)
        self.now[2] = deadline
        self.exitcode: int | None = None
        self.tasks: deque[Task] = deque()
        _PARENT_ENDS.update((self.conn, child))
        parent = os.getpid()
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns when a threaded process forks (a Dask worker, a program
                # with threads): the child runs only this module's loop and the grader.
                warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks",
                                        category=DeprecationWarning)
                self.pid = os.fork()
            if self.pid == 0:  # the worker: never returns into the caller's code
                code = 1
                try:
                    _serve(child, grade_task, self.now, parent, settings)
                    code = 0
                finally:
                    os._exit(code)
        finally:
            _PARENT_ENDS.discard(child)
            child.close()

    def give(self, chunk: list[Task]) -> None:
        """Send a chunk; a worker that died meanwhile is found by ``collect`` (its pipe is shut)."""
        self.tasks.extend(chunk)
        try:
            self.conn.send(chunk)
        except OSError:
            pass

    def running(self) -> tuple[int, float, float] | None:
        """(key, start, seconds allowed) of the task being graded, or None between tasks."""
        start = self.now[1]
        key = int(self.now[0])
        allowed = self.now[2]
        if start == 0.0 or self.now[1] != start:
            return None
        return key, start, allowed

    def collect(self, into: list[tuple[int, GradeResult]]) -> bool:
        """Read every batch of results waiting; False when the worker has died."""
        try:
            while self.tasks and self.conn.poll():
                for key, result in self.conn.recv():
                    self.tasks.popleft()
                    into.append((key, result))
        except (EOFError, OSError):
            return False
        return True

    def kill(self) -> None:
        if self.exitcode is None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.reap(block=True)
        self._close()

    def stop(self) -> None:
        with suppress(OSError):
            self.conn.send(None)
        give_up = time.monotonic() + 1.0
        while not self.reap(block=False) and time.monotonic() < give_up:
            time.sleep(0.005)
        self.kill()

    def reap(self, block: bool) -> bool:
        """True once the process has exited (and its exit code is known)."""
        if self.exitcode is not None:
            return True
        try:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere
            self.exitcode = -int(signal.SIGKILL)
            return True
        if pid == 0:
            return False
        self.exitcode = os.waitstatus_to_exitcode(status)
        return True

    def _close(self) -> None:
        _PARENT_ENDS.discard(self.conn)
        self.conn.close()
