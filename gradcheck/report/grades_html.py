"""The HTML report of a graded batch: one self-contained file, math as MathML.

Nothing is loaded from the network: inline CSS, inline SVG charts, one inline script
(the filters), system fonts. Each row is one compact block (student, question,
verdict and diagnosis on one line; answer, reading, expected and feedback below),
each formula in its own horizontally scrolling box, so nothing squeezes a column.

Only whitelisted text reaches the page unescaped. SymPy's MathML printer does not
escape text, so a formula is printed only after gradcheck's whitelist parser has
read it again over the problem's declared names (validated by the loader), and the
printed MathML is then checked against a table of tags before it is used; anything
else (student ids, raw answers, feedback, formulas that do not parse) goes through
``html.escape``.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from functools import lru_cache
from html import escape
from typing import TextIO

from gradcheck.batch import BatchReport
from gradcheck.gradebook import Gradebook, format_percent, format_points, gradebook
from gradcheck.problem import DIAGNOSES
from gradcheck.report.charts import bar_chart
from gradcheck.report.grades import (
    DEFAULT_OPTIONS,
    UNREADABLE,
    RenderOptions,
    clip,
    decision_text,
    gradebook_rows,
    report_gradebook,
    summary_line,
    unreadable,
)
from gradcheck.verdict import VERDICTS, Counts, GradeResult

__all__ = ["answer_html", "math_html", "names_in", "render_html", "render_student_pages", "report_fragment",
           "safe_mathml", "student_file_name", "write_html"]

FORMULA_SHOWN = 2000  # a longer formula is shown cut, as text (answers are at most 2000 long)
FEEDBACK_SHOWN = 1000  # feedback is a sentence or two; one that quotes a long answer is cut
FRAGMENT_ROWS = 50  # rows shown by a notebook's view of a batch

CSS = """
.gc { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; }
body.gc { margin: 0; }
.gc main { padding: 0 1.5em 2em; max-width: 1800px; }
.gc h1 { font-size: 1.3em; margin: 0; }
.gc h2 { font-size: 1.15em; margin: 1.4em 0 .5em; }
.gc h3 { font-size: 1em; margin: 0 0 .3em; font-family: ui-monospace, monospace; font-weight: 600; }
.gc .summary { position: sticky; top: 0; z-index: 2; background: #fafafa; padding: .6em 1.5em;
  border-bottom: 1px solid #ddd; display: flex; flex-wrap: wrap; gap: .4em 1.5em;
  align-items: center; }
.gc .counts { margin: 0; }
.gc .badge { display: inline-block; padding: 0 .5em; border-radius: .7em; font-size: .85em;
  font-weight: 600; white-space: nowrap; }
.gc .pass .badge, .gc .badge.pass { background: #d7f0de; color: #135d2b; }
.gc .fail .badge, .gc .badge.fail { background: #fbdada; color: #8a1414; }
.gc .invalid .badge, .gc .badge.invalid { background: #fbeec7; color: #6b4b00; }
.gc .error .badge, .gc .badge.error { background: #e4e4e4; color: #333; }
.gc .settings { color: #555; font-size: .85em; }
.gc .filters { display: flex; flex-wrap: wrap; gap: .3em 1em; font-size: .9em; }
.gc .filters select { max-width: 18em; }
.gc .scroll { overflow-x: auto; max-width: 100%; }
.gc table { border-collapse: collapse; font-size: .9em; }
.gc th, .gc td { border: 1px solid #ddd; padding: .2em .5em; text-align: left; white-space: nowrap; }
.gc th { background: #f3f3f3; font-weight: 600; }
.gc td.n { text-align: right; font-variant-numeric: tabular-nums; }
.gc #students tr > :first-child { position: sticky; left: 0; background: #fff; }
.gc #students tr > :last-child { position: sticky; right: 0; background: #fff;
  box-shadow: -3px 0 0 #ddd; }
.gc #students tr > :first-child { box-shadow: 3px 0 0 #ddd; }
.gc #students th:first-child, .gc #students th:last-child { background: #f3f3f3; }
.gc .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(290px, 1fr));
  gap: 1em; }
.gc figure { margin: 0; padding: .6em; border: 1px solid #e3e3e3; border-radius: 6px; }
.gc figcaption { font-size: .85em; color: #555; }
.gc .row { border: 1px solid #e3e3e3; border-left: 5px solid #bbb; border-radius: 4px;
  margin: .45em 0; padding: .3em .6em; }
.gc .row.pass { border-left-color: #2e9e50; } .gc .row.fail { border-left-color: #d33; }
.gc .row.invalid { border-left-color: #d9a400; } .gc .row.error { border-left-color: #888; }
.gc .head { display: flex; flex-wrap: wrap; gap: .2em 1em; align-items: baseline; }
.gc .rowno { color: #777; font-variant-numeric: tabular-nums; min-width: 3em; }
.gc .student { font-weight: 600; }
.gc .question { font-family: ui-monospace, monospace; font-size: .9em; }
.gc .diagnosis { color: #8a1414; font-size: .9em; }
.gc .body { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: .1em 1em;
  margin-top: .2em; }
.gc .field { min-width: 0; }
.gc .label { display: block; font-size: .75em; color: #666; text-transform: uppercase;
  letter-spacing: .03em; }
.gc .formula { overflow-x: auto; white-space: nowrap; padding: .1em 0 .2em; }
.gc .formula code { white-space: pre; }
.gc .feedback { grid-column: 1 / -1; overflow-wrap: break-word; }
.gc .feedback .label { display: inline; margin-right: .6em; }
.gc .feedback .decided { color: #666; font-size: .85em; }
.gc code { font-family: ui-monospace, monospace; font-size: .9em; }
.gc math { font-size: 1.1em; }
.gc .empty { color: #999; }
@media (max-width: 800px) { .gc .body { grid-template-columns: minmax(0, 1fr); } }
"""

SCRIPT = """
(function () {
  var pick = {verdict: document.getElementById('f-verdict'),
              question: document.getElementById('f-question'),
              student: document.getElementById('f-student')};
  var rows = document.querySelectorAll('#answers .row');
  var shown = document.getElementById('shown');
  function apply() {
    var n = 0;
    rows.forEach(function (row) {
      var ok = Object.keys(pick).every(function (k) {
        return !pick[k] || !pick[k].value || row.dataset[k] === pick[k].value;
      });
      row.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = n + ' of ' + rows.length + ' rows shown';
  }
  Object.keys(pick).forEach(function (k) { if (pick[k]) { pick[k].addEventListener('change', apply); } });
  apply();
})();
"""

# The MathML SymPy's presentation printer writes; anything else is shown as text.
MATHML_TAGS = frozenset({"math", "mrow", "mi", "mn", "mo", "mfrac", "msup", "msub", "msubsup",
                         "msqrt", "mroot", "mtext", "mspace", "mstyle", "mpadded", "mphantom",
                         "mover", "munder", "munderover", "mtable", "mtr", "mtd"})
_TAG = re.compile(r'<(/?)([a-z]+)((?:\s+[a-z][a-z-]*="[^"<>&]*")*)\s*(/?)>')
_ENTITY = re.compile(r"&(?:[A-Za-z]+|#[0-9]+|#x[0-9A-Fa-f]+);")


def render_html(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """The whole report as one self-contained HTML document."""
    out = io.StringIO()
    write_html(report, out, options)
    return out.getvalue()


def write_html(report: BatchReport, out: TextIO, options: RenderOptions = DEFAULT_OPTIONS) -> None:
    """``render_html``'s page, written to ``out`` with memory flat in the rows.

    Two passes over ``report.results``: the first builds what comes before the answers (the
    gradebook, the filters' choices, each question's counts), the second writes the answers
    one by one. What is held grows with the students and questions, never with the rows.
    """
    tallies = _Tallies()
    if report.questions:  # the gradebook reads the rows once, and the tallies see them pass
        book = gradebook(report.questions, tallies.see(report.results), options.attempts)
    else:
        book = report_gradebook(report, options.attempts)
        for _ in tallies.see(report.results):
            pass
    head, tail = _page_parts("gradcheck grade report",
                             _summary(report, filters=True, choices=tallies.choices()),
                             script=True)
    out.write(head)
    out.write(_students_section(book) + "\n" + _questions_figures(tallies.questions) + "\n")
    _write_answers(report, out)
    out.write(tail)


class _Tallies:
    """What the page shows before its rows, gathered in one pass: the filters' questions and
    students (in order of first appearance), and each question's verdicts and diagnoses."""

    def __init__(self) -> None:
        self.questions: dict[str, tuple[dict[str, int], dict[str | None, int]]] = {}
        self.students: dict[str, None] = {}

    def see(self, results: Iterable[GradeResult]) -> Iterator[GradeResult]:
        for r in results:
            key = _question(r)
            tally = self.questions.get(key)
            if tally is None:
                tally = self.questions[key] = (dict.fromkeys(VERDICTS, 0), {})
            verdicts, diagnoses = tally
            verdicts[r.verdict] += 1
            if r.verdict == "fail":
                diagnoses[r.diagnosis] = diagnoses.get(r.diagnosis, 0) + 1
            self.students[_student(r)] = None
            yield r

    def choices(self) -> tuple[list[str], list[str]]:
        return list(self.questions), list(self.students)


def render_student_pages(report: BatchReport,
                         options: RenderOptions = DEFAULT_OPTIONS) -> dict[str, str]:
    """One page per student (file name -> HTML), ready to hand back, and ``index.html``.

    A student's page holds only that student's rows and grades: no other student's
    name, answer or count, and no expected formula or value of a problem that hides
    them (``BatchReport.hidden``). File names come from ``student_file_name``.
    """
    book = report_gradebook(report, options.attempts)
    pages: dict[str, str] = {}
    links = []
    for grades in book.students:
        name = student_file_name(grades.student, pages)
        theirs = tuple(_for_student(r, report.hidden) for r in report.results
                       if r.student == grades.student)
        own = replace(report, results=theirs, counts=Counts.of(r.verdict for r in theirs))
        own_book = replace(book, students=(grades,), unreadable=())
        percent = format_percent(grades.percent)
        total = (f'<p class="total"><strong>{format_points(grades.total)} of '
                 f"{format_points(grades.maximum)} points</strong>"
                 + (f" ({percent}%)" if percent else "") + "</p>")
        pages[name] = _page(f"gradcheck: {grades.student}", _summary(own, filters=False,
                            title=f"Grades of {grades.student}"),
                            [total + _students_section(own_book, title="Grade"),
                             _answers_section(own)], script=False)
        links.append(f'<li><a href="{escape(name)}">{escape(grades.student)}</a></li>')
    index = ("<section><h2>Students</h2><p>One page per student, to hand back.</p>"
             f"<ul>{''.join(links)}</ul></section>")
    pages["index.html"] = _page("gradcheck grade report: students",
                                _summary(report, filters=False), [index], script=False)
    return pages


def _for_student(r: GradeResult, hidden: Sequence[str]) -> GradeResult:
    """A result as its student may see it: without the truth where the problem hides it."""
    return replace(r, expected=None, evidence=()) if r.problem in hidden else r


def student_file_name(student: str, taken: Iterable[str] = ()) -> str:
    """A safe, unique file name for a student's page: the id when it is plain, else a
    cleaned id plus a short hash of the real one (``o_brien-1a2b3c4d.html``).

    >>> student_file_name("ada"), student_file_name("O'Brien")
    ('ada.html', 'O_Brien-e6e62496.html')
    """
    used = {t.lower() for t in taken}
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._")[:60] or "student"
    if stem != student or f"{stem}.html".lower() in used or stem.lower() == "index":
        stem = f"{stem}-{hashlib.sha256(student.encode()).hexdigest()[:8]}"
    return f"{stem}.html"


def report_fragment(report: BatchReport, options: RenderOptions = DEFAULT_OPTIONS,
                    most: int = FRAGMENT_ROWS) -> str:
    """The report as an HTML fragment (a notebook's ``_repr_html_``): summary, gradebook,
    the first ``most`` rows."""
    shown = replace(report, results=report.results[:most])
    more = len(report.results) - len(shown.results)
    tail = f'<p class="empty">... and {more} more rows (render_html has them all)</p>' if more else ""
    return (f'<div class="gc"><style>{CSS}</style>' + _summary(report, filters=False, sticky=False)
            + _students_section(report_gradebook(report, options.attempts))
            + _answers_section(shown) + tail + "</div>")


def answer_html(r: GradeResult, names: Iterable[str] = ()) -> str:
    """One graded answer as an HTML fragment (``GradeResult._repr_html_``)."""
    return f'<div class="gc"><style>{CSS}</style>{_row(r, tuple(names))}</div>'


# ---- page parts -----------------------------------------------------------------------------


def _page(title: str, summary: str, sections: Sequence[str], *, script: bool) -> str:
    head, tail = _page_parts(title, summary, script=script)
    return head + "\n".join(sections) + tail


def _page_parts(title: str, summary: str, *, script: bool) -> tuple[str, str]:
    """The page before its sections and after them."""
    js = f"<script>{SCRIPT}</script>\n" if script else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
            f"<body class=\"gc\">\n{summary}\n<main>\n",
            f"\n</main>\n{js}</body>\n</html>\n")


def _summary(report: BatchReport, *, filters: bool, title: str = "gradcheck grade report",
             sticky: bool = True, choices: tuple[list[str], list[str]] | None = None) -> str:
    badges = " ".join(f'<span class="badge {v}">{n} {v}</span>' for v, n in report.counts.items())
    parts = [f"<h1>{escape(title)}</h1>",
             f'<p class="counts">{len(report.results)} rows {badges}</p>',
             f'<span class="settings">{escape(_settings(report))}</span>']
    if filters:
        if choices is None:
            choices = (list(dict.fromkeys(_question(r) for r in report.results)),
                       list(dict.fromkeys(_student(r) for r in report.results)))
        parts.append(_filters(report, *choices))
    tag = "header" if sticky else "div"
    return f'<{tag} class="summary">' + "".join(parts) + f"</{tag}>"


def _settings(report: BatchReport) -> str:
    line = summary_line(report)
    return line[line.index("(") + 1:-1] if "(" in line else line


def _filters(report: BatchReport, questions: list[str], students: list[str]) -> str:
    return ('<form class="filters" onsubmit="return false">'
            + _select("f-verdict", "verdict", [v for v in VERDICTS if report.counts[v]])
            + _select("f-question", "question", list(questions))
            + _select("f-student", "student", list(students))
            + f'<span id="shown">{len(report.results)} rows</span></form>')


def _select(ident: str, label: str, values: Sequence[str]) -> str:
    options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return (f'<label>{label} <select id="{ident}"><option value="">all</option>'
            f"{options}</select></label>")


def _students_section(book: Gradebook, title: str = "Students") -> str:
    """The gradebook: the very cells of the CSV (``gradebook_rows``), as a table."""
    rows = gradebook_rows(book)
    head = "".join(f"<th>{escape(h)}</th>" for h in rows[0])
    body = []
    for row in rows[1:]:
        cells = [f"<td>{escape(row[0])}</td>"]
        cells += [f'<td class="n">{escape(c)}</td>' for c in row[1:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = (f"<p>Points per question (a right answer earns the question's points), the "
            f"{escape(book.attempts)} attempt counting; the maximum is every question of the "
            "bank, attempted or not. An empty cell: not attempted.</p>")
    return (f'<section id="students"><h2>{escape(title)}</h2>{note}<div class="scroll"><table>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div></section>')


def _questions_figures(groups: dict[str, tuple[dict[str, int], dict[str | None, int]]]) -> str:
    """A figure per question (``_Tallies.questions``): its verdicts, and its failing answers'
    diagnoses."""
    figures = []
    for key, (counts, diagnosed) in groups.items():
        total = sum(counts.values())
        verdict_bars = bar_chart([(v, counts[v]) for v in VERDICTS], f"verdicts for {key}",
                                 classes=VERDICTS)
        fails = counts["fail"]
        diagnoses = [(d, diagnosed.get(d, 0)) for d in DIAGNOSES]
        diagnoses.append(("none", diagnosed.get(None, 0)))
        shown = [(d, n) for d, n in diagnoses if n]
        diagnosis_bars = (f"<figcaption>diagnoses of the {_answers(fails, 'failing ')}"
                          "</figcaption>"
                          + bar_chart(shown, f"diagnoses of the failing answers to {key}")
                          if shown else "<figcaption>no failing answers</figcaption>")
        passed = f"{100 * counts['pass'] / total:.0f}%"
        figures.append(f"<figure><h3>{_breakable(key)}</h3><figcaption>{_answers(total)}, "
                       f"{passed} passed</figcaption>{verdict_bars}{diagnosis_bars}</figure>")
    return (f'<section id="questions"><h2>Questions</h2><div class="charts">{"".join(figures)}'
            "</div></section>")


def _answers(n: int, kind: str = "") -> str:
    return f"{n} {kind}answer{'' if n == 1 else 's'}"


def _breakable(key: str) -> str:
    """``problem/question`` that may wrap after the slash, never inside a name."""
    problem, slash, question = key.partition("/")
    if not slash:
        return escape(key)
    return f"<span>{escape(problem)}/</span><wbr><span>{escape(question)}</span>"


def _answers_section(report: BatchReport) -> str:
    out = io.StringIO()
    _write_answers(report, out)
    return out.getvalue()


def _write_answers(report: BatchReport, out: TextIO) -> None:
    """The answers section, a row at a time."""
    names = dict(report.names)
    out.write('<section id="answers"><h2>Answers</h2>\n')
    separator = ""
    for r in report.results:
        out.write(separator + _row(r, names.get(r.problem, ())))
        separator = "\n"
    out.write('\n</section>')


def _row(r: GradeResult, names: Iterable[str]) -> str:
    allowed = tuple(names)
    row = "" if r.row is None else f"#{r.row}"
    head = (f'<div class="head"><span class="rowno">{row}</span>'
            f'<span class="student">{escape(_student(r))}</span>'
            f'<span class="question">{escape("" if unreadable(r) else _question(r))}</span>'
            f'<span class="badge">{escape(r.verdict)}</span>'
            f'<span class="diagnosis">{escape(r.diagnosis or "")}</span></div>')
    fields = [("answer", f"<code>{escape(clip(r.answer))}</code>"),
              ("understood as", math_html(r.understood_as, allowed)),
              ("expected", math_html(r.expected, allowed))]
    body = "".join(f'<div class="field"><span class="label">{label}</span>'
                   f'<div class="formula">{value or _EMPTY}</div></div>' for label, value in fields)
    decided = ("" if r.decision is None else
               f' <span class="decided">(decided: {escape(decision_text(r.decision))})</span>')
    body += (f'<div class="field feedback"><span class="label">feedback</span>'
             f"{escape(clip(r.feedback, FEEDBACK_SHOWN))}{decided}</div>")
    data = (f'data-verdict="{escape(r.verdict)}" data-question="{escape(_question(r))}" '
            f'data-student="{escape(_student(r))}"')
    return (f'<article class="row {escape(r.verdict)}" {data}>{head}'
            f'<div class="body">{body}</div></article>')


_EMPTY = '<span class="empty">-</span>'


def _student(r: GradeResult) -> str:
    return UNREADABLE if unreadable(r) else r.student or "(no student)"


def _question(r: GradeResult) -> str:
    return UNREADABLE if unreadable(r) else f"{r.problem}/{r.question}"


# ---- math -----------------------------------------------------------------------------------


def names_in(*texts: str | None) -> tuple[str, ...]:
    """The plain identifiers of gradcheck's own formula text that may be printed as symbols
    (not functions, constants or reserved words): for a result shown without its problem.

    >>> names_in("2*x*(w*x - y)", "exp(-x) + pi")
    ('w', 'x', 'y')
    """
    from gradcheck.loader import NAME_RE, RESERVED
    from gradcheck.parsing import FUNCTIONS

    found = {word for text in texts if text for word in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text)}
    return tuple(sorted(n for n in found if NAME_RE.match(n) and n not in FUNCTIONS
                        and n not in RESERVED and not n.startswith("_")))


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
    return _math_html(text, tuple(sorted(set(names))))


@lru_cache(maxsize=4096)
def _math_html(text: str, names: tuple[str, ...]) -> str:
    """``math_html`` of a formula a class repeats: printed and checked once."""
    mathml = _mathml(text, names)
    if mathml and safe_mathml(mathml):
        return f'<math display="inline">{mathml}</math>'
    return f"<code>{escape(text)}</code>"


def safe_mathml(markup: str) -> bool:
    """True when ``markup`` is only MathML tags of MATHML_TAGS, quoted plain attributes
    (no event handlers), entities, and text without markup characters.

    >>> safe_mathml('<mrow><mi>x</mi><mo>&InvisibleTimes;</mo></mrow>')
    True
    >>> safe_mathml('<mi><script>alert(1)</script></mi>'), safe_mathml('<mi onclick="f()">x</mi>')
    (False, False)
    """
    position = 0
    for tag in _TAG.finditer(markup):
        if not _plain(markup[position:tag.start()]) or tag.group(2) not in MATHML_TAGS:
            return False
        if re.search(r"\son", tag.group(3)):
            return False
        position = tag.end()
    return _plain(markup[position:])


def _plain(text: str) -> bool:
    return "<" not in text and ">" not in text and "&" not in _ENTITY.sub("", text)


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
