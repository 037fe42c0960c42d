"""The check stage against independent oracles: the seed notes' numbers and hand-derived formulas."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import sympy

from gradcheck.backends import get_backend
from gradcheck.checks import check, check_target
from gradcheck.derivation import derive
from gradcheck.errors import ProblemError
from gradcheck.loader import load_bank, load_problem
from gradcheck.problem import sym
from gradcheck.report.json_report import render_json
from tests.helpers import LINEAR, PROBLEMS, SEEDS

# (problem, question, the value the notes print at the given point)
NOTES_VALUES = [
    ("linear-regression", "dloss_dw_value", -2.0),
    ("linear-regression", "dloss_ds_value", -2.0),
    ("linear-regression", "dloss_dyhat_value", -2.0),
    ("example-4-1", "dloss_dw_value", -8.0),
    ("neuron-product", "dloss_dx_value", 15.0),
    ("neuron-product", "dloss_dy_value", 10.0),
    ("computation-graph-j", "dJ_da", 3.0),
    ("computation-graph-j", "dJ_db_value", 6.0),
    ("computation-graph-j", "dJ_dc_value", 9.0),
    ("exercise-4-3", "dloss_dw_value", -7.84),
    ("training-step", "dloss_dw_value", -16.2288),
]


@pytest.fixture(scope="module")
def bank_report():
    return check(load_bank([PROBLEMS]), points=10, seed=0)


def test_seed_bank_passes(bank_report) -> None:
    failed = [(r.problem, r.question) for r in bank_report.results if not r.passed]
    assert failed == []


@pytest.mark.parametrize(("problem", "question", "value"), NOTES_VALUES,
                         ids=[f"{p}-{q}" for p, q, _ in NOTES_VALUES])
def test_values_the_notes_print(bank_report, problem: str, question: str, value: float) -> None:
    result = next(r for r in bank_report.results if (r.problem, r.question) == (problem, question))
    assert result.value == pytest.approx(value, rel=1e-12)


def _problem(write_problem, questions: str, extra: str = ""):
    return load_problem(write_problem(LINEAR.format(stem="p") + extra + questions))


def test_wrong_reference_formula_fails_with_point_and_values(write_problem) -> None:
    # 2*(w*x - y) equals -2 at the given point (x=1) but is not d loss / d w as a function.
    problem = _problem(write_problem, """
        [[questions]]
        id = "q"
        of = "loss"
        wrt = "w"
        answer = "2*(w*x - y)"
        """)
    (result,) = check([problem], points=10).results
    assert not result.passed
    ref = next(c for c in result.comparisons if c.what == "reference answer vs symbolic")
    assert not ref.passed and ref.failures >= 9
    point = dict(ref.worst_point)
    truth = 2 * point["x"] * (point["w"] * point["x"] - point["y"])
    assert ref.expected == pytest.approx(truth)
    assert ref.got == pytest.approx(2 * (point["w"] * point["x"] - point["y"]))
    fd = next(c for c in result.comparisons if c.what == "symbolic vs finite differences")
    assert fd.passed


def test_wrong_reference_value_fails(write_problem) -> None:
    problem = _problem(write_problem, """
        [[questions]]
        id = "q"
        of = "loss"
        wrt = "w"
        kind = "value"
        answer = "2"
        """)
    (result,) = check([problem]).results
    ref = next(c for c in result.comparisons if c.what == "reference value vs symbolic")
    assert (ref.passed, ref.got, ref.expected) == (False, 2.0, -2.0)


def test_a_wrong_symbolic_derivative_is_caught_by_finite_differences(write_problem) -> None:
    problem = _problem(write_problem, '[[questions]]\nid = "q"\nof = "loss"\nwrt = "w"\n')
    target = derive(problem).targets[0]
    x, y, w = sym("x"), sym("y"), sym("w")
    wrong = replace(target, graph=(*target.graph[:2], -2 * x * (w * x - y)))
    (result,) = check_target(problem, wrong, [get_backend("numpy")], points=10, seed=0)
    fd = next(c for c in result.comparisons if c.what == "symbolic vs finite differences")
    assert not fd.passed and fd.method == "complex-step"


def test_kink_at_the_given_point_is_set_aside_not_failed(write_problem) -> None:
    problem = load_problem(write_problem("""
        id = "p"
        [symbols.w]
        value = 0.0
        [symbols.x]
        value = 3.0
        [[questions]]
        id = "relu"
        of = "Max(w, 0)*x"
        wrt = "w"
        [[questions]]
        id = "abs"
        of = "Abs(w - 1)*x"
        wrt = "w"
        """))
    relu, absolute = check([problem]).results
    assert relu.passed and relu.value is None
    assert [(s.reason, s.given) for s in relu.set_aside] == [("non-differentiable", True)]
    assert absolute.passed and absolute.value == pytest.approx(-3.0)
    fd = next(c for c in absolute.comparisons if c.what == "symbolic vs finite differences")
    assert fd.method == "richardson"


def test_domain_where_the_function_is_undefined_is_a_problem_error(write_problem) -> None:
    problem = load_problem(write_problem("""
        id = "p"
        [symbols.x]
        [[questions]]
        id = "q"
        of = "log(x)"
        wrt = "x"
        """))
    with pytest.raises(ProblemError) as info:
        check([problem])
    assert info.value.key == "symbols.x.domain" and "undefined" in str(info.value)


def test_undefined_at_the_given_point_is_a_problem_error(write_problem) -> None:
    problem = load_problem(write_problem("""
        id = "p"
        [symbols.x]
        value = 0.0
        domain = [0.5, 2]
        [[questions]]
        id = "q"
        of = "log(x)"
        wrt = "x"
        """))
    with pytest.raises(ProblemError, match="undefined at the symbols' values"):
        check([problem])


def test_floor_differentiates_to_zero_between_its_jumps(write_problem) -> None:
    problem = load_problem(write_problem("""
        id = "p"
        [symbols.x]
        value = 1.5
        [[questions]]
        id = "q"
        of = "floor(x)*x"
        wrt = "x"
        """))
    (result,) = check([problem], points=40).results
    assert result.passed and result.value == 1.0  # d/dx floor(x)*x = floor(x) = 1 at 1.5


def test_unsupported_function_names_it() -> None:
    from gradcheck.errors import UnsupportedFunctionError
    from gradcheck.tape import build_tape

    x = sym("x")
    with pytest.raises(UnsupportedFunctionError, match="cannot compile airyai"):
        build_tape([sympy.airyai(x)], [x])


def test_second_derivatives_and_mixed(write_problem) -> None:
    problem = load_problem(write_problem("""
        id = "p"
        [symbols.x]
        value = 0.3
        [symbols.y]
        value = -1.2
        [[questions]]
        id = "hxx"
        of = "exp(x)*sin(y) + x**3*y"
        wrt = "x"
        order = 2
        answer = "exp(x)*sin(y) + 6*x*y"
        [[questions]]
        id = "hxy"
        of = "exp(x)*sin(y) + x**3*y"
        wrt = ["x", "y"]
        answer = "exp(x)*cos(y) + 3*x**2"
        """))
    hxx, hxy = check([problem]).results
    assert hxx.passed and hxy.passed
    x, y = 0.3, -1.2
    assert hxy.value == pytest.approx(float(sympy.exp(x) * sympy.cos(y) + 3 * x**2))


def test_points_and_tolerance_are_recorded(write_problem) -> None:
    problem = _problem(write_problem, '[[questions]]\nid = "q"\nof = "loss"\nwrt = "w"\n',
                       extra='[tolerance]\nrtol = 1e-4\nreason = "teaching example"\n')
    (result,) = check([problem], points=7).results
    assert result.points == 8  # the given point and 7 random ones
    assert {c.tolerance.reason for c in result.comparisons} == {"teaching example"}


def test_same_seed_same_bytes_other_seed_other_points() -> None:
    problems = [load_problem(SEEDS / "linear-regression.toml")]
    first = render_json(check(problems, seed=3))
    assert first == render_json(check(problems, seed=3))
    other = render_json(check(problems, seed=4))
    assert first != other
    data = json.loads(first)
    assert data["seed"] == 3 and data["passed"] is True


KINKS_AWAY_FROM_THE_POINTS = """
id = "p"
[symbols.x]
domain = [0.2, 0.9]
[symbols.y]
[[questions]]
id = "relu"
of = "relu(x - 0.5)*y"
wrt = "x"
[[questions]]
id = "abs"
of = "Abs(x - 0.5)*y"
wrt = "x"
[[questions]]
id = "step"
of = "Heaviside(x - 0.5)*y + x"
wrt = "x"
[[questions]]
id = "piecewise"
of = "Piecewise((x**2, x > 0.5), (x, True))*y"
wrt = "x"
"""


@pytest.mark.parametrize("seed", range(4))
def test_kinks_near_random_points_do_not_fail_correct_derivatives(write_problem, seed) -> None:
    # Richardson's stencil reaches 5% of |x|: many of 150 points straddle the kink at 0.5.
    problem = load_problem(write_problem(KINKS_AWAY_FROM_THE_POINTS))
    results = check([problem], points=150, seed=seed).results
    assert [(r.question, r.passed) for r in results] == [
        ("relu", True), ("abs", True), ("step", True), ("piecewise", True)]


def test_wrong_derivative_of_a_kinked_function_still_fails(write_problem) -> None:
    problem = load_problem(write_problem(KINKS_AWAY_FROM_THE_POINTS))
    target = derive(problem).target("abs")
    wrong = replace(target, graph=(*target.graph[:2], 1.001 * target.graph[2]))
    (result,) = check_target(problem, wrong, [get_backend("numpy")], points=50, seed=0)
    fd = next(c for c in result.comparisons if c.what == "symbolic vs finite differences")
    assert not fd.passed and fd.failures == fd.points


def test_a_loose_tolerance_does_not_let_a_wrong_reference_formula_pass(write_problem) -> None:
    problem = _problem(write_problem, """
        [[questions]]
        id = "q"
        of = "loss"
        wrt = "w"
        answer = "2.01*x*(w*x - y)"
        """, extra='[tolerance]\nrtol = 1e-2\nreason = "rounded value answers"\n')
    (result,) = check([problem]).results
    ref = next(c for c in result.comparisons if c.what == "reference answer vs symbolic")
    assert not ref.passed and ref.tolerance.rtol == 1e-6


def test_value_question_at_a_kink_is_a_problem_error(write_problem) -> None:
    problem = load_problem(write_problem("""
        id = "p"
        [symbols.w]
        value = 0.0
        [symbols.x]
        value = 2.0
        [[questions]]
        id = "q"
        of = "Abs(w)*x"
        wrt = "w"
        kind = "value"
        answer = "0"
        """))
    with pytest.raises(ProblemError, match="not differentiable"):
        check([problem])
