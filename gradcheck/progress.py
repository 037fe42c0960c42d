"""The progress bar of a batch on a terminal: rows done, rate and time left, on stderr.

tqdm draws it (imported only when a bar is shown: about 40 ms, against about 52 ms for
rich.progress; see benchmarks/bench_progress_import.py). Without tqdm, a plain counter
with the same figures is written instead. Never written into a report or to stdout.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["ProgressBar", "wanted"]


def wanted(quiet: bool, stdout: TextIO | None = None, stderr: TextIO | None = None) -> bool:
    """A bar is drawn only for a person watching: stdout and stderr both terminals, no --quiet."""
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    return not quiet and _tty(out) and _tty(err)


def _tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """``progress(done, total)`` for ``grade_batch``: a tqdm bar, made on the first call."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.bar: Any = None
        self.plain: _Counter | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None and self.plain is None:
            try:
                from tqdm import tqdm
            except ImportError:
                self.plain = _Counter(self.stream)
            else:
                self.bar = tqdm(total=total, desc="grading", unit="row", file=self.stream,
                                mininterval=0.1, dynamic_ncols=True, leave=True)
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
        elif self.plain is not None:
            self.plain(done, total)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.plain is not None:
            self.plain.finish()


class _Counter:
    """``grading 1234/10000 rows (12%), 410 rows/s, 21 s left``, redrawn ten times a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.start = time.monotonic()
        self.shown = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.shown < 0.1:
            return
        self.shown, self.drawn = now, True
        rate = done / max(now - self.start, 1e-9)
        left = (total - done) / rate if rate > 0 else 0.0
        self.stream.write(f"\rgrading {done}/{total} rows ({100 * done // max(total, 1)}%), "
                          f"{rate:.0f} rows/s, {left:.0f} s left")
        self.stream.flush()

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
