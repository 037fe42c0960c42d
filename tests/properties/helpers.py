"""In-memory problems for the property tests: one stage f, its first and second derivatives."""

from __future__ import annotations

import sympy

from gradcheck.problem import Problem, Question, Stage, SymbolSpec, sym

X, Y = sym("x"), sym("y")
SYMBOLS = (X, Y)


def text(expr: sympy.Expr) -> str:
    """SymPy's own printing, keeping unevaluated terms in their order (what a student types)."""
    return sympy.sstr(expr, order="none")


def problem_for(expr: sympy.Expr) -> Problem:
    """A problem with the stage ``f = expr`` over x, y in [-2, 2], asking d f/dx and d2 f/(dx dy)."""
    def question(qid: str, wrt: tuple[str, ...]) -> Question:
        truth = sympy.diff(expr, *(sym(w) for w in wrt))
        return Question(id=qid, of="f", of_expr=sym("f"), wrt=wrt, answer=text(truth))

    return Problem(id="property", title="", path="<hypothesis>",
                   symbols=(SymbolSpec("x"), SymbolSpec("y")),
                   stages=(Stage("f", expr, text(expr)),),
                   questions=(question("df_dx", ("x",)), question("d2f_dxdy", ("x", "y"))))
