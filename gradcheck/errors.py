"""One exception root, and the exit code each error stands for.

A wrong gradient is never an exception: it is a failed result. Exceptions mean
"could not check": a bad problem file, an unreadable answer, an unsupported
function, a backend that is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes shared by every command."""

    OK = 0
    FAILED = 1
    USAGE = 2
    BAD_PROBLEM = 3
    IO = 4
    INTERNAL = 5


class GradcheckError(Exception):
    """Root of every error gradcheck raises on purpose."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(GradcheckError, ValueError):
    """The command line or an API call asked for something that cannot be done."""

    exit_code = ExitCode.USAGE


class FileAccessError(GradcheckError, OSError):
    """A file exists but cannot be read or written (no permission, a full disk, an I/O error)."""

    exit_code = ExitCode.IO


class OutputError(FileAccessError):
    """A report cannot be written (a missing folder, a read-only file system, a full disk)."""


class InternalError(GradcheckError):
    """An unexpected exception: a gradcheck bug, named by where it happened.

    ``where`` names the problem and question (or the command) being worked on;
    the original exception is chained as ``__cause__``.
    """

    exit_code = ExitCode.INTERNAL

    def __init__(self, where: str, cause: BaseException) -> None:
        self.where = where
        detail = str(cause).splitlines()[0][:200] if str(cause) else ""
        self.detail = f"{type(cause).__name__}: {detail}" if detail else type(cause).__name__
        super().__init__(f"internal error while {where} ({self.detail}); this is a gradcheck "
                         "bug, please report it (GRADCHECK_DEBUG=1 shows the traceback)")


@contextmanager
def working_on(where: str) -> Iterator[None]:
    """Turn an unexpected exception inside the block into an InternalError naming ``where``
    (e.g. ``checking problem 'p', question 'q'``); GradcheckErrors pass unchanged."""
    try:
        yield
    except GradcheckError:
        raise
    except Exception as exc:
        raise InternalError(where, exc) from exc


class ProblemError(GradcheckError, ValueError):
    """A problem file is wrong: names the file, the key, and what to do."""

    exit_code = ExitCode.BAD_PROBLEM

    def __init__(self, path: str, key: str, message: str, hint: str = "") -> None:
        self.path = path
        self.key = key
        self.message = message
        self.hint = hint
        text = f"{path}: {key}: {message}" if key else f"{path}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class ExpressionError(GradcheckError, ValueError):
    """Text could not be read as an expression.

    ``position`` is the 0-based character offset of the problem, or None.
    ``limit`` names the limit that was exceeded, when one was.
    """

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, position: int | None = None, limit: str | None = None):
        self.message = message
        self.position = position
        self.limit = limit
        super().__init__(message)


class UnsupportedFunctionError(GradcheckError, ValueError):
    """A backend has no translation for a SymPy function: never a silent fallback."""

    exit_code = ExitCode.BAD_PROBLEM

    def __init__(self, backend: str, function: str, where: str = "", reason: str = "") -> None:
        self.backend = backend
        self.function = function
        self.where = where
        self.reason = reason
        if backend == "tape":  # before any backend: outside gradcheck's function table
            text = f"gradcheck cannot compile {function}"
            if where:
                text += f" (in {where})"
            text += ("; it is outside gradcheck's function table (see docs/answers.md): "
                     "rewrite the expression with supported functions")
        else:
            text = f"backend {backend!r} cannot compile {function}"
            if where:
                text += f" (in {where})"
            text += (f"; {reason}" if reason else
                     "; rewrite the expression with supported functions or choose another backend")
        super().__init__(text)


class BackendUnavailableError(UsageError):
    """A backend was asked for but cannot run here (torch missing, no CUDA device)."""
