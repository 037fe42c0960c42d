"""Inline SVG charts written by gradcheck: no plotting library, nothing loaded.

Labels and titles are escaped; sizes are computed here, so the same counts give the
same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

__all__ = ["bar_chart"]

COLOURS = {"pass": "#2e9e50", "fail": "#d33", "invalid": "#d9a400", "error": "#888"}
DEFAULT_COLOUR = "#4a78c2"
ROW = 18  # px per bar
LABEL = 96  # px for the labels
BAR = 180  # px for the longest bar
COUNT = 44  # px for the number after a bar


def bar_chart(items: Sequence[tuple[str, int]], title: str, classes: Iterable[str] = ()) -> str:
    """A horizontal bar per (label, count), longest bar = largest count.

    ``classes`` names the labels that get their own colour (verdicts); the rest are blue.

    >>> svg = bar_chart([("pass", 3), ("fail", 1)], "verdicts", classes=("pass", "fail"))
    >>> svg.startswith('<svg') and svg.count('<rect') == 2 and 'width="180"' in svg
    True
    """
    coloured = set(classes)
    most = max((n for _, n in items), default=0)
    width, height = LABEL + BAR + COUNT, ROW * len(items) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
             f"<title>{escape(title)}</title>"]
    for i, (label, n) in enumerate(items):
        y = 2 + i * ROW
        length = round(BAR * n / most) if most else 0
        colour = COLOURS.get(label, DEFAULT_COLOUR) if label in coloured else DEFAULT_COLOUR
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 13}" text-anchor="end" font-size="12">{escape(label)}</text>'
            f'<rect x="{LABEL}" y="{y + 2}" width="{length}" height="{ROW - 4}" fill="{colour}">'
            f"<title>{escape(label)}: {n}</title></rect>"
            f'<text x="{LABEL + length + 4}" y="{y + 13}" font-size="12">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)
