"""The gradebook of a graded batch: points per student and question, over the whole bank.

A pure function of the bank and the results, shared by every report that shows grades
(the CSV gradebook, the LMS exports, the HTML students table, the web server), so
they cannot disagree. One column per question of the bank, in bank order; a right
answer earns the question's ``points`` (default 1), anything else 0; the maximum is
the sum over every question of the bank, attempted or not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from gradcheck.errors import UsageError
from gradcheck.problem import Problem
from gradcheck.verdict import VERDICTS, GradeResult, VerdictName

__all__ = ["ATTEMPTS", "Attempts", "Cell", "Column", "Gradebook", "StudentGrades", "columns",
           "format_points", "gradebook"]

Attempts = Literal["best", "last", "first"]
ATTEMPTS: tuple[Attempts, ...] = get_args(Attempts)


@dataclass(frozen=True)
class Column:
    """One question of the bank and what a right answer to it earns."""

    problem: str
    question: str
    points: float = 1

    @property
    def key(self) -> str:
        """``problem/question``, the column's name in every report."""
        return f"{self.problem}/{self.question}"


@dataclass(frozen=True)
class Cell:
    """A student's grade on one question: the attempt that counts, or nothing."""

    earned: float | None = None
    """Points earned; None when the student did not attempt the question."""
    verdict: VerdictName | None = None
    """The verdict of the attempt that counts."""
    attempts: int = 0
    row: int | None = None
    """The submissions row of the attempt that counts."""


@dataclass(frozen=True)
class StudentGrades:
    """One row of the gradebook."""

    student: str
    cells: tuple[Cell, ...]
    total: float
    maximum: float

    @property
    def percent(self) -> float | None:
        """100 * total / maximum; None for a bank worth no points."""
        return 100 * self.total / self.maximum if self.maximum > 0 else None


@dataclass(frozen=True)
class Gradebook:
    """Students (in order of first appearance) by questions (in bank order)."""

    columns: tuple[Column, ...]
    students: tuple[StudentGrades, ...]
    attempts: Attempts = "best"
    unreadable: tuple[int | None, ...] = ()
    """Row numbers of the lines that name no student (unreadable lines): the CSV gradebook
    and the HTML students table list them after the students, so no line is dropped."""

    @property
    def maximum(self) -> float:
        return math.fsum(c.points for c in self.columns)


def columns(bank: Iterable[Problem]) -> tuple[Column, ...]:
    """Every question of the bank, problems in bank order, questions in file order."""
    return tuple(Column(p.id, q.id, q.points) for p in bank for q in p.questions)


def gradebook(bank: Iterable[Problem] | Sequence[Column], results: Iterable[GradeResult],
              attempts: Attempts = "best") -> Gradebook:
    """Points earned per student and question.

    Args:
        bank: the problems graded against (or their ``columns``).
        results: graded rows, in input order (``BatchReport.results``).
        attempts: which of a student's attempts at a question counts: ``best`` (most
            points; among equals the later), ``last`` or ``first`` (in input order).

    Rows that name no student (unreadable lines: their row numbers are kept in
    ``unreadable``) and rows for a question outside the bank have no cell. Every other
    row is an attempt, whatever its verdict.

    >>> from gradcheck.verdict import GradeResult
    >>> cols = [Column("p", "a", 2), Column("p", "b")]
    >>> rows = [GradeResult("p", "a", "1", "fail", "", student="ada", row=1),
    ...         GradeResult("p", "a", "2", "pass", "", student="ada", row=2)]
    >>> book = gradebook(cols, rows)
    >>> [(c.earned, c.verdict) for c in book.students[0].cells]
    [(2, 'pass'), (None, None)]
    >>> book.students[0].total, book.students[0].maximum
    (2.0, 3.0)
    >>> gradebook(cols, rows, attempts="first").students[0].total
    0.0
    """
    if attempts not in ATTEMPTS:
        raise UsageError(f"attempts must be one of {', '.join(ATTEMPTS)}, not {attempts!r}")
    cols = _as_columns(bank)
    index = {(c.problem, c.question): i for i, c in enumerate(cols)}
    # Per student and question: the attempt that counts so far and the number of attempts,
    # updated row by row, so a batch read as a stream is not held in memory.
    tried: dict[str, list[tuple[GradeResult, int] | None]] = {}
    lost: list[int | None] = []
    for r in results:
        if not r.student:
            if not (r.problem or r.question):
                lost.append(r.row)
            continue
        row = tried.setdefault(r.student, [None] * len(cols))
        at = index.get((r.problem, r.question))
        if at is not None:
            row[at] = _counted(row[at], r, attempts)
    maximum = math.fsum(c.points for c in cols)
    students = []
    for student, row in tried.items():
        cells = tuple(_cell(kept, col.points) for kept, col in zip(row, cols, strict=True))
        total = math.fsum(c.earned for c in cells if c.earned is not None)
        students.append(StudentGrades(student, cells, total, maximum))
    return Gradebook(columns=cols, students=tuple(students), attempts=attempts,
                     unreadable=tuple(lost))


def _as_columns(bank: Iterable[Problem] | Sequence[Column]) -> tuple[Column, ...]:
    items = tuple(bank)
    if all(isinstance(item, Column) for item in items):
        return items  # type: ignore[return-value]
    return columns(p for p in items if isinstance(p, Problem))


_RANK = {v: len(VERDICTS) - i for i, v in enumerate(VERDICTS)}


def _counted(kept: tuple[GradeResult, int] | None, new: GradeResult,
             attempts: Attempts) -> tuple[GradeResult, int]:
    """The attempt that counts after one more, and how many there were."""
    if kept is None:
        return new, 1
    old, count = kept
    if attempts == "first":
        return old, count + 1
    if attempts == "last":
        return new, count + 1
    # best: most points, then the better verdict, then the later attempt
    better = (new.passed, _RANK[new.verdict]) >= (old.passed, _RANK[old.verdict])
    return (new if better else old), count + 1


def _cell(kept: tuple[GradeResult, int] | None, points: float) -> Cell:
    if kept is None:
        return Cell()
    counted, tries = kept
    return Cell(earned=points if counted.passed else 0, verdict=counted.verdict,
                attempts=tries, row=counted.row)


def format_points(value: float | None) -> str:
    """Points as every report writes them: ``2``, ``0.5``, ``1.333333``; empty for None.

    >>> format_points(2.0), format_points(0.1 + 0.2), format_points(None), format_points(2 / 3)
    ('2', '0.3', '', '0.666667')
    """
    if value is None:
        return ""
    value = round(float(value), 6)
    if value.is_integer():
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def format_percent(value: float | None) -> str:
    """A percentage with two decimals (``66.67``); empty for None."""
    return "" if value is None else f"{value:.2f}"
