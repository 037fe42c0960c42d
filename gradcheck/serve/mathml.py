"""Math for the page: statements (Markdown + LaTeX) and answers as MathML, sanitized.

Statements are Markdown (markdown-it-py, CommonMark, raw HTML off) whose ``$...$`` and
``$$...$$`` are converted by latex2mathml: both are small, pure Python, maintained, and
need no JavaScript or CDN (MathML is rendered by the browser itself). Formulas a student
typed are printed by SymPy's MathML printer only after gradcheck's whitelist parser read
them over the problem's declared names (``gradcheck.report.grades_html.math_html``).

Neither printer escapes text (latex2mathml passes ``\\text{<script>}`` through, SymPy
prints a symbol name as it is), so every piece of MathML goes through ``sanitize``: an
allow-list of MathML elements and attributes, rebuilt from a parse, text escaped.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from html.parser import HTMLParser

__all__ = ["MATHML_ELEMENTS", "answer_math", "latex_math", "render_statement", "sanitize"]

MATHML_ELEMENTS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
    "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mfenced", "mtable", "mtr",
    "mtd", "mstyle", "mpadded", "mphantom", "menclose", "semantics", "annotation",
})
ATTRIBUTES = frozenset({
    "display", "mathvariant", "accent", "accentunder", "stretchy", "fence", "separator",
    "separators", "open", "close", "width", "height", "depth", "lspace", "rspace",
    "linethickness", "columnalign", "rowalign", "columnspacing", "rowspacing", "notation",
    "displaystyle", "scriptlevel", "movablelimits", "largeop", "symmetric", "form", "encoding",
})
_DROP_CONTENT = frozenset({"script", "style", "iframe", "object", "template", "svg"})
_VOID = frozenset({"mspace"})


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.dropping += 1
            return
        if self.dropping or tag not in MATHML_ELEMENTS:
            return
        kept = "".join(f' {name}="{escape(value or "", quote=True)}"' for name, value in attrs
                       if name in ATTRIBUTES and not (value or "").lower().lstrip().startswith(
                           ("javascript:", "data:")))
        if tag in _VOID:
            self.out.append(f"<{tag}{kept}/>")
            return
        self.out.append(f"<{tag}{kept}>")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self.handle_starttag(tag, attrs)
        elif tag in MATHML_ELEMENTS and not self.dropping:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in self.open:
            return
        while self.open:
            top = self.open.pop()
            self.out.append(f"</{top}>")
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.open))


def sanitize(mathml: str) -> str:
    """Only allow-listed MathML elements and attributes; all text escaped.

    >>> sanitize('<math><mtext><script>alert(1)</script>x<b>y</b></mtext></math>')
    '<math><mtext>xy</mtext></math>'
    """
    parser = _Sanitizer()
    parser.feed(mathml)
    return parser.result()


@lru_cache(maxsize=2048)
def latex_math(latex: str, display: bool = False) -> str:
    """LaTeX as sanitized MathML; LaTeX that latex2mathml cannot read is shown as escaped code."""
    from latex2mathml.converter import convert

    try:
        mathml = convert(latex, display="block" if display else "inline")
    except Exception:  # a converter failure shows the source, it never breaks the page
        return f"<code>{escape(latex)}</code>"
    return sanitize(mathml)


def render_statement(markdown: str) -> str:
    """A problem statement (Markdown with LaTeX between dollars) as HTML with MathML."""
    return _statement(markdown)


@lru_cache(maxsize=256)
def _statement(markdown: str) -> str:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": False}).use(
        dollarmath_plugin, double_inline=True,
        renderer=lambda text, options: latex_math(text, bool(options.get("display_mode"))))
    # Links and images only to this server: a page never makes a request off the host.
    md.validateLink = _same_site  # type: ignore[method-assign]
    return md.render(markdown)


def _same_site(url: str) -> bool:
    return url.startswith(("#", "/")) and not url.startswith("//")


def answer_math(text: str | None, names: tuple[str, ...]) -> str:
    """A formula the grader produced (``understood_as``, ``expected``) as MathML when it parses
    over the problem's names, else as escaped code."""
    from gradcheck.report.grades_html import math_html

    html = math_html(text, names)
    return sanitize(html) if html.startswith("<math") else html
