"""Text and JSON for a student's backward pass beside the right one (gradcheck.student_backward),
and JSON for an explanation (gradcheck.explanation)."""

from __future__ import annotations

import json

import sympy

from gradcheck.explanation import Explanation, number_text
from gradcheck.student_backward import EdgeRow, StudentBackward

__all__ = ["explanation_json", "student_backward_json", "student_backward_text"]

WORDS = {1: "One reading fits", 2: "Two readings fit", 3: "Three readings fit"}


def student_backward_text(r: StudentBackward) -> str:
    """Plain text, in the notes' order: forward pass, local gradients, backward pass; then
    the student's work beside the right one and where the two part."""
    at = ", ".join(f"{n}={number_text(v)}" for n, v in r.point)
    whose = "your local gradients" if r.mode == "local" else "your answer"
    out = [f"{r.problem}: {r.label} at {at}, with {whose}", ""]
    if r.forward:
        out.append("Forward pass")
        out += _grid([[f"{n} = {f}", f"= {number_text(v)}"] for n, f, v in r.forward])
        out.append("")
    out += _local_lines(r) if r.mode == "local" else _answer_lines(r)
    return "\n".join(out).rstrip("\n") + "\n"


def _local_lines(r: StudentBackward) -> list[str]:
    shown = [e for e in r.edges if e.on_path or e.yours is not None]
    out = [f"Local gradients, from {r.output} back to {r.wrt}"]
    rows = [["", "right", "", "yours", "", ""]]
    for e in shown:
        mine = ["(right one used)", ""] if e.yours is None else \
            [e.yours, f"= {number_text(e.your_value)}" if e.your_value is not None else ""]
        note: str = e.status if e.yours is not None else ""
        if not e.on_path:
            note = f"{note}, off the path to {r.wrt}" if note else f"off the path to {r.wrt}"
        rows.append([e.name, e.right, f"= {number_text(e.right_value)}", *mine, note])
    out += _grid(rows)
    out += ["", "Backward pass (chain rule), at the point"]
    rows = [["", "right", "yours", ""]]
    parted = False
    for b in r.backward:
        note = ""
        names = " + ".join(f"d {r.output} / d {c} * d {c} / d {b.node}" for c, _, _ in b.right_terms)
        if b.agrees is False and not parted:
            note, parted = "<- parts here", True
        rows.append([f"d {r.output} / d {b.node} = {names}", _products(b.right_terms, b.right_value),
                     _products(b.your_terms, b.your_value), note])
    out += _grid(rows)
    if any(b.right_formula or b.your_formula for b in r.backward):
        out += ["", "Backward pass as formulas (over the stages)"]
        rows = [["", "right", "yours"]]
        rows += [[f"d {r.output} / d {b.node}", b.right_formula or "(too large)",
                  b.your_formula or "(too large)"] for b in r.backward]
        out += _grid(rows)
    out += ["", *_local_verdict(r)]
    return out


def _local_verdict(r: StudentBackward) -> list[str]:
    last = r.backward[-1] if r.backward else None
    result = ""
    if last is not None and last.your_value is not None:
        result = (f" Your backward pass gives {r.label} = {number_text(last.your_value)} here; "
                  f"the right one is {number_text(last.right_value)}.")
    first = r.first_wrong
    if first is None:
        wrong = [e for e in r.edges if e.status == "wrong"]
        if wrong:
            return [f"Your local gradients on the path from {r.output} to {r.wrt} are right, but "
                    + ", ".join(_wrong(e) for e in wrong) + f": these edges do not enter {r.label}."
                    + result]
        given = sum(e.yours is not None for e in r.edges)
        return [f"Right: the {given} local gradient{'s' if given != 1 else ''} you gave "
                f"{'are' if given != 1 else 'is'} right, and so is your backward pass.{result}"]
    lines = [f"First wrong edge, from the output back: {first.name}. {_wrong(first)}. "
             f"Every gradient below it on the backward pass carries the mistake.{result}"]
    others = [e for e in r.edges if e.status == "wrong" and e is not first]
    if others:
        lines.append("Also wrong: " + "; ".join(f"{e.name}: {_wrong(e)}" for e in others) + ".")
    return lines


def _wrong(e: EdgeRow) -> str:
    mine = number_text(e.your_value) if e.your_value is not None else "?"
    text = (f"You wrote {e.yours} (= {mine} here); the right local gradient is {e.right} "
            f"(= {number_text(e.right_value)} here)")
    if e.slip:
        text += f"; yours is {e.slip}"
    if mine == number_text(e.right_value):
        text += ": the right number at this point, but not the right formula (at other points they differ)"
    return text


def _products(terms: tuple[tuple[str, sympy.Expr, sympy.Expr], ...],
              value: sympy.Expr | None) -> str:
    if value is None:
        return ""
    products = " + ".join(f"{number_text(up)} * {number_text(loc)}" for _, up, loc in terms)
    return f"= {products} = {number_text(value)}" if products else f"= {number_text(value)}"


def _answer_lines(r: StudentBackward) -> list[str]:
    out: list[str] = []
    edges = [e for e in r.edges if e.on_path]
    if edges:
        out.append(f"Local gradients, from {r.output} back to {r.wrt}")
        out += _grid([[f"{e.name} = {e.right}", f"= {number_text(e.right_value)}"] for e in edges])
        out.append("")
    marks = _marks(r)
    if r.backward:
        out.append("Backward pass (chain rule)")
        rows = []
        for b in r.backward:
            names = " + ".join(f"d {r.output} / d {c} * d {c} / d {b.node}" for c, _, _ in b.right_terms)
            rows.append([f"d {r.output} / d {b.node} = {names}", _products(b.right_terms, b.right_value),
                         marks.get(b.node, "")])
        out += _grid(rows)
        out.append("")
    out.append("Your answer beside the right one")
    # explain's last line: the teacher's reference, else a readable rewriting (readable.py).
    right = "" if r.right_result is None else f"{r.right_result[0]} = {number_text(r.right_result[1])}"
    mine = r.answer if r.answer_value is None else f"{r.answer} = {number_text(r.answer_value)}"
    out += _grid([["", "right", "yours"], [r.label, right, str(mine)]])
    verdict = f"{r.verdict} ({r.diagnosis})" if r.diagnosis else r.verdict
    out += ["", f"Verdict: {verdict}. {r.feedback}".rstrip()]
    if r.passed:
        return out
    out.append("")
    if not r.searched:
        out.append("The graph is too deep to search for single slips; the grader's reading "
                   "above is all there is.")
    elif not r.readings and r.points == 1:
        out.append("Where your answer parts from the right backward pass: one number cannot "
                   "say (it agrees with many slips by coincidence); the grader's reading is above.")
    elif not r.readings:
        out.append("Where your answer parts from the right backward pass: no single slip on the "
                   "graph reproduces it (not a missing path, term or product-rule term, an "
                   "activation's value, one wrong local gradient, nor the chain rule with one "
                   "factor left out)" + (f"; the grader's reading ({r.diagnosis}) is above."
                                         if r.diagnosis else "."))
    else:
        n = len(r.readings)
        head = WORDS.get(n, f"{n} readings fit")
        first = r.readings[0]
        out.append(f"Where your answer parts from the right backward pass, from the output back "
                   f"(first: {_place(first.where)}). {head}"
                   + (": each could be what happened." if n > 1 else "."))
        out += [f"  {i}. {_place(x.where)} ({x.kind}): {x.text}" for i, x in enumerate(r.readings, 1)]
        if r.points == 1:
            out.append("  (One number is compared: a reading that fits it may be a coincidence.)")
    return out


def _marks(r: StudentBackward) -> dict[str, str]:
    """``<- 1. d a / d z (activation)`` on the backward pass row each reading first changes:
    an edge's input; the node a fork's paths meet at; the row below a stage whose term or
    product-rule factor is missing (the output's: the first row)."""
    rows = [b.node for b in r.backward]
    marks: dict[str, list[str]] = {}
    for i, x in enumerate(r.readings, 1):
        if not rows:
            break
        first = x.where.split(", ")[0]
        node = first.split(" / d ")[-1] if first.startswith("d ") else first
        if x.kind in ("product", "term") and node in rows:
            node = rows[min(rows.index(node) + 1, len(rows) - 1)]
        if node not in rows:
            node = rows[0]
        marks.setdefault(node, []).append(f"{i}. {_place(x.where)} ({x.kind})")
    return {n: "<- " + "; ".join(m) for n, m in marks.items()}


def _place(where: str) -> str:
    """An edge as it is (``d h / d z``), a node or stage as ``at h``."""
    return where if where.startswith("d ") else f"at {where}"


def _grid(rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart, trailing blanks cut."""
    width = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, width, strict=True)).rstrip()
            for row in rows]


def student_backward_json(r: StudentBackward) -> str:
    """The result as JSON (keys in a fixed order, same input same bytes)."""
    return json.dumps(r.to_dict(), indent=2, ensure_ascii=False) + "\n"


def explanation_json(e: Explanation) -> str:
    """An explanation as JSON: the forward pass, local gradients, backward pass, result."""
    def value(v: sympy.Expr) -> float | str:
        shown = number_text(v)
        try:
            return float(shown)
        except ValueError:
            return shown

    data = {
        "problem": e.problem, "label": e.label, "point": {n: value(v) for n, v in e.point},
        "forward": [{"stage": f.name, "formula": f.formula, "value": value(f.value)} for f in e.forward],
        "local": [{"edge": g.name, "formula": g.formula, "value": value(g.value)} for g in e.local],
        "backward": [{"node": b.node, "gradient": f"d {e.output} / d {b.node}",
                      "terms": [{"from": c, "upstream": value(u), "local": value(lv)}
                                for c, u, lv in b.terms], "value": value(b.value)}
                     for b in e.backward],
        "result": {"formula": e.result.formula, "value": value(e.result.value)},
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
