"""Grade and check on a Dask cluster (``dask.distributed``): the executor beyond one machine.

Work travels as plain data: a chunk of tasks (problem id, question id, answer text)
together with the TOML text of the problem files it needs. Each Dask worker loads the
problems itself (and caches each one by its text's hash); nothing is pickled from the
client's in-memory problems. On the worker, a chunk is graded in the same forked,
killable pool as a local batch (``gradcheck.pool.LocalPool``, one process), so the
per-answer time limit holds there too. The pool outlives the chunk: each worker thread
keeps its grading process, with its caches, for the next chunk (``KeptGrader``), and forks
a new one only when a chunk brings a problem or question it has not prepared, other
settings, or after a kill. A worker lost mid-chunk makes Dask run the chunk again
elsewhere; a chunk Dask gives up on becomes ``error`` rows: no row is lost.

Needs ``pip install 'gradcheck[dask]'``, and gradcheck installed on every worker.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gradcheck.errors import ExitCode, GradcheckError, UsageError
from gradcheck.executor import (
    ExecutorBase,
    Grader,
    Settings,
    Task,
    fork_safe,
    run_guarded,
    task_grader,
)
from gradcheck.problem import Problem
from gradcheck.verdict import GradeResult

__all__ = ["DaskExecutor", "KeptGrader", "RemoteError", "check_on_dask", "connect", "grade_chunk",
           "kept_grader", "load_sources"]

CHUNK = 200
CONNECT_TIMEOUT = "20s"
POLL_SECONDS = 0.05
INSTALL = "pip install 'gradcheck[dask]'"

Source = tuple[str, str, str, bool]
"""(problem id, path, TOML text, hide_expected) of a problem file; hide_expected travels
because ``--hide-expected`` sets it on the loaded problem, not in the file."""
Sources = tuple[Source, ...]


class RemoteError(GradcheckError):
    """An error raised on a Dask worker, with the exit code it stands for."""

    def __init__(self, message: str, exit_code: int = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.exit_code = ExitCode(exit_code)


def connect(scheduler: Any) -> tuple[Any, bool]:
    """A Dask client for an address (``tcp://host:8786``) or a given Client; True when we own it.

    Raises:
        UsageError: dask is not installed, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise UsageError(f"--scheduler needs dask.distributed: {INSTALL}") from exc
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc


def sources(problems: Sequence[Problem]) -> dict[str, Source]:
    """Each problem's file text, read again from its path (what workers will load)."""
    found = {}
    for p in problems:
        try:
            text = Path(p.path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{p.path}: cannot read the problem file to send it to the Dask "
                             f"workers: {exc.strerror}") from exc
        found[p.id] = (p.id, p.path, text, bool(getattr(p, "hide_expected", False)))
    return found


class DaskExecutor(ExecutorBase):
    """Chunks of tasks as Dask tasks; results as the chunks finish."""

    chunk_size = CHUNK

    def __init__(self, scheduler: Any, bank: Sequence[Problem], settings: Settings,
                 grader: Grader | None = None) -> None:
        self.grader = _grader_name(grader)
        self.client, self.owned = connect(scheduler)
        self.sources = sources(bank)
        self.settings = settings
        self.futures: dict[Any, list[Task]] = {}
        self.prefix = f"gradcheck-chunk-{uuid.uuid4().hex}"
        self.count = itertools.count()
        self.tasks = 0
        self.slots = 2 * max(1, sum(self.client.nthreads().values()))

    def room(self) -> int:
        return max(0, self.slots - len(self.futures))

    def submit(self, chunk: Sequence[Task]) -> None:
        if not chunk:
            return
        needed: Sources = tuple(self.sources[p] for p in sorted({t.problem for t in chunk}))
        future = self.client.submit(grade_chunk, needed, self.settings, list(chunk), self.grader,
                                    key=f"{self.prefix}-{next(self.count)}", pure=False)
        self.futures[future] = list(chunk)
        self.tasks += len(chunk)

    def pending(self) -> int:
        return self.tasks

    def collect(self, timeout: float) -> list[tuple[int, GradeResult]]:
        from distributed import wait

        finished = [f for f in self.futures if f.done()]
        if not finished and self.futures and timeout > 0:
            try:
                wait(list(self.futures), timeout=timeout, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
            finished = [f for f in self.futures if f.done()]
        done: list[tuple[int, GradeResult]] = []
        for future in finished:
            chunk = self.futures.pop(future)
            self.tasks -= len(chunk)
            if future.status == "finished":
                done.extend(future.result())
            else:  # Dask gave up on the chunk (a worker died on it too often): error rows
                why = _describe(future)
                done.extend((t.key, _lost(t, why)) for t in chunk)
            future.release()
        return done

    def close(self, cancel: bool = False) -> None:
        if cancel and self.futures:
            self.client.cancel(list(self.futures))
        self.futures.clear()
        if self.owned:
            self.client.close()


def _describe(future: Any) -> str:
    try:
        exc = future.exception(timeout=1)
    except Exception as other:  # the reason itself could not be fetched
        exc = other
    return f"{type(exc).__name__}: {exc}" if exc is not None else future.status


def _lost(task: Task, why: str) -> GradeResult:
    return GradeResult(problem=task.problem, question=task.question, answer=task.answer,
                       verdict="error", feedback=f"The Dask cluster could not grade this answer "
                                                 f"({why}); grade it again.")


def _grader_name(grader: Grader | None) -> str | None:
    """A custom grader travels by its importable name, never as a pickled object."""
    if grader is None:
        return None
    module, name = getattr(grader, "__module__", None), getattr(grader, "__qualname__", "")
    try:
        found = importlib.import_module(module) if module and module != "__main__" else None
    except ImportError:
        found = None
    if found is None or getattr(found, name, None) is not grader:
        raise UsageError("a grader sent to Dask workers must be a module-level function they "
                         f"can import, not {grader!r}")
    return f"{module}:{name}"


# ---- on the worker -----------------------------------------------------------------------

_LOADED: OrderedDict[str, Problem] = OrderedDict()  # a problem file's source hash -> problem
LOADED_PROBLEMS = 512
_LOADING = threading.Lock()


def _digest(source: Source) -> str:
    return hashlib.sha256(repr(source).encode("utf-8", "surrogatepass")).hexdigest()


def load_sources(found: Sources) -> dict[str, Problem]:
    """Problems by id from their files' text, each cached by its source's hash (per worker
    process): a problem is parsed once per worker, whatever chunk brings it."""
    from gradcheck.loader import BankSettings, parse_problem

    problems = {}
    for source in found:
        digest = _digest(source)
        with _LOADING:
            problem = _LOADED.get(digest)
            if problem is not None:
                _LOADED.move_to_end(digest)
        if problem is None:
            pid, path, text, hide = source
            # The client's word on hiding (its file, its bank's gradcheck.toml, the command
            # line), never a settings file near the same path on the worker's disk.
            problem = parse_problem(text, path, bank=BankSettings(hide_expected=hide))
            if problem.hide_expected != hide:
                problem = replace(problem, hide_expected=hide)
            with _LOADING:
                _LOADED[digest] = problem
                if len(_LOADED) > LOADED_PROBLEMS:
                    _LOADED.popitem(last=False)
        problems[source[0]] = problem
    return problems


class KeptGrader:
    """A forked grading process that a Dask worker thread keeps from chunk to chunk.

    Forking a grader per chunk cost a fork, a cold answer cache and the process start
    (91 ms a chunk of one answer, timed on the worker); a kept one costs a pipe round trip
    (0.3 ms; figures from ``benchmarks/bench_batch.py --only-dask``). The
    process knows the problems and questions it was forked with: a chunk that brings a new
    problem, a new version of one, or a question not yet prepared, has it prepared here
    (in the Dask worker, on the question's own budget, never under a student's time
    limit), and the process forked again, so it inherits the prepared truth. A task over
    its deadline is killed with its process, as locally, and the pool forks a fresh one.
    """

    def __init__(self, grader_name: str | None, settings: Settings) -> None:
        self.grader_name = grader_name
        self.settings = settings
        self.grader = _import(grader_name or "gradcheck.grading:grade")
        self.problems: dict[str, Problem] = {}
        self.prepared: set[tuple[str, str]] = set()
        self.pool: Any = None
        self.forks = 0  # grading processes started with new problems (for tests and figures)

    def serves(self, grader_name: str | None, settings: Settings) -> bool:
        return grader_name == self.grader_name and settings == self.settings

    def grade(self, problems: dict[str, Problem],
              tasks: Sequence[Task]) -> list[tuple[int, GradeResult]]:
        """Grade a chunk in the kept process: every task comes back, in any order."""
        from gradcheck.pool import LocalPool

        stale = {pid for pid, p in problems.items() if self.problems.get(pid) is not p}
        new = {(t.problem, t.question) for t in tasks} - {
            pq for pq in self.prepared if pq[0] not in stale}
        if self.pool is not None and (stale or new or not _alive(self.pool)):
            self.close()
        if self.pool is None:
            known = {**self.problems, **problems}
            if len(known) > LOADED_PROBLEMS:  # start again from this chunk's problems
                known, stale = dict(problems), set(known)
                new = {(t.problem, t.question) for t in tasks}
            self.problems = known
            self.prepared = {pq for pq in self.prepared if pq[0] not in stale}
            grade_task = fork_safe(task_grader(self.problems, self.grader, self.settings))
            self.pool = LocalPool(grade_task, self.settings, workers=1)
            self.pool.prepare(sorted(new))  # here, before the process is forked
            self.prepared |= new
            self.forks += 1
        done: list[tuple[int, GradeResult]] = []
        try:
            self.pool.submit(tasks)
            while self.pool.pending():
                done.extend(self.pool.collect(POLL_SECONDS))
        except BaseException:
            self.close(cancel=True)  # never hand a later chunk this one's results
            raise
        return done

    def close(self, cancel: bool = False) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            pool.close(cancel=cancel)


def _alive(pool: Any) -> bool:
    """False when the kept process died while idle (so no task is blamed for it)."""
    return all(not w.reap(block=False) for w in pool.workers)


_KEPT = threading.local()  # each Dask worker thread keeps its own grader: no locks, no sharing


def kept_grader(grader_name: str | None, settings: Settings) -> KeptGrader:
    """This thread's kept grader for these settings (a new one for other settings)."""
    kept: KeptGrader | None = getattr(_KEPT, "grader", None)
    if kept is None or not kept.serves(grader_name, settings):
        if kept is not None:
            kept.close()
        kept = _KEPT.grader = KeptGrader(grader_name, settings)
    return kept


def grade_chunk(found: Sources, settings: Settings, tasks: list[Task],
                grader_name: str | None = None) -> list[tuple[int, GradeResult]]:
    """Grade a chunk on a Dask worker, in the thread's kept grading process; a task is
    killed with that process at its deadline."""
    from gradcheck.pool import can_fork

    problems = load_sources(found)
    if not can_fork():
        grade_task = task_grader(problems, _import(grader_name or "gradcheck.grading:grade"),
                                 settings)
        return [(t.key, run_guarded(grade_task, t, settings)) for t in tasks]
    return kept_grader(grader_name, settings).grade(problems, tasks)


def _import(name: str) -> Grader:
    module, _, attribute = name.partition(":")
    grader: Grader = getattr(importlib.import_module(module), attribute)
    return grader


# ---- check -------------------------------------------------------------------------------


def check_on_dask(problems: Sequence[Problem], scheduler: Any, *, backends: Sequence[str],
                  points: int, seed: int, dtype: str) -> Any:
    """``gradcheck.checks.check`` with each problem checked on a Dask worker; the same report.

    Raises:
        RemoteError: a problem failed on a worker (with the exit code of that failure).
    """
    from gradcheck.backends import resolve_backends
    from gradcheck.checks import CheckReport

    names = tuple(resolve_backends(backends))
    client, owned = connect(scheduler)
    try:
        texts = sources(problems)
        futures = [client.submit(check_source, texts[p.id], names, points, seed, dtype,
                                 key=f"gradcheck-check-{uuid.uuid4().hex}", pure=False)
                   for p in problems]
        results = []
        for outcome in client.gather(futures):
            if outcome[0] == "error":
                raise RemoteError(outcome[2], outcome[1])
            results.extend(outcome[1])
    finally:
        if owned:
            client.close()
    return CheckReport(seed=seed, points=points, dtype=dtype, backends=names,
                       results=tuple(results))


def check_source(source: Source, backends: tuple[str, ...], points: int, seed: int,
                 dtype: str) -> tuple[Any, ...]:
    """Check one problem file's text on a worker: ("ok", results) or ("error", code, message)."""
    from gradcheck.backends import get_backend
    from gradcheck.checks import check_problem

    try:
        problem = load_sources((source,))[source[0]]
        built = [get_backend(name, dtype) for name in backends]
        return ("ok", check_problem(problem, built, points=points, seed=seed))
    except GradcheckError as exc:
        return ("error", int(exc.exit_code), str(exc))
