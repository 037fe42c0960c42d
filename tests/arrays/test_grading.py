"""Array grading: the bank's answer tests, truths against independent numpy oracles, the rule's edges."""

from __future__ import annotations

import time

import numpy as np
import pytest

from gradcheck import grade
from gradcheck.arrays.derivation import exact, truth
from gradcheck.loader import load_bank, load_problem
from tests.helpers import PROBLEMS

MATRICES = PROBLEMS / "matrices"
BANK = load_bank([MATRICES])
TESTS = [(p, q.id, t) for p in BANK for q in p.questions for t in q.tests]


def test_the_bank_covers_what_courses_teach() -> None:
    ids = {p.id for p in BANK}
    assert {"linear-layer", "linear-regression-data", "logistic-regression", "softmax-ce-batch",
            "mlp-relu", "batchnorm", "quadratic-form", "trace-logdet", "jacobian-layer"} <= ids
    diagnoses = {t.diagnosis for _, _, t in TESTS}
    assert {"transposed", "symmetric-only", "missing-term", "factor", "sign", "batch-sum",
            "elementwise", "transposed-jacobian"} <= diagnoses


@pytest.mark.parametrize(("problem", "qid", "test"), TESTS,
                         ids=[f"{p.id}-{q}-{t.expect}-{t.answer}" for p, q, t in TESTS])
def test_bank_answer_tests(problem, qid: str, test) -> None:
    result = grade(problem, qid, test.answer)
    if test.expect == "accept":
        assert result.verdict == "pass", result.feedback
    else:
        assert result.verdict in ("fail", "invalid"), result.feedback
        if test.diagnosis:
            assert result.diagnosis == test.diagnosis, result.feedback


def _truth_at(problem, qid: str, values: dict[str, np.ndarray]) -> np.ndarray:
    q = problem.arrays.question(qid)
    point = np.concatenate([values[s.name].ravel() for s in problem.arrays.symbols if not s.fixed])
    return exact(problem, truth(problem, q), point)


def _fixed(problem, name: str) -> np.ndarray:
    s = problem.arrays.symbol(name)
    return np.array([float(v) for v in s.value], dtype=float).reshape(s.shape)


def test_exercise_4_3_data_gives_the_mean_of_the_notes_per_sample_gradients() -> None:
    # The notes print d loss / d w = -2, -7.84, -16.2288 while w changes; at w = 1 for every sample
    # the per-sample gradients 2x(wx - y) are -2, -8 and -18 (by hand), so the mean is -28/3.
    problem = load_problem(MATRICES / "linear-regression-data.toml")
    got = _truth_at(problem, "dL_dw", {"w": np.array([1.0]), "v": np.ones(3)})
    assert got[0, 0] == pytest.approx(-28 / 3, rel=1e-12)
    assert grade(problem, "dL_dw_value", "-9.33").verdict == "pass"


def test_logistic_regression_against_its_textbook_gradient() -> None:
    problem = load_problem(MATRICES / "logistic-regression.toml")
    X, y = _fixed(problem, "X"), _fixed(problem, "y")
    rng = np.random.default_rng(3)
    for _ in range(3):
        w, b = rng.uniform(-3, 3, (2, 1)), rng.uniform(-3, 3, (1, 1))
        p = 1 / (1 + np.exp(-(X @ w + b)))
        got = _truth_at(problem, "dL_dw", {"w": w, "b": b})
        np.testing.assert_allclose(got, X.T @ (p - y) / 4, rtol=1e-12)


def test_log_det_and_softmax_cross_entropy_where_matrixsymbol_calculus_is_wrong() -> None:
    # FINDINGS: SymPy's MatrixSymbol gives 0 for d log det X / dX and drops the log-sum-exp term.
    problem = load_problem(MATRICES / "trace-logdet.toml")
    A = np.array([[3.0, 0.5, -0.2], [0.1, 2.5, 0.7], [-0.4, 0.3, 3.5]])
    got = _truth_at(problem, "dl_dA", {"A": A})
    np.testing.assert_allclose(got, np.linalg.inv(A).T, rtol=1e-12)

    problem = load_problem(MATRICES / "softmax-ce-batch.toml")
    Z = np.random.default_rng(5).uniform(-3, 3, (3, 4))
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    Y = np.eye(4)[[2, 0, 3]]
    np.testing.assert_allclose(_truth_at(problem, "dL_dZ", {"Z": Z}), (P - Y) / 3, rtol=1e-12)


def test_batchnorm_against_finite_differences_of_a_numpy_forward_pass() -> None:
    problem = load_problem(MATRICES / "batchnorm.toml")
    G = _fixed(problem, "G")
    x, gamma, beta = np.array([[0.3], [-1.2], [0.8], [1.9]]), 1.3, -0.4

    def loss(x: np.ndarray) -> float:
        mu = x.mean()
        xhat = (x - mu) / np.sqrt(((x - mu) ** 2).mean() + 0.001)
        return float(((gamma * xhat + beta) * G).sum())

    h = 1e-6
    numeric = np.array([[(loss(x + h * e) - loss(x - h * e)) / (2 * h)] for e in np.eye(4)[:, :, None]])
    got = _truth_at(problem, "dL_dx", {"x": x, "gamma": np.array([gamma]), "beta": np.array([beta])})
    np.testing.assert_allclose(got, numeric.reshape(4, 1), rtol=1e-6)


LAYER = MATRICES / "linear-layer.toml"


@pytest.mark.parametrize(("answer", "verdict", "words"), [
    ("1.0000001 * X.T @ G", "fail", "agrees with d L / d W to about"),      # a near miss is not equal
    ("X.T @ G + 1e-9 * W", "fail", "not equal"),
    ("X.T @ G + sqrt(W) - sqrt(abs(W))", "fail", "undefined"),              # not real where W < 0
    ("X.T @ G + 0 * W", "pass", "Correct"),
    ("X @ G", "invalid", "did you mean X.T @ G"),
    ("X.T @ G[0]", "invalid", "cannot be multiplied"),
    ("eval('1')", "invalid", "unknown name"),
])
def test_the_decision_rule(answer: str, verdict: str, words: str) -> None:
    result = grade(load_problem(LAYER), "dW", answer)
    assert result.verdict == verdict
    assert words in result.feedback


def test_same_answer_and_seed_give_equal_results_and_seeds_differ() -> None:
    problem = load_problem(LAYER)
    a = grade(problem, "dW", "-X.T @ G", seed=3)
    b = grade(load_problem(LAYER), "dW", "-X.T @ G", seed=3)
    c = grade(problem, "dW", "-X.T @ G", seed=4)
    assert a.to_dict() == b.to_dict()
    assert a.evidence[0].point != c.evidence[0].point


def test_unknown_question_is_an_error_row() -> None:
    result = grade(load_problem(LAYER), "dQ", "X")
    assert result.verdict == "error" and "dW" in result.feedback


def test_a_questions_known_mistakes_are_not_charged_to_the_answers_time_limit(monkeypatch) -> None:
    from gradcheck.arrays import grading as array_grading

    built = array_grading._alternatives

    def slow(*args):  # a question whose known mistakes take longer than an answer may
        time.sleep(0.6)
        return built(*args)

    monkeypatch.setattr(array_grading, "_alternatives", slow)
    problem = load_problem(MATRICES / "quadratic-form.toml")  # a fresh problem: nothing cached
    result = grade(problem, "df_dx", "(A + A.T) @ x", time_limit=0.1)
    assert (result.verdict, result.diagnosis) == ("fail", "missing-term"), result.feedback


def test_a_graded_problem_still_pickles_and_grades_the_same() -> None:
    import pickle

    problem = load_problem(MATRICES / "mlp-relu.toml")
    first = grade(problem, "dL_dW1", "X.T @ ((S - y) @ W2.T) / 2")
    copy = pickle.loads(pickle.dumps(problem))  # the Dask executor sends problems to its workers
    again = grade(copy, "dL_dW1", "X.T @ ((S - y) @ W2.T) / 2")
    assert again.verdict == first.verdict == "fail"
    assert (again.feedback, again.evidence) == (first.feedback, first.evidence)
