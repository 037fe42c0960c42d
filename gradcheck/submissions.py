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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gradcheck.errors import FileAccessError, UsageError

__all__ = ["COLUMNS", "Submission", "broken_submission", "parse_submissions",
           "read_submissions"]

COLUMNS = ("student", "problem", "question", "answer")
Format = Literal["csv", "jsonl"]
JSONL_SUFFIXES = (".jsonl", ".ndjson")


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
    path = Path(path)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise UsageError(f"{path}: cannot read the submissions file: {exc.strerror}") from exc
    except OSError as exc:  # it is there, but no permission or a failing disk: exit 4
        raise FileAccessError(f"{path}: cannot read the submissions file: "
                              f"{exc.strerror}") from exc
    if format is None:
        format = "jsonl" if path.suffix.lower() in JSONL_SUFFIXES else "csv"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00\x00" in data[:4]:
        raise UsageError(f"{path}: is UTF-16 or UTF-32 text; save it as UTF-8")
    try:
        return parse_submissions(_decode(data), format)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def parse_submissions(text: str, format: Format) -> tuple[Submission, ...]:
    """Submissions from text, in input order, one per data line (broken ones included).

    >>> parse_submissions('{"student": "ada", "problem": "p", "question": "q", "answer": "x"}',
    ...                   "jsonl")[0].answer
    'x'
    """
    if format == "jsonl":
        return tuple(_jsonl(text))
    if format == "csv":
        return tuple(_csv(text))
    raise UsageError(f"unknown submissions format {format!r}; use csv or jsonl")


def _decode(data: bytes) -> str:
    """UTF-8 with or without BOM; undecodable bytes survive as surrogates and break their line."""
    return data.decode("utf-8-sig", errors="surrogateescape")


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


def _shown(text: str, most: int = 80) -> str:
    """``text`` quoted, cut to ``most`` characters (a header can be a whole file's line)."""
    return repr(text) if len(text) <= most else repr(text[:most]) + f"... ({len(text)} characters)"


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


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


def _lines(text: str) -> list[str]:
    """Physical lines, split only at \\n, \\r\\n and \\r (not at U+2028 and friends)."""
    return io.StringIO(text, newline="").readlines()


def _jsonl(text: str) -> Iterator[Submission]:
    for row, line in enumerate(_lines(text), start=1):
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


def _csv(text: str) -> Iterator[Submission]:
    """Records in order; a broken record that spans lines breaks only its first line.

    An unbalanced quote would otherwise swallow every row after it.
    """
    lines = _lines(text)
    header, line = _header(lines)
    index = {name: header.index(name) for name in COLUMNS}
    while line < len(lines):
        row = line  # the header is line 0, so the data line number is the list index
        fields, used, reason = _record(lines, line)
        if reason is None and not any(f.strip() for f in fields):
            line += used
            continue
        if reason is None and len(fields) != len(header):
            reason = f"has {len(fields)} fields but the header has {len(header)}"
        if reason is not None and used > 1:
            reason += " (an unbalanced quote?)"
            used = 1
        raw = lines[line]
        line += used
        if reason is not None:  # no field of a broken line is trusted, even one that reads well
            yield broken_submission(row, raw, reason)
            continue
        yield _submission(row, raw, {name: fields[i] for name, i in index.items()})


def _record(lines: list[str], start: int) -> tuple[list[str], int, str | None]:
    """The CSV record starting at line ``start``, how many lines it used, and an error."""
    reader = csv.reader((lines[i] for i in range(start, len(lines))), strict=True)
    try:
        fields = next(reader, [])
    except csv.Error as exc:
        return [], max(reader.line_num, 1), f"not valid CSV: {exc}"
    return fields, max(reader.line_num, 1), None


def _header(lines: list[str]) -> tuple[list[str], int]:
    if not lines:
        raise UsageError("the file is empty; it needs the header " + ",".join(COLUMNS))
    fields, used, reason = _record(lines, 0)
    if reason is not None:
        raise UsageError(f"the header line is {reason}")
    header = [name.strip().lower() for name in fields]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        if "\x00" in lines[0] or _has_surrogates(lines[0]):
            raise UsageError("the first line is not CSV text (NUL bytes, or bytes that are not "
                             "UTF-8: a binary or UTF-16 file?); the first line must name the "
                             "columns " + ",".join(COLUMNS))
        raise UsageError(f"the header {_shown(','.join(header))} lacks {', '.join(missing)}; "
                         "the first line must name the columns " + ",".join(COLUMNS))
    return header, used
