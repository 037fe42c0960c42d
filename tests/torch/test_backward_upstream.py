"""verify_backward backpropagates random cotangents through a torch.autograd.Function, in
float64 and float32; oracle: the notes' backward pass for (w*x - y)**2 and torch's own
autograd of the same forward."""

from __future__ import annotations

import pytest

from gradcheck.backward import verify_backward
from gradcheck.loader import load_problem
from tests.helpers import PROBLEMS, SEEDS

torch = pytest.importorskip("torch")

EXERCISE = load_problem(SEEDS / "exercise-4-3.toml")
RNN = load_problem(PROBLEMS / "deep" / "rnn-10-steps.toml")
XS = (1.0, -0.5, 0.3, 0.8, -1.2, 0.6, 0.1, -0.4, 0.9, -0.7)


class Loss(torch.autograd.Function):
    """(w*x - y)**2, backward as the notes chain it: grad_output * 2s * (local gradient)."""

    @staticmethod
    def forward(ctx, x, y, w):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x, y, w)
        return (w * x - y) ** 2

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
        x, y, w = ctx.saved_tensors
        s = w * x - y
        return grad_output * 2 * s * w, grad_output * -2 * s, grad_output * 2 * s * x


class LossIgnoresGradOutput(Loss):
    """The bug: right local gradients, but the upstream gradient is dropped."""

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
        x, y, w = ctx.saved_tensors
        s = w * x - y
        return 2 * s * w, -2 * s, 2 * s * x


class Rnn(torch.autograd.Function):
    """The deep RNN problem's loss; backward through time by hand, in the inputs' dtype."""

    @staticmethod
    def forward(ctx, w, u, b, y):  # type: ignore[no-untyped-def]
        hs = [torch.zeros_like(w)]
        for x in XS:
            hs.append(torch.tanh(w * hs[-1] + u * x + b))
        ctx.save_for_backward(w, y, *hs)
        return (hs[-1] - y) ** 2

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
        w, y, *hs = ctx.saved_tensors
        dh = grad_output * 2 * (hs[-1] - y)
        gw, gu, gb = torch.zeros_like(w), torch.zeros_like(w), torch.zeros_like(w)
        for t in range(10, 0, -1):
            delta = dh * (1 - hs[t] ** 2)
            gw, gu, gb = gw + delta * hs[t - 1], gu + delta * XS[t - 1], gb + delta
            dh = delta * w
        return gw, gu, gb, -grad_output * 2 * (hs[-1] - y)


class RnnIgnoresGradOutput(Rnn):
    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
        return Rnn.backward(ctx, torch.ones_like(grad_output))


def test_hand_backward_agrees_with_torch_autograd() -> None:
    # The oracle for the classes above: torch's own autograd of the same forward.
    w, u, b, y = (torch.tensor([v], dtype=torch.float64, requires_grad=True)
                  for v in (0.5, 0.8, 0.1, 0.3))
    h = torch.zeros_like(w)
    for x in XS:
        h = torch.tanh(w * h + u * x + b)
    auto = torch.autograd.grad(((h - y) ** 2).sum(), (w, u, b, y))
    mine = torch.autograd.grad(Rnn.apply(w, u, b, y).sum(), (w, u, b, y))
    assert all(torch.allclose(a, m, rtol=1e-13) for a, m in zip(auto, mine, strict=True))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_function_that_uses_grad_output_passes(dtype: str) -> None:
    (result,) = verify_backward(Loss, EXERCISE, "dloss_dw", dtype=dtype)
    assert result.passed and result.dtype == dtype
    assert "seeded random cotangents" in result.comparisons[1].got_by
    for question in ("dloss_dw_value", "dloss_du_value", "dloss_db_value"):
        (rnn,) = verify_backward(Rnn, RNN, question, dtype=dtype, points=50)
        assert rnn.passed, [(c.what, c.worst_error) for c in rnn.comparisons]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("fn", [LossIgnoresGradOutput, RnnIgnoresGradOutput],
                         ids=["loss", "rnn"])
def test_a_function_that_ignores_grad_output_fails(fn, dtype: str) -> None:  # type: ignore[no-untyped-def]
    problem, question = (EXERCISE, "dloss_dw") if fn is LossIgnoresGradOutput else (
        RNN, "dloss_dw_value")
    (result,) = verify_backward(fn, problem, question, dtype=dtype)
    failing = [c.what for c in result.comparisons if not c.passed]
    # The forward is right; both views of the backward are wrong at every point.
    assert failing == ["backward vs symbolic", "backward vs finite differences"]
    assert result.comparisons[1].failures == result.comparisons[1].points


def test_float32_tensors_reach_the_function() -> None:
    seen = []

    class Recording(Loss):
        @staticmethod
        def forward(ctx, x, y, w):  # type: ignore[no-untyped-def]
            seen.append(x.dtype)
            return Loss.forward(ctx, x, y, w)

    verify_backward(Recording, EXERCISE, "dloss_dw", dtype="float32")
    assert seen == [torch.float32]
