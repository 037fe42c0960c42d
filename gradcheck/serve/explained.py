"""The explanation of a question (forward pass, local gradients, backward pass) for a page.

Built from ``gradcheck.explain``; formulas become MathML only through the whitelist
parser over the problem's names, values are numbers; the graph is drawn by ``graph``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sympy

from gradcheck.errors import GradcheckError
from gradcheck.problem import Problem
from gradcheck.serve.graph import graph_svg
from gradcheck.serve.mathml import answer_math

__all__ = ["explanation_view"]


def _num(value: sympy.Expr) -> str:
    if value.is_Integer:
        return str(value)
    if value.is_number:
        return f"{float(value):.10g}"
    return sympy.sstr(value)


@lru_cache(maxsize=256)
def explanation_view(problem: Problem, question: str) -> dict[str, Any] | None:
    """Rows ready for the template, or None when the question cannot be explained (second
    order, or no values for the symbols)."""
    from gradcheck.explanation import explain

    try:
        e = explain(problem, question)
    except (GradcheckError, KeyError, ValueError):
        return None
    names = tuple(problem.names())
    forward = [{"name": f.name, "formula": answer_math(f.formula, names), "value": _num(f.value)}
               for f in e.forward]
    local = [{"name": g.name, "formula": answer_math(g.formula, names), "value": _num(g.value)}
             for g in e.local]
    backward = []
    for b in e.backward:
        terms = [f"d {e.output} / d {c} · d {c} / d {b.node}" for c, _, _ in b.terms]
        products = " + ".join(f"{_num(up)} · {_num(loc)}" for _, up, loc in b.terms)
        backward.append({"name": f"d {e.output} / d {b.node}", "terms": " + ".join(terms),
                         "products": products, "value": _num(b.value)})
    path = tuple(b.node for b in e.backward) + (e.output,)
    return {
        "label": e.label,
        "point": ", ".join(f"{n} = {_num(v)}" for n, v in e.point),
        "forward": forward, "local": local, "backward": backward,
        "result": {"name": e.result.name, "formula": answer_math(e.result.formula, names),
                   "value": _num(e.result.value)},
        "graph": graph_svg(problem, path) if problem.stages else "",
    }
