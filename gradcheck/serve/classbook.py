"""The class at a glance: students x questions under an attempts policy, and per-question counts.

Pure functions over stored attempts (oldest first). The attempts policy says which of a
student's attempts at a question counts: ``last`` (the latest), ``first``, or ``best``
(the first attempt with the best verdict, pass > fail > invalid > error).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["POLICIES", "ClassTable", "QuestionCounts", "class_table", "question_counts",
           "render_gradebook_csv"]

Policy = Literal["last", "best", "first"]
POLICIES: tuple[Policy, ...] = ("last", "best", "first")
VERDICT_RANK = {"pass": 3, "fail": 2, "invalid": 1, "error": 0}
_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class AttemptLike(Protocol):
    @property
    def student(self) -> str: ...
    @property
    def problem(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def diagnosis(self) -> str | None: ...


@dataclass(frozen=True)
class ClassTable:
    """``columns`` are ``problem/question``; each row is (student, cells, attempts per cell, score)."""

    policy: Policy
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...], tuple[int, ...], int], ...]


@dataclass(frozen=True)
class QuestionCounts:
    """Every attempt at one question: verdict counts and diagnosis counts."""

    column: str
    attempts: int
    students: int
    verdicts: tuple[tuple[str, int], ...]
    diagnoses: tuple[tuple[str, int], ...]


def _column(a: AttemptLike) -> str:
    return f"{a.problem}/{a.question}"


def class_table(attempts: Iterable[AttemptLike], policy: Policy = "last",
                columns: Sequence[str] = ()) -> ClassTable:
    """Students (in order of first attempt) x questions (``columns`` first, then any other
    question in order of first attempt); a cell is the verdict the policy picks, "" when the
    student has not tried it; the score counts cells that pass.

    >>> from types import SimpleNamespace as A
    >>> rows = [A(student="ada", problem="p", question="q", verdict=v, diagnosis=None)
    ...         for v in ("fail", "pass", "fail")]
    >>> [class_table(rows, p).rows[0][1][0] for p in POLICIES]
    ['fail', 'pass', 'fail']
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown attempts policy {policy!r}; use one of {', '.join(POLICIES)}")
    order: dict[str, None] = dict.fromkeys(columns)
    chosen: dict[str, dict[str, str]] = {}
    tries: dict[str, dict[str, int]] = {}
    for a in attempts:
        column = _column(a)
        order.setdefault(column)
        cells = chosen.setdefault(a.student, {})
        counts = tries.setdefault(a.student, {})
        counts[column] = counts.get(column, 0) + 1
        held = cells.get(column)
        if (held is None or policy == "last"
                or (policy == "best" and VERDICT_RANK[a.verdict] > VERDICT_RANK[held])):
            cells[column] = a.verdict
    names = tuple(order)
    rows = []
    for student, cells in chosen.items():
        row = tuple(cells.get(c, "") for c in names)
        rows.append((student, row, tuple(tries[student].get(c, 0) for c in names),
                     sum(v == "pass" for v in row)))
    return ClassTable(policy=policy, columns=names, rows=tuple(rows))


def question_counts(attempts: Iterable[AttemptLike], columns: Sequence[str] = ()) -> list[QuestionCounts]:
    """Per question: how many attempts, by how many students, each verdict and diagnosis."""
    seen: dict[str, list[AttemptLike]] = {c: [] for c in columns}
    for a in attempts:
        seen.setdefault(_column(a), []).append(a)
    out = []
    for column, rows in seen.items():
        verdicts = tuple((v, sum(a.verdict == v for a in rows)) for v in VERDICT_RANK)
        diagnoses: dict[str, int] = {}
        for a in rows:
            if a.diagnosis:
                diagnoses[a.diagnosis] = diagnoses.get(a.diagnosis, 0) + 1
        out.append(QuestionCounts(column=column, attempts=len(rows),
                                  students=len({a.student for a in rows}), verdicts=verdicts,
                                  diagnoses=tuple(sorted(diagnoses.items()))))
    return out


def _cell(text: str) -> str:
    """A student id a spreadsheet would run as a formula is prefixed with a quote."""
    return "'" + text if text.startswith(_SPREADSHEET_FORMULA) else text


def render_gradebook_csv(table: ClassTable) -> str:
    """``student``, one column per ``problem/question`` (the chosen verdict), then ``score``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *(_cell(c) for c in table.columns), "score"])
    for student, cells, _, score in table.rows:
        writer.writerow([_cell(student), *cells, score])
    return out.getvalue()
