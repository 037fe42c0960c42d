"""Renderers: pure functions from results to text. Only these and the shells produce output.

The public renderers are importable from here (loaded on first use)::

    from gradcheck.report import render_html, render_csv, render_text
    html = render_html(batch_report)          # the self-contained HTML report
    text = render_text(batch_report)          # a batch, or a CheckReport: either works

``render_text`` and ``render_json`` take a graded batch (``BatchReport``) or a check
(``CheckReport``); the others are for graded batches.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["GRADE_RENDERERS", "RENDERERS", "RenderOptions", "gradebook_rows", "render_answer",
           "render_canvas", "render_csv", "render_html", "render_json", "render_junit",
           "render_moodle", "render_student_pages", "render_text", "report_gradebook"]

_GRADES = "gradcheck.report.grades"
_LAZY = {
    "GRADE_RENDERERS": _GRADES, "RenderOptions": _GRADES, "gradebook_rows": _GRADES,
    "render_answer": _GRADES, "render_canvas": _GRADES, "render_csv": _GRADES,
    "render_moodle": _GRADES, "report_gradebook": _GRADES,
    "render_html": "gradcheck.report.grades_html",
    "render_student_pages": "gradcheck.report.grades_html",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gradcheck.report' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def _is_batch(report: Any) -> bool:
    return hasattr(report, "counts") and hasattr(report, "settings")


def render_text(report: Any, options: Any = None) -> str:
    """The text report of a graded batch (``BatchReport``) or of a check (``CheckReport``)."""
    if _is_batch(report):
        from gradcheck.report.grades import DEFAULT_OPTIONS
        from gradcheck.report.grades import render_text as grades_text

        return grades_text(report, options or DEFAULT_OPTIONS)
    from gradcheck.report.text import render_text as check_text

    return check_text(report)


def render_json(report: Any, options: Any = None) -> str:
    """The JSON report of a graded batch (``BatchReport``) or of a check (``CheckReport``)."""
    if _is_batch(report):
        from gradcheck.report.grades import DEFAULT_OPTIONS
        from gradcheck.report.grades import render_json as grades_json

        return grades_json(report, options or DEFAULT_OPTIONS)
    from gradcheck.report.json_report import render_json as check_json

    return check_json(report)


def render_junit(report: Any, options: Any = None) -> str:
    """The JUnit XML of a graded batch (``BatchReport``) or of a check (``CheckReport``)."""
    if _is_batch(report):
        from gradcheck.report.grades import DEFAULT_OPTIONS
        from gradcheck.report.grades import render_junit as grades_junit

        return grades_junit(report, options or DEFAULT_OPTIONS)
    from gradcheck.report.junit import render_junit as check_junit

    return check_junit(report)


def _text(report: Any) -> str:
    from gradcheck.report.text import render_text as check_text

    return check_text(report)


def _json(report: Any) -> str:
    from gradcheck.report.json_report import render_json as check_json

    return check_json(report)


def _junit(report: Any) -> str:
    from gradcheck.report.junit import render_junit as check_junit

    return check_junit(report)


RENDERERS: dict[str, Callable[[Any], str]] = {"text": _text, "json": _json, "junit": _junit}
"""Check report format -> renderer (``gradcheck check --format``)."""
