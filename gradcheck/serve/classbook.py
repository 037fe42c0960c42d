"""The class at a glance, from stored attempts: the gradebook and per-question counts.

The gradebook is ``gradcheck.gradebook`` itself (points per question, the attempts policy
best | last | first), over a ``BatchReport`` made of the stored attempts in the order they
were made, so the page, ``/api/gradebook.csv`` and ``gradcheck grade --format csv`` over
the same answers cannot disagree. Per-question verdict and diagnosis counts are added here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gradcheck.batch import BatchReport, BatchSettings
from gradcheck.gradebook import ATTEMPTS, Attempts, columns
from gradcheck.problem import Problem
from gradcheck.verdict import VERDICTS, Counts, GradeResult, VerdictName

__all__ = ["POLICIES", "QuestionCounts", "attempts_report", "question_counts", "render_gradebook_csv"]

POLICIES: tuple[Attempts, ...] = ATTEMPTS


class AttemptLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def student(self) -> str: ...
    @property
    def problem(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def answer(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def diagnosis(self) -> str | None: ...
    @property
    def feedback(self) -> str: ...


@dataclass(frozen=True)
class QuestionCounts:
    """Every attempt at one question: verdict counts and diagnosis counts."""

    column: str
    attempts: int
    students: int
    verdicts: tuple[tuple[str, int], ...]
    diagnoses: tuple[tuple[str, int], ...]


def attempts_report(bank: Sequence[Problem], attempts: Iterable[AttemptLike], *, seed: int,
                    points: int, time_limit: float) -> BatchReport:
    """The stored attempts as a graded batch (row = attempt id), for the report renderers."""
    results = tuple(
        GradeResult(problem=a.problem, question=a.question, answer=a.answer,
                    verdict=_verdict(a.verdict), feedback=a.feedback, diagnosis=a.diagnosis,
                    student=a.student, row=a.id, seed=seed)
        for a in attempts)
    return BatchReport(seed=seed, settings=BatchSettings(points=points, time_limit=time_limit),
                       results=results, counts=Counts.of(r.verdict for r in results),
                       names=tuple((p.id, tuple(p.names())) for p in bank),
                       questions=columns(bank))


def _verdict(text: str) -> VerdictName:
    if text not in VERDICTS:
        raise ValueError(f"a stored attempt has the unknown verdict {text!r}")
    return text  # type: ignore[return-value]


def question_counts(attempts: Iterable[AttemptLike], order: Sequence[str] = ()) -> list[QuestionCounts]:
    """Per question (``order`` first, then any other in order of first attempt): attempts,
    students, each verdict and each diagnosis.

    >>> from types import SimpleNamespace as A
    >>> rows = [A(student=s, problem="p", question="q", verdict=v, diagnosis=d)
    ...         for s, v, d in [("ada", "fail", "sign"), ("ada", "pass", None), ("bob", "fail", "sign")]]
    >>> c = question_counts(rows)[0]
    >>> c.attempts, c.students, dict(c.verdicts)["fail"], c.diagnoses
    (3, 2, 2, (('sign', 2),))
    """
    seen: dict[str, list[AttemptLike]] = {c: [] for c in order}
    for a in attempts:
        seen.setdefault(f"{a.problem}/{a.question}", []).append(a)
    out = []
    for column, rows in seen.items():
        diagnoses: dict[str, int] = {}
        for a in rows:
            if a.diagnosis:
                diagnoses[a.diagnosis] = diagnoses.get(a.diagnosis, 0) + 1
        out.append(QuestionCounts(
            column=column, attempts=len(rows), students=len({a.student for a in rows}),
            verdicts=tuple((v, sum(a.verdict == v for a in rows)) for v in VERDICTS),
            diagnoses=tuple(sorted(diagnoses.items()))))
    return out


def render_gradebook_csv(report: BatchReport, policy: Attempts) -> str:
    """The gradebook CSV exactly as ``gradcheck grade --format csv`` writes it."""
    from gradcheck.report.grades import RenderOptions, render_csv

    return render_csv(report, RenderOptions(attempts=policy))
