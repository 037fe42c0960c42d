"""Readable formulas: a question's derivative written the way the notes write it.

Wherever a derivative is shown (the ``expected`` of a graded answer, explain's last
line, ``gradcheck verify``, the reports) the student sees, in this order of preference:

1. the teacher's reference answer (``answer = "..."`` of the question), when it is
   numerically equal to the derivative;
2. otherwise the shortest of several rewritings of the derivative over the problem's
   stages and named functions: the backward pass with the stages kept as names, and the
   expanded derivative; each with stage definitions folded back into stage names,
   ``1/(1 + exp(-u))`` into ``sigmoid(u)`` (or into the stage that is that sigmoid), the
   body of a function the problem declares into its name (``Phi(z)``), ``Max(u, 0)`` into
   ``relu(u)``; each factored, cancelled, or as it is;
3. otherwise SymPy's expanded derivative (``sympy.sstr``), as before.

Every candidate of 1 and 2 is printed, read back with gradcheck's own parser, and kept
only if it equals the derivative (the compiled backward pass) at seeded random points:
a rewriting never changes what is shown, only how. The simplifications are bounded by
node counts (a count, not a clock, so the text is the same on every machine) and, as a
safety net, by a time budget that keeps the best formula found so far. Results are
cached per problem object and question.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import sympy
from sympy.printing.str import StrPrinter

from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.deadline import Timeout, deadline, paused
from gradcheck.derivation import (
    CLOSED_FORM_LIMIT,
    Target,
    derive_question,
    expand,
    needed,
    tree_size,
)
from gradcheck.errors import ExpressionError, UnsupportedFunctionError
from gradcheck.parsing import TEACHER_LIMITS, parse_expression
from gradcheck.points import draw, given, rng_for
from gradcheck.problem import Problem, Question, sym
from gradcheck.tape import build_tape

__all__ = ["TOO_LARGE", "Formula", "clear", "formula", "raw_derivative", "shown"]

Source = Literal["reference", "derived", "raw", "too-large"]
TOO_LARGE = "(too large to show as one formula: the derivative was computed stage by stage)"
BUDGET = 5.0  # seconds, a safety net: the node limits below keep the usual work far under it
STAGED_LIMIT = 2_000  # nodes of the backward pass with the adjoints substituted in
SIMPLIFY_LIMIT = 400  # nodes: larger expressions are only folded, not factored or cancelled
RAW_LIMIT = 4_000  # nodes of the expanded derivative worth rewriting at all
MAX_UNFOLDED = 8  # stages written out one at a time, in search of a cancellation
CHECK_DRAWS = 24
MIN_CHECKED = 4
RTOL = 1e-7
CACHE_SIZE = 512
BACKEND = NumpyBackend()


@dataclass(frozen=True)
class Formula:
    """A derivative as shown to a student.

    ``source``: ``reference`` (the teacher's answer), ``derived`` (a verified rewriting),
    ``raw`` (SymPy's expanded derivative) or ``too-large`` (no closed form was built).
    """

    text: str
    source: Source


_CACHE: OrderedDict[tuple[int, str, bool], tuple[Problem, Formula]] = OrderedDict()


def formula(problem: Problem, question_id: str, *, reference: bool = True) -> Formula:
    """The readable derivative of one (expression) question, cached per problem and question.

    ``reference=False`` ignores the teacher's answer (what gradcheck derives on its own;
    the linter's hint uses it, where the reference is the thing in doubt).

    Never charged to a running time limit (the budget of an answer being graded is
    paused); never raises for a formula it cannot rewrite (the raw derivative is shown).

    Raises:
        KeyError: no such question.

    >>> from gradcheck.loader import load_problem
    >>> p = load_problem("problems/backprop/sigmoid-neuron.toml")
    >>> formula(p, "dxent_dw", reference=False).text
    'x*(a - y)'
    """
    key = (id(problem), question_id, reference)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is problem:
        _CACHE.move_to_end(key)
        return hit[1]
    question = problem.question(question_id)
    with paused():
        found = _formula(problem, question, reference)
    _CACHE[key] = (problem, found)
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return found


def shown(problem: Problem, question_id: str) -> str:
    """``formula(...).text``: what a report prints as the expected derivative."""
    return formula(problem, question_id).text


def clear() -> None:
    """Forget every cached formula."""
    _CACHE.clear()


def raw_derivative(problem: Problem, target: Target) -> sympy.Expr | None:
    """SymPy's derivative over the problem's symbols (a stage asked about expanded too),
    or None when it is too large to build (see ``Target.closed_form``)."""
    full = target.closed_form("derivative")
    if full is not None and target.cut_names:
        full = (expand(problem, full) if tree_size(target.stages, full) <= CLOSED_FORM_LIMIT
                else None)
    return full


# -- choosing -----------------------------------------------------------------------------


def _formula(problem: Problem, question: Question, reference: bool) -> Formula:
    target = derive_question(problem, question)
    raw = raw_derivative(problem, target)
    fallback = (Formula(text_of(raw), "raw") if raw is not None
                else Formula(TOO_LARGE, "too-large"))
    try:
        checker = _Checker(problem, target)
    except (UnsupportedFunctionError, TypeError, ValueError, ArithmeticError):
        return fallback
    if not checker.usable:
        return fallback
    best = fallback
    try:
        with deadline(BUDGET):
            if reference and question.answer is not None and checker.equal(question.answer):
                return Formula(question.answer, "reference")
            longest = len(best.text) if raw is not None else None
            score = _score(best.text, raw) if raw is not None else None
            seen: set[str] = {best.text}
            for candidate in _candidates(problem, target, raw):
                text = text_of(candidate)
                if text in seen or (longest is not None and len(text) > longest):
                    continue
                seen.add(text)
                mine = _score(text, candidate)
                if (score is None or mine < score) and checker.equal(text):
                    best, score = Formula(text, "derived"), mine
    except Timeout:
        pass
    return best


class _Printer(StrPrinter):
    """``sympy.sstr`` with a sum's positive terms first: ``s - y``, not ``-y + s``."""

    def _as_ordered_terms(self, expr: sympy.Expr, order: str | None = None) -> list[sympy.Expr]:
        terms = super()._as_ordered_terms(expr, order=order)
        return [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]


def _negative(term: sympy.Expr) -> bool:
    """Whether a term of a sum prints with a leading minus (-3*x, -y, -1/2)."""
    coeff = term.as_coeff_Mul()[0]
    return bool(coeff.is_number and coeff.is_extended_negative)


def text_of(expr: sympy.Expr) -> str:
    """How a formula is printed: SymPy's syntax (gradcheck reads it back), positive terms first.

    >>> z, y = sympy.symbols("z y")
    >>> text_of(SIGMOID(z) - y), sympy.sstr(SIGMOID(z) - y)
    ('sigmoid(z) - y', '-y + sigmoid(z)')
    """
    return _Printer().doprint(expr)


def _score(text: str, expr: sympy.Expr) -> tuple[int, str]:
    """Shorter is better, and a product reads better than a sum of as many characters
    (``x*(a - y)`` over ``a*x - x*y``); never longer than the raw derivative (the caller)."""
    return len(text) + 2 * (len(sympy.Add.make_args(expr)) - 1), text


class _Checker:
    """Reads a candidate's text back and compares it with the compiled derivative."""

    def __init__(self, problem: Problem, target: Target) -> None:
        self.problem = problem
        self.target = target
        self.names = problem.names()
        rows = draw(problem, CHECK_DRAWS, rng_for(0, problem.id, target.question.id, "readable"))
        start = given(problem)
        if start is not None:
            rows = np.vstack([start, rows])
        if target.cut_names:
            rows = np.column_stack([rows, *BACKEND.evaluate(target.build_cut(), rows)])
        truth = BACKEND.evaluate(target.build([target.graph[2]]), rows)[0]
        keep = np.isfinite(truth) & np.all(np.isfinite(rows), axis=1)
        self.rows, self.truth = rows[keep], truth[keep]
        self.usable = len(self.truth) >= MIN_CHECKED
        self.scale = float(np.max(np.abs(self.truth))) if self.usable else 0.0

    def equal(self, text: str) -> bool:
        """Whether ``text`` (read as a teacher's formula) equals the derivative at every point."""
        try:
            parsed = parse_expression(text, self.names, limits=TEACHER_LIMITS)
            full = expand(self.problem, parsed, keep=self.target.cut_names)
            tape = build_tape([full], self.target.symbols)
            values = BACKEND.evaluate(tape, self.rows)[0]
        except (ExpressionError, UnsupportedFunctionError, TypeError, ValueError, ArithmeticError):
            return False
        if np.iscomplexobj(values) or not np.all(np.isfinite(values)):
            return False
        floor = max(self.scale * 1e-12, 1e-300)
        error = np.abs(values - self.truth) / np.maximum(np.abs(self.truth), floor)
        return bool(np.all(error <= RTOL))


# -- candidates ---------------------------------------------------------------------------


def _candidates(problem: Problem, target: Target, raw: sympy.Expr | None) -> Iterator[sympy.Expr]:
    """Rewritings of the derivative, cheapest first (the caller verifies each one)."""
    folds = _Folds(problem, target)
    bases = []
    staged = _staged(target)
    if staged is not None:
        bases.append(staged)
    if raw is not None and _nodes(raw) <= RAW_LIMIT:
        bases.append(raw)
    for base in bases:
        for named in (False, True):
            folded = folds.apply(base, named=named)
            for simplified in _simplified(folded):
                yield folds.finish(simplified)
                yield folds.finish(_tidy_signs(simplified))
    if staged is not None:
        # One stage written out can cancel against the rest (softmax: with p1 = e1/total,
        # -(1/p1)*(1/total - e1/total**2)*e1 is p1 - 1), then folds back in.
        folded = folds.apply(staged, named=False)
        for symbol in sorted(folded.free_symbols & folds.names, key=sympy.default_sort_key)[:MAX_UNFOLDED]:
            unfolded = folded.xreplace({symbol: folds.definition[symbol]})
            for simplified in _simplified(unfolded):
                yield folds.finish(_tidy_signs(simplified))


def _staged(target: Target) -> sympy.Expr | None:
    """The derivative over the symbols and the forward stages: the backward pass's adjoints
    substituted in, the stages kept as names (None when that would be too large)."""
    forward = {symbol for symbol, _ in target.stages}
    adjoints = tuple((s, e) for s, e in target.program if s not in forward)
    derivative = target.graph[2]
    if tree_size(adjoints, derivative) > STAGED_LIMIT:
        return None
    closed: dict[sympy.Basic, sympy.Expr] = {}
    for symbol, definition in needed(adjoints, [derivative]):
        closed[symbol] = definition.xreplace(closed)
    return sympy.sympify(derivative).xreplace(closed)


def _simplified(expr: sympy.Expr) -> Iterator[sympy.Expr]:
    yield expr
    if _nodes(expr) > SIMPLIFY_LIMIT:
        return
    for simplify in (sympy.factor, sympy.cancel, _factor_terms, sympy.expand):
        try:
            yield simplify(expr)
        except (sympy.PolynomialError, TypeError, ValueError, ArithmeticError, RecursionError):
            continue


def _tidy_signs(expr: sympy.Expr) -> sympy.Expr:
    """``-x*(y - s)`` as ``x*(s - y)``: a product's minus sign taken into one of its sums."""
    if not isinstance(expr, sympy.Mul):
        return expr
    coeff, factors = expr.as_coeff_mul()
    if coeff >= 0:
        return expr
    for i, factor in enumerate(factors):
        if isinstance(factor, sympy.Add):
            rest = factors[:i] + factors[i + 1:]
            return sympy.Mul(-coeff, *rest, -factor)
    return expr


def _factor_terms(expr: sympy.Expr) -> sympy.Expr:
    return sympy.factor_terms(sympy.together(expr))


def _nodes(expr: sympy.Basic) -> int:
    return sum(1 for _ in sympy.preorder_traversal(expr))


# -- folding names back in ------------------------------------------------------------------

SIGMOID = sympy.Function("sigmoid", real=True)
RELU = sympy.Function("relu", real=True)


class _Folds:
    """How a derivative over the problem's symbols is written back over its names.

    * a stage's definition becomes the stage's name (``w*x + b`` -> ``z``);
    * an ``exp`` that a stage (or a declared function) is a rational function of is
      written through that stage: with ``a = 1/(1 + exp(-z))``, ``exp(-z) = (1 - a)/a``;
    * with ``named``, the same for sigmoid itself: ``exp(-u) = (1 - s)/s`` with
      ``s = sigmoid(u)``, for every ``exp`` that appears as ``1 + exp(...)``;
    * ``Max(u, 0)`` becomes ``relu(u)``.

    The placeholders of named functions are symbols while SymPy simplifies, and become
    calls (``sigmoid(b + w*x)``) in ``finish``.
    """

    def __init__(self, problem: Problem, target: Target) -> None:
        self.stages: list[tuple[sympy.Symbol, sympy.Expr]] = []
        closed: dict[sympy.Basic, sympy.Expr] = {}
        for symbol, definition in target.stages:
            closed[symbol] = definition.xreplace(closed)
            self.stages.append((symbol, definition))
            if closed[symbol] != definition:
                self.stages.append((symbol, closed[symbol]))
        self.by_definition = {d: s for s, d in reversed(self.stages)
                              if not d.is_Symbol and not d.is_Number}
        self.definition = dict(target.stages)
        self.names = frozenset(s for s, _ in target.stages) - {sym(n) for n in target.cut_names}
        self.inverses: dict[sympy.Expr, sympy.Expr] = {}
        for symbol, definition in self.stages:
            self.inverses.update(_inverse(definition, symbol))
        self.functions = [(f.name, f.function) for f in problem.functions
                          if len(f.function.variables) == 1]
        self.placeholders: dict[sympy.Symbol, sympy.Expr] = {}

    def apply(self, expr: sympy.Expr, *, named: bool) -> sympy.Expr:
        expr = expr.xreplace(self.by_definition)
        table = dict(self.inverses)
        if named:
            table = {**self._named(expr), **table}
        if table:
            expr = expr.xreplace(table)
        return expr.xreplace(self.by_definition)

    def finish(self, expr: sympy.Expr) -> sympy.Expr:
        expr = expr.xreplace(self.by_definition)
        if self.placeholders:
            calls = {p: call.func(*(a.xreplace(self.by_definition) for a in call.args))
                     for p, call in self.placeholders.items()}
            expr = expr.xreplace(calls)
        return expr.replace(_is_relu, lambda e: RELU(_relu_arg(e)))

    def _named(self, expr: sympy.Expr) -> dict[sympy.Expr, sympy.Expr]:
        """exp atoms (and declared functions' atoms) written through named-function placeholders."""
        table: dict[sympy.Expr, sympy.Expr] = {}
        ones = _one_plus_exps(expr)
        for atom in sorted(expr.atoms(sympy.exp), key=sympy.default_sort_key):
            if atom not in ones:
                continue
            v = atom.args[0]
            u = -v if v.could_extract_minus_sign() else v
            s = self._placeholder(SIGMOID(u))
            table[atom] = (1 - s) / s if v.could_extract_minus_sign() else s / (1 - s)
        for name, function in self.functions:
            table.update(self._declared(expr, name, function))
        return table

    def _declared(self, expr: sympy.Expr, name: str, function: sympy.Lambda) -> dict[sympy.Expr, sympy.Expr]:
        (variable,) = function.variables
        wild = sympy.Wild("u")
        head = sympy.Function(name, real=True)
        found: dict[sympy.Expr, sympy.Expr] = {}
        for atom, inverse in _inverse(function.expr, sympy.Symbol("_f")).items():
            pattern = atom.xreplace({variable: wild})
            for candidate in sorted(expr.atoms(type(atom)), key=sympy.default_sort_key):
                match = candidate.match(pattern)
                if not match or wild not in match:
                    continue
                placeholder = self._placeholder(head(match[wild]))
                found[candidate] = inverse.xreplace({sympy.Symbol("_f"): placeholder})
        return found

    def _placeholder(self, call: sympy.Expr) -> sympy.Symbol:
        for placeholder, known in self.placeholders.items():
            if known == call:
                return placeholder
        placeholder = sympy.Symbol(f"_named{len(self.placeholders)}", positive=True)
        self.placeholders[placeholder] = call
        return placeholder


@lru_cache(maxsize=1024)
def _inverse(definition: sympy.Expr, name: sympy.Symbol) -> dict[sympy.Expr, sympy.Expr]:
    """When ``definition`` is a Moebius function (a t + b)/(c t + d) of one ``exp`` or
    ``erf`` and of nothing else (``1/(1 + exp(-z))``), that atom written through ``name``
    (``exp(-z) = (1 - a)/a``), and ``exp(-v)`` too for ``exp(v)``. Empty otherwise."""
    atoms = [a for a in definition.atoms(sympy.Function) if a.free_symbols]
    if len(atoms) != 1 or not isinstance(atoms[0], sympy.exp | sympy.erf):
        return {}
    (atom,) = atoms
    t = sympy.Dummy("t")
    rational = sympy.together(definition.xreplace({atom: t}))
    if rational.free_symbols != {t}:
        return {}
    top, bottom = (sympy.Poly(part, t) for part in sympy.fraction(rational))
    if top.degree() > 1 or bottom.degree() > 1:
        return {}
    (a, b), (c, d) = (p.all_coeffs()[-2:] if p.degree() == 1 else [0, p.as_expr()]
                      for p in (top, bottom))
    # name = (a t + b)/(c t + d)  =>  t = (b - d name)/(c name - a)
    if sympy.simplify(a * d - b * c) == 0:
        return {}
    inverse = sympy.factor((b - d * name) / (c * name - a))
    table = {atom: inverse}
    if isinstance(atom, sympy.exp):
        table[sympy.exp(-atom.args[0])] = sympy.factor(1 / inverse)
    return table


def _one_plus_exps(expr: sympy.Expr) -> set[sympy.Expr]:
    """exp atoms that appear in a sum with a number (``1 + exp(-u)``): sigmoid's shape."""
    found: set[sympy.Expr] = set()
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Add) and any(a.is_Number for a in node.args):
            found.update(a for a in node.args if isinstance(a, sympy.exp))
    return found


def _is_relu(e: sympy.Basic) -> bool:
    return isinstance(e, sympy.Max) and len(e.args) == 2 and sympy.S.Zero in e.args


def _relu_arg(e: sympy.Basic) -> sympy.Expr:
    return next(a for a in e.args if a != 0)


def lengths(problem: Problem, question_id: str) -> tuple[int, int | None]:
    """len(readable text) and len(sstr(raw derivative)) (None: no closed form), for measuring."""
    question = problem.question(question_id)
    raw = raw_derivative(problem, derive_question(problem, question))
    return len(formula(problem, question_id).text), (len(sympy.sstr(raw)) if raw is not None else None)

