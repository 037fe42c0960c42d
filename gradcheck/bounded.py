"""Run one piece of untrusted-cost work in a process that is killed at a hard deadline.

SymPy and big-integer arithmetic can ignore signals (``floor(exp(10^9))`` never
returns to the interpreter loop), so a timer in this process is not a safe stop;
killing a forked child is. The child also limits its own CPU time and asks the
kernel to kill it when its parent dies, so it can never outlive the command.

Where ``fork`` is not available the work runs here, unguarded.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import pickle
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from gradcheck.errors import ExitCode, GradcheckError, UsageError

__all__ = ["MAX_POINTS", "MAX_TIME_LIMIT", "Overrun", "check_points", "check_time_limit",
           "run_bounded"]

T = TypeVar("T")
Mark = Callable[[str], None]
START_GRACE = 1.0  # seconds for the child to start, on top of the work's own budget


MAX_POINTS = 100_000  # random points a verify, grade or check may ask for
MAX_TIME_LIMIT = 3600.0  # seconds: an hour per answer is already far beyond any real need


def check_points(points: int, option: str = "points") -> None:
    """Raise UsageError unless 1 <= points <= MAX_POINTS."""
    if not 1 <= points <= MAX_POINTS:
        raise UsageError(f"{option} must be between 1 and {MAX_POINTS}, not {points}")


def check_time_limit(seconds: float, option: str = "the time limit") -> None:
    """Raise UsageError unless the time limit is a positive number of seconds up to an hour."""
    if not (isinstance(seconds, int | float) and 0 < seconds <= MAX_TIME_LIMIT):
        raise UsageError(f"{option} must be a positive number of seconds, at most "
                         f"{MAX_TIME_LIMIT:g}, not {seconds}")


class Overrun(Exception):
    """The work ran past its deadline and was killed; ``stage`` is the last one it marked."""

    def __init__(self, seconds: float, stage: str) -> None:
        self.seconds = seconds
        self.stage = stage
        super().__init__(f"stopped after {seconds:g} s (last stage: {stage or 'start'})")


class _Relayed(GradcheckError):
    """An error raised in the child that could not travel back as itself."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = ExitCode(exit_code)

    def __reduce__(self) -> tuple[type[_Relayed], tuple[str, int]]:
        return (_Relayed, (str(self), int(self.exit_code)))


def run_bounded(work: Callable[[Mark], T], seconds: float, stages: int = 2) -> T:
    """``work(mark)`` in a forked child, killed when a stage runs past ``seconds``.

    ``work`` calls ``mark("name")`` as it starts each stage; each mark restarts the
    clock (at most ``stages`` times), and an Overrun carries the last stage's name, so
    the caller can say what was too slow. The first stage also gets a start-up grace.

    Raises:
        Overrun: the deadline passed; the child was killed.
        Whatever ``work`` raised (a GradcheckError keeps its message and exit code).
    """
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"seconds must be finite and positive, not {seconds}")
    if "fork" not in multiprocessing.get_all_start_methods():
        return work(lambda stage: None)
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(work, child, parent, seconds, stages),
                          daemon=True)
    process.start()
    child.close()
    deadline = time.monotonic() + seconds + START_GRACE
    stage = ""
    marks = 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not parent.poll(left):
                if time.monotonic() >= deadline:
                    raise Overrun(seconds, stage)
                continue
            try:
                kind, value = parent.recv()
            except (EOFError, OSError):
                process.join(timeout=1.0)
                raise _Relayed(f"the checking process died ({_how(process.exitcode)})",
                               ExitCode.INTERNAL) from None
            if kind == "mark":
                if stage and marks < stages:
                    deadline = time.monotonic() + seconds
                stage = value
                marks += 1
            elif kind == "done":
                return value  # type: ignore[no-any-return]
            else:
                raise value
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        parent.close()


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"signal {-exitcode}"
    return f"exit {exitcode}"


def _child(work: Callable[[Mark], Any], conn: Connection, other: Connection,
           seconds: float, stages: int) -> None:
    other.close()  # the parent's end: holding it would keep the pipe open if the parent died
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    _limit_cpu(seconds * stages + START_GRACE + 1)

    def mark(stage: str) -> None:
        conn.send(("mark", stage))

    try:
        conn.send(("done", work(mark)))
    except BaseException as exc:  # noqa: BLE001 - every failure travels back to the parent
        conn.send(("raised", _travelling(exc)))
    finally:
        conn.close()


def _travelling(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a plain error with its message and exit code."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - custom __init__ signatures do not unpickle
        code = exc.exit_code if isinstance(exc, GradcheckError) else ExitCode.INTERNAL
        message = str(exc) if isinstance(exc, GradcheckError) else f"{type(exc).__name__}: {exc}"
        return _Relayed(message, code)


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1


def _limit_cpu(seconds: float) -> None:
    """A CPU-time ceiling the kernel enforces, whatever happens to the parent."""
    with contextlib.suppress(Exception):
        import resource

        limit = math.ceil(seconds)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
