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

Upstream gradients: a backward pass multiplies what it returns by the gradient that
comes from above (``grad_output``). Backpropagating ``out.sum()`` makes that gradient 1,
so a backward that ignores it would pass. Instead the upstream gradient at each point
is a seeded random cotangent (|v| in [0.25, 0.71] or [1.41, 4], either sign, never near
1), and the vector-Jacobian product that comes back is divided by it before the
comparison. A ``torch.autograd.Function`` always gets these cotangents; a plain function
gets them when it has a parameter named ``grad_output`` (it must then return the
products ``grad_output * d/d wrt``); without one it is checked as before, with upstream 1.

``dtype="float32"`` runs the user's code in float32 (numpy float32 arrays, float32
tensors) at points rounded to float32, compares with the truth at those rounded points,
and uses the float32 row of the tolerance table (rtol 2e-3, atol 1e-4): rounding in
correct float32 code stays far inside it, a wrong local gradient does not.

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
    complete,
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
DTYPES = {"float64": np.float64, "float32": np.float32}
UPSTREAM = "grad_output"  # the parameter through which a plain function takes cotangents


@dataclass(frozen=True)
class _Gradient:
    """What the hand-written backward gave at the points, and how it was called."""

    values: np.ndarray
    how: str = ""
    forward: np.ndarray | None = None
    upstream: bool = False  # True: computed with the random cotangents, divided out


def verify_backward(grad_fn: GradFn | type, problem: Problem, question: str | Question | None = None,
                    *, points: int = DEFAULT_POINTS, seed: int = DEFAULT_SEED,
                    dtype: str = DTYPE) -> list[QuestionResult]:
    """Check a hand-written backward function against the symbolic derivative and finite differences.

    Args:
        grad_fn: a function of the symbols (keyword numpy arrays) returning the derivative
            or a dict keyed by wrt name, or a ``torch.autograd.Function`` subclass.
        problem: a loaded problem (``load_problem``).
        question: a question id or Question; None checks every first-order question about
            the graph's output whose wrt the function answers (one per wrt name).
        points: random points besides the given point; the same as ``check`` picks.
        seed: the seed for those points and for the upstream cotangents.
        dtype: ``float64`` or ``float32``: the precision the function is run in, and the
            row of the tolerance table it is held to.

    Returns:
        One QuestionResult per question, backend named after ``grad_fn``, in ``dtype``.

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
    if dtype not in DTYPES:
        raise UsageError(f"dtype must be float64 or float32, not {dtype!r}")
    questions = _questions(grad_fn, problem, question)
    return [_verify(grad_fn, problem, q, points, seed, dtype) for q in questions]


def as_report(results: list[QuestionResult], *, points: int = DEFAULT_POINTS,
              seed: int = DEFAULT_SEED) -> CheckReport:
    """Wrap verify_backward's results in a CheckReport, for the text, JSON and JUnit renderers."""
    backends = tuple(dict.fromkeys(r.backend for r in results))
    dtype = results[0].dtype if results else DTYPE
    return CheckReport(seed=seed, points=points, dtype=dtype, backends=backends,
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
            seed: int, dtype: str) -> QuestionResult:
    target = derive_question(problem, question)
    tape = target_tape(problem, target, target.graph)
    sample = sample_points(problem, target, tape, n, seed)
    pts = sample.points
    if dtype != DTYPE:
        # The code sees the points rounded to its dtype; the truth is taken there too, so
        # only the code's own arithmetic counts as error.
        rounded = pts[:, : len(problem.symbols)].astype(DTYPES[dtype]).astype(np.float64)
        pts = complete(target, problem, rounded)
    truth = NumpyBackend().evaluate(tape, pts)
    upstream = cotangents(seed, problem.id, question.id, len(pts)).astype(
        DTYPES[dtype]).astype(np.float64)
    got = _gradient(grad_fn, problem, target, pts, upstream, dtype)
    tol = tolerance_for(dtype, question.tolerance or problem.tolerance)
    how = [got.how] if got.how else []
    if got.upstream:
        how.append("upstream gradient: seeded random cotangents")
    name = f"backward ({', '.join([_name(grad_fn), *how])})"
    suffix = f" ({got.how})" if got.how else ""
    _, _, fd, _ = finite_differences(problem, target, pts)[0]
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
        dtype=dtype, points=len(pts), value=float(truth[2][0]) if sample.given_used else None,
        comparisons=tuple(comps), set_aside=sample.set_aside)


def cotangents(seed: int, problem_id: str, question_id: str, n: int) -> np.ndarray:
    """Seeded upstream gradients, one per point: |v| in [0.25, 0.71] or [1.41, 4], either
    sign, so a backward that ignores its upstream gradient is off by 30% at least.

    >>> v = cotangents(0, "p", "q", 1000)
    >>> bool(np.all((np.abs(v) >= 0.25) & (np.abs(v) <= 4) & (np.abs(np.log2(np.abs(v))) >= 0.5)))
    True
    """
    rng = rng_for(seed, problem_id, question_id, "cotangents")
    exponent = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    return rng.choice([-1.0, 1.0], n) * 2.0 ** exponent


def _gradient(grad_fn: GradFn | type, problem: Problem, target: Target,
              pts: np.ndarray, upstream: np.ndarray, dtype: str = DTYPE) -> _Gradient:
    symbol_points = pts[:, : len(problem.symbols)]
    wrt = target.question.wrt[0]
    if _is_autograd_function(grad_fn):
        if wrt not in problem.symbol_names:
            raise UsageError(f"{_name(grad_fn)} is a torch.autograd.Function of the symbols; it "
                             f"cannot give {target.question.label} with respect to the stage "
                             f"{wrt!r}; check a question with respect to a symbol")
        return _autograd_function(grad_fn, symbol_points, problem.symbol_names.index(wrt),
                                  upstream, dtype)
    return _plain(grad_fn, problem, symbol_points, wrt, upstream, dtype)


def takes_upstream(grad_fn: GradFn, problem: Problem) -> bool:
    """Whether a plain function has a ``grad_output`` parameter (and no symbol has that name)."""
    if UPSTREAM in problem.symbol_names:
        return False
    try:
        return UPSTREAM in inspect.signature(grad_fn).parameters
    except (TypeError, ValueError):
        return False


def _plain(grad_fn: GradFn, problem: Problem, symbol_points: np.ndarray, wrt: str,
           upstream: np.ndarray, dtype: str = DTYPE) -> _Gradient:
    n = len(symbol_points)
    kind = DTYPES[dtype]
    with_upstream = takes_upstream(grad_fn, problem)
    kwargs = {name: symbol_points[:, i].astype(kind) for i, name in enumerate(problem.symbol_names)}
    if with_upstream:
        kwargs[UPSTREAM] = upstream.astype(kind)
    scale = upstream if with_upstream else 1.0
    try:
        with np.errstate(all="ignore"):
            values = np.asarray(_pick(grad_fn(**kwargs), wrt, grad_fn), dtype=np.float64)
        if values.shape == (n,):
            return _Gradient(values / scale, upstream=with_upstream)
        reason = f"returned shape {values.shape} for {n} points"
    except GradcheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error of the user's code on arrays means "try floats"
        reason = f"raised {type(exc).__name__}"
    values = np.array([_scalar(grad_fn, problem, row, wrt, v if with_upstream else None, kind)
                       for row, v in zip(symbol_points, upstream, strict=True)])
    return _Gradient(values / scale, how=f"called per point: with arrays it {reason}",
                     upstream=with_upstream)


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


def _call_point(grad_fn: GradFn, problem: Problem, row: np.ndarray,
                upstream: float | None = None, kind: type = np.float64) -> Any:
    """The function at one point: Python floats in float64, numpy scalars in float32."""
    def scalar(v: float) -> Any:
        return float(v) if kind is np.float64 else kind(v)

    kwargs = {name: scalar(v) for name, v in zip(problem.symbol_names, row, strict=True)}
    if upstream is None and takes_upstream(grad_fn, problem):
        upstream = 1.0  # probing for the keys: any upstream gradient will do
    if upstream is not None:
        kwargs[UPSTREAM] = scalar(upstream)
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


def _scalar(grad_fn: GradFn, problem: Problem, row: np.ndarray, wrt: str,
            upstream: float | None = None, kind: type = np.float64) -> float:
    result = _call_point(grad_fn, problem, row, upstream, kind)
    if isinstance(result, _Raised):
        return float("nan")
    value = np.asarray(_pick(result, wrt, grad_fn), dtype=np.float64)
    if value.size != 1:
        raise UsageError(f"{_name(grad_fn)} returned shape {value.shape} for one point; return "
                         "one number per derivative")
    return float(value.reshape(()))


def _autograd_function(fn: Any, symbol_points: np.ndarray, var: int, upstream: np.ndarray,
                       dtype: str = DTYPE) -> _Gradient:
    """Backpropagate the cotangents through ``fn`` (a vector-Jacobian product, one point per
    entry) and divide them out: a backward that ignores ``grad_output`` is off by |v|."""
    torch = sys.modules["torch"]
    kind = getattr(torch, dtype)
    n = len(symbol_points)
    inputs = [torch.tensor(col, dtype=kind, requires_grad=True) for col in symbol_points.T]
    out = fn.apply(*inputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n,):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UsageError(f"{_name(fn)}.forward returned {shape} for {n} points; return one value "
                         "per point, shape (n,), without summing or averaging")
    v = torch.tensor(upstream, dtype=out.dtype)
    (grad,) = torch.autograd.grad(out, inputs[var], grad_outputs=v, allow_unused=True)
    vjp = np.zeros(n) if grad is None else grad.detach().to(torch.float64).numpy()
    return _Gradient(vjp / upstream, forward=out.detach().to(torch.float64).numpy(),
                     upstream=True)


def _is_autograd_function(obj: Any) -> bool:
    torch = sys.modules.get("torch")  # no torch imported means no autograd.Function exists
    return (torch is not None and isinstance(obj, type)
            and issubclass(obj, torch.autograd.Function))


def _name(grad_fn: Any) -> str:
    name = getattr(grad_fn, "__qualname__", None) or type(grad_fn).__name__
    return f"{name}.apply" if _is_autograd_function(grad_fn) else str(name)
