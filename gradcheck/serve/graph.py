"""A picture of a problem's computational graph, as inline SVG.

With Graphviz's ``dot`` on the PATH the layout is dot's (run with a time limit, from
DOT text holding only the problem's validated names); without it, a plain layered
layout drawn here: each node in the column of its depth (inputs at depth 0).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache
from html import escape

from gradcheck.loader import NAME_RE
from gradcheck.problem import Problem

__all__ = ["edges", "graph_svg", "plain_svg"]

DOT_SECONDS = 5.0


def edges(problem: Problem) -> list[tuple[str, str]]:
    """(input, stage) for every name a stage uses, in graph order."""
    names = set(problem.symbol_names) | set(problem.stage_names)
    out = []
    for stage in problem.stages:
        for used in sorted(s.name for s in stage.expr.free_symbols):
            if used in names:
                out.append((used, stage.name))
    return out


def graph_svg(problem: Problem, highlight: tuple[str, ...] = ()) -> str:
    """The graph as an ``<svg>`` element: dot's layout when installed, the plain one otherwise."""
    return _graph_svg(problem, highlight, shutil.which("dot"))


@lru_cache(maxsize=256)
def _graph_svg(problem: Problem, highlight: tuple[str, ...], dot: str | None) -> str:
    if dot is not None:
        svg = _dot_svg(problem, highlight, dot)
        if svg is not None:
            return svg
    return plain_svg(problem, highlight)


def _names(problem: Problem) -> list[str]:
    # The loader validated every name; check again, since they reach HTML and dot.
    return [n for n in (*problem.symbol_names, *problem.stage_names) if NAME_RE.match(n)]


def _dot_svg(problem: Problem, highlight: tuple[str, ...], dot: str) -> str | None:
    lines = ["digraph G {", "rankdir=LR;", 'node [shape=ellipse, fontname="sans-serif"];']
    for name in _names(problem):
        style = ', style=filled, fillcolor="#fde7b0"' if name in highlight else ""
        shape = "box" if name in problem.stage_names else "ellipse"
        lines.append(f'"{name}" [shape={shape}{style}];')
    safe = set(_names(problem))
    lines += [f'"{a}" -> "{b}";' for a, b in edges(problem) if a in safe and b in safe]
    lines.append("}")
    try:
        done = subprocess.run([dot, "-Tsvg"], input="\n".join(lines), capture_output=True,
                              text=True, timeout=DOT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    start = done.stdout.find("<svg")
    if start < 0:
        return None
    svg = done.stdout[start:]
    # dot's comments and <title> elements hold only our names; drop the comments anyway.
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    return svg.strip().replace("<svg ", '<svg class="graph" role="img" aria-label="computational graph" ', 1)


def plain_svg(problem: Problem, highlight: tuple[str, ...] = ()) -> str:
    """A layered drawing: inputs on the left, each stage one column right of its deepest input."""
    safe = _names(problem)
    depth = {n: 0 for n in problem.symbol_names}
    for a, b in edges(problem):
        depth[b] = max(depth.get(b, 0), depth.get(a, 0) + 1)
    columns: dict[int, list[str]] = {}
    for name in safe:
        columns.setdefault(depth.get(name, 0), []).append(name)
    w, h, gap_x, gap_y = 90, 32, 50, 18
    where = {}
    for col, names in columns.items():
        for row, name in enumerate(names):
            where[name] = (20 + col * (w + gap_x), 20 + row * (h + gap_y))
    width = 40 + (max(columns, default=0) + 1) * (w + gap_x)
    height = 40 + max((len(v) for v in columns.values()), default=1) * (h + gap_y)
    parts = [f'<svg class="graph" role="img" aria-label="computational graph" '
             f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
             'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for a, b in edges(problem):
        if a in where and b in where:
            (xa, ya), (xb, yb) = where[a], where[b]
            parts.append(f'<line x1="{xa + w}" y1="{ya + h // 2}" x2="{xb}" y2="{yb + h // 2}" '
                         'stroke="#555" marker-end="url(#arrow)"/>')
    for name, (x, y) in where.items():
        fill = "#fde7b0" if name in highlight else "#fff"
        rx = 4 if name in problem.stage_names else 16
        parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" fill="{fill}" '
                     f'stroke="#333"/><text x="{x + w // 2}" y="{y + h // 2 + 5}" '
                     f'text-anchor="middle" font-family="sans-serif" font-size="14">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
