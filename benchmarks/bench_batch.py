"""Grade a generated 10,000-row answers.csv over the seed bank, end to end.

Prints rows per second for ``grade_batch`` with 1 and 2 workers (forked, killable
processes) and, measured in the same run, ``grade()`` called directly in this process
on the same rows, so the per-row cost of reading the file and of the isolation shows.

    python benchmarks/bench_batch.py [--rows 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from gradcheck.batch import grade_batch
from gradcheck.grading import clear_answer_cache, clear_cache, grade
from gradcheck.loader import load_bank
from gradcheck.problem import Problem
from gradcheck.submissions import read_submissions

ROOT = Path(__file__).resolve().parents[1]
JUNK = ["", "x +", "(((", "z*q", "__import__('os')", "2*", "9**9**9**9", "1/0"]


def answers_for(problem: Problem) -> list[tuple[str, str]]:
    """(question, answer) pairs a class might hand in: the bank's accepted and rejected answers."""
    pairs = [(q.id, t.answer) for q in problem.questions for t in q.tests]
    pairs += [(q.id, q.answer) for q in problem.questions if q.answer]
    return pairs


def write_csv(bank: tuple[Problem, ...], rows: int, seed: int, path: Path) -> None:
    rng = random.Random(seed)
    pool = [(p.id, q, a) for p in bank for q, a in answers_for(p)]
    lines = ["student,problem,question,answer"]
    for i in range(rows):
        problem, question, answer = rng.choice(pool)
        if rng.random() < 0.03:
            answer = rng.choice(JUNK)
        quoted = '"' + answer.replace('"', '""') + '"'
        lines.append(f"s{i % 300:03d},{problem},{question},{quoted}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bank = load_bank([ROOT / "problems"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.csv"
        write_csv(bank, args.rows, args.seed, path)
        start = time.perf_counter()
        subs = read_submissions(path)
        read_s = time.perf_counter() - start
    by_id = {p.id: p for p in bank}
    # Same start for every timed run: no graded answers kept, each question's truth built
    # (grade_batch builds the truths itself before forking, by grading "0" once per question).
    clear_cache()
    for pid, qid in {(s.problem, s.question) for s in subs}:
        grade(by_id[pid], qid, "0", seed=args.seed)
    clear_answer_cache()

    start = time.perf_counter()
    direct = [grade(by_id[s.problem], s.question, s.answer, seed=args.seed) for s in subs]
    direct_s = time.perf_counter() - start
    distinct = len({(s.problem, s.question, s.answer) for s in subs})
    print(f"{len(subs)} rows over {len(bank)} problems ({distinct} distinct answers; each is "
          f"graded once per process, repeats come from the cache); "
          f"reading the CSV: {read_s * 1e3:.0f} ms")
    print(f"verdicts: {dict(Counter(r.verdict for r in direct))}")
    print(f"grade() directly, in process:  {direct_s:6.2f} s  {len(subs) / direct_s:8.0f} rows/s")
    reports = {}
    for workers in (1, 2):
        clear_cache()
        start = time.perf_counter()
        reports[workers] = grade_batch(bank, subs, seed=args.seed, workers=workers)
        took = time.perf_counter() - start
        overhead = (took - direct_s) / len(subs) * 1e6
        print(f"grade_batch, workers={workers}:       {took:6.2f} s  {len(subs) / took:8.0f} rows/s"
              f"  (isolation overhead vs direct: {overhead:+.0f} us/row)")
    same = reports[1] == reports[2]
    agree = all(a.verdict == b.verdict for a, b in zip(direct, reports[1].results, strict=True))
    print(f"workers=1 and workers=2 identical: {same}; verdicts equal to direct grade(): {agree}")


if __name__ == "__main__":
    main()
