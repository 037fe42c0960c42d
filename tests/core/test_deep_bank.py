"""problems/deep: every answer test, and the numbers against independent oracles (the
seed notes' printed gradients and weights, a hand-written backward pass)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradcheck import grade
from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.checks import complete
from gradcheck.derivation import derive
from gradcheck.loader import load_bank, load_problem
from gradcheck.points import given
from tests.helpers import PROBLEMS

DEEP = PROBLEMS / "deep"
BANK = load_bank([DEEP])
ANSWER_TESTS = [
    pytest.param(p, q.id, t, id=f"{p.id}-{q.id}-{t.expect}-{t.answer}")
    for p in BANK for q in p.questions for t in q.tests
]


@pytest.mark.parametrize(("problem", "question", "test"), ANSWER_TESTS)
def test_grader_agrees_with_every_answer_test(problem, question, test) -> None:  # type: ignore[no-untyped-def]
    result = grade(problem, question, test.answer)
    assert result.verdict == ("pass" if test.expect == "accept" else "fail"), result.feedback
    if test.diagnosis is not None:
        assert result.diagnosis == test.diagnosis, result.feedback


def truth_at_given_point(problem, question_id):  # type: ignore[no-untyped-def]
    """The derived derivative (function, first, derivative) at the symbols' values."""
    target = derive(problem).target(question_id)
    pts = complete(target, problem, given(problem))
    return [float(v[0]) for v in NumpyBackend().evaluate(target.build(target.graph), pts)]


def forward_value(problem, stage):  # type: ignore[no-untyped-def]
    target = derive(problem).targets[0]
    from gradcheck.problem import sym
    tape = target.build([sym(stage)])
    return float(NumpyBackend().evaluate(tape, given(problem))[0][0])


# -- the SGD trace against the notes (seed 000 and 001) ---------------------------------------

SGD = load_problem(DEEP / "sgd-trace.toml")
# (step, w before the step, printed grad): seed 000 prints w to 4 decimals and grad in float32;
# seed 001 prints grad to 4 decimals for the first epoch.
NOTES = [(1, 1.0, -2.0), (2, 1.02, -7.840000152587891), (3, 1.0984, -16.228801727294922),
         (4, 1.2607, -1.478623867034912), (5, 1.2755, -5.796205520629883),
         (6, 1.3334, -11.998146057128906)]


@pytest.mark.parametrize(("step", "weight", "grad"), NOTES)
def test_sgd_trace_reproduces_the_printed_weights_and_gradients(step: int, weight: float,
                                                                grad: float) -> None:
    # Weights as the notes print them (4 decimals); gradients to float32's precision.
    assert forward_value(SGD, f"w{step - 1}" if step > 1 else "w0") == pytest.approx(
        weight, abs=5e-5) if step > 1 else True
    question = next(q for q in SGD.questions if q.of == f"loss{step}")
    assert truth_at_given_point(SGD, question.id)[2] == pytest.approx(grad, rel=2e-7)
    # The stage the loop prints is the derivative the question asks.
    assert forward_value(SGD, f"grad{step}") == pytest.approx(grad, rel=2e-7)


def test_sgd_trace_first_epoch_to_the_printed_digits() -> None:
    # Seed 001: grad -2., -7.8400, -16.2288 and the loss 7.3159 after the first epoch;
    # seed 000: w = 1.0200, 1.0984 (exact in decimal: 1 + 0.02, 1.02 + 0.0784).
    grads = [round(forward_value(SGD, f"grad{k}"), 4) for k in (1, 2, 3)]
    assert grads == [-2.0, -7.84, -16.2288]
    assert [round(forward_value(SGD, f"w{k}"), 10) for k in (1, 2)] == [1.02, 1.0984]
    assert round(forward_value(SGD, "loss3"), 4) == 7.3159


def test_sgd_trace_derivatives_through_the_trace_by_hand() -> None:
    # d w_k / d w_(k-1) = 1 - 2 lr x_k^2 (differentiate w - lr*2x(wx - y)), chained.
    factors = [1 - 2 * 0.01 * x * x for x in (1, 2, 3)]
    dw3 = math.prod(factors)
    assert truth_at_given_point(SGD, "dw3_dw0")[2] == pytest.approx(dw3, rel=1e-14)
    assert truth_at_given_point(SGD, "dw6_dw0")[2] == pytest.approx(dw3 ** 2, rel=1e-14)
    # d loss3 / d w0 = d loss3 / d w2 * d w2 / d w0 = 2*3*(3*w2 - 6) * 0.98 * 0.92.
    assert truth_at_given_point(SGD, "dloss3_dw0")[2] == pytest.approx(
        2 * 3 * (3 * 1.0984 - 6) * factors[0] * factors[1], rel=1e-14)


# -- the RNN against a hand-written backward pass through time -------------------------------

RNN = load_problem(DEEP / "rnn-10-steps.toml")
XS = (1.0, -0.5, 0.3, 0.8, -1.2, 0.6, 0.1, -0.4, 0.9, -0.7)


def bptt(w: float, u: float, b: float, y: float) -> dict[str, float]:
    """Forward pass, then backward through time by the notes' recipe (local gradients)."""
    hs = [0.0]
    for x in XS:
        hs.append(math.tanh(w * hs[-1] + u * x + b))
    loss = (hs[-1] - y) ** 2
    dh = 2 * (hs[-1] - y)
    out = {"loss": loss, "dloss_dh10": dh, "w": 0.0, "u": 0.0, "b": 0.0}
    for t in range(10, 0, -1):
        delta = dh * (1 - hs[t] ** 2)          # through tanh
        out["w"] += delta * hs[t - 1]
        out["u"] += delta * XS[t - 1]
        out["b"] += delta
        dh = delta * w                         # to h_(t-1)
        if t == 10:
            out["dloss_dh9"] = dh
    return out


@pytest.mark.parametrize(("question", "key"), [("dloss_dw_value", "w"), ("dloss_du_value", "u"),
                                               ("dloss_db_value", "b"),
                                               ("dloss_dh10", "dloss_dh10"),
                                               ("dloss_dh9", "dloss_dh9")])
def test_rnn_gradients_match_a_hand_written_bptt(question: str, key: str) -> None:
    expected = bptt(0.5, 0.8, 0.1, 0.3)
    function, _, derivative = truth_at_given_point(RNN, question)
    assert function == pytest.approx(expected["loss"], rel=1e-14)
    assert derivative == pytest.approx(expected[key], rel=1e-12)
    reference = RNN.question(question).answer
    if RNN.question(question).kind == "value":
        assert float(reference) == pytest.approx(expected[key], rel=1e-12)


def test_rnn_second_derivative_matches_differences_of_the_hand_bptt() -> None:
    # Central difference of the hand-written gradient (an O(h^2) oracle; h = 1e-5).
    h = 1e-5
    fd = (bptt(0.5 + h, 0.8, 0.1, 0.3)["w"] - bptt(0.5 - h, 0.8, 0.1, 0.3)["w"]) / (2 * h)
    assert truth_at_given_point(RNN, "d2loss_dw2_value")[2] == pytest.approx(fd, rel=1e-8)


def test_rnn_at_random_points_matches_the_hand_bptt() -> None:
    target = derive(RNN).target("dloss_dw_value")
    rng = np.random.default_rng(11)
    pts = rng.uniform(-1, 1, size=(5, 4))
    got = NumpyBackend().evaluate(target.build(target.graph[2:]), pts)[0]
    assert got == pytest.approx([bptt(*row)["w"] for row in pts], rel=1e-12)


def test_explain_walks_the_rnn_backward_stage_by_stage() -> None:
    from gradcheck.explanation import explain

    e = explain(RNN, "dloss_dw_value")
    expected = bptt(0.5, 0.8, 0.1, 0.3)
    assert float(e.result.value) == pytest.approx(expected["w"], rel=1e-12)
    backward = {b.node: float(b.value) for b in e.backward}
    assert backward["h10"] == pytest.approx(expected["dloss_dh10"], rel=1e-12)
    assert backward["h9"] == pytest.approx(expected["dloss_dh9"], rel=1e-12)
    assert float(dict((f.name, f.value) for f in e.forward)["loss"]) == pytest.approx(
        expected["loss"], rel=1e-12)
