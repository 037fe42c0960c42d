"""Deep graphs: the derivation is a straight-line program (reverse accumulation over the
stages), checked against hand-derived recurrences and mpmath, never against itself."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy

from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.checks import check
from gradcheck.derivation import CLOSED_FORM_LIMIT, derive, expand, tree_size
from gradcheck.loader import load_problem
from gradcheck.problem import sym


def chain(n: int, order: int = 1, wrt: str = "x", pid: str = "p") -> str:
    """The issue's chain: s0 = x, s_i = tanh(s_{i-1}) + 0.5*s_{i-1}*x."""
    stages = "\n".join(f's{i} = "tanh(s{i - 1}) + 0.5*s{i - 1}*x"' for i in range(1, n + 1))
    return (f'id = "{pid}"\n[symbols.x]\ndomain = [0.5, 1.5]\n[graph]\ns0 = "x"\n{stages}\n'
            f'[[questions]]\nid = "q"\nof = "s{n}"\nwrt = "{wrt}"\norder = {order}\n')


def chain_value_and_slope(n: int, x: float) -> tuple[float, float]:
    """Forward mode by hand: s' = (1 - tanh(s)^2) s' + 0.5 (s' x + s), starting at s0' = 1."""
    s, ds = x, 1.0
    for _ in range(n):
        s, ds = math.tanh(s) + 0.5 * s * x, (1 - math.tanh(s) ** 2) * ds + 0.5 * (ds * x + s)
    return s, ds


def evaluate(target, exprs, pts):  # type: ignore[no-untyped-def]
    return NumpyBackend().evaluate(target.build(exprs), pts)


@pytest.mark.parametrize("n", [1, 3, 40])
def test_chain_derivative_matches_the_hand_recurrence(write_problem, n: int) -> None:
    target = derive(load_problem(write_problem(chain(n)))).targets[0]
    pts = np.array([[0.5], [0.9], [1.3]])
    function, first, derivative = evaluate(target, target.graph, pts)
    for i, (x,) in enumerate(pts):
        value, slope = chain_value_and_slope(n, x)
        assert function[i] == pytest.approx(value, rel=1e-12)
        assert derivative[i] == pytest.approx(slope, rel=1e-12)
        assert first[i] == derivative[i]


def test_program_grows_linearly_where_the_closed_form_grows_exponentially(write_problem) -> None:
    small, large = (derive(load_problem(write_problem(chain(n, pid=f"c{n}"), stem=f"c{n}"))).targets[0]
                    for n in (20, 40))
    # Each stage adds two assignments: its forward value and its adjoint.
    assert len(large.program) - len(small.program) == 2 * 20
    assert large.build(large.graph).instructions.__len__() < 2.2 * len(
        small.build(small.graph).instructions)
    # s_i uses s_{i-1} twice: 2**40 nodes once substituted; never built.
    assert tree_size(large.program, large.question.of_expr) > 2 ** 40
    assert large.closed_form() is None


def test_second_derivative_of_a_deep_chain_against_mpmath(write_problem) -> None:
    n = 25
    target = derive(load_problem(write_problem(chain(n, order=2)))).targets[0]
    got = evaluate(target, target.graph[2:], np.array([[0.7], [1.2]]))[0]

    def f(x):  # type: ignore[no-untyped-def]
        s = x
        for _ in range(n):
            s = mpmath.tanh(s) + s * x / 2
        return s

    with mpmath.workdps(40):
        expected = [float(mpmath.diff(f, mpmath.mpf(x), 2)) for x in ("0.7", "1.2")]
    assert got == pytest.approx(expected, rel=1e-10)


def test_closed_forms_of_small_problems_are_built_on_demand(write_problem) -> None:
    # The old way: stages substituted, then SymPy differentiates (for formulas to show).
    target = derive(load_problem(write_problem(chain(3)))).targets[0]
    x = sym("x")
    assert target.function.free_symbols == {x} == target.derivative.free_symbols
    for at in (0.6, 1.4):
        value, slope = chain_value_and_slope(3, at)
        assert float(target.function.subs(x, at)) == pytest.approx(value, rel=1e-13)
        assert float(target.derivative.subs(x, at)) == pytest.approx(slope, rel=1e-13)
    assert target.closed_form() == target.derivative
    assert target.closed_form("function") == target.function
    assert tree_size(target.program, target.question.of_expr) < CLOSED_FORM_LIMIT


MIXED = """\
id = "p"
[symbols.x]
domain = [0.2, 2]
[symbols.w]
domain = [0.2, 2]
[graph]
u = "w*x"
h = "tanh(u) + log(1 + w**2)"
v = "h*u + exp(-x*h)"
loss = "(v - x)**2 + Abs(w - 3)"
[[questions]]
id = "ww"
of = "loss"
wrt = "w"
order = 2
[[questions]]
id = "wx"
of = "loss"
wrt = ["w", "x"]
[[questions]]
id = "hw"
of = "loss"
wrt = ["h", "w"]
[[questions]]
id = "wh"
of = "loss"
wrt = ["w", "h"]
[[questions]]
id = "dh"
of = "v*loss"
wrt = "h"
"""


@pytest.mark.parametrize("question", ["ww", "wx", "hw", "wh", "dh"])
def test_program_agrees_with_sympy_on_the_closed_form(write_problem, question: str) -> None:
    # Second derivatives through shared stages, mixed, and with a cut stage in either
    # place: the forward-over-reverse program against SymPy's diff of the expanded form.
    problem = load_problem(write_problem(MIXED))
    target = derive(problem).target(question)
    rng = np.random.default_rng(3)
    pts = rng.uniform(0.2, 2, size=(6, 2))
    if target.cut_names:
        pts = np.column_stack([pts, *NumpyBackend().evaluate(target.build_cut(), pts)])
    names = target.variables
    got = evaluate(target, target.graph[1:], pts)
    for row, values in zip(pts, zip(*got, strict=True), strict=True):
        at = {sym(n): sympy.Float(v, 30) for n, v in zip(names, row, strict=True)}
        for closed, value in zip((target.first, target.derivative), values, strict=True):
            assert value == pytest.approx(float(closed.xreplace(at).evalf(30)), rel=1e-11)


def test_a_cut_stage_holds_the_rest_of_the_graph_fixed(write_problem) -> None:
    # d loss / d h with h an input: u and the x, w uses stay as they are (backprop adjoint).
    problem = load_problem(write_problem(MIXED))
    target = derive(problem).target("dh")
    x, w, h = sym("x"), sym("w"), sym("h")
    u = w * x
    v = h * u + sympy.exp(-x * h)
    of = v * ((v - x) ** 2 + sympy.Abs(w - 3))
    assert sympy.simplify(target.derivative - sympy.diff(of, h)) == 0
    assert sympy.simplify(expand(problem, sym("u")) - u) == 0


def test_checking_a_hundred_stage_chain_passes(write_problem) -> None:
    report = check([load_problem(write_problem(chain(100)))], points=3)
    (result,) = report.results
    assert result.passed and len(result.comparisons) == 1


def test_grading_on_a_deep_chain_uses_the_program(write_problem) -> None:
    # 40 stages: the expanded derivative would have about 2**40 nodes. The truth comes
    # from the adjoint program, and a wrong answer is diagnosed without expanding anything.
    from gradcheck import grade
    from gradcheck.truth import TOO_LARGE

    problem = load_problem(write_problem(chain(40)))
    wrong = grade(problem, "q", "-x")
    assert wrong.verdict == "fail" and wrong.expected == TOO_LARGE
    # The 2-stage chain written out by hand, as one formula, passes.
    two = load_problem(write_problem(chain(2, pid="two"), stem="two"))
    s1 = "(tanh(x) + 0.5*x*x)"
    ds1 = "((1 - tanh(x)^2) + x)"
    assert grade(two, "q", f"(1 - tanh({s1})^2)*{ds1} + 0.5*({ds1}*x + {s1})").verdict == "pass"
    assert grade(two, "q", f"(1 - tanh({s1})^2)*{ds1} + 0.5*({ds1}*x)").verdict == "fail"
