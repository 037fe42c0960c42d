"""Read a class's answers (``answers.csv`` or ``.jsonl``) into frozen Submissions.

Only this module reads submission files. A malformed line never stops the batch:
it becomes a Submission whose ``broken`` field says what is wrong, and the batch
turns it into an ``error`` row. Only a file that cannot be opened at all (missing,
a folder, no CSV header) raises.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gradcheck.errors import FileAccessError, UsageError

__all__ = ["COLUMNS", "Submission", "broken_submission", "iter_submissions", "parse_submissions",
           "read_submissions"]

COLUMNS = ("student", "problem", "question", "answer")
Format = Literal["csv", "jsonl"]
JSONL_SUFFIXES = (".jsonl", ".ndjson")
RECORD_LINES = 1000  # a CSV record (quoted newlines) spans at most this many lines


@dataclass(frozen=True)
class Submission:
    """One student's answer to one question.

    ``row`` is the 1-based data line number: for CSV the file line minus the header
    (row 1 is file line 2), for JSONL the file line. ``broken`` is None for a line
    that could be read, else the reason it could not. A broken line names no one:
    ``student``, ``problem`` and ``question`` are "" (a field that looks readable in
    a line with the wrong number of fields may belong to another column), and
    ``answer`` holds the line as it is in the file (NUL shown as ``\\0``, bytes that
    are not UTF-8 as U+FFFD), for the report.
    """

    row: int
    student: str
    problem: str
    question: str
    answer: str
    broken: str | None = None


def read_submissions(path: str | Path, format: Format | None = None) -> tuple[Submission, ...]:
    """Read a submissions file; the format follows the suffix unless given.

    Raises:
        UsageError: the file cannot be read, or a CSV file has no usable header.

    Example (a CSV file with a BOM and an extra column)::

        student,problem,question,answer,comment
        ada,linear-regression,dloss_dw,2x(wx-y),first try
    """
    return tuple(iter_submissions(path, format))


def iter_submissions(path: str | Path, format: Format | None = None) -> Iterator[Submission]:
    """Read a submissions file as a stream, one line at a time (memory does not grow with
    the file); the same submissions as ``read_submissions``.

    The file is opened and a CSV header read before this returns, so a file that cannot
    be read raises here (UsageError), not while iterating.
    """
    path = Path(path)
    if format is None:
        format = "jsonl" if path.suffix.lower() in JSONL_SUFFIXES else "csv"
    if format not in ("csv", "jsonl"):
        raise UsageError(f"unknown submissions format {format!r}; use csv or jsonl")
    try:
        handle = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")
        start = handle.buffer.peek(4)[:4]  # type: ignore[attr-defined]
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise UsageError(f"{path}: cannot read the submissions file: {exc.strerror}") from exc
    except OSError as exc:  # it is there, but no permission or a failing disk: exit 4
        raise FileAccessError(f"{path}: cannot read the submissions file: "
                              f"{exc.strerror}") from exc
    if start.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00\x00" in start:
        handle.close()
        raise UsageError(f"{path}: is UTF-16 or UTF-32 text; save it as UTF-8")
    try:
        lines = _Lines(handle)
        rows = _jsonl(lines) if format == "jsonl" else _csv(lines)
        first = next(rows, None)  # reads the CSV header now
    except UsageError as exc:
        handle.close()
        raise UsageError(f"{path}: {exc}") from None
    except OSError as exc:
        handle.close()
        raise FileAccessError(f"{path}: cannot read the submissions file: "
                              f"{exc.strerror}") from exc
    return _closing(handle, first, rows)


def _closing(handle: io.TextIOBase, first: Submission | None,
             rest: Iterator[Submission]) -> Iterator[Submission]:
    with handle:
        if first is not None:
            yield first
            yield from rest


def parse_submissions(text: str, format: Format) -> tuple[Submission, ...]:
    """Submissions from text, in input order, one per data line (broken ones included).

    >>> parse_submissions('{"student": "ada", "problem": "p", "question": "q", "answer": "x"}',
    ...                   "jsonl")[0].answer
    'x'
    """
    lines = _Lines(io.StringIO(text, newline=""))
    if format == "jsonl":
        return tuple(_jsonl(lines))
    if format == "csv":
        return tuple(_csv(lines))
    raise UsageError(f"unknown submissions format {format!r}; use csv or jsonl")


class _Lines:
    """Physical lines of a text stream opened with ``newline=""`` (split only at \\n, \\r\\n and
    \\r, not at U+2028 and friends), with a look-ahead for CSV records that span lines."""

    def __init__(self, stream: Iterable[str]) -> None:
        self.source = iter(stream)
        self.ahead: deque[str] = deque()
        self.number = 0  # the number of the line ``ahead[0]`` (or the next line read)

    def peek(self, count: int) -> Iterator[str]:
        """The next lines, without consuming them: at most ``count``."""
        for i in range(count):
            if i == len(self.ahead):
                line = next(self.source, None)
                if line is None:
                    return
                self.ahead.append(line)
            yield self.ahead[i]

    def take(self, count: int) -> None:
        for _ in range(count):
            self.ahead.popleft()
        self.number += count

    def __iter__(self) -> Iterator[tuple[int, str]]:
        while True:
            line = next(self.peek(1), None)
            if line is None:
                return
            number = self.number
            self.take(1)
            yield number, line


def _problem_with(values: Mapping[str, object]) -> str | None:
    """Why these values are not a readable submission, or None when they are."""
    for key in COLUMNS:
        if key not in values:
            return f"missing {key!r}; every line needs " + ", ".join(COLUMNS)
        value = values[key]
        if not isinstance(value, str):
            return f"{key!r} must be text, not {type(value).__name__} {value!r:.40}"
        if "\x00" in value:
            return f"{key!r} contains a NUL byte"
        if _has_surrogates(value):
            return f"{key!r} is not UTF-8 text; save the file as UTF-8"
    return None


_SURROGATE = re.compile("[\udc80-\udcff]")


def _shown(text: str, most: int = 80) -> str:
    """``text`` quoted, cut to ``most`` characters (a header can be a whole file's line)."""
    return repr(text) if len(text) <= most else repr(text[:most]) + f"... ({len(text)} characters)"


def _has_surrogates(text: str) -> bool:
    """Bytes that were not UTF-8 (read with surrogateescape: U+DC80 to U+DCFF)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def _submission(row: int, raw: str, values: Mapping[str, object],
                reason: str | None = None) -> Submission:
    """A readable submission, or a broken one that keeps only its row and raw text."""
    reason = reason or _problem_with(values)
    if reason is not None:
        return broken_submission(row, raw, reason)
    student, problem, question, answer = (str(values[key]) for key in COLUMNS)
    return Submission(row, student, problem, question, answer)


def broken_submission(row: int, raw: str, reason: str) -> Submission:
    """A line that could not be read: its row, its text (printable) and why; no identity."""
    return Submission(row, "", "", "", _printable(raw.rstrip("\r\n")), broken=reason)


def _printable(text: str) -> str:
    """What can be shown of a broken line: NUL as ``\\0``, undecodable bytes as U+FFFD."""
    text = text.replace("\x00", "\\0")
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def _jsonl(lines: _Lines) -> Iterator[Submission]:
    for index, line in lines:
        row = index + 1
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:  # ValueError: an int over 4300 digits
            if isinstance(exc, json.JSONDecodeError):
                reason = f"not valid JSON: {exc.msg}"
            elif isinstance(exc, RecursionError):
                reason = "not valid JSON: nested too deeply"
            else:
                reason = "not valid JSON: a number with too many digits (at most 4300)"
            yield broken_submission(row, line, reason)
            continue
        if not isinstance(value, dict):
            yield broken_submission(row, line,
                                    f"must be a JSON object, not {type(value).__name__}")
            continue
        yield _submission(row, line, value)


def _csv(lines: _Lines) -> Iterator[Submission]:
    """Records in order; a broken record that spans lines breaks only its first line.

    An unbalanced quote would otherwise swallow every row after it (a record is read
    over at most RECORD_LINES lines).
    """
    header = _header(lines)
    index = {name: header.index(name) for name in COLUMNS}
    while True:
        row = lines.number  # the header is line 0, so the data line number is the line index
        raw = next(lines.peek(1), None)
        if raw is None:
            return
        fields, used, reason = _record(lines)
        if reason is None and not any(f.strip() for f in fields):
            lines.take(used)
            continue
        if reason is None and len(fields) != len(header):
            reason = f"has {len(fields)} fields but the header has {len(header)}"
        if reason is not None and used > 1:
            reason += " (an unbalanced quote?)"
            used = 1
        lines.take(used)
        if reason is not None:  # no field of a broken line is trusted, even one that reads well
            yield broken_submission(row, raw, reason)
            continue
        yield _submission(row, raw, {name: fields[i] for name, i in index.items()})


def _record(lines: _Lines) -> tuple[list[str], int, str | None]:
    """The CSV record starting at the next line, how many lines it used, and an error."""
    reader = csv.reader(lines.peek(RECORD_LINES), strict=True)
    try:
        fields = next(reader, [])
    except csv.Error as exc:
        return [], max(reader.line_num, 1), f"not valid CSV: {exc}"
    return fields, max(reader.line_num, 1), None


def _header(lines: _Lines) -> list[str]:
    first = next(lines.peek(1), None)
    if first is None:
        raise UsageError("the file is empty; it needs the header " + ",".join(COLUMNS))
    fields, used, reason = _record(lines)
    if reason is not None:
        raise UsageError(f"the header line is {reason}")
    lines.take(used)
    header = [name.strip().lower() for name in fields]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        if "\x00" in first or _has_surrogates(first):
            raise UsageError("the first line is not CSV text (NUL bytes, or bytes that are not "
                             "UTF-8: a binary or UTF-16 file?); the first line must name the "
                             "columns " + ",".join(COLUMNS))
        raise UsageError(f"the header {_shown(','.join(header))} lacks {', '.join(missing)}; "
                         "the first line must name the columns " + ",".join(COLUMNS))
    return header
