"""Symbolic side: derivatives of stages, local gradients, and the backward pass.

``derive(problem)`` is a pure function from a Problem to a Derivation. Each question
becomes a straight-line program, the way backpropagation computes it: the forward
stages stay symbols, every edge's local gradient is differentiated once, and the
adjoints are summed along the graph from the output back to the variable (reverse
accumulation). A second derivative differentiates that program forward, one
assignment at a time (forward over reverse). The program's size, and the time to
build and compile it, grow linearly with the number of stages.

The expanded closed forms (``Target.function``, ``first``, ``derivative``: every stage
substituted in) can grow exponentially with depth. They are built lazily, only where
something needs a formula to show; ``Target.closed_form`` refuses, deterministically,
one that would be too large. Checking and grading never need them.

A question asked with respect to a stage (``wrt = "s"``) is the backprop adjoint: the
graph is cut at that stage, which becomes an input variable whose value at any point
is the stage's forward value.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, wraps
from typing import Any, TypeVar

import sympy

from gradcheck.problem import Problem, Question, sym
from gradcheck.tape import Tape, build_tape

Assignment = tuple[sympy.Symbol, sympy.Expr]
T = TypeVar("T")
# Closed forms with more nodes than this (counted as a tree, every stage substituted)
# are not built: a count, not a clock, so the outcome is the same on every machine.
CLOSED_FORM_LIMIT = 20_000


@dataclass(frozen=True)
class Target:
    """What one question asks, ready to compile: a function and its derivatives.

    ``variables`` are the inputs in order: the problem's symbols, then any stage the
    question differentiates with respect to (a cut stage). ``program`` is the straight-
    line program over them: the forward stages (cut stages excepted), the adjoints of
    the reverse pass and, for a second derivative, the tangents of the forward pass
    over it. ``graph`` holds the function, the first derivative and the derivative
    asked, as expressions over the variables and the program's symbols; compile them
    with :meth:`build`. ``stages`` are all forward stage definitions, to complete a
    point over the symbols with the cut stages' values.
    """

    question: Question
    variables: tuple[str, ...]
    wrt_index: tuple[int, ...]
    cut_names: tuple[str, ...]
    program: tuple[Assignment, ...]
    graph: tuple[sympy.Expr, sympy.Expr, sympy.Expr]
    stages: tuple[Assignment, ...] = field(repr=False)

    @cached_property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        return tuple(sym(n) for n in self.variables)

    def build(self, exprs: Sequence[sympy.Expr]) -> Tape:
        """Compile expressions over the variables and the program's symbols to one tape.

        Only the assignments the expressions need are compiled. Closed forms (over the
        variables alone) compile too.

        Raises:
            UnsupportedFunctionError: a function no backend table has.
        """
        return build_tape(exprs, self.symbols, needed(self.program, exprs))

    def build_cut(self) -> Tape:
        """The cut stages' forward values over the problem's symbols (completes a point)."""
        n_symbols = len(self.variables) - len(self.cut_names)
        outputs = [sym(n) for n in self.cut_names]
        return build_tape(outputs, self.symbols[:n_symbols], needed(self.stages, outputs))

    def inputs_of(self, exprs: Iterable[sympy.Expr]) -> frozenset[str]:
        """The variables the expressions reach through the program."""
        return reached_inputs(self.program, exprs)

    # -- closed forms, built on demand ------------------------------------------------

    @cached_property
    def function(self) -> sympy.Expr:
        """The question's function with every stage but the cut ones substituted in."""
        return _expand(self.program, self.question.of_expr)

    @cached_property
    def first(self) -> sympy.Expr:
        """d function / d (first variable), differentiated in closed form."""
        return differentiate(self.function, sym(self.question.wrt[0]))

    @cached_property
    def derivative(self) -> sympy.Expr:
        """The derivative the question asks, in closed form."""
        wrt = [sym(w) for w in self.question.wrt]
        return differentiate(self.first, *wrt[1:]) if len(wrt) > 1 else self.first

    @cached_property
    def cut(self) -> tuple[tuple[str, sympy.Expr], ...]:
        """Each cut stage's forward expression over the symbols, in closed form."""
        return tuple((n, _expand(self.stages, sym(n))) for n in self.cut_names)

    @cached_property
    def expandable(self) -> bool:
        """Whether the closed forms are small enough to build (see :meth:`closed_form`)."""
        return tree_size(self.program, self.question.of_expr) <= CLOSED_FORM_LIMIT

    def closed_form(self, which: str = "derivative",
                    limit: int = CLOSED_FORM_LIMIT) -> sympy.Expr | None:
        """``function``, ``first`` or ``derivative`` in closed form, or None when the
        function with every stage substituted in would have more than ``limit`` nodes
        (its derivative is then larger still). Deterministic: nothing depends on a clock.
        """
        if which not in ("function", "first", "derivative"):
            raise ValueError(f"which must be function, first or derivative, not {which!r}")
        too_large = (not self.expandable if limit == CLOSED_FORM_LIMIT
                     else tree_size(self.program, self.question.of_expr) > limit)
        return None if too_large else getattr(self, which)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class LocalGradient:
    """d stage / d input for one edge of the graph, as the lecture notes draw it."""

    stage: str
    input: str
    expr: sympy.Expr


@dataclass(frozen=True)
class Derivation:
    """Everything symbolic about a problem."""

    problem: Problem
    local_gradients: tuple[LocalGradient, ...]
    targets: tuple[Target, ...]

    @cached_property
    def forward(self) -> tuple[tuple[str, sympy.Expr], ...]:
        """Each stage's expression over the symbols, in closed form (built on demand)."""
        return forward_closed_forms(self.problem)

    def target(self, question_id: str) -> Target:
        for target in self.targets:
            if target.question.id == question_id:
                return target
        self.problem.question(question_id)  # raises KeyError naming the known questions
        raise AssertionError("unreachable")


_MEMOS: list[OrderedDict[Any, Any]] = []


def per_problem(size: int = 1024) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Memoise a pure function of a problem (and of hashable arguments after it).

    The questions of one problem share its graph: its local gradients, its adjoints, its
    gradient steps are worked out once, not once per question. Entries are keyed by the
    problem object's id and hold the object, so an id is never mistaken for a newer
    object's; ``clear_cache`` forgets them all.
    """
    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        memo: OrderedDict[Any, tuple[Problem, T]] = OrderedDict()
        _MEMOS.append(memo)

        @wraps(fn)
        def memoised(problem: Problem, *args: Hashable) -> T:
            key = (id(problem), *args)
            hit = memo.get(key)
            if hit is not None and hit[0] is problem:
                memo.move_to_end(key)
                return hit[1]
            value = fn(problem, *args)
            memo[key] = (problem, value)
            if len(memo) > size:
                memo.popitem(last=False)
            return value
        return memoised
    return decorate


def expand(problem: Problem, expr: sympy.Expr, keep: Iterable[str] = ()) -> sympy.Expr:
    """Replace stage names by their definitions, except the stages in ``keep``.

    The result can grow exponentially with the depth of the graph; see
    :meth:`Target.closed_form` for a guarded version.

    >>> from gradcheck.problem import Problem, Stage, SymbolSpec, sym
    >>> x = sym("x")
    >>> p = Problem("p", "", "", (SymbolSpec("x"),), (Stage("u", x**2, "x**2"),))
    >>> expand(p, 3 * sym("u"))
    3*x**2
    """
    return _expand_kept(problem, sympy.sympify(expr), tuple(sorted(set(keep))))


@per_problem(size=4096)
def _expand_kept(problem: Problem, expr: sympy.Expr, kept: tuple[str, ...]) -> sympy.Expr:
    return _expand(tuple((sym(s.name), s.expr) for s in problem.stages if s.name not in kept),
                   expr)


def _expand(program: Sequence[Assignment], expr: sympy.Expr) -> sympy.Expr:
    # Substitute forward, each definition once, so shared stages stay shared objects:
    # building is linear; only traversing the result (diff, printing) can be exponential.
    closed: dict[sympy.Basic, sympy.Expr] = {}
    for symbol, definition in needed(program, [expr]):
        closed[symbol] = definition.xreplace(closed)
    return sympy.sympify(expr).xreplace(closed)


def forward_closed_forms(problem: Problem) -> tuple[tuple[str, sympy.Expr], ...]:
    return tuple((s.name, expand(problem, s.expr)) for s in problem.stages)


STEP_FUNCTIONS = (sympy.floor, sympy.ceiling)


def differentiate(expr: sympy.Expr, *wrt: sympy.Symbol) -> sympy.Expr:
    """``sympy.diff``, with the derivative of floor and ceiling taken as 0.

    SymPy leaves ``Derivative(floor(x), x)`` unevaluated; it is 0 away from the jumps,
    and the check sets points at a jump aside (one-sided differences disagree there).
    """
    return _differentiate(sympy.sympify(expr), wrt)


@lru_cache(maxsize=4096)
def _differentiate(expr: sympy.Expr, wrt: tuple[sympy.Symbol, ...]) -> sympy.Expr:
    # Memoised: the questions of a problem differentiate the same expanded forms (the
    # truth, an adjoint, a stage) again and again.
    result = sympy.diff(expr, *wrt)
    if not result.has(sympy.Derivative):
        return result
    return result.replace(
        lambda e: isinstance(e, sympy.Derivative) and e.expr.func in STEP_FUNCTIONS,
        lambda e: sympy.Integer(0))


def differentiate_local(expr: sympy.Expr, wrt: sympy.Symbol) -> sympy.Expr:
    """:func:`differentiate` for one node's small expression, shared by every node of the
    same shape: a chain, an unrolled RNN or a training trace repeats one stage with new
    names, so its local gradients are differentiated once and renamed (a renaming of
    symbols with the same assumptions commutes with differentiation).
    """
    if wrt not in expr.free_symbols:
        return sympy.Integer(0)
    names = sorted(expr.free_symbols, key=lambda s: s.name)
    canon = {s: sympy.Symbol(f"_{i}", **s.assumptions0) for i, s in enumerate(names)}
    derivative = _template_derivative(expr.xreplace(canon), canon[wrt])
    return derivative.xreplace({c: s for s, c in canon.items()})


@lru_cache(maxsize=4096)
def _template_derivative(expr: sympy.Expr, wrt: sympy.Symbol) -> sympy.Expr:
    return differentiate(expr, wrt)


def clear_cache() -> None:
    """Forget the local gradients differentiated so far and everything memoised per problem
    (for benchmarks of a cold start)."""
    _template_derivative.cache_clear()
    _differentiate.cache_clear()
    _FREE.clear()
    exact_number.cache_clear()
    for memo in _MEMOS:
        memo.clear()


def derive(problem: Problem) -> Derivation:
    """Derive every question of a problem, and the local gradient of every graph edge."""
    grads = local_gradients(problem)
    return Derivation(
        problem=problem,
        local_gradients=grads,
        targets=tuple(derive_question(problem, q) for q in problem.questions),
    )


def derive_question(problem: Problem, question: Question,
                    grads: Sequence[LocalGradient] | None = None) -> Target:
    """The function a question is about, over its input variables, and its derivatives,
    as a straight-line program (see the module docstring).

    ``grads`` are the problem's local gradients when the caller has them already; without
    them the Target is memoised per problem and question (the truth and the readable
    formula share it, and its closed forms).
    """
    if grads is None:
        return _derive_question(problem, question)
    return _derive(problem, question, grads)


@per_problem(size=1024)
def _derive_question(problem: Problem, question: Question) -> Target:
    return _derive(problem, question, local_gradients(problem))


def _derive(problem: Problem, question: Question, grads: Sequence[LocalGradient]) -> Target:
    stage_names = set(problem.stage_names)
    cut_names = tuple(dict.fromkeys(w for w in question.wrt if w in stage_names))
    variables = (*problem.symbol_names, *cut_names)
    stages = tuple((sym(s.name), s.expr) for s in problem.stages)
    forward = tuple(a for a in stages if a[0].name not in cut_names)
    local = {(g.stage, g.input): g.expr for g in grads}
    wrt = [sym(w) for w in question.wrt]
    function = question.of_expr
    reverse, first = _reverse(forward, function, wrt[0], local)
    program = (*forward, *reverse)
    derivative = first
    for var in wrt[1:]:
        tangents, derivative = _tangent(program, derivative, var)
        program = (*program, *tangents)
    return Target(
        question=question, variables=variables,
        wrt_index=tuple(variables.index(w) for w in question.wrt),
        cut_names=cut_names, program=program, graph=(function, first, derivative),
        stages=stages)


def _reverse(forward: Sequence[Assignment], output: sympy.Expr, wrt: sympy.Symbol,
             local: Mapping[tuple[str, str], sympy.Expr]) -> tuple[list[Assignment], sympy.Expr]:
    """Reverse accumulation from ``output`` to ``wrt``: the adjoint assignments and
    d output / d wrt (a symbol of the program, or 0).

    Only nodes on a path from ``wrt`` to the output get an adjoint; each is the sum,
    over its consumers, of the consumer's adjoint times the local gradient of the edge.
    """
    reaches = _reaches(forward, wrt)
    if not (output.free_symbols & reaches):
        return [], sympy.Integer(0)
    adjoint: dict[sympy.Symbol, sympy.Expr] = {}
    terms: dict[sympy.Symbol, list[sympy.Expr]] = {}
    for s in sorted(output.free_symbols & reaches, key=str):
        terms.setdefault(s, []).append(differentiate_local(output, s))
    program: list[Assignment] = []
    for symbol, expr in reversed(forward):
        if symbol not in terms:
            continue
        bar = _bar(symbol, "d")
        program.append((bar, sympy.Add(*terms.pop(symbol))))
        adjoint[symbol] = bar
        for s in expr.free_symbols & reaches:
            grad = local.get((symbol.name, s.name))
            if grad is None:
                grad = differentiate_local(expr, s)
            terms.setdefault(s, []).append(bar * grad)
    total = sympy.Add(*terms.get(wrt, []))
    if total == 0:
        return program, sympy.Integer(0)
    bar = _bar(wrt, "d")
    program.append((bar, total))
    return program, bar


def adjoint_program(problem: Problem, output: sympy.Expr, tag: str = "D",
                    grads: Sequence[LocalGradient] | None = None,
                    ) -> tuple[tuple[Assignment, ...], dict[str, sympy.Expr]]:
    """One reverse pass over the whole graph (no stage cut): every stage and symbol's
    adjoint d output / d node, as symbols of a straight-line program.

    Returns the program (the forward stages, then the adjoints, named ``tag(node)``) and
    a map from node name to its adjoint; nodes the output does not use are left out.
    Linear in the graph's size, where differentiating the expanded output once per node
    is exponential in its depth.
    """
    forward = tuple((sym(s.name), s.expr) for s in problem.stages)
    if grads is None:
        grads = local_gradients(problem)
    local = {(g.stage, g.input): g.expr for g in grads}
    terms: dict[sympy.Symbol, list[sympy.Expr]] = {}
    for s in sorted(output.free_symbols, key=str):
        terms.setdefault(s, []).append(differentiate_local(output, s))
    program: list[Assignment] = []
    found: dict[str, sympy.Expr] = {}
    for symbol, expr in reversed(forward):
        if symbol not in terms:
            continue
        bar = _bar(symbol, tag)
        program.append((bar, sympy.Add(*terms.pop(symbol))))
        found[symbol.name] = bar
        for s in sorted(expr.free_symbols, key=str):
            grad = local.get((symbol.name, s.name))
            terms.setdefault(s, []).append(bar * (grad if grad is not None
                                                  else differentiate_local(expr, s)))
    for symbol in sorted(terms, key=str):
        total = sympy.Add(*terms[symbol])
        bar = _bar(symbol, tag)
        program.append((bar, total))
        found[symbol.name] = bar
    return (*forward, *program), found


def _tangent(program: Sequence[Assignment], output: sympy.Expr,
             wrt: sympy.Symbol) -> tuple[list[Assignment], sympy.Expr]:
    """Forward-mode derivative of ``output`` (over the program) with respect to ``wrt``:
    for each assignment ``v = e``, ``dv = sum over its inputs a of de/da * da``."""
    tangent: dict[sympy.Symbol, sympy.Expr] = {wrt: sympy.Integer(1)}
    out: list[Assignment] = []

    def of(expr: sympy.Expr) -> sympy.Expr:
        moving = sorted((s for s in expr.free_symbols if s in tangent), key=str)
        return sympy.Add(*(differentiate_local(expr, s) * tangent[s] for s in moving))

    for symbol, expr in program:
        if symbol == wrt:
            continue  # a cut stage is an input; its definition is not used
        value = of(expr)
        if value != 0:
            dot = _bar(symbol, f"d{wrt.name}")
            out.append((dot, value))
            tangent[symbol] = dot
    return out, of(output)


def _bar(symbol: sympy.Symbol, tag: str) -> sympy.Symbol:
    """A program symbol no problem name can equal (names are identifiers)."""
    return sympy.Symbol(f"{tag}({symbol.name})", real=True)


def _reaches(program: Sequence[Assignment], wrt: sympy.Symbol) -> set[sympy.Symbol]:
    """``wrt`` and every program symbol that depends on it."""
    found = {wrt}
    for symbol, expr in program:
        if symbol != wrt and not expr.free_symbols.isdisjoint(found):
            found.add(symbol)
    return found


_FREE: dict[sympy.Basic, frozenset[sympy.Symbol]] = {}
_FREE_SIZE = 8192  # answers pass through too: bounded, for a long-lived server


_DEFAULT_FREE = sympy.Basic.free_symbols


def free_symbols(expr: sympy.Basic,
                 seen: dict[sympy.Basic, frozenset[sympy.Symbol]] | None = None,
                 ) -> frozenset[sympy.Symbol]:
    """``expr.free_symbols``, memoised: a program's assignments are asked again for every
    expression compiled over them. SymPy walks the expression as a tree, every shared
    subexpression again (exponential in the depth of an expanded graph); this walks it
    once per distinct subexpression (``seen``, shared by the caller's expressions).
    """
    found = _FREE.get(expr)
    if found is None:
        found = _free_walk(expr, {} if seen is None else seen)
        if len(_FREE) >= _FREE_SIZE:
            _FREE.clear()
        _FREE[expr] = found
    return found


def _free_walk(expr: sympy.Basic,
               seen: dict[sympy.Basic, frozenset[sympy.Symbol]]) -> frozenset[sympy.Symbol]:
    stack = [expr]
    while stack:
        e = stack[-1]
        if e in seen:
            stack.pop()
        elif type(e).free_symbols is not _DEFAULT_FREE:  # a Symbol; bound variables
            seen[e] = frozenset(e.free_symbols)
            stack.pop()
        elif todo := [a for a in e.args if a not in seen]:
            stack.extend(todo)
        else:
            seen[e] = frozenset().union(*(seen[a] for a in e.args))
            stack.pop()
    return seen[expr]


def needed(program: Sequence[Assignment], exprs: Iterable[sympy.Expr]) -> list[Assignment]:
    """The assignments the expressions use, directly or not, in program order."""
    want: set[sympy.Symbol] = set()
    seen: dict[sympy.Basic, frozenset[sympy.Symbol]] = {}
    for e in exprs:
        want |= free_symbols(sympy.sympify(e), seen)
    keep = []
    for symbol, expr in reversed(program):
        if symbol in want:
            keep.append((symbol, expr))
            want |= free_symbols(expr)
    return keep[::-1]


def reached_inputs(program: Sequence[Assignment], exprs: Iterable[sympy.Expr]) -> frozenset[str]:
    bound = {s for s, _ in program}
    want: set[sympy.Symbol] = set()
    seen: dict[sympy.Basic, frozenset[sympy.Symbol]] = {}
    for e in exprs:
        want |= free_symbols(sympy.sympify(e), seen)
    for symbol, expr in reversed(program):
        if symbol in want:
            want |= free_symbols(expr)
    return frozenset(s.name for s in want - bound)


def tree_size(program: Sequence[Assignment], expr: sympy.Expr) -> int:
    """Nodes of ``expr`` with every assignment substituted in, counted as a tree (as
    SymPy traverses it) without building it: linear in the program's size."""
    sizes: dict[sympy.Basic, int] = {}
    for symbol, definition in program:
        sizes[symbol] = _size(definition, sizes)
    return _size(sympy.sympify(expr), sizes)


def _size(expr: sympy.Basic, sizes: Mapping[sympy.Basic, int]) -> int:
    if expr in sizes:
        return sizes[expr]
    return 1 + sum(_size(a, sizes) for a in expr.args)


@per_problem(size=256)
def local_gradients(problem: Problem) -> tuple[LocalGradient, ...]:
    """d stage / d input for every direct input of every stage, in graph order."""
    order = {name: i for i, name in enumerate((*problem.symbol_names, *problem.stage_names))}
    grads: list[LocalGradient] = []
    for stage in problem.stages:
        inputs = sorted((s.name for s in stage.expr.free_symbols), key=order.__getitem__)
        grads.extend(LocalGradient(stage.name, name, differentiate_local(stage.expr, sym(name)))
                     for name in inputs)
    return tuple(grads)


def adjoints(problem: Problem, output: str) -> dict[str, sympy.Expr]:
    """The backward pass: d output / d node for every stage and symbol upstream of ``output``.

    Each adjoint is expressed with local gradients over the stage names, the way the
    notes write ``dloss/dy_hat = dloss/ds * ds/dy_hat``; expand() it for a formula over
    the symbols. Nodes that do not reach ``output`` are left out.
    """
    result: dict[str, sympy.Expr] = {output: sympy.Integer(1)}
    grads = local_gradients(problem)
    for stage in reversed(problem.stages):
        if stage.name not in result:
            continue
        upstream = result[stage.name]
        for grad in grads:
            if grad.stage == stage.name:
                result[grad.input] = result.get(grad.input, sympy.Integer(0)) + upstream * grad.expr
    return result


def substitute_point(expr: sympy.Expr, point: Mapping[str, float]) -> sympy.Expr:
    """Exact value of ``expr`` at a point given by name (for explanations and tests)."""
    return expr.xreplace({sym(n): exact_number(v) for n, v in point.items()})


@lru_cache(maxsize=4096, typed=True)
def exact_number(value: float) -> sympy.Expr:
    """``sympy.nsimplify(value)``, memoised: the given point's values are put into every
    edge's local gradient, and each nsimplify searches for a closed form anew."""
    return sympy.nsimplify(value)
