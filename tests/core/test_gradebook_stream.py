"""The gradebook is built in one pass over the rows, holding one attempt per cell (a batch
read as a stream is never in memory), with the documented choice of attempt."""

from __future__ import annotations

import pytest

from gradcheck.gradebook import Column, gradebook
from gradcheck.verdict import GradeResult

COLS = [Column("p", "a", 2), Column("p", "b")]


def attempt(row: int, student: str, question: str, verdict: str) -> GradeResult:
    return GradeResult("p", question, f"answer {row}", verdict, "", student=student,  # type: ignore[arg-type]
                       row=row)


ROWS = [attempt(1, "ada", "a", "fail"), attempt(2, "ada", "a", "pass"),
        attempt(3, "bob", "a", "invalid"), attempt(4, "ada", "a", "pass"),
        attempt(5, "bob", "a", "fail"), attempt(6, "ada", "b", "error"),
        attempt(7, "bob", "a", "invalid")]


@pytest.mark.parametrize(("attempts", "ada_row", "bob_row"), [
    ("best", 4, 5),   # ada: two passes, the later counts; bob: a fail beats invalid
    ("first", 1, 3),
    ("last", 4, 7),
])
def test_the_attempt_that_counts(attempts: str, ada_row: int, bob_row: int) -> None:
    book = gradebook(COLS, iter(ROWS), attempts)  # type: ignore[arg-type]
    ada, bob = book.students
    assert (ada.student, ada.cells[0].row, ada.cells[0].attempts) == ("ada", ada_row, 3)
    assert (bob.student, bob.cells[0].row, bob.cells[0].attempts) == ("bob", bob_row, 3)
    assert ada.cells[1].verdict == "error" and ada.cells[1].attempts == 1
    assert bob.cells[1].earned is None


def test_one_pass_over_a_generator_is_enough() -> None:
    assert gradebook(COLS, (r for r in ROWS)) == gradebook(COLS, list(ROWS))
