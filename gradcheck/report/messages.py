"""Failure messages, built once and reused by every renderer.

A message carries the path of what was being checked: problem > question > backend >
comparison > variable > point, then got, expected, error and tolerance.
"""

from __future__ import annotations

from gradcheck.checks import Comparison, QuestionResult
from gradcheck.points import format_point, number


def path(result: QuestionResult, comparison: Comparison | None = None) -> str:
    parts = [result.problem, result.question, f"{result.backend} {result.dtype}"]
    if comparison is not None:
        parts += [comparison.what, f"d/d {comparison.variable}"]
    return " > ".join(parts)


def failure(result: QuestionResult, comparison: Comparison) -> str:
    """One failed comparison, spelled out."""
    c = comparison
    lines = [
        f"{path(result, c)}",
        f"  {c.failures} of {c.points} points disagree; worst at {format_point(c.worst_point)}",
        f"  got      {number(c.got)}  ({c.got_by})",
        f"  expected {number(c.expected)}  ({c.expected_by})",
        f"  error    {number(c.worst_error)} > rtol {c.tolerance.rtol:g} "
        f"(atol {c.tolerance.atol:g}, {c.tolerance.reason})",
    ]
    if c.method:
        lines.append(f"  finite differences: {c.method}, step {number(c.step or 0.0)}")
    if c.refereed:
        lines.append(f"  decided in high precision at {c.refereed} point(s) where float64 "
                     "disagreed (expected: the exact value)")
    return "\n".join(lines)


def set_aside(result: QuestionResult) -> list[str]:
    """Notes on points not used: undefined or non-differentiable there."""
    notes = []
    for item in result.set_aside:
        which = "the given point" if item.given else "a random point"
        notes.append(f"{path(result)}: {which} {format_point(item.point)} is {item.reason}; "
                     "set aside" + (", not counted as a failure" if item.given else " and replaced"))
    return notes
