"""Points per second of the full three-way check on numpy, torch-cpu and torch-cuda.

Run: python benchmarks/bench_check.py [--sizes 1e3 1e5 1e7] [--repeats 3] [--quick]
                                      [--chain-max 1e5] [--backends numpy torch-cpu torch-cuda]

For each problem and size it times ``gradcheck.checks.check_target`` with one backend:
sampling (and kink detection), the symbolic derivative compiled and evaluated, finite
differences, the backend's autograd and, for torch, the vs-numpy comparison. It prints
medians of ``--repeats`` runs after an untimed one (one timed run at 1e7) and the ratio to
numpy in the same run, then the backend's own share (evaluate + autograd at the same
points). A warm-up check at 100 points comes first, so SymPy's cache and torch's start-up
(and the CUDA context) are not timed. The seed problem runs at every size; the 10-stage
chain up to ``--chain-max``. Default run on 2 CPU cores: about 3 minutes, 5 GB at 1e7.
On a loaded 2-core machine torch's OpenMP threads thrash: compare ``--torch-threads 1``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradcheck.backends import Backend, get_backend  # noqa: E402
from gradcheck.checks import check_target, sample_points  # noqa: E402
from gradcheck.derivation import Target, derive  # noqa: E402
from gradcheck.errors import BackendUnavailableError  # noqa: E402
from gradcheck.loader import load_problem  # noqa: E402
from gradcheck.problem import Problem  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED_PROBLEM = (ROOT / "problems" / "seeds" / "exercise-4-3.toml", "dloss_dw")
# A 10-stage chain with exp, tanh and log: a small MLP-like graph.
CHAIN = """\
id = "chain-10"
title = "ten stages of exp, tanh and log"
[symbols.x]
[symbols.w]
[symbols.b]
[graph]
h1 = "tanh(w*x + b)"
h2 = "exp(-h1**2) + h1"
h3 = "log(1 + exp(h2 * w))"
h4 = "tanh(h3 - x*h1)"
h5 = "h4 * exp(h4 / 2) + b"
h6 = "log(1 + h5**2)"
h7 = "tanh(h6 * w + h2)"
h8 = "exp(h7) / (1 + exp(h7))"
h9 = "h8 * log(2 + tanh(h5 * x))"
loss = "(h9 - x)**2 + 0.1*w**2"
[[questions]]
id = "dloss_dw"
of = "loss"
wrt = "w"
"""


def problems() -> list[tuple[Problem, Target]]:
    """(problem, target) pairs to time: a seed-bank question and the 10-stage chain."""
    with tempfile.TemporaryDirectory() as folder:
        chain = Path(folder) / "chain-10.toml"
        chain.write_text(CHAIN, encoding="utf-8")
        loaded = [(load_problem(SEED_PROBLEM[0]), SEED_PROBLEM[1]),
                  (load_problem(chain), "dloss_dw")]
    return [(p, derive(p).target(q)) for p, q in loaded]


def backends(names: list[str]) -> list[Backend]:
    """The backends that can run here, in order; the others are named and skipped."""
    built = []
    for name in names:
        try:
            built.append(get_backend(name))
        except BackendUnavailableError as exc:
            print(f"skipping {name}: {exc}")
    return built


def synchronize(backend: Backend) -> None:
    """Wait for queued GPU work, so the timer measures it."""
    torch = getattr(backend, "torch", None)
    if torch is not None and str(getattr(backend, "device", "cpu")).startswith("cuda"):
        torch.cuda.synchronize()


def median_time(run: Callable[[], object], backend: Backend, repeats: int) -> float:
    """Median seconds of ``repeats`` runs, after one untimed run.

    The untimed run matters: the first run at a new size pays for fresh pages from the
    allocator (several times the compute for torch on the CPU), later runs do not.
    """
    run()
    times = []
    for _ in range(repeats):
        synchronize(backend)
        start = time.perf_counter()
        run()
        synchronize(backend)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_check(problem: Problem, target: Target, backend: Backend, n: int, repeats: int) -> float:
    """Median seconds of the full check of one question on one backend at ``n`` points."""
    return median_time(lambda: check_target(problem, target, [backend], points=n, seed=0),
                       backend, repeats)


def time_backend(target: Target, pts: np.ndarray, backend: Backend, repeats: int) -> float:
    """Median seconds of the backend's own work: evaluate the derivative tape, and autograd."""
    tape = target.build(target.graph)
    f_tape = target.build(target.graph[:1])

    def run() -> None:
        backend.evaluate(tape, pts)
        backend.autograd(f_tape, pts, 0, target.wrt_index)

    return median_time(run, backend, repeats)


Row = tuple[str, int, str, float, float]


def table(title: str, rows: list[Row]) -> str:
    """Rows of (problem, points, backend, seconds, ratio) as aligned text."""
    head = ("problem", "points", "backend", "median s", "points/s", "vs numpy")
    cells = [head] + [(p, f"{n:.0e}", b, f"{s:.4f}", f"{n / s:.3g}", f"{r:.2f}x")
                      for p, n, b, s, r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=True))) for row in cells]
    return "\n".join([title, lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def ratios(problem: str, n: int, seconds: dict[str, float]) -> list[Row]:
    base = seconds["numpy"]
    return [(problem, n, name, s, base / s) for name, s in seconds.items()]


def measure(built: list[Backend], sizes: list[int], repeats: int,
            chain_max: int) -> tuple[list[Row], list[Row]]:
    """(full-check rows, backend-share rows) for every problem and size."""
    full: list[Row] = []
    share: list[Row] = []
    for problem, target in problems():
        for n in sizes:
            if problem.id == "chain-10" and n > chain_max:
                print(f"skipping {problem.id} at {n:.0e} points (raise --chain-max to include)")
                continue
            runs = 1 if n >= 10**7 else repeats
            full += ratios(problem.id, n, {b.name: time_check(problem, target, b, n, runs)
                                           for b in built})
            tape = target.build(target.graph)
            pts = sample_points(problem, target, tape, n, seed=0).points
            share += ratios(problem.id, n, {b.name: time_backend(target, pts, b, runs)
                                            for b in built})
    return full, share


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e3, 1e5, 1e7],
                        help="numbers of points (default 1e3 1e5 1e7)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per median (default 3)")
    parser.add_argument("--quick", action="store_true", help="sizes 1e3 1e5, one run each")
    parser.add_argument("--chain-max", type=float, default=1e5,
                        help="largest size for the 10-stage chain (default 1e5: at 1e7 it "
                             "takes minutes per backend on 2 cores)")
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch-cpu", "torch-cuda"])
    parser.add_argument("--torch-threads", type=int, default=0, metavar="N",
                        help="torch.set_num_threads(N) first (default: torch's own choice); "
                             "on a busy 2-core machine N=1 avoids OpenMP oversubscription")
    args = parser.parse_args(argv)
    sizes = [10**3, 10**5] if args.quick else [int(s) for s in args.sizes]
    repeats = 1 if args.quick else args.repeats
    built = backends(args.backends)
    if args.torch_threads:
        for backend in built:
            if getattr(backend, "torch", None) is not None:
                backend.torch.set_num_threads(args.torch_threads)  # type: ignore[attr-defined]
    for backend in built:  # warm-up: SymPy's cache, torch's kernels and CUDA context
        problem, target = problems()[1]
        check_target(problem, target, [backend], points=100, seed=0)
    full, share = measure(built, sizes, repeats, int(args.chain_max))
    print(f"numpy {np.__version__}; backends: {', '.join(map(describe, built))}; "
          f"median of {repeats} run(s) after one untimed run (one run at 1e7); "
          f"torch threads: {args.torch_threads or 'default'}")
    print(table("Full three-way check (check_target); vs numpy = numpy time / backend time",
                full))
    print()
    print(table("Backend share only: evaluate f, f', derivative + autograd, same points", share))


def describe(backend: Backend) -> str:
    """A backend's name, with device and torch version for torch backends."""
    torch = getattr(backend, "torch", None)
    if torch is None:
        return backend.name
    device = getattr(backend, "device", "cpu")
    gpu = f" ({torch.cuda.get_device_name(device)})" if str(device).startswith("cuda") else ""
    return f"{backend.name} {backend.dtype} on {device}{gpu}, torch {torch.__version__}"


if __name__ == "__main__":
    main()
