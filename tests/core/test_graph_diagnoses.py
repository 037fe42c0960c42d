"""Graph-aware diagnoses: the formulas of gradcheck.graph_mistakes against hand-derived ones,
each new diagnosis through grade(), and the share of the bank's reject tests diagnosed."""

from __future__ import annotations

import math

import pytest
import sympy

from gradcheck.grading import grade
from gradcheck.graph_mistakes import alternatives, graph_paths
from gradcheck.loader import load_bank, load_problem
from tests.helpers import PROBLEMS

BACKPROP = PROBLEMS / "backprop"
FORK = load_problem(BACKPROP / "fork.toml")
RNN = load_problem(BACKPROP / "rnn-through-time.toml")
L2 = load_problem(BACKPROP / "l2-regularised.toml")
SIGMOID = load_problem(BACKPROP / "sigmoid-neuron.toml")
SOFTMAX = load_problem(BACKPROP / "softmax-cross-entropy.toml")
x, y, w, lam, x1, y1, x2, y2 = sympy.symbols("x y w lam x1 y1 x2 y2", real=True)


def _kinds(problem, question):  # type: ignore[no-untyped-def]
    found: dict[str, list[sympy.Expr]] = {}
    for alt in alternatives(problem, problem.question(question)):
        found.setdefault(alt.kind, []).append(sympy.expand(alt.expr))
    return found


def test_the_fork_has_two_paths_and_each_dropped_path_is_a_formula() -> None:
    # f = q*x, q = x + y: d f / d x = q + x; by hand, the branch through q gives x, the
    # direct branch gives q = x + y.
    paths = graph_paths(FORK, FORK.question("df_dx"))
    assert sorted(tuple(e[1] for e in p) for p in paths) == [("q", "x"), ("x",)]
    kinds = _kinds(FORK, "df_dx")
    assert x in kinds["path"] and x + y in kinds["path"]
    assert x in kinds["product"] and x + y in kinds["product"]


def test_rnn_paths_through_time_by_hand() -> None:
    # U is used at the three steps: three paths, and the last step alone is
    # (h3 - y) (1 - h3^2) x3, written here over the symbols by hand.
    W, U, X1, X2, X3, Y = sympy.symbols("W U x1 x2 x3 y", real=True)
    h1 = sympy.tanh(U * X1)
    h2 = sympy.tanh(W * h1 + U * X2)
    h3 = sympy.tanh(W * h2 + U * X3)
    assert len(graph_paths(RNN, RNN.question("dloss_dU"))) == 3
    last = sympy.expand((h3 - Y) * (1 - h3**2) * X3)
    assert last in _kinds(RNN, "dloss_dU")["path"]


def test_the_l2_term_left_out_is_the_data_gradient() -> None:
    # loss = s1^2 + s2^2 + lam w^2: without the penalty, 2 s1 x1 + 2 s2 x2.
    no_penalty = sympy.expand(2 * (w * x1 - y1) * x1 + 2 * (w * x2 - y2) * x2)
    assert no_penalty in _kinds(L2, "dloss_dw")["term"]


def test_sigmoid_value_where_its_derivative_belongs() -> None:
    z = sympy.Symbol("z", real=True)
    b = sympy.Symbol("b", real=True)
    a = 1 / (1 + sympy.exp(-(w * x + b)))
    wrong = sympy.expand((a - y) * a * x)
    assert any(sympy.simplify(e - wrong) == 0 for e in _kinds(SIGMOID, "dloss_dw")["activation"])
    assert z not in wrong.free_symbols


@pytest.mark.parametrize(("problem", "question", "answer", "name", "words"), [
    (FORK, "df_dx", "x", "path", "accumulate them"),
    (FORK, "df_dx", "q", "product", "treats the factor q as a constant"),
    (RNN, "dloss_dU", "(h3 - y)*(1 - h3^2)*x3", "path", "x3"),
    (RNN, "dloss_dW", "(h3 - y)*h3*(h2 + W*(1 - h2^2)*h1)", "activation", "d h3 / d z3"),
    (RNN, "dloss_dW", "(h3 - y)*(1 - h3)*(h2 + W*(1 - h2^2)*h1)", "edge",
     "local gradient d h3 / d z3 is wrong"),
    (L2, "dloss_dw", "2*s1*x1 + 2*s2*x2", "term", "lam*w**2"),
    (SIGMOID, "da_dz", "z*(1 - z)", "edge", "input"),
    (SOFTMAX, "dloss_dz2", "0", "zero", "depend"),
])
def test_each_graph_diagnosis_names_the_stage_or_edge(problem, question, answer, name,  # type: ignore[no-untyped-def]
                                                      words) -> None:
    result = grade(problem, question, answer)
    assert result.verdict == "fail" and result.diagnosis == name, result.feedback
    assert words in result.feedback


def test_two_readings_that_fit_are_both_named() -> None:
    # q held constant is also the direct branch alone: product, and the path reading too.
    result = grade(FORK, "df_dx", "q")
    assert result.diagnosis == "product" and "Another reading fits too" in result.feedback
    assert "path" in result.feedback


def test_rounding_is_named_only_for_numbers_of_two_or_more_digits() -> None:
    # d loss / d z1 = p1 - 1 at z1 = 1, z2 = -0.5, by hand: -1/(1 + e^1.5).
    truth = -1 / (1 + math.exp(1.5))
    assert f"{truth:.2g}" == "-0.18"
    result = grade(SOFTMAX, "dloss_dz1_value", "-0.18")
    assert result.diagnosis == "rounding" and "2 significant digits" in result.feedback
    assert grade(SOFTMAX, "dloss_dz1_value", "-0.2").diagnosis is None


def test_a_number_put_in_too_early_is_named() -> None:
    result = grade(load_problem(PROBLEMS / "seeds" / "exercise-4-3.toml"), "dloss_dw",
                   "4*(w*x - y)")
    assert result.diagnosis == "plugged" and "d y_hat / d w" in result.feedback


# -- the measurement: the bank's reject tests -------------------------------------------------

def test_share_of_reject_tests_diagnosed_and_matched(capsys: pytest.CaptureFixture[str]) -> None:
    total = diagnosed = labelled = matched = 0
    wrong: list[str] = []
    for problem in load_bank([PROBLEMS]):
        if problem.arrays is not None:  # array diagnoses are measured in tests/arrays
            continue
        for question in problem.questions:
            for test in question.tests:
                if test.expect != "reject":
                    continue
                result = grade(problem, question.id, test.answer)
                total += 1
                diagnosed += result.diagnosis is not None
                if test.diagnosis is not None:
                    labelled += 1
                    if result.diagnosis == test.diagnosis:
                        matched += 1
                    else:
                        wrong.append(f"{problem.id}/{question.id}: {test.answer!r}")
    with capsys.disabled():
        print(f"\nreject tests: {total}; diagnosed {diagnosed} ({diagnosed / total:.1%}); "
              f"labelled {labelled} ({labelled / total:.1%}); labelled and matched {matched} "
              f"({matched / total:.1%})")
    assert not wrong, wrong
    assert labelled / total >= 0.95 and diagnosed / total >= 0.95
