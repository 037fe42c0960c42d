"""The text report: a pass/fail table, then every failure spelled out."""

from __future__ import annotations

from gradcheck.checks import CheckReport
from gradcheck.report import messages


def render_text(report: CheckReport) -> str:
    """A table of problem, question, backend, points, worst relative error and verdict."""
    header = ("problem", "question", "backend", "points", "worst rel. error", "verdict")
    rows = [header]
    for r in report.results:
        rows.append((r.problem, r.question, f"{r.backend} {r.dtype}", str(r.points),
                     f"{r.worst_error:.2e}", r.verdict.upper()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    failures = [messages.failure(r, c) for r in report.results for c in r.comparisons
                if not c.passed]
    notes = [n for r in report.results for n in messages.set_aside(r)]
    if failures:
        lines += ["", "Failures:", *failures]
    if notes:
        lines += ["", "Notes:", *(f"  {n}" for n in dict.fromkeys(notes))]
    passed = sum(r.passed for r in report.results)
    lines += ["", f"{passed} of {len(report.results)} checks passed "
                  f"(seed {report.seed}, {report.points} random points per question, "
                  f"backends: {', '.join(report.backends)})"]
    tolerances = dict.fromkeys(f"rtol {c.tolerance.rtol:g}, atol {c.tolerance.atol:g} "
                               f"({c.tolerance.reason})"
                               for r in report.results for c in r.comparisons)
    lines.append("tolerance: " + "; ".join(tolerances))
    return "\n".join(lines) + "\n"
