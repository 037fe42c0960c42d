"""Readable formulas on the problem bank: how short, and what they cost.

For every expression question of the scalar problems under ``problems/``, it prints the
length of SymPy's raw derivative (``sympy.sstr``), of the formula gradcheck derives on its
own (``readable.formula(..., reference=False)``) and of the formula shown (the teacher's
reference when there is one), then the median and largest ratio derived/raw, and the time
to compute the derived formulas of each problem from a cold cache (derivation included).

    python benchmarks/bench_readable.py [PATH ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sympy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradcheck import readable  # noqa: E402
from gradcheck.derivation import derive_question  # noqa: E402
from gradcheck.loader import load_bank  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "problems")])
    args = parser.parse_args()
    ratios: list[float] = []
    shown_ratios: list[float] = []
    costs: list[tuple[str, float, int]] = []
    print(f"{'problem/question':42} {'raw':>5} {'derived':>7} {'shown':>5}  derived formula")
    for problem in load_bank(args.paths):
        if problem.arrays is not None:
            continue
        questions = [q for q in problem.questions if q.kind == "expression"]
        if not questions:
            continue
        readable.clear()
        started = time.perf_counter()
        derived = {q.id: readable.formula(problem, q.id, reference=False) for q in questions}
        costs.append((problem.id, time.perf_counter() - started, len(questions)))
        for q in questions:
            raw = readable.raw_derivative(problem, derive_question(problem, q))
            shown = readable.formula(problem, q.id)
            raw_len = len(sympy.sstr(raw)) if raw is not None else None
            if raw_len:
                ratios.append(len(derived[q.id].text) / raw_len)
                shown_ratios.append(len(shown.text) / raw_len)
            print(f"{problem.id + '/' + q.id:42} {raw_len or '-':>5} {len(derived[q.id].text):>7} "
                  f"{len(shown.text):>5}  {derived[q.id].text}")
    print()
    print(f"derived/raw over {len(ratios)} questions: median {statistics.median(ratios):.2f}, "
          f"max {max(ratios):.2f}, min {min(ratios):.2f}")
    print(f"shown/raw (the reference where there is one): median {statistics.median(shown_ratios):.2f}, "
          f"max {max(shown_ratios):.2f}")
    per_problem = [c for _, c, _ in costs]
    print(f"cost per problem (cold, derivation included): median {statistics.median(per_problem):.2f} s, "
          f"max {max(per_problem):.2f} s ({max(costs, key=lambda c: c[1])[0]}), "
          f"total {sum(per_problem):.1f} s for {sum(n for *_, n in costs)} questions")


if __name__ == "__main__":
    main()
