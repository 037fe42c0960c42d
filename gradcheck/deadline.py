"""A time budget for a block of work: SIGALRM-based, main thread only, nestable.

SymPy and big-integer arithmetic cannot be stopped from another thread, so the
budget interrupts the main thread with ``Timeout``. Elsewhere (a worker thread) the
block runs without a limit: the batch pool's killable processes bound it instead.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Timeout", "deadline", "paused"]


class Timeout(BaseException):
    """The time budget ran out.

    A BaseException, so that no ``except Exception`` on the way (SymPy's own retries
    when it evaluates ``floor(exp(10**9))`` catch Exception) can swallow it.
    """


RETRY = 1e-3  # seconds until a timer that fired inside a finalizer fires again
_FINALIZER_FILES = ("weakref.py", "_weakrefset.py")


def _in_finalizer(frame: FrameType | None) -> bool:
    """Whether the interrupted code runs inside a finalizer (``__del__``, a weakref
    callback), where Python reports an exception as unraisable and drops it."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or code.co_filename.endswith(_FINALIZER_FILES):
            return True
        frame = frame.f_back
    return False


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    if _in_finalizer(frame):
        # Raised here, Timeout would be swallowed ("Exception ignored in ...") and the
        # budget lost: fire again as soon as the finalizer has returned.
        signal.setitimer(signal.ITIMER_REAL, RETRY)
        return
    raise Timeout


try:  # CPython's C-level signal functions: signal.signal converts handlers to enums
    # on every call, which costs more than the rest of a deadline together.
    import _signal

    _set_handler = _signal.signal
except (ImportError, AttributeError):  # pragma: no cover - other interpreters
    _set_handler = signal.signal


class deadline:  # noqa: N801 - used as a function: ``with deadline(2.0):``
    """Interrupt the block after ``seconds`` with Timeout (main thread only; else no limit).

    An outer timer that fires sooner is left alone; one that fires later is re-armed.
    """

    __slots__ = ("seconds", "outer_delay", "started", "previous", "armed")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.armed = False

    def __enter__(self) -> None:
        seconds = self.seconds
        if seconds <= 0 or threading.current_thread() is not threading.main_thread():
            return
        outer_delay, _ = signal.getitimer(signal.ITIMER_REAL)
        if outer_delay and outer_delay <= seconds:
            return
        self.outer_delay = outer_delay
        self.started = time.monotonic()
        self.previous = _set_handler(signal.SIGALRM, _on_alarm)
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, seconds)

    def __exit__(self, *exc: object) -> None:
        if not self.armed:
            return
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        if self.previous is not _on_alarm:
            _set_handler(signal.SIGALRM, self.previous)
        if self.outer_delay:
            left = self.outer_delay - (time.monotonic() - self.started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))


@contextmanager
def paused() -> Iterator[None]:
    """Stop the running timer for the block, then re-arm it with the time it had left.

    For work that belongs to the problem, not to the answer being graded (a question's
    diagnosis candidates, built once): the answer's budget is not charged for it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if left:
            signal.setitimer(signal.ITIMER_REAL, left)
