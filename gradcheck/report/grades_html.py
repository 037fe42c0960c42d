"""The HTML report of a graded batch: one self-contained file, math as MathML.

Nothing is loaded from the network (inline CSS, no scripts). SymPy's MathML printer
does not escape text, so formulas are printed only after being parsed again by
gradcheck's whitelist parser over the problem's declared names (validated by the
loader); anything else (student ids, raw answers, feedback, formulas that do not
parse) goes through ``html.escape``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from html import escape

from gradcheck.batch import BatchReport
from gradcheck.report.grades import UNREADABLE, clip, summary_line, unreadable
from gradcheck.verdict import VERDICTS, GradeResult

__all__ = ["math_html", "render_html"]

FORMULA_SHOWN = 2000  # a longer formula is shown cut, as text (answers are at most 2000 long)
FEEDBACK_SHOWN = 1000  # feedback is a sentence or two; one that quotes a long answer is cut

CSS = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #f3f3f3; } td.n { text-align: right; overflow-wrap: normal; }
code { white-space: pre-wrap; overflow-wrap: anywhere; }
.pass { background: #e6f4ea; } .fail { background: #fde8e8; }
.invalid { background: #fff4d6; } .error { background: #ececec; }
math { font-size: 1.1em; }
"""


def render_html(report: BatchReport) -> str:
    """The whole report as one HTML document."""
    names = dict(report.names)
    body = [
        "<h1>gradcheck grade report</h1>",
        f"<p>{escape(summary_line(report))}</p>",
        "<h2>Students</h2>", _summary_table("student", _by(report.results, _student)),
        "<h2>Questions</h2>", _summary_table("question", _by(report.results, _question)),
        "<h2>Answers</h2>", _rows_table(report.results, names),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>gradcheck grade report</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _student(r: GradeResult) -> str:
    return UNREADABLE if unreadable(r) else r.student or "(no student)"


def _question(r: GradeResult) -> str:
    return UNREADABLE if unreadable(r) else f"{r.problem}/{r.question}"


def _by(results: Iterable[GradeResult], key: Callable[[GradeResult], str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r.verdict)
    return groups


def _summary_table(what: str, groups: Mapping[str, list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in (what, "rows", *VERDICTS, "passed"))
    lines = [f"<table>\n<tr>{head}</tr>"]
    for name, verdicts in groups.items():
        counts = "".join(f'<td class="n">{verdicts.count(v)}</td>' for v in VERDICTS)
        share = f"{100 * verdicts.count('pass') / len(verdicts):.0f}%"
        lines.append(f'<tr><td>{escape(name)}</td><td class="n">{len(verdicts)}</td>{counts}'
                     f'<td class="n">{share}</td></tr>')
    return "\n".join(lines) + "\n</table>"


def _rows_table(results: Iterable[GradeResult], names: Mapping[str, tuple[str, ...]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("row", "student", "question", "verdict", "diagnosis",
                                             "answer", "understood as", "expected", "feedback"))
    lines = [f"<table>\n<tr>{head}</tr>"]
    for r in results:
        allowed = names.get(r.problem, ())
        cells = [
            escape(str(r.row if r.row is not None else "")), escape(r.student or ""),
            escape("" if unreadable(r) else _question(r)), escape(r.verdict),
            escape(r.diagnosis or ""), f"<code>{escape(clip(r.answer))}</code>",
            math_html(r.understood_as, allowed), math_html(r.expected, allowed),
            escape(clip(r.feedback, FEEDBACK_SHOWN)),
        ]
        lines.append(f'<tr class="{r.verdict}">' + "".join(f"<td>{c}</td>" for c in cells)
                     + "</tr>")
    return "\n".join(lines) + "\n</table>"


def math_html(text: str | None, names: Iterable[str]) -> str:
    """``text`` as MathML when it parses over ``names``; otherwise as escaped code.

    >>> math_html("2*x", ("x",))
    '<math display="inline"><mrow><mn>2</mn><mo>&InvisibleTimes;</mo><mi>x</mi></mrow></math>'
    >>> math_html("<script>", ("x",))
    '<code>&lt;script&gt;</code>'
    """
    if text is None:
        return ""
    if len(text) > FORMULA_SHOWN:  # longer than any answer may be: (cut) text, not math
        return f"<code>{escape(clip(text))}</code>"
    mathml = _mathml(text, tuple(sorted(set(names))))
    return f'<math display="inline">{mathml}</math>' if mathml else f"<code>{escape(text)}</code>"


@lru_cache(maxsize=4096)
def _mathml(text: str, names: tuple[str, ...]) -> str | None:
    from sympy.printing.mathml import mathml

    from gradcheck.errors import ExpressionError
    from gradcheck.loader import NAME_RE
    from gradcheck.parsing import parse_expression
    from gradcheck.problem import sym

    safe = [n for n in names if NAME_RE.match(n)]  # the loader checked them; check again
    try:
        expr = parse_expression(text, {n: sym(n) for n in safe})
    except ExpressionError:
        return None
    except Exception:  # a formula SymPy chokes on is shown as text, never breaks the report
        return None
    return str(mathml(expr, printer="presentation"))
