"""Grade and preview answers off the event loop, each in a process that can be killed.

An attempt is graded by gradcheck's own killable workers (``gradcheck.pool.LocalPool``,
the batch's default executor, with the batch's ``task_grader``): the pool kills a worker
whose answer runs past the time limit (plus its grace) and turns a crash into an
``error`` row. A few such pools of one worker each (slots) are kept warm and driven from
threads, so the event loop never waits for SymPy and a slow answer holds one slot for at
most the deadline, never the server or another student's attempt.

The live preview uses the grader's own parser (``parse_expression`` in student mode over
the problem's names, exactly as ``grade`` reads an answer) in a forked child that is
killed after a short limit.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gradcheck.executor import Grader
from gradcheck.problem import Problem
from gradcheck.verdict import GradeResult

__all__ = ["Grading", "Preview", "preview_text", "run_forked"]


@dataclass(frozen=True)
class Preview:
    """How the parser read an answer: ``understood_as`` (SymPy text) or an error with its position."""

    understood_as: str | None = None
    error: str | None = None
    position: int | None = None


def preview_text(problem: Problem, answer: str) -> Preview:
    """Read ``answer`` as ``grade`` reads it (runs in the forked child)."""
    import sympy

    from gradcheck.errors import ExpressionError
    from gradcheck.parsing import Limits, parse_expression

    try:
        expr = parse_expression(answer, problem.names(), student=True, limits=Limits())
    except ExpressionError as exc:
        which = f" (limit: {exc.limit})" if exc.limit else ""
        return Preview(error=f"{exc.message}{which}", position=exc.position)
    return Preview(understood_as=sympy.sstr(expr))


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as exc:  # the parent reports it; the child must always answer
        conn.send(("raised", f"{type(exc).__name__}: {exc}"))


def run_forked(fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> tuple[str, Any]:
    """Run ``fn(*args)`` in a forked child; ("ok", value), ("raised", text), ("timeout", None)
    or ("died", exitcode). The child is killed at the deadline."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(send, fn, args), daemon=True)
    process.start()
    send.close()
    try:
        if receive.poll(timeout):
            try:
                return receive.recv()  # type: ignore[no-any-return]
            except EOFError:
                process.join()
                return ("died", process.exitcode)
        return ("timeout", None)
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()


class Grading:
    """``slots`` persistent killable grading workers (``gradcheck.pool.LocalPool``, one worker
    each), driven from threads so the event loop never waits for SymPy.

    A slot grades one attempt at a time; an attempt past the time limit (plus the pool's
    grace) has its worker killed and replaced by the pool and comes back an ``error``, so it
    holds one slot for that long and never another student's attempt. Workers are forked
    once a question's truth is cached here (built from the trusted answer "0"), so they
    start warm; a question first asked later makes each slot fork fresh workers once.
    """

    def __init__(self, bank: Sequence[Problem], *, slots: int, seed: int, points: int,
                 time_limit: float, preview_limit: float = 1.0, grader: Grader | None = None) -> None:
        from gradcheck.executor import Settings, task_grader

        self.settings = Settings(seed=seed, points=points, time_limit=float(time_limit))
        self.time_limit = float(time_limit)
        self.preview_limit = preview_limit
        self.slots = slots
        problems = {p.id: p for p in bank}
        if grader is None:
            from gradcheck.grading import grade

            grader = grade
        self._grade_task = task_grader(problems, grader, self.settings)
        self._free: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        for _ in range(slots):
            self._free.put(_Slot())
        self._threads = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="gradcheck-grade")
        # Previews have their own threads: a class typing never delays a submitted attempt.
        self._previews = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gradcheck-preview")
        self._warm_lock = threading.Lock()
        self._warm: frozenset[tuple[str, str]] = frozenset()
        self._keys = itertools.count()

    def _warm_up(self, problem: str, question: str) -> frozenset[tuple[str, str]]:
        """Cache the question's truth in this process (one thread at a time); the questions
        cached so far."""
        from gradcheck.executor import Task

        key = (problem, question)
        if key not in self._warm:
            with self._warm_lock:
                if key not in self._warm:
                    self._grade_task(Task(-1, problem, question, "0"))
                    self._warm = self._warm | {key}
        return self._warm

    def grade_now(self, problem: Problem, question: str, answer: str) -> GradeResult:
        """Grade in a slot's killable worker (blocking; call from a thread)."""
        from gradcheck.executor import Task

        warm = self._warm_up(problem.id, question)
        slot = self._free.get()
        try:
            pool = slot.ready(warm, self._grade_task, self.settings)
            key = next(self._keys)
            pool.submit([Task(key, problem.id, question, answer)])
            while True:
                for done, result in pool.collect(timeout=0.5):
                    if done == key:
                        return result
        except BaseException:
            slot.discard()
            raise
        finally:
            self._free.put(slot)

    async def grade(self, problem: Problem, question: str, answer: str) -> GradeResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self.grade_now, problem, question, answer)

    def preview_now(self, problem: Problem, answer: str) -> Preview:
        status, value = run_forked(preview_text, (problem, answer), self.preview_limit)
        if status == "ok":
            return value  # type: ignore[no-any-return]
        if status == "timeout":
            return Preview(error=f"reading this answer took longer than {self.preview_limit:g} s")
        return Preview(error="this answer could not be read (the reader stopped)")

    async def preview(self, problem: Problem, answer: str) -> Preview:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._previews, self.preview_now, problem, answer)

    def close(self) -> None:
        self._previews.shutdown(wait=True, cancel_futures=True)
        self._threads.shutdown(wait=True, cancel_futures=True)
        while True:
            try:
                self._free.get_nowait().discard()
            except queue.Empty:
                return


class _Slot:
    """One LocalPool of one worker, and the questions cached when its worker was forked."""

    def __init__(self) -> None:
        self.pool: Any = None
        self.forked_with: frozenset[tuple[str, str]] = frozenset()

    def ready(self, warm: frozenset[tuple[str, str]], grade_task: Any, settings: Any) -> Any:
        """The pool, forked again when questions were cached since its worker was forked."""
        from gradcheck.pool import LocalPool

        if self.pool is not None and not warm <= self.forked_with:
            self.discard()
        if self.pool is None:
            self.pool = LocalPool(grade_task, settings, workers=1)
            self.forked_with = warm
        return self.pool

    def discard(self) -> None:
        if self.pool is not None:
            self.pool.close(cancel=True)
            self.pool = None
