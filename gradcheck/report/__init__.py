"""Renderers: pure functions from results to text. Only these and the shells produce output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _text(report: Any) -> str:
    from gradcheck.report.text import render_text

    return render_text(report)


def _json(report: Any) -> str:
    from gradcheck.report.json_report import render_json

    return render_json(report)


def _junit(report: Any) -> str:
    from gradcheck.report.junit import render_junit

    return render_junit(report)


RENDERERS: dict[str, Callable[[Any], str]] = {"text": _text, "json": _json, "junit": _junit}
