"""Verify a hand-written backward pass against the problem's symbolic derivative.

A student who implemented a computational graph and its backprop by hand (the seeds'
Exercise 4.3) hands in a function; gradcheck evaluates it at the points the check uses
and compares it with the symbolic derivative and with finite differences. The results
are the check's own ``QuestionResult``/``Comparison`` objects, so every renderer works.

Calling conventions (see docs/backward.md):

- A plain function receives the problem's symbols as keyword arguments, each a float64
  numpy array of shape (n,), and returns either the derivative the question asks (a
  number or an array of shape (n,)) or a dict keyed by the name the derivative is taken
  with respect to (``{"w": dloss_dw}``). If calling it with arrays raises or gives the
  wrong shape, it is called once per point with Python floats, and the comparison's name
  says so.
- A ``torch.autograd.Function`` subclass is called as ``Fn.apply(*tensors)`` with one
  float64 tensor of shape (n,) per symbol, in the problem's order; it must return the
  function's value at each point, shape (n,) (no reduction), and its ``backward`` is what
  is checked. Its forward value is checked too.

A question with respect to a stage (``d loss / d s``) is checked against the adjoint of
that stage: the function gets the symbols and computes its own forward pass. Second
derivatives are not what a backward pass returns, and raise UsageError.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.checks import (
    DEFAULT_POINTS,
    DEFAULT_SEED,
    CheckReport,
    QuestionResult,
    compare,
    finite_differences,
    sample_points,
    target_tape,
)
from gradcheck.derivation import Target, derive_question
from gradcheck.errors import GradcheckError, UsageError
from gradcheck.points import draw, format_point, given, label, rng_for
from gradcheck.problem import Problem, Question
from gradcheck.tolerances import tolerance_for

GradFn = Callable[..., Any]
DTYPE = "float64"


@dataclass(frozen=True)
class _Gradient:
    """What the hand-written backward gave at the points, and how it was called."""

    values: np.ndarray
    how: str = ""
    forward: np.ndarray | None = None


def verify_backward(grad_fn: GradFn | type, problem: Problem, question: str | Question | None = None,
                    *, points: int = DEFAULT_POINTS, seed: int = DEFAULT_SEED) -> list[QuestionResult]:
    """Check a hand-written backward function against the symbolic derivative and finite differences.

    Args:
        grad_fn: a function of the symbols (keyword numpy arrays) returning the derivative
            or a dict keyed by wrt name, or a ``torch.autograd.Function`` subclass.
        problem: a loaded problem (``load_problem``).
        question: a question id or Question; None checks every first-order question about
            the graph's output whose wrt the function answers (one per wrt name).
        points: random points besides the given point; the same as ``check`` picks.
        seed: the seed for those points.

    Returns:
        One QuestionResult per question, backend named after ``grad_fn``, float64.

    Raises:
        UsageError: a second-order question, a dict without the asked key, a function
            that cannot be called with the symbols, or a stage wrt for an autograd.Function.
    """
    if not isinstance(problem, Problem):
        # A layer, CS231n style: verify_backward(forward, backward, {"x": x, ...}); see verify_layer.
        from gradcheck.arrays.layers import verify_layer
        if not isinstance(question, Mapping):
            raise UsageError("verify_backward(forward, backward, inputs) checks a layer: give its inputs "
                             "as a dict of example arrays, e.g. {'x': x, 'w': w, 'b': b}")
        return verify_layer(grad_fn, problem, question, seed=seed)  # type: ignore[arg-type,return-value]
    if points < 1:
        raise UsageError(f"points must be at least 1, not {points}")
    questions = _questions(grad_fn, problem, question)
    return [_verify(grad_fn, problem, q, points, seed) for q in questions]


def as_report(results: list[QuestionResult], *, points: int = DEFAULT_POINTS,
              seed: int = DEFAULT_SEED) -> CheckReport:
    """Wrap verify_backward's results in a CheckReport, for the text, JSON and JUnit renderers."""
    backends = tuple(dict.fromkeys(r.backend for r in results))
    return CheckReport(seed=seed, points=points, dtype=DTYPE, backends=backends,
                       results=tuple(results))


def _questions(grad_fn: GradFn | type, problem: Problem,
               question: str | Question | None) -> list[Question]:
    if question is not None:
        try:
            chosen = problem.question(question) if isinstance(question, str) else question
        except KeyError as exc:
            raise UsageError(exc.args[0]) from exc
        _check_order(chosen)
        return [chosen]
    output = problem.stage_names[-1] if problem.stages else None
    candidates = [q for q in problem.questions
                  if q.order == 1 and (output is None or q.of == output)]
    answered = _answered_names(grad_fn, problem)
    by_wrt: dict[str, Question] = {}
    for q in sorted(candidates, key=lambda q: q.kind != "expression"):
        if q.wrt[0] in answered:
            by_wrt.setdefault(q.wrt[0], q)
    if not by_wrt:
        raise UsageError(
            f"{_name(grad_fn)} answers d/d {', '.join(sorted(answered)) or '?'}, but problem "
            f"{problem.id!r} has no first-order question about {output or 'its output'} with "
            "respect to those; pass question=<id>")
    return [q for q in problem.questions if q in by_wrt.values()]


def _check_order(question: Question) -> None:
    if question.order != 1:
        raise UsageError(f"question {question.id!r} asks {question.label}, a derivative of order "
                         f"{question.order}; a backward pass returns first derivatives, so "
                         "verify_backward checks first-order questions only")


def _answered_names(grad_fn: GradFn | type, problem: Problem) -> set[str]:
    """The wrt names a function answers: its dict's keys, probed at one point."""
    if _is_autograd_function(grad_fn):
        return set(problem.symbol_names)
    start = given(problem)
    probes = draw(problem, 4, rng_for(0, problem.id, "probe"))
    if start is not None:
        probes = np.vstack([start, probes])
    failures: list[str] = []
    for row in probes:
        result = _call_point(grad_fn, problem, row)
        if not isinstance(result, _Raised):
            break
        failures.append(result.describe(problem, row))
    else:
        raise UsageError(f"{_name(grad_fn)} raised at every point tried ({failures[0]}, ...); "
                         "pass question=<id> to check one derivative and see where it fails")
    if not isinstance(result, Mapping):
        raise UsageError(f"{_name(grad_fn)} returned a number, not a dict keyed by wrt name; "
                         "pass question=<id> to say which derivative it is")
    return {str(k) for k in result}


def _verify(grad_fn: GradFn | type, problem: Problem, question: Question, n: int,
            seed: int) -> QuestionResult:
    target = derive_question(problem, question)
    tape = target_tape(problem, target, [target.function, target.first, target.derivative])
    sample = sample_points(problem, target, tape, n, seed)
    pts = sample.points
    truth = NumpyBackend().evaluate(tape, pts)
    got = _gradient(grad_fn, problem, target, pts)
    tol = tolerance_for(DTYPE, question.tolerance or problem.tolerance)
    name = f"backward ({_name(grad_fn)}{', ' + got.how if got.how else ''})"
    suffix = f" ({got.how})" if got.how else ""
    _, _, fd = finite_differences(problem, target, pts)[0]
    comps = [
        compare(f"backward vs symbolic{suffix}", name, "symbolic (numpy float64)",
                 got.values, truth[2], target, pts, tol),
        compare(f"backward vs finite differences{suffix}", name,
                 f"finite differences ({fd.method})", got.values, fd.values, target, pts, tol, fd),
    ]
    if got.forward is not None:
        comps.insert(0, compare("forward vs symbolic", f"forward ({_name(grad_fn)})",
                                 "symbolic (numpy float64)", got.forward, truth[0], target, pts,
                                 tol))
    return QuestionResult(
        problem=problem.id, question=question.id, label=question.label, backend=_name(grad_fn),
        dtype=DTYPE, points=len(pts), value=float(truth[2][0]) if sample.given_used else None,
        comparisons=tuple(comps), set_aside=sample.set_aside)


def _gradient(grad_fn: GradFn | type, problem: Problem, target: Target,
              pts: np.ndarray) -> _Gradient:
    symbol_points = pts[:, : len(problem.symbols)]
    wrt = target.question.wrt[0]
    if _is_autograd_function(grad_fn):
        if wrt not in problem.symbol_names:
            raise UsageError(f"{_name(grad_fn)} is a torch.autograd.Function of the symbols; it "
                             f"cannot give {target.question.label} with respect to the stage "
                             f"{wrt!r}; check a question with respect to a symbol")
        return _autograd_function(grad_fn, symbol_points, problem.symbol_names.index(wrt))
    return _plain(grad_fn, problem, symbol_points, wrt)


def _plain(grad_fn: GradFn, problem: Problem, symbol_points: np.ndarray, wrt: str) -> _Gradient:
    n = len(symbol_points)
    kwargs = {name: symbol_points[:, i].copy() for i, name in enumerate(problem.symbol_names)}
    try:
        with np.errstate(all="ignore"):
            values = np.asarray(_pick(grad_fn(**kwargs), wrt, grad_fn), dtype=np.float64)
        if values.shape == (n,):
            return _Gradient(values)
        reason = f"returned shape {values.shape} for {n} points"
    except GradcheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error of the user's code on arrays means "try floats"
        reason = f"raised {type(exc).__name__}"
    values = np.array([_scalar(grad_fn, problem, row, wrt) for row in symbol_points])
    return _Gradient(values, how=f"called per point: with arrays it {reason}")


def _pick(result: Any, wrt: str, grad_fn: GradFn) -> Any:
    if not isinstance(result, Mapping):
        return result
    if wrt not in result:
        raise UsageError(f"{_name(grad_fn)} returned the keys {sorted(map(str, result))}, but the "
                         f"question asks d/d {wrt}; return a dict with the key {wrt!r}")
    return result[wrt]


@dataclass(frozen=True)
class _Raised:
    """The user's function raised at a point: its value there is NaN, a failed comparison."""

    error: Exception

    def describe(self, problem: Problem, row: np.ndarray) -> str:
        where = format_point(label(problem.symbol_names, row))
        return f"{type(self.error).__name__}: {self.error} at {where}"


def _call_point(grad_fn: GradFn, problem: Problem, row: np.ndarray) -> Any:
    kwargs = {name: float(v) for name, v in zip(problem.symbol_names, row, strict=True)}
    _check_signature(grad_fn, problem, kwargs)
    try:
        return grad_fn(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the user's code failing at a point is a result
        return _Raised(exc)


def _check_signature(grad_fn: GradFn, problem: Problem, kwargs: Mapping[str, float]) -> None:
    try:
        inspect.signature(grad_fn).bind(**kwargs)
    except TypeError as exc:
        raise UsageError(f"{_name(grad_fn)} cannot be called with the symbols "
                         f"{', '.join(problem.symbol_names)} as keyword arguments ({exc}); "
                         "give it one parameter per symbol") from None
    except ValueError:  # no signature to read (a builtin): let the call itself decide
        return


def _scalar(grad_fn: GradFn, problem: Problem, row: np.ndarray, wrt: str) -> float:
    result = _call_point(grad_fn, problem, row)
    if isinstance(result, _Raised):
        return float("nan")
    value = np.asarray(_pick(result, wrt, grad_fn), dtype=np.float64)
    if value.size != 1:
        raise UsageError(f"{_name(grad_fn)} returned shape {value.shape} for one point; return "
                         "one number per derivative")
    return float(value.reshape(()))


def _autograd_function(fn: Any, symbol_points: np.ndarray, var: int) -> _Gradient:
    torch = sys.modules["torch"]
    n = len(symbol_points)
    inputs = [torch.tensor(col, dtype=torch.float64, requires_grad=True)
              for col in symbol_points.T]
    out = fn.apply(*inputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n,):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UsageError(f"{_name(fn)}.forward returned {shape} for {n} points; return one value "
                         "per point, shape (n,), without summing or averaging")
    (grad,) = torch.autograd.grad(out.sum(), inputs[var], allow_unused=True)
    values = np.zeros(n) if grad is None else grad.detach().to(torch.float64).numpy()
    return _Gradient(values, forward=out.detach().to(torch.float64).numpy())


def _is_autograd_function(obj: Any) -> bool:
    torch = sys.modules.get("torch")  # no torch imported means no autograd.Function exists
    return (torch is not None and isinstance(obj, type)
            and issubclass(obj, torch.autograd.Function))


def _name(grad_fn: Any) -> str:
    name = getattr(grad_fn, "__qualname__", None) or type(grad_fn).__name__
    return f"{name}.apply" if _is_autograd_function(grad_fn) else str(name)
