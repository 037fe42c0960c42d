"""Check a hand-written layer: a numpy forward/backward pair (CS231n style) or a torch function.

``verify_layer(affine_forward, affine_backward, {"x": x, "w": w, "b": b})`` calls
``out, cache = forward(x, w, b)`` and ``dx, dw, db = backward(dout, cache)`` with a
seeded random upstream gradient ``dout`` (never all ones: a backward that ignores its
upstream gradient must fail), and compares every input's gradient with central finite
differences of ``sum(forward(...) * dout)``. With ``backward=None``, ``forward`` is a
torch function (``MyFunction.apply``) and its autograd gradients are compared the same
way. The report says which input's gradient is wrong, where, by how much, and what the
mistake looks like (transposed, wrong shape, ignores the upstream gradient, a factor).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.errors import UsageError
from gradcheck.points import rng_for

TOLERANCES = {"float64": 1e-6, "float32": 2e-2}
STEPS = {"float64": 1e-6, "float32": 5e-3}


@dataclass(frozen=True)
class InputGradient:
    """One input's gradient: the backward's and finite differences', how far apart, where."""

    name: str
    shape: tuple[int, ...]
    passed: bool
    error: float
    worst_index: tuple[int, ...] | None
    got: float | None
    expected: float | None
    feedback: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "shape": list(self.shape), "passed": self.passed, "error": self.error,
                "worst_index": None if self.worst_index is None else list(self.worst_index),
                "got": self.got, "expected": self.expected, "feedback": self.feedback}


@dataclass(frozen=True)
class LayerReport:
    """Every input's gradient, over ``trials`` random inputs and upstream gradients."""

    inputs: tuple[InputGradient, ...]
    trials: int
    seed: int
    dtype: str

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.inputs)

    def __str__(self) -> str:
        head = "PASS" if self.passed else "FAIL"
        lines = [f"{head}: {sum(g.passed for g in self.inputs)} of {len(self.inputs)} input gradients right "
                 f"({self.trials} random trials, seed {self.seed}, {self.dtype})"]
        for g in self.inputs:
            lines.append(f"  d{g.name} {'x'.join(map(str, g.shape))}: {'ok' if g.passed else 'WRONG'}"
                         f" (relative error {g.error:.3g}){'' if g.passed else ': ' + g.feedback}")
        return "\n".join(lines)


def verify_layer(forward: Callable[..., Any], backward: Callable[..., Any] | None,
                 inputs: Mapping[str, Any], *, seed: int = 0, trials: int = 3,
                 dtype: str = "float64") -> LayerReport:
    """Check a layer's backward pass against finite differences (see the module doc).

    Args:
        forward: ``forward(*inputs) -> (out, cache)`` (numpy), or a torch function of tensors
            returning a tensor when ``backward`` is None.
        backward: ``backward(dout, cache) -> one gradient per input`` (a tuple, or one array).
        inputs: name -> an example array (its shape, and the first trial's values), in the
            order ``forward`` takes them.
        seed: fixes the random inputs and upstream gradients.
        trials: random inputs and upstream gradients tried (the given values first).
        dtype: ``float64``, or ``float32`` for code that computes in float32 (looser tolerance).

    >>> def fwd(x, w):
    ...     return x @ w, (x, w)
    >>> def bwd(dout, cache):
    ...     x, w = cache
    ...     return dout @ w.T, x.T @ dout
    >>> verify_layer(fwd, bwd, {"x": np.ones((4, 3)), "w": np.ones((3, 2))}).passed
    True
    """
    if dtype not in TOLERANCES:
        raise UsageError(f"dtype must be float64 or float32, not {dtype!r}")
    if not inputs:
        raise UsageError("give at least one input: {'x': array, ...}")
    names = list(inputs)
    examples = [np.asarray(inputs[n], dtype=np.float64) for n in names]
    rng = rng_for(seed, "verify_layer", *names)
    worst: dict[str, InputGradient] = {}
    for trial in range(max(1, trials)):
        values = examples if trial == 0 else [rng.standard_normal(e.shape) for e in examples]
        analytic, out_shape, dout = _analytic(forward, backward, values, rng, dtype)
        numeric = _numeric(forward, backward, values, dout, STEPS[dtype])
        for k, name in enumerate(names):
            g = _compare(name, analytic[k], numeric[k], values[k].shape, dtype, forward, backward, values,
                         out_shape, k)
            if name not in worst or (not g.passed and worst[name].passed) or g.error > worst[name].error:
                worst[name] = g
    return LayerReport(tuple(worst[n] for n in names), max(1, trials), seed, dtype)


def _run_forward(forward: Callable[..., Any], backward: Any, values: list[np.ndarray], dtype: str) -> Any:
    cast = [v.astype(dtype) for v in values]
    if backward is None:
        torch = _torch()
        tensors = [torch.tensor(v, dtype=getattr(torch, dtype), requires_grad=True) for v in cast]
        return forward(*tensors), tensors
    return forward(*cast)


def _torch() -> Any:
    from gradcheck.backends.torch_backend import import_torch
    return import_torch()


def _analytic(forward: Callable[..., Any], backward: Callable[..., Any] | None, values: list[np.ndarray],
              rng: np.random.Generator,
              dtype: str) -> tuple[list[np.ndarray | None], tuple[int, ...], np.ndarray]:
    if backward is None:
        torch = _torch()
        out, tensors = _run_forward(forward, None, values, dtype)
        dout = rng.standard_normal(tuple(out.shape))
        grads = torch.autograd.grad(out, tensors, grad_outputs=torch.tensor(dout, dtype=out.dtype),
                                    allow_unused=True)
        return [None if g is None else g.detach().double().numpy() for g in grads], tuple(out.shape), dout
    result = _run_forward(forward, backward, values, dtype)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise UsageError("forward must return (out, cache), as in the CS231n layers")
    out, cache = result
    out = np.asarray(out)
    dout = rng.standard_normal(out.shape)
    grads = backward(dout.astype(dtype), cache)
    if not isinstance(grads, tuple | list):
        grads = (grads,)
    if len(grads) != len(values):
        raise UsageError(f"backward returned {len(grads)} gradient(s) for {len(values)} input(s); return "
                         "one per input, in the order forward takes them")
    return [None if g is None else np.asarray(g, dtype=np.float64) for g in grads], out.shape, dout


def _scalar(forward: Callable[..., Any], backward: Any, values: list[np.ndarray], dout: np.ndarray) -> float:
    if backward is None:
        torch = _torch()
        with torch.no_grad():
            out = forward(*[torch.tensor(v, dtype=torch.float64) for v in values])
        return float((out.double().numpy() * dout).sum())
    out, _ = forward(*values)
    return float((np.asarray(out, dtype=np.float64) * dout).sum())


def _numeric(forward: Callable[..., Any], backward: Any, values: list[np.ndarray],
             dout: np.ndarray, rel_step: float = 1e-6) -> list[np.ndarray]:
    """Central differences of sum(out * dout); float32 code needs a larger step (cube root of its eps)."""
    grads = []
    for k, v in enumerate(values):
        g = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            h = rel_step * max(1.0, abs(float(v[idx])))
            plus = [x.copy() for x in values]
            minus = [x.copy() for x in values]
            plus[k][idx] += h
            minus[k][idx] -= h
            step = plus[k][idx] - minus[k][idx]
            g[idx] = (_scalar(forward, backward, plus, dout) - _scalar(forward, backward, minus, dout)) / step
        grads.append(g)
    return grads


def _compare(name: str, got: np.ndarray | None, want: np.ndarray, shape: tuple[int, ...], dtype: str,
             forward: Callable[..., Any], backward: Any, values: list[np.ndarray], out_shape: tuple[int, ...],
             k: int) -> InputGradient:
    tol = TOLERANCES[dtype]
    if got is None:
        return InputGradient(name, shape, False, float("inf"), None, None, None,
                             f"no gradient came back for {name}")
    if got.shape != want.shape:
        hint = " (transposed?)" if got.T.shape == want.shape and _close(got.T, want, tol) else ""
        return InputGradient(name, shape, False, float("inf"), None, None, None,
                             f"d{name} is {'x'.join(map(str, got.shape))} but {name} is "
                             f"{'x'.join(map(str, want.shape))}{hint}: a gradient has its input's shape")
    scale = max(float(np.linalg.norm(want)), 1e-300)
    err = float(np.linalg.norm(got - want) / scale) if np.all(np.isfinite(got)) else float("inf")
    diff = np.abs(np.nan_to_num(got - want, nan=np.inf))
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.size else None
    g_val = float(got[idx]) if idx is not None else None
    w_val = float(want[idx]) if idx is not None else None
    if err <= tol:
        return InputGradient(name, shape, True, err, idx, g_val, w_val, "right")
    feedback = f"worst at index {idx}: got {g_val:.6g}, finite differences give {w_val:.6g}"
    if len(shape) == 2 and shape[0] == shape[1] and _close(got.T, want, tol):
        feedback += "; it is the transpose of the right gradient"
    elif np.any(want):
        c = float(np.vdot(got, want) / np.vdot(want, want))
        if c != 0 and _close(got / c, want, tol):
            feedback += f"; it is {c:.4g} times the right gradient"
    if backward is not None and _ignores_upstream(forward, backward, values, out_shape, k, tol):
        feedback += ("; it matches the gradient for an upstream gradient of all ones: does backward "
                     "multiply by dout (the chain rule's upstream factor)?")
    return InputGradient(name, shape, False, err, idx, g_val, w_val, feedback)


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    scale = max(float(np.linalg.norm(b)), 1e-300)
    return bool(np.all(np.isfinite(a)) and np.linalg.norm(a - b) / scale <= tol)


def _ignores_upstream(forward: Callable[..., Any], backward: Callable[..., Any], values: list[np.ndarray],
                      out_shape: tuple[int, ...], k: int, tol: float) -> bool:
    ones = np.ones(out_shape)
    _, cache = forward(*values)
    got = backward(ones, cache)
    got = got if isinstance(got, tuple | list) else (got,)
    want = _numeric(forward, backward, values, ones, STEPS["float64" if tol < 1e-3 else "float32"])[k]
    return got[k] is not None and _close(np.asarray(got[k], dtype=np.float64), want, tol)
