"""Grading results: what was answered, the verdict, why, and the evidence.

Shared by the single-answer grader, the batch grader, every grade report and the
pytest plugin's answer tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

VerdictName = Literal["pass", "fail", "invalid", "error"]
VERDICTS: tuple[VerdictName, ...] = ("pass", "fail", "invalid", "error")


class Counts(Mapping[VerdictName, int]):
    """Rows per verdict, every verdict present, in the order of VERDICTS; read-only.

    >>> counts = Counts.of(["pass", "fail", "pass"])
    >>> counts["pass"], dict(counts)
    (2, {'pass': 2, 'fail': 1, 'invalid': 0, 'error': 0})
    """

    __slots__ = ("_counts",)

    def __init__(self, counts: Mapping[VerdictName, int] | Iterable[tuple[VerdictName, int]] = ()) -> None:
        given = dict(counts)
        self._counts: dict[VerdictName, int] = {v: int(given.get(v, 0)) for v in VERDICTS}

    @classmethod
    def of(cls, verdicts: Iterable[str]) -> Counts:
        """Count an iterable of verdicts."""
        tally = dict.fromkeys(VERDICTS, 0)
        for v in verdicts:
            tally[v] += 1  # type: ignore[index]
        return cls(tally)

    def __getitem__(self, verdict: VerdictName) -> int:
        return self._counts[verdict]

    def __iter__(self) -> Iterator[VerdictName]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def __hash__(self) -> int:
        return hash(tuple(self._counts.items()))

    def __repr__(self) -> str:
        return f"Counts({self._counts!r})"

    def __getstate__(self) -> dict[VerdictName, int]:
        return self._counts

    def __setstate__(self, state: dict[VerdictName, int]) -> None:
        self._counts = state


@dataclass(frozen=True)
class Evidence:
    """The answer and the truth at one point (for an expression) or the given point (a value)."""

    point: tuple[tuple[str, float], ...]
    expected: float
    got: float
    error: float
    agrees: bool

    def to_dict(self) -> dict[str, object]:
        return {"point": dict(self.point), "expected": self.expected, "got": self.got,
                "error": self.error, "agrees": self.agrees}


@dataclass(frozen=True)
class Omitted:
    """Evidence points an evidence policy left out of a result: how many, and how many of
    those disagree (``GradeResult.evidence`` then holds the points that show the failure)."""

    points: int
    disagree: int

    def to_dict(self) -> dict[str, object]:
        return {"points": self.points, "disagree": self.disagree}


@dataclass(frozen=True)
class Decision:
    """How a verdict was reached.

    method: ``proved`` (the answer minus the truth simplified to 0 symbolically) or
    ``sampled`` (equal in high precision at every point compared: the points shown in the
    evidence and ``secret`` more that feedback never shows).
    points: how many points were compared in all (shown and secret).
    digits: significant digits of the high-precision comparisons (0: float64 only).
    note: why a stronger numeric test was used, when it was (a proof that timed out).
    """

    method: Literal["proved", "sampled"]
    points: int
    secret: int = 0
    digits: int = 0
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"method": self.method, "points": self.points, "secret": self.secret,
                "digits": self.digits, "note": self.note}


@dataclass(frozen=True)
class GradeResult:
    """One graded answer.

    verdict: ``pass``; ``fail`` (read, but wrong); ``invalid`` (cannot be read, or over
    a limit, the time limit included); ``error`` (cannot be graded: unknown problem or
    question, a malformed submissions row, a grader that crashed).
    diagnosis: for a fail, one of problem.DIAGNOSES when a known mistake explains it.
    feedback: one or two sentences for the student.
    understood_as: the answer as gradcheck read it (SymPy text), when it could be read.
    decision: how a pass (or a fail found only at secret points) was decided.
    omitted: the evidence points an evidence policy left out (``failing`` keeps a failing
    answer's first point and its first disagreeing ones), or None when none was.
    """

    problem: str
    question: str
    answer: str
    verdict: VerdictName
    feedback: str
    diagnosis: str | None = None
    understood_as: str | None = None
    expected: str | None = None
    evidence: tuple[Evidence, ...] = ()
    student: str | None = None
    row: int | None = None
    seed: int = 0
    decision: Decision | None = None
    omitted: Omitted | None = None

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def __repr__(self) -> str:
        from gradcheck.report.notebook import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from gradcheck.report.notebook import result_html

        return result_html(self)

    def to_dict(self) -> dict[str, object]:
        """Plain data in a fixed key order (for JSON)."""
        return {
            "row": self.row, "student": self.student, "problem": self.problem,
            "question": self.question, "answer": self.answer, "verdict": self.verdict,
            "diagnosis": self.diagnosis, "feedback": self.feedback,
            "understood_as": self.understood_as, "expected": self.expected,
            "evidence": [e.to_dict() for e in self.evidence],
            "evidence_omitted": self.omitted.to_dict() if self.omitted else None,
            "decision": self.decision.to_dict() if self.decision else None,
        }
