"""Numerical derivatives that serve as the independent oracle for symbolic gradients.

Every estimator evaluates ``f`` on all points at once: the stencil points are stacked into
one array and ``f`` is called once (or a fixed few times), never once per point. Steps are
relative to ``|x|``: ``h = rel_step * max(1, |x_var|)``, and for real steps ``h`` is replaced
by ``(x + h) - x`` so that the step in the denominator is the step ``f`` actually saw.

Where ``f`` is not finite at any stencil point of a point, that point's value is NaN: the
caller treats it as undefined. No floating-point warnings escape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from gradcheck.errors import UsageError

Fn = Callable[[np.ndarray], np.ndarray]
"""Takes points of shape (n_points, n_vars), float64 or complex128; returns shape (n_points,)."""

EPS = float(np.finfo(np.float64).eps)
# Rounding in f itself is usually a few ulps, not one: the error floors below allow for it.
_F_ULPS = 8.0

__all__ = [
    "METHODS",
    "Derivative",
    "Fn",
    "central",
    "complex_step",
    "one_sided_disagree",
    "richardson",
    "second_derivative",
]


@dataclass(frozen=True)
class Derivative:
    """Estimates of one partial derivative at many points, with error estimates and steps."""

    values: np.ndarray
    error: np.ndarray
    steps: np.ndarray
    method: str


def _check(points: np.ndarray, *variables: int) -> np.ndarray:
    """Return ``points`` as a real float64 (n_points, n_vars) array, or raise UsageError."""
    arr = np.asarray(points)
    if arr.ndim != 2 or np.iscomplexobj(arr):
        raise UsageError(
            f"points must be a real 2-D array (n_points, n_vars); got dtype {arr.dtype}, "
            f"shape {arr.shape} (reshape a single point with points[None, :])"
        )
    for var in variables:
        if not 0 <= var < arr.shape[1]:
            raise UsageError(f"var={var} is out of range for {arr.shape[1]} variable(s)")
    return arr.astype(np.float64)


def _exact_step(x: np.ndarray, rel_step: float) -> np.ndarray:
    """Relative step ``rel_step * max(1, |x|)``, made exactly representable as ``(x+h) - x``."""
    h = rel_step * np.maximum(1.0, np.abs(x))
    return (x + h) - x


def _evaluate(f: Fn, points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Evaluate ``f`` at ``points + offsets[i]`` for every i, in one call; shape (m, n)."""
    m, (n, k) = offsets.shape[0], points.shape
    stacked = (points[None, :, :] + offsets).reshape(m * n, k)
    with np.errstate(all="ignore"):
        values = np.asarray(f(stacked))
    if values.shape != (m * n,):
        raise UsageError(f"f must return shape ({m * n},) for {m * n} points; got {values.shape}")
    return values.reshape(m, n)


def _axis_offsets(points: np.ndarray, var: int, steps: np.ndarray) -> np.ndarray:
    """Offsets of shape (m, n, n_vars) moving ``var`` by ``steps[i]`` (shape (m, n))."""
    offsets = np.zeros((steps.shape[0], *points.shape), dtype=steps.dtype)
    offsets[:, :, var] = steps
    return offsets


def _mask_nonfinite(stencil: np.ndarray, *arrays: np.ndarray) -> None:
    """Set NaN in every array where any stencil value of that point is not finite."""
    bad = ~np.all(np.isfinite(stencil), axis=0)
    for arr in arrays:
        arr[bad] = np.nan


def central(f: Fn, points: np.ndarray, var: int, *, rel_step: float | None = None) -> Derivative:
    """Central difference ``(f(x+h) - f(x-h)) / 2h``: 2 evaluations per point, O(h^2).

    Args:
        f: vectorised function of points (n_points, n_vars) -> (n_points,).
        points: real array (n_points, n_vars).
        var: index of the variable to differentiate by.
        rel_step: relative step; default ``cbrt(eps)`` (~6e-6), which balances truncation
            against rounding.

    Returns:
        A Derivative whose ``error`` is the rounding-error floor ``8 eps max|f| / h`` only:
        the truncation error ``h^2 |f'''| / 6``, of similar size at the default step, is not
        estimated, so ``error`` is a lower bound (use richardson for an honest estimate).

    >>> d = central(lambda p: p[:, 0] ** 2, np.array([[3.0]]), 0)
    >>> bool(abs(d.values[0] - 6.0) < 1e-8)
    True
    """
    pts = _check(points, var)
    h = _exact_step(pts[:, var], np.cbrt(EPS) if rel_step is None else rel_step)
    fv = _evaluate(f, pts, _axis_offsets(pts, var, np.stack([h, -h])))
    with np.errstate(all="ignore"):
        values = (fv[0] - fv[1]) / (2 * h)
        error = _F_ULPS * EPS * np.max(np.abs(fv), axis=0) / h
    _mask_nonfinite(fv, values, error)
    return Derivative(values, error, h, "central")


def _romberg(table: np.ndarray, rounding: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eliminate h^2, h^4, ... from ``table`` (levels, n) whose steps halve per level.

    Returns, per point, the diagonal entry with the smallest error estimate, and that estimate:
    the change from the previous diagonal entry plus the rounding floor of its finest level.
    """
    rows = [table[0]]
    diagonal = [table[0]]
    for k in range(1, table.shape[0]):
        row = [table[k]]
        for j in range(1, k + 1):
            row.append(row[j - 1] + (row[j - 1] - rows[j - 1]) / (4.0**j - 1.0))
        rows = row
        diagonal.append(row[k])
    diag = np.stack(diagonal)
    est = np.abs(np.diff(diag, axis=0)) + rounding[1:]
    best = np.argmin(np.where(np.isnan(est), np.inf, est), axis=0)
    cols = np.arange(table.shape[1])
    return diag[1:][best, cols], est[best, cols]


def _halving_steps(x: np.ndarray, rel_step: float, levels: int) -> np.ndarray:
    """Exact steps h0, h0/2, ... for each level: shape (levels, n)."""
    if levels < 2:
        raise UsageError(f"levels must be at least 2 for Richardson extrapolation; got {levels}")
    return np.stack([_exact_step(x, rel_step / 2.0**k) for k in range(levels)])


def richardson(
    f: Fn, points: np.ndarray, var: int, *, levels: int = 6, rel_step: float = 0.05
) -> Derivative:
    """Central differences at h, h/2, h/4, ... extrapolated to h = 0 (Romberg table).

    Costs ``2 * levels`` evaluations per point, all in one call of ``f``. The default
    ``rel_step`` 0.05 with 6 levels gives a median relative error near 1e-14 on smooth
    functions (see benchmarks/bench_finite_diff.py). The large initial step means the stencil
    spans ``x +- 0.05 max(1, |x|)``: a point that close to a singularity or a domain edge
    gets NaN (or a poor estimate, flagged by a large ``error``).

    Args:
        f: vectorised function of points (n_points, n_vars) -> (n_points,).
        points: real array (n_points, n_vars).
        var: index of the variable to differentiate by.
        levels: number of step halvings (at least 2).
        rel_step: initial relative step.

    Returns:
        A Derivative; ``steps`` holds the initial step, ``error`` the extrapolation's own
        estimate (change between successive diagonal entries plus a rounding floor).

    >>> d = richardson(lambda p: np.exp(p[:, 0]), np.array([[1.0]]), 0)
    >>> bool(abs(d.values[0] - np.e) < 1e-12)
    True
    """
    pts = _check(points, var)
    h = _halving_steps(pts[:, var], rel_step, levels)
    fv = _evaluate(f, pts, _axis_offsets(pts, var, np.concatenate([h, -h])))
    with np.errstate(all="ignore"):
        table = (fv[:levels] - fv[levels:]) / (2 * h)
        rounding = _F_ULPS * EPS * np.max(np.abs(fv), axis=0) / h
        values, error = _romberg(table, rounding)
    _mask_nonfinite(fv, values, error)
    return Derivative(values, error, h[0], "richardson")


def complex_step(f: Fn, points: np.ndarray, var: int, *, rel_step: float = 1e-20) -> Derivative:
    """Complex-step derivative ``Im f(x + ih) / h``: no cancellation, so no step trade-off.

    Valid only where ``f`` is analytic in ``x_var`` and is computed with complex arithmetic:
    through ``Abs``, ``Max``/``Min``, ``sign`` or functions that drop the imaginary part it is
    silently wrong. The caller decides whether ``f`` qualifies. ``f`` is also evaluated at
    ``x`` itself (2 evaluations per point, one call): where ``f(x)`` is not real, e.g. ``log``
    or ``sqrt`` of a negative number (a branch cut), the value is NaN, as for real methods.

    Args:
        f: vectorised function accepting complex128 points and returning complex values.
        points: real array (n_points, n_vars).
        var: index of the variable to differentiate by.
        rel_step: relative imaginary step (truncation error ``h^2 |f'''| / 6`` is negligible).

    Returns:
        A Derivative whose ``error`` is the rounding estimate
        ``8 eps (|value| + |f(x)| / max(1, |x_var|))``: relative to the value, with a floor
        at the scale of ``f`` for derivatives that are sums with cancellation (where ``f``
        itself cancels too, the true error can exceed it a few times).

    Raises:
        UsageError: if ``f`` returns real values for complex input.

    >>> d = complex_step(lambda p: np.sin(p[:, 0]), np.array([[0.5]]), 0)
    >>> bool(abs(d.values[0] - np.cos(0.5)) < 1e-15)
    True
    """
    pts = _check(points, var)
    h = rel_step * np.maximum(1.0, np.abs(pts[:, var]))
    steps = np.stack([1j * h, np.zeros_like(h, dtype=np.complex128)])
    fv = _evaluate(f, pts.astype(np.complex128), _axis_offsets(pts, var, steps))
    if not np.iscomplexobj(fv):
        raise UsageError(
            "complex_step needs f to return complex values for complex input; it returned "
            f"{fv.dtype} (compile f for complex input, or use central/richardson)"
        )
    with np.errstate(all="ignore"):
        values = fv[0].imag / h
        scale = np.abs(fv[1].real) / np.maximum(1.0, np.abs(pts[:, var]))
        error = _F_ULPS * EPS * (np.abs(values) + scale)
    _mask_nonfinite(fv, values, error)
    off_real_domain = fv[1].imag != 0
    values[off_real_domain] = error[off_real_domain] = np.nan
    return Derivative(values, error, h, "complex-step")


def _second_offsets(
    pts: np.ndarray, v1: int, v2: int, h1: np.ndarray, h2: np.ndarray
) -> np.ndarray:
    """Stencil offsets (4 * levels, n, n_vars) for d2f/dx_v1 dx_v2; for v1 == v2, x +- 2h."""
    signs = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
    offsets = np.zeros((4, *h1.shape, pts.shape[1]))
    for i, (s1, s2) in enumerate(signs):
        offsets[i, :, :, v1] += s1 * h1
        offsets[i, :, :, v2] += s2 * h2
    return offsets.reshape(-1, *pts.shape)


def second_derivative(
    f: Fn, points: np.ndarray, var1: int, var2: int, *, levels: int = 6, rel_step: float = 0.1
) -> Derivative:
    """Second partial derivative d2f / dx_var1 dx_var2 by Richardson on central stencils.

    The stencil ``f(x+h1+h2) - f(x+h1-h2) - f(x-h1+h2) + f(x-h1-h2)`` over ``4 h1 h2`` is
    the mixed derivative; for ``var1 == var2`` it becomes ``(f(x+2h) - 2f(x) + f(x-2h))/4h^2``,
    the classic second difference at step 2h. Both have even-power error expansions, so the
    same Romberg table as :func:`richardson` applies. Costs ``4 * levels`` evaluations/point.

    Args:
        f: vectorised function of points (n_points, n_vars) -> (n_points,).
        points: real array (n_points, n_vars).
        var1: first variable index.
        var2: second variable index (may equal var1).
        levels: number of step halvings (at least 2).
        rel_step: initial relative step for each variable.

    Returns:
        A Derivative with method "richardson" and the Romberg error estimate.

    >>> d = second_derivative(lambda p: p[:, 0] ** 3 * p[:, 1], np.array([[2.0, 3.0]]), 0, 1)
    >>> bool(abs(d.values[0] - 12.0) < 1e-8)
    True
    """
    pts = _check(points, var1, var2)
    h1 = _halving_steps(pts[:, var1], rel_step, levels)
    h2 = _halving_steps(pts[:, var2], rel_step, levels)
    fv = _evaluate(f, pts, _second_offsets(pts, var1, var2, h1, h2))
    q = fv.reshape(4, levels, -1)
    with np.errstate(all="ignore"):
        table = (q[0] - q[1] - q[2] + q[3]) / (4 * h1 * h2)
        rounding = 4 * _F_ULPS * EPS * np.max(np.abs(fv), axis=0) / (h1 * h2)
        values, error = _romberg(table, rounding)
    _mask_nonfinite(fv, values, error)
    return Derivative(values, error, h1[0], "richardson")


def one_sided_disagree(f: Fn, points: np.ndarray, var: int, *, rtol: float) -> np.ndarray:
    """Mask of points where forward and backward differences disagree: a kink in ``x_var``.

    With ``d(h) = fwd(h) - bwd(h)``, a smooth ``f`` gives ``d(h) = f'' h + O(h^3)`` while a
    kink gives a jump that does not shrink with ``h``. ``2 d(h) - d(2h)`` cancels the
    curvature term, so large curvature is not mistaken for a kink; what remains is compared
    with ``rtol * max(|fwd|, |bwd|, 1)`` plus a rounding allowance. ``h = 1e-6 max(1, |x|)``.
    Points where ``f`` is not finite on the stencil are not flagged (their derivative is NaN).

    >>> pts = np.array([[0.0], [0.5]])
    >>> one_sided_disagree(lambda p: np.abs(p[:, 0]), pts, 0, rtol=1e-3).tolist()
    [True, False]
    """
    pts = _check(points, var)
    h = _exact_step(pts[:, var], 1e-6)
    steps = np.stack([np.zeros_like(h), h, -h, 2 * h, -2 * h])
    f0, fp, fm, fp2, fm2 = _evaluate(f, pts, _axis_offsets(pts, var, steps))
    with np.errstate(all="ignore"):
        fwd, bwd = (fp - f0) / h, (f0 - fm) / h
        wide = (fp2 - f0) / (2 * h) - (f0 - fm2) / (2 * h)
        jump = 2 * (fwd - bwd) - wide
        scale = np.maximum(np.maximum(np.abs(fwd), np.abs(bwd)), 1.0)
        fmax = np.max(np.abs([f0, fp, fm, fp2, fm2]), axis=0)
        slack = 16 * _F_ULPS * EPS * fmax / h
        return np.asarray(np.abs(jump) > rtol * scale + slack)


METHODS: Mapping[str, Callable[..., Derivative]] = MappingProxyType(
    {"central": central, "richardson": richardson, "complex-step": complex_step}
)
