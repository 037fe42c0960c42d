"""Where reports go: standard output, or a file written whole or not at all.

Every command that writes a file goes through this module:

- ``check_output_path(path)`` is called before any work, so a missing folder, a
  read-only file system or a folder given as the file fails at once, not after a
  whole batch has been graded;
- ``open_output(path)`` gives a text stream; for a file it is a temporary file
  beside the target, renamed over it only when everything was written (a full disk
  or an error half-way leaves the old file, or none, never a truncated one);
- text that cannot be encoded (a lone surrogate from ``"\\ud800"`` in JSON, or a
  byte that is not UTF-8 in a command-line argument) is written as a backslash
  escape, never a crash.

Each failure is an ``OutputError`` (exit code 4) with a one-line message.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from gradcheck.errors import OutputError

__all__ = ["check_output_folder", "check_output_path", "make_output_folder", "open_output",
           "write_output"]

ENCODING_ERRORS = "backslashreplace"


def _is_stdout(path: str | os.PathLike[str] | None) -> bool:
    return path is None or str(path) == "-"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_output_path(path: str | os.PathLike[str] | None) -> None:
    """Raise OutputError now if a report could not be written to ``path`` later.

    ``None`` or ``"-"`` mean standard output and always pass. A file passes when its
    folder exists and a file can be created in it (or, for an existing device or
    pipe such as ``/dev/null``, when it can be opened for writing).

    >>> check_output_path("-")
    """
    if _is_stdout(path):
        return
    target = Path(os.fspath(path))  # type: ignore[arg-type]
    if str(target) == "" or target.name in ("", ".", ".."):
        raise OutputError(f"{target}: --output needs a file name, not a folder")
    try:
        info = target.stat()
    except (FileNotFoundError, NotADirectoryError):
        info = None
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the report: {_reason(exc)}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{target}: is a folder; give --output a file name inside it")
    if info is not None and not stat.S_ISREG(info.st_mode):
        if not os.access(target, os.W_OK):
            raise OutputError(f"{target}: cannot write the report: permission denied")
        return
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputError(f"{target}: cannot write the report: the folder {folder} {what}")
    if info is not None and not os.access(target, os.W_OK):
        raise OutputError(f"{target}: cannot write the report: the file is read-only")
    try:  # the only sure test of a read-only file system or a folder's permissions
        fd, probe = _temporary(target)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the report in {folder}: "
                          f"{_reason(exc)}") from None
    os.close(fd)
    os.unlink(probe)


def check_output_folder(path: str | os.PathLike[str]) -> None:
    """Raise OutputError now if files could not be written in the folder ``path`` later
    (it may not exist yet: then the nearest existing folder above it must be writable)."""
    folder = Path(os.fspath(path))
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{folder}: cannot write the pages there: {existing} is not a folder")
    check_output_path(existing / ".gradcheck-probe")


def make_output_folder(path: str | os.PathLike[str]) -> Path:
    """Create the folder ``path`` (and those above it) for reports; OutputError if it cannot."""
    folder = Path(os.fspath(path))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the folder: {_reason(exc)}") from None
    return folder


def _temporary(target: Path) -> tuple[int, str]:
    """A new file beside ``target`` (same folder, so the final rename is atomic)."""
    for attempt in range(100):
        name = target.parent / f".{target.name}.{os.getpid()}.{attempt}.tmp"
        try:
            # 0o666 under the umask: the same permissions as a file made by open()
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(name)
        except FileExistsError:
            continue
    raise OutputError(f"{target}: cannot create a temporary file beside it")


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str] | None) -> Iterator[TextIO]:
    """A text stream for a report: standard output for None or ``"-"``, else a file.

    A file is written to a temporary file in the same folder and renamed over
    ``path`` when the ``with`` block ends without an exception; on any exception the
    temporary file is removed and ``path`` is left as it was. An existing device or
    pipe (``/dev/null``, a FIFO) is written in place.

    Raises:
        OutputError: the file cannot be created or written (exit code 4).
    """
    if _is_stdout(path):
        yield from _stdout()
        return
    target = Path(os.fspath(path))  # type: ignore[arg-type]
    try:
        special = target.exists() and not target.is_file() and not target.is_dir()
    except OSError:
        special = False
    if special:
        yield from _in_place(target)
        return
    check_output_path(target)
    try:
        fd, temporary = _temporary(target)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the report: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors=ENCODING_ERRORS,
                       newline="\n") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        _remove(temporary)
        raise OutputError(f"{target}: cannot write the report: {_reason(exc)}; "
                          "nothing was written") from None
    except BaseException:
        _remove(temporary)
        raise


def _remove(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)


def _in_place(target: Path) -> Iterator[TextIO]:
    try:
        with open(target, "w", encoding="utf-8", errors=ENCODING_ERRORS,
                  newline="\n") as stream:
            yield stream
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the report: {_reason(exc)}") from None


def _stdout() -> Iterator[TextIO]:
    stream = sys.stdout
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):  # not a TextIOWrapper, or detached
            reconfigure(errors=ENCODING_ERRORS)
    try:
        yield stream
        stream.flush()
    except BrokenPipeError:
        # the reader went away (``| head``): nothing more can be shown, and saying so
        # on a closed pipe would fail too
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise OutputError("standard output was closed before the report was written") from None
    except OSError as exc:
        raise OutputError(f"cannot write the report to standard output: {_reason(exc)}") from None


def write_output(text: str, path: str | os.PathLike[str] | None) -> None:
    """Write a rendered report to ``path`` (atomically) or to standard output.

    Raises:
        OutputError: the file cannot be written (exit code 4).
    """
    with open_output(path) as stream:
        stream.write(text)
