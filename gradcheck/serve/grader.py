"""Grade and preview answers off the event loop, each in a process that can be killed.

An attempt is graded by ``gradcheck.grade_batch`` (a batch of one): the batch forks a
worker, kills it when the answer runs past the time limit, and turns a crash into an
``error`` row. Each call runs in a thread of a small pool, so the event loop never
waits for SymPy and a slow answer holds one slot for at most the time limit (plus the
batch's grace), never the server or another student's attempt.

The live preview uses the grader's own parser (``parse_expression`` in student mode over
the problem's names, exactly as ``grade`` reads an answer) in a forked child that is
killed after a short limit.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gradcheck.batch import Grader
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
    """A pool of threads, each driving one forked grading process at a time."""

    def __init__(self, *, slots: int, seed: int, points: int, time_limit: float,
                 preview_limit: float = 1.0, grader: Grader | None = None) -> None:
        self.grader = grader
        self.seed = seed
        self.points = points
        self.time_limit = float(time_limit)
        self.preview_limit = preview_limit
        self.slots = slots
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="gradcheck-grade")
        # Previews have their own threads: a class typing never delays a submitted attempt.
        self._previews = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gradcheck-preview")
        self._warm_lock = threading.Lock()
        self._warm: set[tuple[str, str]] = set()

    def grade_now(self, problem: Problem, question: str, answer: str, student: str) -> GradeResult:
        """Grade in a forked worker (blocking; call from a thread)."""
        from gradcheck.batch import grade_batch
        from gradcheck.submissions import Submission

        if self.grader is None:
            self._warm_once(problem, question)
        sub = Submission(row=1, student=student, problem=problem.id, question=question,
                         answer=answer)
        report = grade_batch([problem], [sub], seed=self.seed, points=self.points,
                             time_limit=self.time_limit, workers=1, grader=self.grader)
        return report.results[0]

    def _warm_once(self, problem: Problem, question: str) -> None:
        """Build the question's reference in this process once (a trusted answer, "0"), one
        thread at a time, so forked workers start warm and the caches are not raced."""
        key = (problem.id, question)
        if key in self._warm:
            return
        from gradcheck.grading import grade

        with self._warm_lock:
            if key not in self._warm:
                grade(problem, question, "0", seed=self.seed, points=self.points,
                      time_limit=self.time_limit)
                self._warm.add(key)

    async def grade(self, problem: Problem, question: str, answer: str, student: str) -> GradeResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.grade_now, problem, question, answer,
                                          student)

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
        self._pool.shutdown(wait=True, cancel_futures=True)
