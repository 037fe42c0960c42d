"""Three diagnoses read off the graph, each against a hand-derived wrong answer on a problem
written here (not in the bank): a local gradient multiplied in twice, every path stopped one
edge short of the variable, and an activation's local gradient slipped in a matrix layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradcheck.grading import grade
from gradcheck.loader import load_problem

TANH_NEURON = '''
id = "tanh-neuron"
title = "a tanh neuron with a squared error"
[symbols]
x = { value = 0.5 }
w = { value = -1.2 }
y = { value = 0.3 }
[graph]
z = "w*x"
h = "tanh(z)"
loss = "(h - y)**2"
[[questions]]
id = "dloss_dw"
of = "loss"
wrt = "w"
answer = "2*(h - y)*(1 - h**2)*x"
'''

THREE_SAMPLES = '''
id = "three-samples"
title = "least squares over three samples, each residual a stage"
[symbols]
w = { value = 1 }
x1 = { value = 1 }
y1 = { value = 2 }
x2 = { value = 2 }
y2 = { value = 3 }
x3 = { value = -1 }
y3 = { value = 0.5 }
[graph]
s1 = "w*x1 - y1"
s2 = "w*x2 - y2"
s3 = "w*x3 - y3"
loss = "s1**2 + s2**2 + s3**2"
[[questions]]
id = "dloss_dw"
of = "loss"
wrt = "w"
answer = "2*s1*x1 + 2*s2*x2 + 2*s3*x3"
'''

TANH_LAYER = '''
id = "tanh-layer"
title = "a tanh layer summed"
[symbols.X]
shape = [3, 2]
[symbols.W]
shape = [2, 2]
[graph]
Z = "X @ W"
H = "tanh(Z)"
L = "sum(H)"
[[questions]]
id = "dL_dW"
of = "L"
wrt = "W"
answer = "X.T @ (1 - H**2)"
'''


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    name = text.split('id = "')[1].split('"')[0]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return load_problem(path)


def test_a_local_gradient_multiplied_in_twice(tmp_path: Path) -> None:
    p = _load(tmp_path, TANH_NEURON)
    assert grade(p, "dloss_dw", "2*(h - y)*(1 - h^2)*x").verdict == "pass"
    # d h / d z = 1 - h^2 applied twice: by hand, the truth times (1 - h^2).
    r = grade(p, "dloss_dw", "2*(h - y)*(1 - h^2)^2*x")
    assert r.verdict == "fail" and r.diagnosis == "extra-gradient"
    assert "too many" in r.feedback
    # Times x again is d y_hat / d w twice.
    r = grade(p, "dloss_dw", "2*(h - y)*(1 - h^2)*x^2")
    assert r.diagnosis == "extra-gradient"
    # A non-constant factor that is no local gradient is not called one.
    r = grade(p, "dloss_dw", "2*(h - y)*(1 - h^2)*x*y")
    assert r.diagnosis != "extra-gradient"


def test_every_path_stopped_one_edge_short(tmp_path: Path) -> None:
    p = _load(tmp_path, THREE_SAMPLES)
    r = grade(p, "dloss_dw", "2*s1 + 2*s2 + 2*s3")
    assert r.verdict == "fail" and r.diagnosis == "chain"
    assert "d s1 / d w" in r.feedback and "d s3 / d w" in r.feedback
    # Only one sample's factor left out is not this reading.
    r = grade(p, "dloss_dw", "2*s1 + 2*s2*x2 + 2*s3*x3")
    assert r.verdict == "fail" and "stops one step short" not in (r.feedback or "")


@pytest.mark.parametrize(("answer", "diagnosis", "words"), [
    ("X.T @ H", "activation", "value where its derivative belongs"),        # tanh for tanh'
    ("X.T @ (1 - H)", "edge", "1 - tanh"),                                  # 1 - tanh for 1 - tanh^2
    ("X.T @ (1 - Z**2)", "edge", "input where tanh's output belongs"),      # 1 - z^2 for 1 - tanh^2
])
def test_an_activation_slip_in_a_matrix_layer(tmp_path: Path, answer: str, diagnosis: str,
                                              words: str) -> None:
    p = _load(tmp_path, TANH_LAYER)
    assert grade(p, "dL_dW", "X.T @ (1 - H**2)").verdict == "pass"
    r = grade(p, "dL_dW", answer)
    assert r.verdict == "fail"
    assert r.diagnosis == diagnosis and words in r.feedback
    # A wrong answer that is no slip of the table is not called one.
    assert grade(p, "dL_dW", "X.T @ (2 - H)").diagnosis not in ("edge", "activation")


TWO_STEPS = '''
id = "two-steps"
title = "two steps of gradient descent on y_hat = w x"
[symbols]
w0 = { value = 1 }
lr = { value = 0.1 }
x1 = { value = 1 }
y1 = { value = 2 }
x2 = { value = 2 }
y2 = { value = 1 }
[graph]
s1 = "w0*x1 - y1"
loss1 = "s1**2"
w1 = "w0 - lr*2*s1*x1"
s2 = "w1*x2 - y2"
loss2 = "s2**2"
[[questions]]
id = "dloss2_dw1"
of = "loss2"
wrt = "w1"
kind = "value"
[[questions]]
id = "dw1_dw0"
of = "w1"
wrt = "w0"
answer = "1 - 2*lr*x1^2"
[[questions]]
id = "dloss2_dw0"
of = "loss2"
wrt = "w0"
answer = "2*s2*x2*(1 - 2*lr*x1^2)"
'''


def test_stale_weights_in_a_gradient_descent_trace(tmp_path: Path) -> None:
    from gradcheck.graph_mistakes import gradient_steps

    p = _load(tmp_path, TWO_STEPS)
    # w1 = w0 - lr * d loss1 / d w0 is a step; s1 = w0 x1 - y1 is a difference, not a step.
    assert gradient_steps(p) == {"w1": "w0"}
    # By hand: w1 = 1 - 0.1*2*(1 - 2)*1 = 1.2; d loss2 / d w1 = 2 (1.2*2 - 1) 2 = 5.6.
    assert grade(p, "dloss2_dw1", "5.6").verdict == "pass"
    # With w1 taken as w0 = 1: 2 (1*2 - 1) 2 = 4.
    r = grade(p, "dloss2_dw1", "4")
    assert r.verdict == "fail" and r.diagnosis == "stale" and "before any update" in r.feedback
    # The formula with w0 where w1 belongs, through the trace: 2 (w0 x2 - y2) x2.
    r = grade(p, "dloss2_dw0", "2*(w0*x2 - y2)*x2")
    assert r.diagnosis == "stale"
    # A number that is neither: no stale reading.
    assert grade(p, "dloss2_dw1", "4.4").diagnosis != "stale"


def test_no_step_in_a_graph_without_updates() -> None:
    from gradcheck.graph_mistakes import gradient_steps
    from tests.helpers import PROBLEMS

    for name in ("seeds/linear-regression.toml", "backprop/rnn-through-time.toml",
                 "seeds/exercise-4-4.toml", "backprop/softmax-cross-entropy.toml"):
        assert gradient_steps(load_problem(PROBLEMS / name)) == {}, name


def test_one_term_with_the_wrong_sign(tmp_path: Path) -> None:
    p = _load(tmp_path, TWO_STEPS)
    # w1 = w0 - lr*2*s1*x1 differentiated as if it were w0 + lr*2*s1*x1: 1 + 2 lr x1^2.
    r = grade(p, "dw1_dw0", "1 + 2*lr*x1^2")
    assert r.verdict == "fail" and r.diagnosis == "sign" and "one term" in r.feedback
    # The whole sign flipped is still the plain sign diagnosis.
    r = grade(p, "dw1_dw0", "-1 + 2*lr*x1^2")
    assert r.diagnosis == "sign" and "one term" not in r.feedback


BESSEL = '''
id = "bessel"
[symbols.x]
value = 1.5
domain = [0.5, 3.0]
[symbols.a]
value = 0.5
domain = [0.2, 1.5]
[graph]
h = "besselj(a, x)"
loss = "h**2"
[[questions]]
id = "dloss_dx"
of = "loss"
wrt = "x"
'''


def test_an_alternative_that_cannot_compile_is_left_out_and_the_others_kept(tmp_path: Path) -> None:
    # d loss / d a holds d besselj(a, x) / d a, which SymPy leaves unevaluated: no tape can
    # run it, so that alternative is dropped; d loss / d h = 2 h stays, with the values
    # scipy's jv gives by hand.
    from scipy.special import jv

    from gradcheck import candidates, truth

    p = _load(tmp_path, BESSEL)
    ref, _ = truth.reference(p, "dloss_dx", 0, 20)
    _, stages, derivatives, missing, _, _ = candidates.alternatives(ref)
    assert [d.name for d in derivatives] == ["h"]
    assert [s.name for s in stages] == ["h"]
    xs, a = ref.points[:, p.symbol_names.index("x")], ref.points[:, p.symbol_names.index("a")]
    assert derivatives[0].values == pytest.approx(2 * jv(a, xs), rel=1e-12)
    assert [m.label.split(" = ")[0] for m in missing] == ["d loss / d h", "d h / d x"]
    r = grade(p, "dloss_dx", "2*h")
    assert r.verdict == "fail" and r.diagnosis == "chain"
