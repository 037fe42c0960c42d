"""What a progress bar costs to import, in a process that has already loaded the batch grader.

Each figure is the median over fresh interpreters of the time to import the bar's module
after ``gradcheck.batch`` and ``gradcheck.commands.grade`` are loaded (what the bar adds to
``gradcheck grade``), and the modules it pulls in. The baseline is an import of a module
that is already loaded.

    python benchmarks/bench_progress_import.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CANDIDATES = {"tqdm": "from tqdm import tqdm", "rich": "from rich.progress import Progress",
              "baseline": "import gradcheck.batch"}

PROBE = """
import json, sys, time
import gradcheck.batch, gradcheck.commands.grade
before = set(sys.modules)
start = time.perf_counter()
{statement}
took = time.perf_counter() - start
print(json.dumps([took, len(set(sys.modules) - before)]))
"""


def measure(statement: str, runs: int) -> tuple[float, float, int] | None:
    times, modules = [], 0
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", PROBE.format(statement=statement)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return None
        took, modules = json.loads(done.stdout)
        times.append(took * 1000)
    return statistics.median(times), min(times), modules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    print(f"import cost after gradcheck.batch is loaded, median (min) of {runs} fresh processes")
    for name, statement in CANDIDATES.items():
        figures = measure(statement, runs)
        if figures is None:
            print(f"  {name:9} not installed")
            continue
        median, low, modules = figures
        print(f"  {name:9} {median:7.1f} ms ({low:.1f} ms), {modules} new modules")


if __name__ == "__main__":
    main()
