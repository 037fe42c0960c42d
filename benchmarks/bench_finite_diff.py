"""Accuracy and speed of gradcheck.finite_diff against exact (sympy-derived) derivatives.

Run: python benchmarks/bench_finite_diff.py
Prints, per method, the median and worst relative error over ~10 smooth functions at 1,000
seeded random points each, evaluations of f per point, and time per 1e5 points.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradcheck.finite_diff import METHODS, Derivative, second_derivative  # noqa: E402

x, y, z = sp.symbols("x y z")
N_POINTS = 1_000
N_TIMING = 100_000
Fn = Callable[[np.ndarray], np.ndarray]

# (name, expression, variables, sampling interval for every variable)
FUNCTIONS = [
    ("cubic", x**3 - 2 * x + 1, [x], (-3.0, 3.0)),
    ("exp", sp.exp(x), [x], (-5.0, 5.0)),
    ("log", sp.log(x), [x], (0.5, 50.0)),
    ("sin", sp.sin(x), [x], (-10.0, 10.0)),
    ("tanh", sp.tanh(x), [x], (-3.0, 3.0)),
    ("sqrt", sp.sqrt(x), [x], (0.5, 50.0)),
    ("x*exp(-x^2)", x * sp.exp(-(x**2)), [x], (-3.0, 3.0)),
    ("sigmoid", 1 / (1 + sp.exp(-x)), [x], (-8.0, 8.0)),
    ("sin(x*y)+y^2", sp.sin(x * y) + y**2, [x, y], (-2.0, 2.0)),
    ("exp(xy/3)cos(z)", sp.exp(x * y / 3) * sp.cos(z), [x, y, z], (-2.0, 2.0)),
    ("sin(10x)", sp.sin(10 * x), [x], (-2.0, 2.0)),
]


def compile_expr(expr: sp.Expr, variables: list[sp.Symbol]) -> Fn:
    fn = sp.lambdify(variables, expr, "numpy")
    return lambda points: np.asarray(fn(*points.T)) + 0 * points[:, 0]


class Counter:
    """Counts the points f was evaluated at."""

    def __init__(self, f: Fn) -> None:
        self.f, self.points = f, 0

    def __call__(self, points: np.ndarray) -> np.ndarray:
        self.points += len(points)
        return self.f(points)


def central_float32(f: Fn, points: np.ndarray, var: int) -> Derivative:
    """Central difference computed entirely in float32, for comparison."""
    pts = points.astype(np.float32)
    xv = pts[:, var]
    h = np.cbrt(np.finfo(np.float32).eps) * np.maximum(np.float32(1), np.abs(xv))
    h = (xv + h) - xv
    plus, minus = pts.copy(), pts.copy()
    plus[:, var] += h
    minus[:, var] -= h
    f_plus, f_minus = f(np.concatenate([plus, minus])).reshape(2, -1)
    values = (f_plus - f_minus) / (2 * h)
    return Derivative(values.astype(np.float64), np.zeros(len(pts)), h, "central-float32")


ESTIMATORS: dict[str, Callable[[Fn, np.ndarray, int], Derivative]] = {
    **{name: method for name, method in METHODS.items()},
    "central-float32": central_float32,
}


def partials() -> list[tuple[str, Fn, np.ndarray, int, np.ndarray]]:
    """Every (function, variable) pair: name, f, points, var, exact derivative."""
    rng = np.random.default_rng(20240601)
    rows = []
    for name, expr, variables, (low, high) in FUNCTIONS:
        points = rng.uniform(low, high, size=(N_POINTS, len(variables)))
        for var, symbol in enumerate(variables):
            exact = compile_expr(sp.diff(expr, symbol), variables)(points)
            rows.append((f"{name}/d{symbol}", compile_expr(expr, variables), points, var, exact))
    return rows


def time_per_1e5(method: Callable[[Fn, np.ndarray, int], Derivative], f: Fn, n_vars: int) -> float:
    points = np.random.default_rng(1).uniform(0.5, 2.0, size=(N_TIMING, n_vars))
    start = time.perf_counter()
    method(f, points, 0)
    return (time.perf_counter() - start) * 1e5 / N_TIMING


def summarise(name: str, method: Callable[..., Derivative], rows: list) -> str:
    medians, worsts, per_point, seconds, honest = [], [], [], [], []
    for _, f, points, var, exact in rows:
        counted = Counter(f)
        got = method(counted, points, var)
        error = np.abs(got.values - exact)
        rel = error / np.abs(exact)
        medians.append(np.median(rel))
        worsts.append(np.max(rel))
        per_point.append(counted.points / len(points))
        seconds.append(time_per_1e5(method, f, points.shape[1]))
        if np.any(got.error > 0):
            honest.append(np.mean(error <= got.error))
    covered = f"{100 * min(honest):5.1f}%" if honest else "   n/a"
    return (
        f"{name:16s} {np.median(medians):10.1e} {max(medians):10.1e} {max(worsts):10.1e}"
        f" {np.mean(per_point):7.1f} {1e3 * np.mean(seconds):10.2f} {covered:>9s}"
    )


def summarise_second(rows: list) -> list[str]:
    lines = []
    rng = np.random.default_rng(7)
    cases = [
        ("x^3*y  d2/dxdy", x**3 * y, (0, 1)),
        ("exp(x)sin(y) d2/dy2", sp.exp(x) * sp.sin(y), (1, 1)),
        ("log(xy+3) d2/dxdy", sp.log(x * y + 3), (0, 1)),
        ("tanh(x+y^2) d2/dx2", sp.tanh(x + y**2), (0, 0)),
        ("sin(x*y)+y^2 d2/dy2", sp.sin(x * y) + y**2, (1, 1)),
    ]
    for name, expr, (i, j) in cases:
        points = rng.uniform(0.2, 2.0, size=(N_POINTS, 2))
        exact = compile_expr(sp.diff(expr, [x, y][i], [x, y][j]), [x, y])(points)
        counted = Counter(compile_expr(expr, [x, y]))
        got = second_derivative(counted, points, i, j)
        error = np.abs(got.values - exact)
        rel = error / np.abs(exact)
        lines.append(
            f"{name:22s} {np.median(rel):10.1e} {np.max(rel):10.1e}"
            f" {counted.points / N_POINTS:7.1f} {100 * np.mean(error <= got.error):8.1f}%"
        )
    return lines


def main() -> None:
    start = time.perf_counter()
    rows = partials()
    print(f"First derivatives: {len(rows)} partials, {N_POINTS} random points each (seeded)")
    print("relative error |est - exact| / |exact|; 'covered' = share of points (worst")
    print("partial) where the true error is within the method's own error estimate\n")
    print(
        f"{'method':16s} {'median':>10s} {'max-median':>10s} {'worst':>10s}"
        f" {'f/point':>7s} {'ms/1e5pts':>10s} {'covered':>9s}"
    )
    for name, method in ESTIMATORS.items():
        print(summarise(name, method, rows))
    print("\n(median = median over partials of the per-partial median)\n")
    print("Second derivatives (Richardson, levels=6, rel_step=0.1), points in [0.2, 2]^2\n")
    print(f"{'case':22s} {'median':>10s} {'worst':>10s} {'f/point':>7s} {'covered':>9s}")
    for line in summarise_second(rows):
        print(line)
    print(f"\ntotal runtime {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
