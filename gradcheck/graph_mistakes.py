"""What a student may have computed instead, read off the computational graph.

The backward pass sums, over every path from the output down to the variable, the
product of the local gradients on the path's edges. Each backprop mistake changes
one part of that sum, so each is a formula we can write down and compare an answer
with:

- ``path``: some paths are left out (a fork where only one branch was followed, a
  gradient overwritten instead of accumulated, an RNN followed through one step only);
- ``term``: one additive term of a stage is left out (an L2 regulariser, one sample of
  a summed loss);
- ``product``: one factor of a product is treated as a constant (a missing product-rule
  term);
- ``activation``: an activation's value where its derivative belongs (tanh for
  1 - tanh^2, sigmoid for sigmoid*(1 - sigmoid), relu for Heaviside);
- ``edge``: one local gradient is wrong in a known way (tanh' written 1 - tanh, d(1/x)
  with the wrong sign, the power rule misapplied); the edge is named;
- ``stale``: in a trace of gradient steps (w1 = w0 - lr * d loss1 / d w0), the weights
  before the update where the updated ones belong;
- ``chain`` (every path): each path stopped one edge short of the variable;
- ``term-sign``: one additive term's gradient with the wrong sign (w0 + lr*g differentiated
  for w0 - lr*g).

``alternatives`` is a pure function of the problem and the question; the mutations of
a local gradient are the rows of ``MUTATIONS`` (data, one row per known slip).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from itertools import combinations

import sympy

from gradcheck.derivation import differentiate, exact_number, expand, local_gradients, per_problem
from gradcheck.problem import Problem, Question, sym

__all__ = ["MUTATIONS", "Alternative", "Mutation", "alternatives", "graph_paths", "mutated_derivatives"]

OUTPUT = "<output>"  # the node of a question whose ``of`` is an expression, not a stage
MAX_PATHS = 16
ALL_SUBSETS = 4  # up to this many paths every proper subset is tried; beyond, 1 and n - 1


@dataclass(frozen=True)
class Alternative:
    """A formula a student may have given instead of the derivative, and why.

    ``kind`` is the diagnosis name; ``where`` the stage or edge involved (``d h / d z``);
    ``text`` says what the student did, in the notes' words; ``expr`` is over the
    problem's symbols (and any stage the question is asked with respect to).
    """

    kind: str
    where: str
    text: str
    expr: sympy.Expr
    stage: bool = False
    weak: bool = False


@dataclass(frozen=True)
class Mutation:
    """A known wrong local gradient for one function: ``wrong(u, value)`` for f(u)."""

    kind: str
    function: str
    wrong: Callable[[sympy.Expr, sympy.Expr], sympy.Expr]
    says: str



# One row per known slip. ``says`` completes "the derivative of f(u) was written as ...".
MUTATIONS: tuple[Mutation, ...] = (
    Mutation("activation", "tanh", lambda u, f: f, "tanh({u}), the forward value"),
    Mutation("edge", "tanh", lambda u, f: 1 - f, "1 - tanh({u}) (it is 1 - tanh({u})^2)"),
    Mutation("edge", "tanh", lambda u, f: 1 - u**2,
             "1 - ({u})^2, with the input where tanh's output belongs"),
    Mutation("activation", "sigmoid", lambda u, f: f, "sigmoid({u}), the forward value"),
    Mutation("edge", "sigmoid", lambda u, f: u * (1 - u),
             "({u})(1 - ({u})), with the input where sigmoid's output belongs"),
    Mutation("edge", "sigmoid", lambda u, f: 1 - f,
             "1 - sigmoid({u}) (it is sigmoid({u}) (1 - sigmoid({u})))"),
    Mutation("activation", "relu", lambda u, f: f,
             "relu({u}), the forward value (its derivative is the step Heaviside({u}))"),
    Mutation("edge", "relu", lambda u, f: sympy.Integer(1),
             "1 everywhere (it is 1 where {u} > 0 and 0 where {u} < 0)"),
    Mutation("activation", "erf", lambda u, f: f,
             "erf({u}), the forward value (it is 2/sqrt(pi) exp(-({u})^2))"),
    Mutation("edge", "log", lambda u, f: f, "log({u}), the forward value (it is 1/({u}))"),
    Mutation("edge", "cos", lambda u, f: sympy.sin(u), "sin({u}) (it is -sin({u}))"),
)


def _power_slips(u: sympy.Expr, n: sympy.Expr) -> list[tuple[sympy.Expr, str]]:
    """The power rule misapplied to u**n: exponent not lowered, raised, or n forgotten."""
    slips = [(n * u**n, "the exponent was not lowered by one"),
             (n * u**(n + 1), "the exponent was raised instead of lowered"),
             (u**(n - 1), f"the exponent {sympy.sstr(n)} was not brought down as a factor")]
    if n == -1:
        slips = [(u**-2, "d(1/u) = -1/u^2, the sign is wrong"), *slips]
    return [(w, f"{sympy.sstr(w)} ({says})") for w, says in slips]


def _function_of(e: sympy.Expr) -> tuple[str, sympy.Expr] | None:
    """The name of the named function at the top of ``e`` and its argument, if any."""
    if isinstance(e, sympy.Max) and len(e.args) == 2 and sympy.Integer(0) in e.args:
        return "relu", next(a for a in e.args if a != 0)
    if isinstance(e, (sympy.tanh, sympy.erf, sympy.log, sympy.cos)) and len(e.args) == 1:
        return type(e).__name__, e.args[0]
    if e.is_Pow and e.exp == -1 and e.base.is_Add and len(e.base.args) == 2 and 1 in e.base.args:
        other = next(a for a in e.base.args if a != 1)
        if isinstance(other, sympy.exp):
            return "sigmoid", -other.args[0]
    return None


def activation_sites(expr: sympy.Expr, var: sympy.Symbol) -> list[tuple[sympy.Expr, str, sympy.Expr]]:
    """Sub-expressions f(u) of ``expr`` with u depending on ``var``: (f(u), name, u)."""
    found: dict[sympy.Expr, tuple[sympy.Expr, str, sympy.Expr]] = {}
    for e in sympy.preorder_traversal(expr):
        hit = _function_of(e)
        if hit is not None and hit[1].has(var):
            found.setdefault(e, (e, *hit))
        elif (e.is_Pow and e.exp.is_Number and e.exp not in (0, 1) and e.base.has(var)
              and hit is None):
            found.setdefault(e, (e, "power", e.base))
    return list(found.values())


def _wrong_local(expr: sympy.Expr, var: sympy.Symbol, site: sympy.Expr,
                 wrong: sympy.Expr, arg: sympy.Expr) -> sympy.Expr:
    """d expr / d var by the chain rule, with d site / d arg (site = f(arg)) taken as ``wrong``."""
    s = sympy.Dummy("s")
    body = expr.xreplace({site: s})
    mutated = sympy.diff(body, var) + sympy.diff(body, s) * wrong * sympy.diff(arg, var)
    return mutated.xreplace({s: site})


def mutated_derivatives(expr: sympy.Expr, var: sympy.Symbol
                        ) -> list[tuple[Mutation, sympy.Expr]]:
    """d expr / d var with every site of one function given one known wrong derivative.

    One entry per row of ``MUTATIONS`` whose function occurs in ``expr`` (every
    occurrence slipped the same way, as a student who misremembers tanh' does everywhere).
    """
    found = []
    sites = [(e, name, u) for e, name, u in activation_sites(expr, var) if name != "power"]
    for mutation in MUTATIONS:
        mine = [(e, u) for e, name, u in sites if name == mutation.function]
        if not mine:
            continue
        dummies = [sympy.Dummy("s") for _ in mine]
        body = expr.xreplace({e: d for (e, _), d in zip(mine, dummies, strict=True)})
        out = sympy.diff(body, var)
        for (e, u), d in zip(mine, dummies, strict=True):
            out += sympy.diff(body, d) * mutation.wrong(u, e) * sympy.diff(u, var)
        found.append((mutation, out.xreplace({d: e for (e, _), d in zip(mine, dummies, strict=True)})))
    return found


def graph_paths(problem: Problem, question: Question,
                limit: int = MAX_PATHS) -> list[tuple[tuple[str, str, sympy.Expr], ...]]:
    """Every path of edges (stage, input, local gradient) from ``of`` down to ``wrt``."""
    edges: dict[str, list[tuple[str, str, sympy.Expr]]] = {}
    for g in local_gradients(problem):
        edges.setdefault(g.stage, []).append((g.stage, g.input, g.expr))
    start = _start(problem, question)
    if start == OUTPUT:
        edges[OUTPUT] = [(OUTPUT, s.name, sympy.diff(question.of_expr, s))
                         for s in sorted(question.of_expr.free_symbols, key=str)]
    wrt = question.wrt[0]
    paths: list[tuple[tuple[str, str, sympy.Expr], ...]] = []

    def walk(node: str, trail: tuple[tuple[str, str, sympy.Expr], ...]) -> None:
        if node == wrt:
            paths.append(trail)
            return
        for edge in edges.get(node, []):
            if len(paths) < limit:
                walk(edge[1], (*trail, edge))

    walk(start, ())
    return paths


def _start(problem: Problem, question: Question) -> str:
    return question.of if question.of in problem.stage_names else OUTPUT


def alternatives(problem: Problem, question: Question) -> tuple[Alternative, ...]:
    """The graph mistakes' formulas for one first-order question (see the module doc)."""
    if question.order != 1:
        return ()
    wrt = question.wrt[0]
    cut = [wrt] if wrt in problem.stage_names else []
    var = sym(wrt)

    def full(e: sympy.Expr) -> sympy.Expr:
        return expand(problem, e, keep=cut)

    exprs = {s.name: s.expr for s in problem.stages}
    start = _start(problem, question)
    if start == OUTPUT:
        exprs[OUTPUT] = question.of_expr
    paths = graph_paths(problem, question)
    if not paths:
        return ()
    truth = differentiate(full(question.of_expr), var)
    nodes = list(dict.fromkeys(e[0] for p in paths for e in p))

    def adjoint(node: str) -> sympy.Expr:
        if node == OUTPUT or node == question.of:
            return sympy.Integer(1)
        return _adjoint(problem, question.of_expr, node, tuple(cut))
    found: list[Alternative] = []
    found += _path_alternatives(paths, full, question)
    found += _last_edge_alternatives(paths, full, question)
    found += _stale_alternatives(problem, question, cut, var)
    found += _term_alternatives(start, exprs[start], truth, full, var, question)
    for node in nodes:
        found += _product_alternatives(node, exprs[node], truth, partial(adjoint, node), full, var,
                                       question, problem.stage_names)
    edges = list(dict.fromkeys((e[0], e[1]) for p in paths for e in p))
    for stage, name in edges:
        below = sympy.Integer(1) if name == wrt else differentiate(full(sym(name)), var)
        if below == 0:
            continue
        found += _edge_alternatives(stage, name, exprs[stage], truth, partial(adjoint, stage), below,
                                    full, question)
        found += _plugged_alternatives(problem, stage, name, exprs[stage], truth, partial(adjoint, stage),
                                       below, full, question)
    unique: dict[tuple[str, sympy.Expr], Alternative] = {}
    for alt in found:
        if alt.expr != 0 and alt.expr != truth:
            unique.setdefault((alt.kind, alt.expr), alt)
    return tuple(unique.values())


@per_problem(size=4096)
def _adjoint(problem: Problem, output: sympy.Expr, node: str, cut: tuple[str, ...]) -> sympy.Expr:
    """d output / d node, over the symbols (node kept as a symbol, then expanded): worked
    out only for a node with a mistake to write down, once for the questions about one
    output."""
    kept = expand(problem, output, keep=[node, *cut])
    return expand(problem, differentiate(kept, sym(node)), keep=cut)


def _name(node: str, question: Question) -> str:
    return question.of if node == OUTPUT else node


def _show_path(path: tuple[tuple[str, str, sympy.Expr], ...], question: Question) -> str:
    return " -> ".join([_name(path[0][0], question), *(e[1] for e in path)])


def _path_alternatives(paths: list[tuple[tuple[str, str, sympy.Expr], ...]],
                       full: Callable[[sympy.Expr], sympy.Expr],
                       question: Question) -> list[Alternative]:
    if len(paths) < 2:
        return []
    products = [full(sympy.Mul(*(e[2] for e in p))) for p in paths]
    n = len(paths)
    sizes = range(1, n) if n <= ALL_SUBSETS else (1, n - 1)
    found = []
    for k in sizes:
        for kept in combinations(range(n), k):
            dropped = [i for i in range(n) if i not in kept]
            shown = "; ".join(_show_path(paths[i], question) for i in kept)
            left = "; ".join(_show_path(paths[i], question) for i in dropped)
            forks = _forks([paths[i] for i in kept], [paths[i] for i in dropped])
            text = (f"{question.of} depends on {question.wrt[0]} along {n} paths, and your "
                    f"answer follows only {shown} (it leaves out {left}). {forks} feeds more "
                    "than one stage, so on the backward pass its gradient is the sum of the "
                    "gradients coming back along every path: accumulate them, don't overwrite.")
            found.append(Alternative("path", forks, text, sympy.Add(*(products[i] for i in kept))))
    return found


def _last_edge_alternatives(paths: list[tuple[tuple[str, str, sympy.Expr], ...]],
                            full: Callable[[sympy.Expr], sympy.Expr],
                            question: Question) -> list[Alternative]:
    """Every path of two edges or more stopped one step short of the variable.

    The backward pass reached each stage next to the variable but did not multiply by the
    last local gradient (d s / d w = x for s = w*x - y); a one-edge path (a regulariser's
    lam*w**2 straight into the loss) is differentiated whole. With one path only this is the
    ``chain`` diagnosis that ``gradcheck.diagnosis`` finds from the partial products.
    """
    long = [p for p in paths if len(p) >= 2 and p[-1][2] != 1]
    if len(paths) < 2 or not long:
        return []
    kept = [full(sympy.Mul(*(e[2] for e in (p[:-1] if p in long else p)))) for p in paths]
    edges = ", ".join(dict.fromkeys(f"d {p[-1][0]} / d {p[-1][1]}" for p in long))
    text = (f"your answer stops one step short of {question.wrt[0]} on the way back: it leaves "
            f"out the last local gradient ({edges}). Multiply by every local gradient along "
            f"each path, down to {question.wrt[0]}.")
    return [Alternative("chain", edges, text, sympy.Add(*kept))]


def gradient_steps(problem: Problem) -> dict[str, str]:
    """The stages that are a gradient step, ``w1 = w0 - lr * g``, each with its ``w0``.

    ``g`` must equal d L / d w0 for some stage L (a gradient stage as loss.backward()
    computes it, or written out), and ``lr`` must not depend on w0: an update, not any
    difference (s = y_hat - y is no step).
    """
    return dict(_gradient_steps(problem))


@per_problem(size=256)
def _gradient_steps(problem: Problem) -> tuple[tuple[str, str], ...]:
    names = set(problem.symbol_names) | set(problem.stage_names)
    stages = {s.name: s.expr for s in problem.stages}
    steps: dict[str, str] = {}
    for name, expr in stages.items():
        if not expr.is_Add:
            continue
        before = next((a for a in expr.args if a.is_Symbol and a.name in names
                       and _is_step(problem, name, expr, a, stages)), None)
        if before is not None:
            steps[name] = before.name
    return tuple(steps.items())


def _is_step(problem: Problem, name: str, expr: sympy.Expr, w: sympy.Symbol,
             stages: dict[str, sympy.Expr]) -> bool:
    """Whether ``expr - w`` is a negative rate times d L / d w for some other stage L."""
    update = expand(problem, expr - w, keep=[w.name])
    if update == 0 or not update.has(w):
        return False
    for other, body in stages.items():
        if other == name:
            continue
        grad = differentiate(expand(problem, body, keep=[w.name]), w)
        if grad == 0:
            continue
        rate = sympy.cancel(update / grad)
        if not rate.has(w) and rate.free_symbols and rate.could_extract_minus_sign():
            return True
    return False


def _stale_alternatives(problem: Problem, question: Question, cut: list[str],
                        var: sympy.Symbol) -> list[Alternative]:
    """The derivative as if the steps of a gradient-descent trace had not been taken.

    Every step stage ``w1 = w0 - lr * g`` becomes ``w1 = w0``; a question with respect to
    a step (d loss2 / d w1) is then evaluated at the old weight too.
    """
    steps = gradient_steps(problem)
    if not steps:
        return []
    d = _stale_derivative(problem, question.of_expr, tuple(cut), var)
    first = next(iter(steps))
    text = (f"your answer uses the weights before any update ({first} = {steps[first]}, and so "
            f"on): each step's forward pass uses the weight the previous step produced, "
            f"{first} = {steps[first]} - lr * gradient, not the old one.")
    return [Alternative("stale", ", ".join(steps), text, d)]


@per_problem(size=1024)
def _stale_derivative(problem: Problem, output: sympy.Expr, cut: tuple[str, ...],
                      var: sympy.Symbol) -> sympy.Expr:
    """d output / d var with every step stage ``w1 = w0 - lr * g`` taken as ``w1 = w0``."""
    steps = gradient_steps(problem)
    stale = replace(problem, stages=tuple(replace(s, expr=sym(steps[s.name])) if s.name in steps
                                          else s for s in problem.stages))
    d = differentiate(expand(stale, output, keep=cut), var)
    if var.name in steps:
        d = d.xreplace({var: sym(steps[var.name])})
    return expand(stale, d)


def _forks(kept: list[tuple[tuple[str, str, sympy.Expr], ...]],
           dropped: list[tuple[tuple[str, str, sympy.Expr], ...]]) -> str:
    """Where each dropped path meets a kept one again: the value whose gradient is a sum."""
    names: list[str] = []
    for d in dropped:
        for k in kept:
            split = next((i for i, (a, b) in enumerate(zip(d, k, strict=False))
                          if a[:2] != b[:2]), 0)
            later = {e[1] for e in k[split:]}
            names.append(next((e[1] for e in d[split:] if e[1] in later), d[-1][1]))
    return ", ".join(dict.fromkeys(names))


def _term_alternatives(node: str, expr: sympy.Expr, truth: sympy.Expr,
                       full: Callable[[sympy.Expr], sympy.Expr], var: sympy.Symbol,
                       question: Question) -> list[Alternative]:
    """The output's additive terms (a mean's too: (l1 + l2)/2), each left out in turn."""
    coeff, body = expr.as_coeff_Mul()
    if not body.is_Add:
        return []
    found = []
    for term in body.args:
        part = coeff * differentiate(full(term), var)
        if part == 0:
            continue
        shown, name = sympy.sstr(term), _name(node, question)
        text = (f"your answer leaves out the gradient of the term {shown} of {name} = "
                f"{sympy.sstr(expr)}: the gradient of a sum is the sum of the gradients of "
                "its terms, and this term depends on " f"{var.name} too.")
        found.append(Alternative("term", name, text, truth - part))
        if len(body.args) > 1:
            flipped = (f"the gradient of the term {shown} of {name} = {sympy.sstr(expr)} has the "
                       f"wrong sign: each term's gradient keeps the sign the term has in {name}.")
            found.append(Alternative("term-sign", name, flipped, truth - 2 * part))
    return found


def _product_alternatives(node: str, expr: sympy.Expr, truth: sympy.Expr,
                          adjoint: Callable[[], sympy.Expr],
                          full: Callable[[sympy.Expr], sympy.Expr], var: sympy.Symbol,
                          question: Question,
                          question_stages: tuple[str, ...]) -> list[Alternative]:
    stages = {sym(s) for s in question_stages}
    products = [expr] if expr.is_Mul else [t for t in expr.args if t.is_Mul] if expr.is_Add else []
    found = []
    for product in products:
        factors = [f for f in product.args if full(f).has(var)]
        if len(factors) < 2:
            continue
        for f in factors:
            rest = product / f
            part = full(rest) * differentiate(full(f), var)
            shown, name = sympy.sstr(f), _name(node, question)
            depends = "is" if f == var else "depends on"
            text = (f"in {name} = {sympy.sstr(expr)} your answer treats the factor {shown} as "
                    f"a constant, but it {depends} {var.name}: by the product rule, "
                    "d (f g) = f' g + f g', one term per factor.")
            # A stage treated as a constant reads as a product-rule slip before it reads as
            # a missing path (see diagnosis.TABLE).
            stage = not f.free_symbols.isdisjoint(stages)
            found.append(Alternative("product", name, text, truth - adjoint() * part, stage))
    return found


def _edge_alternatives(stage: str, name: str, expr: sympy.Expr, truth: sympy.Expr,
                       adjoint: Callable[[], sympy.Expr], below: sympy.Expr,
                       full: Callable[[sympy.Expr], sympy.Expr],
                       question: Question) -> list[Alternative]:
    edge = f"d {_name(stage, question)} / d {name}"
    found = []
    for kind, function, shown, says, delta in _slips(expr, sym(name)):
        change = full(delta) * full(adjoint()) * below
        if change == 0:
            continue
        fname = "the power" if function == "power" else function
        if kind == "activation":
            text = (f"The local gradient {edge} uses the value of {fname} where its "
                    f"derivative belongs: the derivative of {shown} was written "
                    f"as {says}. The forward pass computes {fname}, the backward pass "
                    "multiplies by its derivative.")
        else:
            text = (f"The local gradient {edge} is wrong: the derivative of "
                    f"{shown} was written as {says}. The rest of your backward "
                    "pass is right.")
        # A misapplied power rule gives one more power of the base: one number that
        # agrees with it is too likely a coincidence.
        found.append(Alternative(kind, edge, text, truth + change, weak=function == "power"))
    return found


@lru_cache(maxsize=2048)
def _slips(expr: sympy.Expr, var: sympy.Symbol) -> tuple[tuple[str, str, str, str, sympy.Expr], ...]:
    """Each known slip in d expr / d var: (kind, function, the site printed, what was
    written, wrong local gradient minus the right one). An edge's own business, shared by
    every question whose paths go through it."""
    local = differentiate(expr, var)
    found = []
    for site, function, arg in activation_sites(expr, var):
        slips: list[tuple[str, sympy.Expr, str]] = []
        if function == "power":
            slips += [("edge", w, says) for w, says in _power_slips(arg, site.exp)]
        else:
            for m in MUTATIONS:
                if m.function == function:
                    slips.append((m.kind, m.wrong(arg, site),
                                  m.says.format(u=sympy.sstr(arg))))
        for kind, wrong, says in slips:
            try:
                mutated = _wrong_local(expr, var, site, wrong, arg)
            except (TypeError, ValueError):
                continue
            found.append((kind, function, sympy.sstr(site), says, mutated - local))
    return tuple(found)


def _plugged_alternatives(problem: Problem, stage: str, name: str, expr: sympy.Expr,
                          truth: sympy.Expr, adjoint: Callable[[], sympy.Expr],
                          below: sympy.Expr,
                          full: Callable[[sympy.Expr], sympy.Expr],
                          question: Question) -> list[Alternative]:
    """The local gradient on one edge replaced by its number at the given point."""
    given = problem.given_point
    if given is None or question.kind == "value":
        return []
    local = full(differentiate(expr, sym(name)))
    if not local.free_symbols:
        return []
    value = local.xreplace({sym(n): exact_number(v) for n, v in given.items()})
    if not value.is_number:
        return []
    edge = f"d {_name(stage, question)} / d {name}"
    text = (f"the local gradient {edge} = {sympy.sstr(differentiate(expr, sym(name)))} was "
            f"put in as its number at the given point, {sympy.sstr(value)}, while the rest "
            "stays a formula. Keep every local gradient a formula; put numbers in at the end.")
    return [Alternative("plugged", edge, text, truth + adjoint() * (value - local) * below)]
