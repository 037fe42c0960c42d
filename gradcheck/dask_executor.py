"""Grade and check on a Dask cluster (``dask.distributed``): the executor beyond one machine.

Work travels as plain data: a chunk of tasks (problem id, question id, answer text)
together with the TOML text of the problem files it needs. Each Dask worker loads the
problems itself (and caches them by the text's hash); nothing is pickled from the
client's in-memory problems. On the worker, a chunk is graded in the same forked,
killable pool as a local batch (``gradcheck.pool.LocalPool``, one process), so the
per-answer time limit holds there too. A worker lost mid-chunk makes Dask run the
chunk again elsewhere; a chunk Dask gives up on becomes ``error`` rows: no row is lost.

Needs ``pip install 'gradcheck[dask]'``, and gradcheck installed on every worker.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gradcheck.errors import ExitCode, GradcheckError, UsageError
from gradcheck.executor import ExecutorBase, Grader, Settings, Task, run_guarded, task_grader
from gradcheck.problem import Problem
from gradcheck.verdict import GradeResult

__all__ = ["DaskExecutor", "RemoteError", "check_on_dask", "connect"]

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

_LOADED: OrderedDict[str, dict[str, Problem]] = OrderedDict()
LOADED_BANKS = 8


def load_sources(found: Sources) -> dict[str, Problem]:
    """Problems from their files' text, cached by the text's hash (per worker process)."""
    from gradcheck.loader import BankSettings, parse_problem

    digest = hashlib.sha256(repr(found).encode("utf-8", "surrogatepass")).hexdigest()
    problems = _LOADED.get(digest)
    if problems is None:
        problems = {}
        for pid, path, text, hide in found:
            # The client's word on hiding (its file, its bank's gradcheck.toml, the command
            # line), never a settings file near the same path on the worker's disk.
            problem = parse_problem(text, path, bank=BankSettings(hide_expected=hide))
            if problem.hide_expected != hide:
                problem = replace(problem, hide_expected=hide)
            problems[pid] = problem
        _LOADED[digest] = problems
        if len(_LOADED) > LOADED_BANKS:
            _LOADED.popitem(last=False)
    _LOADED.move_to_end(digest)
    return problems


def grade_chunk(found: Sources, settings: Settings, tasks: list[Task],
                grader_name: str | None = None) -> list[tuple[int, GradeResult]]:
    """Grade a chunk on a Dask worker, each task in a forked process killed at its deadline."""
    from gradcheck.pool import LocalPool, can_fork

    grader = _import(grader_name or "gradcheck.grading:grade")
    grade_task = task_grader(load_sources(found), grader, settings)
    if not can_fork():
        return [(t.key, run_guarded(grade_task, t, settings)) for t in tasks]
    done: list[tuple[int, GradeResult]] = []
    with LocalPool(grade_task, settings, workers=1) as pool:
        pool.prepare(sorted({(t.problem, t.question) for t in tasks}))
        pool.submit(tasks)
        while pool.pending():
            done.extend(pool.collect(POLL_SECONDS))
    return done


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
