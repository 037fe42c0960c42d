"""Tests for gradcheck.grading: the seed notes' numbers, every answer test of the bank, hostile input."""

from __future__ import annotations

import doctest
import signal
import time

import pytest

from gradcheck import grading as grade_module
from gradcheck import truth as truth_module
from gradcheck.grading import grade
from gradcheck.loader import load_bank, load_problem
from gradcheck.parsing import Limits
from tests.helpers import ROOT, SEEDS

BANK = load_bank([SEEDS])
LINEAR = load_problem(SEEDS / "linear-regression.toml")
ANSWER_TESTS = [
    pytest.param(p, q.id, t, id=f"{p.id}-{q.id}-{t.expect}-{t.answer}")
    for p in BANK for q in p.questions for t in q.tests
]


# -- the notes' own numbers (seed 003: d loss/d w = 2x(wx - y) = -2 at x=1, y=2, w=1) ------------

def test_right_formula_passes_with_evidence_at_every_point() -> None:
    result = grade(LINEAR, "dloss_dw", "2*x*(w*x - y)")
    assert result.verdict == "pass" and result.diagnosis is None
    assert result.feedback.startswith("Correct:")
    assert len(result.evidence) == 21 and all(e.agrees for e in result.evidence)
    assert dict(result.evidence[0].point) == {"x": 1.0, "y": 2.0, "w": 1.0}
    assert result.evidence[0].expected == -2.0
    assert result.understood_as == "2*x*(w*x - y)" and result.expected == "2*x*(w*x - y)"


def test_value_question_takes_the_number_from_the_notes() -> None:
    result = grade(LINEAR, "dloss_dw_value", "-2")
    assert result.verdict == "pass" and result.expected == "-2"
    assert [(e.expected, e.got) for e in result.evidence] == [(-2.0, -2.0)]


def test_point_trap_fails_although_it_equals_minus_2_at_the_given_point() -> None:
    result = grade(LINEAR, "dloss_dw", "2*(w*x - y)")
    assert result.verdict == "fail" and result.diagnosis == "chain"
    assert result.evidence[0].agrees and not all(e.agrees for e in result.evidence)
    assert "d y_hat / d w = x" in result.feedback
    assert "Right at the given point (x=1, y=2, w=1)" in result.feedback


def test_wrong_value_feedback_names_the_given_point_first() -> None:
    result = grade(LINEAR, "dloss_dw_value", "4")
    assert result.verdict == "fail"
    assert result.feedback == ("Not right: at x=1, y=2, w=1 your answer gives 4 but "
                               "d loss / d w is -2.")


@pytest.mark.parametrize("answer", ["2x(wx-y)", "2·x·(w·x−y)", "2*w*x^2 - 2*x*y",
                                    "2 x (w x - y)", "2*(w*x - y)*x", "2x(wx−y)·1",
                                    r"2x\left(wx - y\right)", "2*s*x", "2*(y_hat - y)*x"])
def test_student_notation_and_stage_names_pass(answer: str) -> None:
    assert grade(LINEAR, "dloss_dw", answer).verdict == "pass"


def test_answer_may_keep_the_stage_the_question_is_about() -> None:
    assert grade(LINEAR, "dloss_ds", "2*s").verdict == "pass"
    assert grade(LINEAR, "dloss_ds", "2*y_hat - 2*y").verdict == "pass"


def test_formula_for_a_value_question_passes_with_a_note() -> None:
    result = grade(LINEAR, "dloss_dw_value", "2x(wx - y)")
    assert result.verdict == "pass" and "asks for the number" in result.feedback


def test_value_tolerance_accepts_rounding_to_four_digits() -> None:
    problem = load_problem(SEEDS / "exercise-4-3.toml")
    assert grade(problem, "dloss_dw_value", "-7.840").verdict == "pass"
    assert grade(problem, "dloss_dw_value", "-7.8").verdict == "fail"


def test_problem_tolerance_overrides_the_value_default() -> None:
    problem = load_problem(SEEDS / "training-step.toml")
    assert grade(problem, "dloss_dw_value", "-16.228801727294922").verdict == "pass"
    assert grade(problem, "dloss_dw_value", "-16.23").verdict == "fail"


def test_difference_below_tolerance_is_caught_symbolically_for_polynomials() -> None:
    result = grade(LINEAR, "dloss_dw", "2*x*(w*x - y) + 10^-9")
    assert result.verdict == "fail" and "1/1000000000" in result.feedback


def test_constant_equal_at_the_point_is_not_a_formula() -> None:
    result = grade(LINEAR, "dloss_ds", "-2")
    assert result.verdict == "fail" and "formula" in result.feedback


# -- every answer test of the bank ----------------------------------------------------------

@pytest.mark.parametrize(("problem", "question", "test"), ANSWER_TESTS)
def test_grader_agrees_with_every_answer_test(problem, question, test) -> None:  # type: ignore[no-untyped-def]
    result = grade(problem, question, test.answer)
    assert result.verdict == ("pass" if test.expect == "accept" else "fail"), result.feedback
    if test.diagnosis is not None:
        assert result.diagnosis == test.diagnosis, result.feedback


def test_the_bank_has_answer_tests() -> None:
    assert len(ANSWER_TESTS) > 300


# -- invalid and error ------------------------------------------------------------------------

HOSTILE = {
    "import": "__import__('os')",
    "attribute": "x.__class__",
    "lambda": "lambda: 1",
    "tower": "9**9**9**9",
    "factorial": "factorial(10**9)",
    "megabyte": "x" * 1_000_000,
    "deep-parens": "(" * 5000 + "x" + ")" * 5000,
    "deep-calls": "exp(" * 300 + "x" + ")" * 300,
    "big-rational": "(13/10)^6472416997",
    "lookalike": "х",  # Cyrillic
    "unknown": "z",
    "empty": "  ",
    "equation": "y = 2x",
    "zero-division": "1/0",
    "imaginary": "sqrt(-1)",
    "unclosed": "2*(x",
}


@pytest.mark.parametrize("answer", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_answers_are_invalid_quickly(answer: str) -> None:
    started = time.perf_counter()
    result = grade(LINEAR, "dloss_dw", answer)
    assert time.perf_counter() - started < 1.0
    assert result.verdict == "invalid" and result.feedback
    assert result.understood_as is None


def test_invalid_feedback_names_the_limit() -> None:
    result = grade(LINEAR, "dloss_dw", "x" * 3000)
    assert "(limit: max_length)" in result.feedback
    tight = grade(LINEAR, "dloss_dw", "x*x*x", limits=Limits(max_length=3))
    assert tight.verdict == "invalid"


def test_unknown_name_lists_the_problems_names() -> None:
    result = grade(LINEAR, "dloss_dw", "2*z")
    assert "unknown name 'z'" in result.feedback and "w, x, y" in result.feedback


def test_unknown_question_is_an_error_result() -> None:
    result = grade(LINEAR, "nope", "1")
    assert result.verdict == "error" and "dloss_dw" in result.feedback


def test_non_text_answer_is_invalid() -> None:
    assert grade(LINEAR, "dloss_dw", 3).verdict == "invalid"  # type: ignore[arg-type]


def test_answer_undefined_at_most_points_fails() -> None:
    result = grade(LINEAR, "dloss_dw", "log(x - 10)")
    assert result.verdict == "fail" and "undefined" in result.feedback


def test_time_limit_makes_a_slow_answer_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*args: object, **kwargs: object) -> None:
        time.sleep(5)

    monkeypatch.setattr(grade_module, "parse_expression", slow)
    started = time.perf_counter()
    result = grade(LINEAR, "dloss_dw", "x", time_limit=0.2)
    assert time.perf_counter() - started < 2
    assert result.verdict == "invalid" and "time_limit" in result.feedback
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# -- determinism and caching ------------------------------------------------------------------

def test_same_answer_and_seed_give_equal_results() -> None:
    for answer in ("2x(wx-y)", "2*(w*x - y)", "x^2", "1/0"):
        grade_module.clear_cache()
        first = grade(LINEAR, "dloss_dw", answer, seed=3)
        grade_module.clear_cache()  # else the second call returns the cached first result
        again = grade(LINEAR, "dloss_dw", answer, seed=3)
        assert again == first and again is not first
        assert first.seed == 3


def test_seed_changes_the_random_points() -> None:
    a = grade(LINEAR, "dloss_dw", "2x(wx-y)", seed=1).evidence
    b = grade(LINEAR, "dloss_dw", "2x(wx-y)", seed=2).evidence
    assert a[0] == b[0] and a[1].point != b[1].point


def test_truth_is_derived_once_per_question(monkeypatch: pytest.MonkeyPatch) -> None:
    grade_module.clear_cache()
    calls = []
    real = truth_module.derive_question
    monkeypatch.setattr(truth_module, "derive_question",
                        lambda *a: calls.append(1) or real(*a))
    for answer in ("2x(wx-y)", "x", "2*(w*x - y)", "-x", "(wx-y)^2"):
        grade(LINEAR, "dloss_dw", answer)
    assert len(calls) == 1


def test_points_option_sets_the_number_of_random_points() -> None:
    assert len(grade(LINEAR, "dloss_dw", "2x(wx-y)", points=5).evidence) == 6


def test_doctests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert doctest.testmod(grade_module).failed == 0


def test_question_about_a_bare_symbol_grades_a_wrong_answer(write_problem) -> None:
    # Regression: `of = "y"` once made the chain-rule path search recurse forever.
    path = write_problem('id = "p"\n[symbols.x]\nvalue = 1.0\n[symbols.y]\nvalue = 2.0\n'
                         '[[questions]]\nid = "dy_dx"\nof = "y"\nwrt = "x"\n')
    from gradcheck.grading import grade as grade_answer

    result = grade_answer(load_problem(path), "dy_dx", "1")
    assert result.verdict == "fail"
    assert grade_answer(load_problem(path), "dy_dx", "0").verdict == "pass"


def test_a_repeated_answer_is_graded_once_and_kept_per_problem_object() -> None:
    grade_module.clear_cache()
    problem = load_problem(SEEDS / "linear-regression.toml")
    first = grade(problem, "dloss_dw", "2x(wx - y)")
    assert grade(problem, "dloss_dw", "2x(wx - y)") is first
    assert grade(problem, "dloss_dw", "2x(wx - y)", seed=1) is not first
    other = load_problem(SEEDS / "linear-regression.toml")  # equal, but another object
    again = grade(other, "dloss_dw", "2x(wx - y)")
    assert again is not first and again == first


# -- where the question's function is undefined ------------------------------------------------

LOG_PROBLEM = '''
id = "p"
[symbols.x]
value = {value}
domain = [{low}, 2.0]
[graph]
u = "log(x + 1.5)"
[[questions]]
id = "du_dx"
of = "u"
wrt = "x"
[[questions]]
id = "du_dx_value"
of = "u"
wrt = "x"
kind = "value"
'''


def test_truth_is_sampled_only_where_the_function_is_defined(write_problem) -> None:  # type: ignore[no-untyped-def]
    # d u / d x = 1/(x + 1.5) is finite at x = -1.8, but log(-0.3) is not a real number.
    problem = load_problem(write_problem(LOG_PROBLEM.format(value=-1.8, low=-2.0)))
    result = grade(problem, "du_dx", "1/(x + 1.5)")
    assert result.verdict == "pass" and len(result.evidence) == 20  # the given point left out
    assert all(dict(e.point)["x"] > -1.5 for e in result.evidence)
    assert "at 20 random points" in result.feedback
    value = grade(problem, "du_dx_value", "-1/0.3")
    assert value.verdict == "error" and "undefined at the symbols' values" in value.feedback


def test_a_function_undefined_on_much_of_the_domain_cannot_be_graded(write_problem) -> None:  # type: ignore[no-untyped-def]
    problem = load_problem(write_problem(LOG_PROBLEM.format(value=1.0, low=-10.0)))
    result = grade(problem, "du_dx", "1/(x + 1.5)")
    assert result.verdict == "error"
    assert "undefined at" in result.feedback and "more than 20%" in result.feedback
    assert "choose domains" in result.feedback


# -- counts in feedback ---------------------------------------------------------------------------

def test_counts_in_feedback_are_singular_for_one() -> None:
    one = grade(LINEAR, "dloss_dw", "2x(wx-y)", points=1)
    assert one.feedback.endswith("at the given point and at 1 random point.")
    two = grade(LINEAR, "dloss_dw", "2x(wx-y)", points=2)
    assert two.feedback.endswith("at the given point and at 2 random points.")
