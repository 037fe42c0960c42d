"""Deep graphs: seconds to derive and check an n-stage chain, and how they grow with n.

Run: python benchmarks/bench_deep.py [--stages 4 8 12 25 100 250 500 1000] [--repeats 3]
                                     [--baseline-max 12] [--no-process]

The chain is issue 13's: ``s0 = x``, ``s{i} = tanh(s{i-1}) + 0.5*s{i-1}*x``, question
d s_n / d x (each stage uses the previous one twice, so the expression with every stage
substituted in has about 2**n nodes). For each n it prints:

- ``process s``: the whole command ``gradcheck check chain.toml --points 5`` in a fresh
  Python process (start-up, loading, deriving, checking, the report), median of
  ``--repeats`` runs;
- ``load``, ``derive``, ``check``: the same three stages in this process (medians;
  SymPy's cache and the local-gradient cache are cleared before each run, so every run
  is cold; ``check`` is
  ``check_target`` on numpy at 5 points: sampling, finite differences, comparisons);
- ``ms/stage``: (derive + check) / n, and its ratio to the same figure at 100 stages
  (the target: within 2x from 100 to 1,000 stages, i.e. linear time);
- ``closed form s``: the old method, in this process, as a baseline: the question's
  function with every stage substituted in, then differentiated by SymPy (``Target.
  derivative``), up to ``--baseline-max`` stages (it grows about 1.6x per stage).

Default run on 2 CPU cores: about 3 minutes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sympy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradcheck.backends import get_backend  # noqa: E402
from gradcheck.checks import check_target  # noqa: E402
from gradcheck.derivation import clear_cache, derive  # noqa: E402
from gradcheck.loader import load_problem  # noqa: E402

STAGES = (4, 8, 12, 25, 100, 250, 500, 1000)


def chain(n: int) -> str:
    stages = "\n".join(f's{i} = "tanh(s{i - 1}) + 0.5*s{i - 1}*x"' for i in range(1, n + 1))
    return (f'id = "chain-{n}"\ntitle = "{n}-stage chain"\n[symbols.x]\ndomain = [0.5, 1.5]\n'
            f'[graph]\ns0 = "x"\n{stages}\n'
            f'[[questions]]\nid = "ds_dx"\nof = "s{n}"\nwrt = "x"\n')


def median(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        sympy.core.cache.clear_cache()
        clear_cache()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def process_time(path: Path, repeats: int) -> float:
    command = [sys.executable, "-m", "gradcheck", "check", str(path), "--points", "5"]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"gradcheck check failed on {path.name}:\n{done.stdout}{done.stderr}")
    return statistics.median(times)


def measure(n: int, folder: Path, repeats: int, baseline_max: int,
            in_process: bool) -> dict[str, float | None]:
    path = folder / f"chain-{n}.toml"
    path.write_text(chain(n), encoding="utf-8")
    problem = load_problem(path)
    row: dict[str, float | None] = {
        "process": process_time(path, repeats) if in_process else None,
        "load": median(lambda: load_problem(path), repeats),
        "derive": median(lambda: derive(problem), repeats),
    }
    targets = derive(problem).targets
    backend = [get_backend("numpy")]
    row["check"] = median(lambda: [check_target(problem, t, backend, points=5, seed=0)
                                   for t in targets], repeats)
    row["closed"] = None
    if n <= baseline_max:
        row["closed"] = median(lambda: derive(problem).targets[0].derivative, 1)
    return row


def render(rows: dict[int, dict[str, float | None]]) -> str:
    def per_stage(n: int) -> float:
        r = rows[n]
        return 1e3 * ((r["derive"] or 0) + (r["check"] or 0)) / n

    base = per_stage(100) if 100 in rows else None
    head = ("stages", "process s", "load s", "derive s", "check s", "ms/stage", "vs 100",
            "closed form s")
    cells = [head]
    for n, r in rows.items():
        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f}"
        cells.append((str(n), f(r["process"]), f(r["load"]), f(r["derive"]), f(r["check"]),
                      f"{per_stage(n):.1f}", "-" if base is None else f"{per_stage(n) / base:.2f}x",
                      f(r["closed"])))
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
                     for row in cells)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="+", type=int, default=list(STAGES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-max", type=int, default=12,
                        help="largest chain timed with the old closed-form method (default 12)")
    parser.add_argument("--no-process", action="store_true",
                        help="skip the whole-process timing of `gradcheck check`")
    args = parser.parse_args(argv)
    rows: dict[int, dict[str, float | None]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for n in args.stages:
            rows[n] = measure(n, Path(folder), args.repeats, args.baseline_max,
                              not args.no_process)
            print(f"{n} stages done", file=sys.stderr)
    print(f"chain s_i = tanh(s_(i-1)) + 0.5*s_(i-1)*x, d s_n / d x, --points 5; medians of "
          f"{args.repeats} runs (closed form: 1 run)")
    print(render(rows))


if __name__ == "__main__":
    main()
