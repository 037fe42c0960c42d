"""Grade 10,000 generated answers over the seed bank; compare with a sympify + simplify baseline.

Also: the decision rule before and after (issue 8) on the bank's answer tests and on the
class: answers/s, distinct answers/s and the share of passes decided by proof. "Before" is
grading.py as of ``--before`` (a git commit), loaded from git into this process.

Rows are built from the bank's answer tests (right and wrong answers) plus variants a
class would produce (a random constant added or multiplied in, so most texts are
distinct) and invalid ones. Everything runs in this process on one core. The
baseline (``sympify`` the text, then ``simplify(answer - reference) == 0``) is timed on
a sample and extrapolated: running it on all rows would take minutes.

    python benchmarks/bench_grade.py [--rows 10000] [--baseline-rows 200] [--seed 0]
                                     [--before e5435a5] [--repeat 3] [--rules-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sympy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradcheck.derivation import derive_question, expand  # noqa: E402
from gradcheck.grading import clear_cache, grade  # noqa: E402
from gradcheck.loader import load_bank  # noqa: E402
from gradcheck.problem import Problem, Question  # noqa: E402

INVALID = ["__import__('os')", "9**9**9**9", "2*(x", "z + 1", "x" * 3000, "1/0", "y = 2x"]
Row = tuple[Problem, Question, str]


def rows(bank: tuple[Problem, ...], n: int, rng: random.Random) -> list[Row]:
    """A mix: ~45% answer tests as written, ~45% variants of them, ~10% invalid."""
    tests = [(p, q, t.answer) for p in bank for q in p.questions for t in q.tests]
    out: list[Row] = []
    for _ in range(n):
        p, q, answer = rng.choice(tests)
        roll = rng.random()
        if roll < 0.1:
            answer = rng.choice(INVALID)
        elif roll < 0.3:
            answer = f"{rng.randint(2, 99)}*({answer})"
        elif roll < 0.55:
            answer = f"({answer}) + {rng.randint(1, 999)}/{rng.randint(2, 99)}"
        out.append((p, q, answer))
    return out


def run_grader(sample: list[Row]) -> tuple[float, Counter[str]]:
    clear_cache()
    verdicts: Counter[str] = Counter()
    start = time.perf_counter()
    for p, q, answer in sample:
        verdicts[grade(p, q.id, answer).verdict] += 1
    return time.perf_counter() - start, verdicts


class _Cap(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Cap


def run_baseline(sample: list[Row], cap: float) -> tuple[float, int]:
    """sympify + simplify(answer - reference) == 0, the way CAS graders decide.

    Each row is stopped after ``cap`` seconds (as CAS graders do with SIGALRM) and
    counted as ``cap`` seconds, which flatters the baseline. Returns (seconds, rows capped).
    """
    truths: dict[tuple[str, str], sympy.Expr] = {}
    capped = 0
    previous = signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    try:
        for p, q, answer in sample:
            key = (p.id, q.id)
            if key not in truths:
                truths[key] = expand(p, derive_question(p, q).derivative)
            signal.setitimer(signal.ITIMER_REAL, cap)
            try:
                expr = sympy.sympify(answer.replace("^", "**"), locals=p.names())
                sympy.simplify(expand(p, expr) - truths[key]) == 0  # noqa: B015
            except _Cap:
                capped += 1
            except Exception:  # noqa: BLE001 - the baseline has no safe parser
                pass
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return time.perf_counter() - start, capped


def load_before(commit: str) -> Any:
    """grading.py as it was at ``commit`` (the rule before issue 8), or None without git."""
    try:
        source = subprocess.run(["git", "show", f"{commit}:gradcheck/grading.py"], cwd=ROOT,
                                capture_output=True, check=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "grading_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("grading_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["grading_before"] = module
    spec.loader.exec_module(module)
    return module


def rule_figures(name: str, module: Any, sample: list[Row], repeat: int = 1) -> str:
    """answers/s, distinct answers/s and the share of passes proved, truths prepared first;
    the best of ``repeat`` timed runs (on a shared machine the slowest runs measure the load)."""
    module.clear_cache()
    for p, q, _ in sample:  # truths are the problem's cost, not the answers' (issue 14.4)
        module.grade(p, q.id, "0")
    elapsed = cpu = float("inf")
    for _ in range(repeat):
        module.clear_answer_cache()
        start, start_cpu = time.perf_counter(), time.process_time()
        results = [module.grade(p, q.id, a) for p, q, a in sample]
        elapsed = min(elapsed, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    distinct = len({(p.id, q.id, a) for p, q, a in sample})
    # Expression passes only: a value answer is one number, compared in high precision.
    decided = [r.decision for r in results if r.verdict == "pass"
               and getattr(r, "decision", None) is not None
               and (r.decision.method == "proved" or r.decision.secret > 0)]
    proved = sum(d.method == "proved" for d in decided)
    verdicts = Counter(r.verdict for r in results)
    share = f"{proved / len(decided):.0%} of {len(decided)}" if decided else "n/a"
    # CPU seconds too: on a shared machine they move far less with the load than wall time.
    return (f"  {name:6s} {elapsed:7.2f} s  {len(sample) / elapsed:8,.0f} answers/s  "
            f"{distinct / elapsed:8,.0f} distinct/s  (CPU {cpu:.2f} s: {len(sample) / cpu:,.0f} "
            f"answers/s, {distinct / cpu:,.0f} distinct/s)  expression passes proved: {share}  "
            f"{dict(sorted(verdicts.items()))}")


def compare_rules(bank: tuple[Problem, ...], batch: list[Row], before_commit: str,
                  repeat: int = 1) -> None:
    from gradcheck import grading

    tests = [(p, q, t.answer) for p in bank for q in p.questions for t in q.tests]
    before = load_before(before_commit)
    best = f", best of {repeat}" if repeat > 1 else ""
    for title, sample in ((f"bank answer tests ({len(tests)} answers)", tests),
                          (f"class ({len(batch)} rows)", batch)):
        print(f"decision rule, {title}, truths prepared first, one core{best}:")
        if before is not None:
            print(rule_figures("before", before, sample, repeat))
        print(rule_figures("after", grading, sample, repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--baseline-rows", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--before", default="e5435a5",
                        help="git commit of the decision rule to compare with (default e5435a5)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time the rule comparison this many times, keep the best (default 1)")
    parser.add_argument("--rules-only", action="store_true",
                        help="only the before/after rule comparison (no cold run, no baseline)")
    parser.add_argument("--cap", type=float, default=2.0,
                        help="seconds after which a baseline row is stopped (default 2)")
    args = parser.parse_args()
    bank = load_bank([ROOT / "problems" / "seeds"])
    rng = random.Random(args.seed)
    batch = rows(bank, args.rows, rng)
    if args.rules_only:
        compare_rules(bank, batch, args.before, args.repeat)
        return
    distinct = len({a for _, _, a in batch})
    elapsed, verdicts = run_grader(batch)
    rate = len(batch) / elapsed
    sample = [r for r in batch if len(r[2]) < 200 and "__" not in r[2]][: args.baseline_rows]
    base_elapsed, capped = run_baseline(sample, args.cap)
    base_rate = len(sample) / base_elapsed
    print(f"rows: {len(batch)} over {len(bank)} problems ({distinct} distinct answers); "
          f"verdicts: {dict(sorted(verdicts.items()))}")
    print(f"gradcheck.grading: {elapsed:.2f} s, {rate:,.0f} answers/s (cold cache, one core)")
    print(f"baseline sympify+simplify: {base_elapsed:.2f} s for {len(sample)} rows "
          f"({capped} stopped at the {args.cap:g} s cap), "
          f"{base_rate:,.1f} answers/s (extrapolated to {len(batch)} rows: "
          f"{len(batch) / base_rate:,.0f} s)")
    print(f"speed-up: {rate / base_rate:,.0f}x")
    compare_rules(bank, batch, args.before, args.repeat)


if __name__ == "__main__":
    main()
