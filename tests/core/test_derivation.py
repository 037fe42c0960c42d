"""Symbolic side, checked against the numbers the seed notes print."""

from __future__ import annotations

import sympy

from gradcheck.derivation import adjoints, derive, expand, local_gradients, substitute_point
from gradcheck.loader import load_problem
from gradcheck.problem import sym
from tests.helpers import SEEDS

x, y, w = sym("x"), sym("y"), sym("w")


def test_linear_regression_forward_values_from_the_notes() -> None:
    # Notes: x=1, y=2, w=1 -> y_hat = 1, s = -1, loss = 1.
    problem = load_problem(SEEDS / "linear-regression.toml")
    forward = dict(derive(problem).forward)
    point = {"x": 1, "y": 2, "w": 1}
    assert [substitute_point(forward[n], point) for n in ("y_hat", "s", "loss")] == [1, -1, 1]


def test_linear_regression_local_gradients_are_the_notes_formulas() -> None:
    problem = load_problem(SEEDS / "linear-regression.toml")
    grads = {(g.stage, g.input): g.expr for g in local_gradients(problem)}
    s, y_hat = sym("s"), sym("y_hat")
    assert grads[("loss", "s")] == 2 * s          # d s^2 / d s = 2s
    assert grads[("s", "y_hat")] == 1             # d (y_hat - y) / d y_hat = 1
    assert grads[("y_hat", "w")] == x             # d (x w) / d w = x
    assert grads[("y_hat", "x")] == w
    assert ("s", "y") in grads and grads[("s", "y")] == -1
    assert y_hat not in grads[("loss", "s")].free_symbols


def test_backward_pass_reproduces_minus_two() -> None:
    # Notes: dloss/ds = 2s = -2, dloss/dy_hat = -2 * 1 = -2, dloss/dw = -2 * x = -2.
    problem = load_problem(SEEDS / "linear-regression.toml")
    adj = adjoints(problem, "loss")
    point = {"x": 1, "y": 2, "w": 1}
    values = {name: substitute_point(expand(problem, adj[name]), point)
              for name in ("s", "y_hat", "w")}
    assert values == {"s": -2, "y_hat": -2, "w": -2}
    assert sympy.expand(expand(problem, adj["w"]) - 2 * x * (w * x - y)) == 0


def test_computation_graph_j_values() -> None:
    # u = b*c, v = a + u, J = 3*v at a=5, b=3, c=2: J = 33, dJ/da = 3, dJ/db = 6, dJ/dc = 9.
    problem = load_problem(SEEDS / "computation-graph-j.toml")
    point = {"a": 5, "b": 3, "c": 2}
    forward = dict(derive(problem).forward)
    assert substitute_point(forward["J"], point) == 33
    adj = adjoints(problem, "J")
    got = {n: substitute_point(expand(problem, adj[n]), point) for n in ("a", "b", "c", "v", "u")}
    assert got == {"a": 3, "b": 6, "c": 9, "v": 3, "u": 3}


def test_question_with_respect_to_a_stage_cuts_the_graph() -> None:
    problem = load_problem(SEEDS / "linear-regression.toml")
    target = derive(problem).target("dloss_ds")
    assert target.variables[-1] == "s"
    assert target.derivative == 2 * sym("s")
    assert dict(target.cut)["s"] == w * x - y


def test_second_derivative(write_problem) -> None:
    path = write_problem("""\
        id = "p"
        [symbols.x]
        value = 0.5
        [symbols.y]
        [[questions]]
        id = "hxx"
        of = "sin(x)*y**3"
        wrt = "x"
        order = 2
        [[questions]]
        id = "hxy"
        of = "sin(x)*y**3"
        wrt = ["x", "y"]
        """)
    targets = derive(load_problem(path)).targets
    assert targets[0].derivative == -sympy.sin(x) * sym("y") ** 3
    assert targets[1].derivative == 3 * sympy.cos(x) * sym("y") ** 2
    assert targets[1].first == sympy.cos(x) * sym("y") ** 3


def test_memoised_per_problem_object_and_forgotten_by_clear_cache(write_problem) -> None:  # type: ignore[no-untyped-def]
    # The same problem object gets its first answer back; a problem loaded again from a
    # changed file (a new object) never gets the old one, and clear_cache forgets all.
    from gradcheck.derivation import clear_cache, derive_question

    text = ('id = "p"\n[symbols.x]\nvalue = 1.0\n[graph]\nu = "{body}"\n'
            '[[questions]]\nid = "du_dx"\nof = "u"\nwrt = "x"\n')
    first = load_problem(write_problem(text.format(body="x**3")))
    target = derive_question(first, first.question("du_dx"))
    assert derive_question(first, first.question("du_dx")) is target
    assert target.function == x**3 and local_gradients(first)[0].expr == 3 * x**2
    second = load_problem(write_problem(text.format(body="sin(x)")))
    assert expand(second, sym("u")) == sympy.sin(x) and expand(first, sym("u")) == x**3
    assert local_gradients(second)[0].expr == sympy.cos(x)
    clear_cache()
    assert derive_question(first, first.question("du_dx")) is not target


def test_free_symbols_agree_with_sympy_on_bound_variables_and_shared_subtrees() -> None:
    from gradcheck.derivation import free_symbols

    t = sympy.Symbol("t", real=True)
    deep = x + y
    for _ in range(6):  # a graph expanded 6 stages deep: shared subtrees, walked once
        deep = sympy.tanh(deep) * deep + w
    exprs = [
        deep,
        sympy.Derivative(sympy.Function("f")(x, t), t) + y,
        sympy.Integral(x * t, (t, 0, w)),
        sympy.Lambda(t, t * x)(y),
        sympy.Subs(sympy.Function("g")(t), t, w) * x,
        sympy.Piecewise((x, x < y), (w, True)),
        sympy.Integer(3),
        sympy.Tuple(x, sympy.Tuple(y, 2)),
    ]
    for e in exprs:
        assert free_symbols(e) == e.free_symbols, e
