"""Short reprs, HTML views (the HTML report's own renderer) and a DataFrame for notebooks.

The result classes call these, so a notebook shows a graded answer, a batch or a check
as a few lines of text or as the same blocks the HTML report draws. pandas is optional
(``pip install 'gradcheck[pandas]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradcheck.errors import UsageError

if TYPE_CHECKING:
    from gradcheck.batch import BatchReport
    from gradcheck.checks import CheckReport, QuestionResult
    from gradcheck.verdict import GradeResult

__all__ = ["batch_html", "batch_repr", "check_html", "check_repr", "question_result_repr",
           "result_html", "result_repr", "to_dataframe"]

SHOWN = 40  # characters of an answer in a repr
DATAFRAME_COLUMNS = ("row", "student", "problem", "question", "answer", "verdict", "diagnosis",
                     "feedback", "understood_as", "expected", "points_checked", "points_disagreeing")


def _short(text: str | None, most: int = SHOWN) -> str | None:
    if text is None or len(text) <= most:
        return text
    return text[:most - 1] + "…"


def result_repr(r: GradeResult) -> str:
    """``GradeResult(row=2, student='ada', question='lr/dloss_dw', verdict='fail',
    diagnosis='sign', answer='-x')``: answers cut at 40 characters, evidence counted."""
    parts = []
    if r.row is not None:
        parts.append(f"row={r.row}")
    if r.student:
        parts.append(f"student={r.student!r}")
    parts.append(f"question={r.problem + '/' + r.question!r}")
    parts.append(f"verdict={r.verdict!r}")
    if r.diagnosis:
        parts.append(f"diagnosis={r.diagnosis!r}")
    parts.append(f"answer={_short(r.answer)!r}")
    if r.evidence:
        parts.append(f"evidence=<{len(r.evidence)} points>")
    return f"GradeResult({', '.join(parts)})"


def result_html(r: GradeResult) -> str:
    from gradcheck.report.grades_html import answer_html, names_in

    return answer_html(r, names_in(r.understood_as, r.expected))


def batch_repr(report: BatchReport) -> str:
    """``BatchReport(50 rows: 29 pass, 19 fail, 2 invalid, 0 error; seed 0)``."""
    counts = ", ".join(f"{n} {v}" for v, n in report.counts.items())
    return f"BatchReport({len(report.results)} rows: {counts}; seed {report.seed})"


def batch_html(report: BatchReport) -> str:
    from gradcheck.report.grades_html import report_fragment

    return report_fragment(report)


def to_dataframe(report: BatchReport) -> Any:
    """One row per graded answer, columns DATAFRAME_COLUMNS (evidence as two counts)."""
    try:
        import pandas as pd
    except ImportError:
        raise UsageError("BatchReport.to_dataframe needs pandas: "
                         "pip install 'gradcheck[pandas]'") from None
    records = [(r.row, r.student, r.problem, r.question, r.answer, r.verdict, r.diagnosis,
                r.feedback, r.understood_as, r.expected, len(r.evidence),
                sum(not e.agrees for e in r.evidence)) for r in report.results]
    return pd.DataFrame.from_records(records, columns=list(DATAFRAME_COLUMNS))


def question_result_repr(r: QuestionResult) -> str:
    """``QuestionResult(linear-regression/dloss_dw on numpy float64: pass, worst 3.1e-12)``."""
    return (f"QuestionResult({r.problem}/{r.question} on {r.backend} {r.dtype}: {r.verdict}, "
            f"worst {r.worst_error:.2g}, {len(r.comparisons)} comparisons)")


def check_repr(report: CheckReport) -> str:
    passed = sum(r.passed for r in report.results)
    return (f"CheckReport({passed} of {len(report.results)} passed; seed {report.seed}, "
            f"{report.points} points, backends {', '.join(report.backends)})")


def check_html(report: CheckReport | QuestionResult) -> str:
    """A check (or one question's result) as the HTML report's table and badges."""
    from html import escape

    from gradcheck.checks import CheckReport
    from gradcheck.report.grades_html import CSS

    results = report.results if isinstance(report, CheckReport) else (report,)
    head = "".join(f"<th>{h}</th>" for h in ("problem", "question", "backend", "points",
                                             "worst rel. error", "verdict"))
    rows = "".join(
        f'<tr class="{r.verdict}"><td>{escape(r.problem)}</td><td>{escape(r.question)}</td>'
        f"<td>{escape(r.backend)} {escape(r.dtype)}</td><td class=\"n\">{r.points}</td>"
        f'<td class="n">{r.worst_error:.2e}</td><td><span class="badge">{r.verdict}</span></td></tr>'
        for r in results)
    title = escape(check_repr(report) if isinstance(report, CheckReport) else question_result_repr(report))
    return (f'<div class="gc"><style>{CSS}</style><p>{title}</p><div class="scroll"><table>'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div></div>")


