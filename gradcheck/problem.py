"""The problem model: frozen dataclasses, built only by the loader.

A problem is a set of scalar symbols (each with an optional value and a domain),
an ordered computational graph of named stages, and questions that ask for a
derivative of a stage (or expression) with respect to a symbol or a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sympy

from gradcheck.tolerances import Tolerance

Kind = Literal["expression", "value"]
DIAGNOSES = ("sign", "factor", "chain", "wrt", "forward", "extra-symbol", "path", "term",
             "product", "activation", "edge", "value", "plugged", "rounding", "given-point", "zero",
             "extra-gradient", "stale")
DEFAULT_DOMAIN = (-2.0, 2.0)


def sym(name: str) -> sympy.Symbol:
    """The SymPy symbol for a problem name; always real so |x| differentiates to sign(x)."""
    return sympy.Symbol(name, real=True)


@dataclass(frozen=True)
class SymbolSpec:
    """An input of the problem.

    ``shape`` is () for a scalar; an array problem's entries are scalar symbols too
    (see gradcheck.arrays.model).
    """

    name: str
    value: float | None = None
    domain: tuple[float, float] = DEFAULT_DOMAIN
    description: str = ""
    shape: tuple[int, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionDef:
    """A function the problem declares: ``name(args) = body`` ([functions] in the file).

    ``function`` is the ``sympy.Lambda``; expressions that call it are expanded when read.
    """

    name: str
    args: tuple[str, ...]
    body: str
    function: sympy.Lambda


@dataclass(frozen=True)
class Stage:
    """One node of the computational graph: ``name = expr`` over symbols and earlier stages."""

    name: str
    expr: sympy.Expr
    text: str


@dataclass(frozen=True)
class AnswerTest:
    """An answer the grader must accept or reject (a question test)."""

    answer: str
    expect: Literal["accept", "reject"]
    diagnosis: str | None = None
    feedback: str | None = None  # the teacher's words for an answer equivalent to this one


@dataclass(frozen=True)
class Question:
    """Asks for d^order(of) / d(wrt...): a formula (kind expression) or a number (kind value)."""

    id: str
    of: str
    of_expr: sympy.Expr
    wrt: tuple[str, ...]
    kind: Kind = "expression"
    answer: str | None = None
    prompt: str = ""
    tolerance: Tolerance | None = None
    tests: tuple[AnswerTest, ...] = ()
    points: float = 1
    """What a right answer earns in the gradebook (``gradcheck.gradebook``)."""

    @property
    def order(self) -> int:
        return len(self.wrt)

    @property
    def label(self) -> str:
        """``d loss / d w`` (or ``d2 loss / d w d x``) for messages and reports."""
        top = "d" if self.order == 1 else f"d{self.order}"
        wrapped = self.of.startswith("(") and self.of.endswith(")")
        of = self.of if self.of.isidentifier() or wrapped else f"({self.of})"
        return f"{top} {of} / " + " ".join(f"d {w}" for w in self.wrt)


@dataclass(frozen=True)
class Problem:
    """One problem file, validated."""

    id: str
    title: str
    path: str
    symbols: tuple[SymbolSpec, ...]
    stages: tuple[Stage, ...] = ()
    questions: tuple[Question, ...] = ()
    source: str = ""
    statement: str = ""
    tolerance: Tolerance | None = None
    hide_expected: bool = False  # keep the truth out of student-facing feedback
    functions: tuple[FunctionDef, ...] = ()
    # Vectors and matrices: the array model (gradcheck.arrays.model.ArrayModel); ``symbols`` are then
    # its free entries and ``questions`` ask for whole arrays. None for a scalar problem.
    arrays: Any = None

    @property
    def symbol_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.symbols)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def symbol(self, name: str) -> SymbolSpec:
        for spec in self.symbols:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        known = ", ".join(q.id for q in self.questions)
        raise KeyError(f"problem {self.id!r} has no question {question_id!r}; its questions are {known}")

    def names(self) -> dict[str, sympy.Basic]:
        """Every name an expression in this problem may use, for the parser.

        Symbols and stages map to their symbol, a symbol's aliases to that symbol, and a
        declared function to its ``sympy.Lambda``.
        """
        names: dict[str, sympy.Basic] = {n: sym(n) for n in (*self.symbol_names, *self.stage_names)}
        for spec in self.symbols:
            names.update({alias: sym(spec.name) for alias in spec.aliases})
        names.update({f.name: f.function for f in self.functions})
        return names

    @property
    def given_point(self) -> dict[str, float] | None:
        """The symbols' values, or None when any symbol has none."""
        if any(s.value is None for s in self.symbols):
            return None
        return {s.name: float(s.value) for s in self.symbols if s.value is not None}
