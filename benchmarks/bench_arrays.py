"""Array problems: derivation time per bank problem, grading speed, and check time per backend.

    python benchmarks/bench_arrays.py [--answers 400] [--repeats 3]

Prints medians. Grading speed is measured on the bank's own accept/reject answers plus
generated variants (distinct texts, so the per-answer cache does not help), one core.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from gradcheck import check, grade
from gradcheck.arrays import derivation
from gradcheck.backends import available_backends
from gradcheck.loader import load_bank, load_problem

BANK = Path(__file__).resolve().parent.parent / "problems" / "matrices"


def _median(f, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass

    print("derivation per bank problem (load + every question's truth, cold caches)")
    print(f"{'problem':<26}{'questions':>10}{'free entries':>14}{'seconds':>10}")
    for path in sorted(BANK.glob("*.toml")):
        def derive_all(path: Path = path) -> None:
            derivation.clear()
            p = load_problem(path)
            for q in p.arrays.questions:
                derivation.truth(p, q)
        seconds = _median(derive_all, args.repeats)
        p = load_problem(path)
        print(f"{p.id:<26}{len(p.questions):>10}{len(p.symbols):>14}{seconds:>10.3f}")

    bank = load_bank([BANK])
    tests = [(p, q.id, t.answer) for p in bank for q in p.questions for t in q.tests]
    for p in bank:                        # truths warm: grading cost is the answers' own
        for q in p.arrays.questions:
            derivation.truth(p, q)
    rows = []
    k = 0
    while len(rows) < args.answers:
        p, qid, answer = tests[k % len(tests)]
        variant = answer if k < len(tests) else f"({answer}) + {k} - {k}"
        rows.append((p, qid, variant))
        k += 1
    start = time.perf_counter()
    verdicts = [grade(p, qid, a).verdict for p, qid, a in rows]
    seconds = time.perf_counter() - start
    print(f"\ngrading {len(rows)} distinct array answers ({len(bank)} problems): {seconds:.2f} s, "
          f"{len(rows) / seconds:.0f} answers/s on one core "
          f"({verdicts.count('pass')} pass, {verdicts.count('fail')} fail, "
          f"{verdicts.count('invalid')} invalid)")
    start = time.perf_counter()
    for p, qid, a in rows:
        grade(p, qid, a)
    repeat = time.perf_counter() - start
    print(f"the same {len(rows)} answers again (a class repeating answers): {len(rows) / repeat:.0f} answers/s")

    print("\ncheck of the matrix bank (20 points per question)")
    for backend in [b for b in ("numpy", "torch-cpu") if b in available_backends()]:
        seconds = _median(lambda backend=backend: check(load_bank([BANK]), backends=[backend]), 1)
        print(f"  {backend:<10} {seconds:.2f} s")


if __name__ == "__main__":
    main()
