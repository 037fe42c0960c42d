"""Batch grading end to end: rows/s, CPU and peak memory of the whole process, per format.

Generates a class (answers.csv) over the seed bank: the bank's accepted and rejected answers
plus 3% junk, for 300 students, so answers repeat as in a real class. Then:

1. in process: ``grade()`` called directly on every row, against ``grade_batch`` with 1 and
   2 workers (the cost of isolation), and the cost of a repeated answer in the stream;
2. ``gradcheck grade`` as a subprocess for each size, worker count and format: wall time,
   CPU seconds (the process and its workers: on a busy machine, rows per CPU second is what
   one free core would give), rows/s, and the peak RSS of the largest of its processes;
3. with ``--dask``, the same batch on a 2-worker ``LocalCluster``: rows/s, and the overhead
   of one chunk (a round trip that grades one already-known answer);
4. with ``--json-sizes``, the JSON report's size for each ``--evidence`` policy and each
   size, with the share of failing rows; ``--json-distinct N`` adds a class of N rows that
   are all distinct answers, nearly all wrong (the worst case: no repeat shares evidence).
5. with ``--breakdown``, where one worker's CPU goes for the first size: imports, loading the
   bank, preparing each question the class answers (its truth and the alternatives diagnoses
   compare with), grading each distinct answer once, and the slowest questions to prepare.

    python benchmarks/bench_batch.py [--rows 10000,100000,1000000] [--formats csv,json]
                                     [--workers 1,2] [--dask] [--skip-direct] [--distinct 2000]
                                     [--json-sizes] [--json-distinct 10000]
                                     [--breakdown] [--bank problems/seeds]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from gradcheck.batch import grade_batch, grade_stream
from gradcheck.grading import clear_answer_cache, clear_cache, grade
from gradcheck.loader import load_bank
from gradcheck.problem import Problem
from gradcheck.submissions import Submission, read_submissions

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "problems"  # --bank: the problems the class answers
JUNK = ["", "x +", "(((", "z*q", "__import__('os')", "2*", "9**9**9**9", "1/0"]


def answers_for(problem: Problem) -> list[tuple[str, str]]:
    """(question, answer) pairs a class might hand in: the bank's accepted and rejected answers."""
    pairs = [(q.id, t.answer) for q in problem.questions for t in q.tests]
    pairs += [(q.id, q.answer) for q in problem.questions if q.answer]
    return pairs


def write_csv(bank: tuple[Problem, ...], rows: int, seed: int, path: Path) -> None:
    rng = random.Random(seed)
    pool = [(p.id, q, a) for p in bank for q, a in answers_for(p)]
    with open(path, "w", encoding="utf-8") as out:
        out.write("student,problem,question,answer\n")
        for i in range(rows):
            problem, question, answer = rng.choice(pool)
            if rng.random() < 0.03:
                answer = rng.choice(JUNK)
            quoted = '"' + answer.replace('"', '""') + '"'
            out.write(f"s{i % 300:03d},{problem},{question},{quoted}\n")


def in_process(bank: tuple[Problem, ...], path: Path, seed: int) -> None:
    start = time.perf_counter()
    subs = read_submissions(path)
    read_s = time.perf_counter() - start
    by_id = {p.id: p for p in bank}
    # Same start for every timed run: no graded answers kept, each question's truth built
    # (grade_batch builds the truths itself before forking, by grading "0" once per question).
    clear_cache()
    for pid, qid in {(s.problem, s.question) for s in subs}:
        grade(by_id[pid], qid, "0", seed=seed)
    clear_answer_cache()
    start = time.perf_counter()
    direct = [grade(by_id[s.problem], s.question, s.answer, seed=seed) for s in subs]
    direct_s = time.perf_counter() - start
    distinct = len({(s.problem, s.question, s.answer) for s in subs})
    print(f"{len(subs)} rows over {len(bank)} problems, {distinct} distinct answers; "
          f"reading the CSV: {read_s * 1e3:.0f} ms")
    print(f"verdicts: {dict(Counter(r.verdict for r in direct))}")
    print(f"grade() directly, in process:  {direct_s:6.2f} s  {len(subs) / direct_s:8.0f} rows/s")
    reports = {}
    for workers in (1, 2):
        clear_cache()
        start = time.perf_counter()
        reports[workers] = grade_batch(bank, subs, seed=seed, workers=workers)
        took = time.perf_counter() - start
        print(f"grade_batch, workers={workers}:       {took:6.2f} s  {len(subs) / took:8.0f} rows/s")
    same = reports[1] == reports[2]
    agree = all(a.verdict == b.verdict for a, b in zip(direct, reports[1].results, strict=True))
    print(f"workers=1 and workers=2 identical: {same}; verdicts equal to direct grade(): {agree}")


def repeat_cost(bank: tuple[Problem, ...], rows: int = 200_000) -> None:
    """Microseconds per row of a stream of one answer repeated: after the first, each row is
    a look-up, a copy with the row's student and number, and its place in the output."""
    problem = next(p for p in bank if p.id == "linear-regression")
    subs = (Submission(i, f"s{i % 300}", problem.id, "dloss_dw", "2x(wx-y)") for i in range(rows))
    start = time.perf_counter()
    count = sum(1 for _ in grade_stream(bank, subs, workers=1))
    took = time.perf_counter() - start
    one = grade_stream(bank, [Submission(1, "s", problem.id, "dloss_dw", "2x(wx-y)")])
    start = time.perf_counter()
    list(one)
    single = time.perf_counter() - start
    print(f"a repeated answer: {(took - single) / (count - 1) * 1e6:.1f} us per row "
          f"({count} rows of one answer in {took:.2f} s; one row alone {single * 1e3:.0f} ms)")


def speedup(bank: tuple[Problem, ...], rows: int, workers: list[int]) -> None:
    """Scaling with --workers where the grading itself is the work: every answer distinct
    (``k*x*(w*x - y)`` for k = 1..rows, wrong but for k = 2), graded in process by grade_batch."""
    subs = [Submission(i, f"s{i % 300}", "linear-regression", "dloss_dw", f"{i + 1}*x*(w*x - y)")
            for i in range(rows)]
    print(f"\n{rows} distinct answers (one grading each), grade_batch in process:")
    base = None
    for n in workers:
        clear_cache()
        start = time.perf_counter()
        grade_batch(bank, subs, workers=n)
        took = time.perf_counter() - start
        base = base or took
        print(f"  workers={n}: {took:6.2f} s  {rows / took:6.0f} answers/s  speed-up {base / took:.2f}x",
              flush=True)


def run_cli(path: Path, fmt: str, workers: int, out: Path, extra: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS in MB) of ``gradcheck grade`` and its workers."""
    cmd = [sys.executable, "-m", "gradcheck", "grade", "--bank", str(BANK),
           "--submissions", str(path), "--format", fmt, "--output", str(out), "--workers",
           str(workers), "--exit-zero", "--quiet", *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    # wait4 reports the process and the workers it reaped: CPU summed, RSS the largest one
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def whole_process(bank: tuple[Problem, ...], sizes: list[int], formats: list[str],
                  workers: list[int], seed: int, tmp: Path) -> None:
    print("\ngradcheck grade, whole process (wall and CPU include start-up, ~1.5 s CPU):")
    print(f"{'rows':>9} {'workers':>7} {'format':>6} {'wall s':>8} {'CPU s':>8} {'rows/s':>9} "
          f"{'rows/CPU s':>10} {'peak RSS':>9} {'output':>10}")
    for rows in sizes:
        path = tmp / f"answers-{rows}.csv"
        write_csv(bank, rows, seed, path)
        for n in workers:
            for fmt in formats:
                out = tmp / f"report.{fmt}"
                wall, cpu, rss = run_cli(path, fmt, n, out, [])
                size = out.stat().st_size / 1e6
                print(f"{rows:>9} {n:>7} {fmt:>6} {wall:>8.2f} {cpu:>8.2f} {rows / wall:>9.0f} "
                      f"{rows / cpu:>10.0f} {rss:>6} MB {size:>7.1f} MB", flush=True)
                out.unlink()


def json_sizes(bank: tuple[Problem, ...], sizes: list[int], seed: int, tmp: Path, distinct: int) -> None:
    """The JSON report's size per evidence policy (whole process, 1 worker)."""
    classes = []
    for rows in sizes:
        path = tmp / f"answers-{rows}.csv"
        write_csv(bank, rows, seed, path)
        classes.append((f"{rows} rows, the class", path))
    if distinct:
        path = tmp / f"distinct-{distinct}.csv"
        with open(path, "w", encoding="utf-8") as out:  # k*x*(w*x - y): wrong but for k = 2
            out.write("student,problem,question,answer\n")
            out.writelines(f"s{i % 300:03d},linear-regression,dloss_dw,{i + 3}*x*(w*x - y)\n"
                           for i in range(distinct))
        classes.append((f"{distinct} rows, all distinct", path))
    print("\nJSON report size per evidence policy (gradcheck grade --format json --evidence P):")
    print(f"{'class':>28} {'failing':>8} {'policy':>8} {'size':>9} {'bytes/row':>9} {'peak RSS':>9}")
    for label, path in classes:
        for policy in ("all", "failing", "none"):
            out = tmp / "report.json"
            _, _, rss = run_cli(path, "json", 1, out, ["--evidence", policy])
            size = out.stat().st_size
            counts = _counts(out)
            out.unlink()
            share = counts["fail"] / max(1, counts["rows"])
            print(f"{label:>28} {share:>8.0%} {policy:>8} {size / 1e6:>6.1f} MB "
                  f"{size / max(1, counts['rows']):>9.0f} {rss:>6} MB", flush=True)


def _counts(path: Path) -> dict[str, int]:
    """The report's counts, read from its head (loading a 100,000-row report here would
    grow this process, and the peak RSS of every later command forked from it)."""
    import json

    head = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith('  "results"'):
                break
            head.append(line)
    counts: dict[str, int] = json.loads("".join(head) + '"results": []}')["counts"]
    return counts


def on_dask(bank: tuple[Problem, ...], rows: int, seed: int, tmp: Path) -> None:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("\nDask: not installed (pip install 'gradcheck[dask]'); skipped")
        return
    from gradcheck.dask_executor import grade_chunk, sources
    from gradcheck.executor import Settings, Task

    path = tmp / f"answers-{rows}.csv"
    write_csv(bank, rows, seed, path)
    subs = read_submissions(path)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster, Client(cluster) as client:
        client.run(lambda: __import__("gradcheck.grading"))  # imports are start-up, not work
        print(f"\nDask LocalCluster, 2 worker processes, {rows} rows:")
        local_s = None
        for label, scheduler in (("local pool, 2 workers", None), ("Dask", client)):
            clear_cache()
            start = time.perf_counter()
            report = grade_batch(bank, subs, seed=seed, workers=2, scheduler=scheduler,
                                 evidence="failing")
            took = time.perf_counter() - start
            local_s = took if scheduler is None else local_s
            print(f"  {label:<22} {took:6.2f} s  {rows / took:8.0f} rows/s  "
                  f"({Counter(r.verdict for r in report.results)['pass']} pass)")
        problem = next(p for p in bank if p.id == "linear-regression")
        found = (sources([problem])[problem.id],)
        task = [Task(0, problem.id, "dloss_dw", "2x(wx-y)")]
        client.gather(client.submit(grade_chunk, found, Settings(), task, pure=False))  # warm
        trips = {}
        for label, work in (("grading", grade_chunk), ("nothing", _nothing)):
            times = []
            for _ in range(30):
                start = time.perf_counter()
                client.gather(client.submit(work, found, Settings(), task, pure=False))
                times.append(time.perf_counter() - start)
            trips[label] = statistics.median(times)
        print(f"  one chunk's round trip (one known answer): median {trips['grading'] * 1e3:.1f} ms; "
              f"the same Dask task doing nothing {trips['nothing'] * 1e3:.1f} ms")
        on_worker = client.gather(client.submit(_chunk_times, found, Settings(), task, 30,
                                                pure=False))
        print(f"  one chunk graded on the worker, timed there (no scheduler in the way): "
              f"median {on_worker * 1e3:.2f} ms")


def _chunk_times(found: object, settings: object, task: object, n: int) -> float:
    """On a Dask worker: the median time of ``grade_chunk`` over ``n`` chunks of one answer."""
    from gradcheck.dask_executor import grade_chunk

    grade_chunk(found, settings, task)  # type: ignore[arg-type]
    times = []
    for _ in range(n):
        start = time.perf_counter()
        grade_chunk(found, settings, task)  # type: ignore[arg-type]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _nothing(*args: object) -> list[object]:
    """A Dask task with a chunk's arguments that grades nothing: Dask's own round trip."""
    return []


def breakdown(path: Path, seed: int) -> None:
    """CPU seconds of each part of a one-worker run, measured in a fresh process."""
    code = f"""
import csv, time
t0 = time.process_time()
import gradcheck.batch, gradcheck.grading, gradcheck.loader, gradcheck.report.grades
t1 = time.process_time()
bank = gradcheck.loader.load_bank([{str(BANK)!r}])
t2 = time.process_time()
by_id = {{p.id: p for p in bank}}
with open({str(path)!r}, encoding="utf-8", newline="") as handle:
    rows = list(csv.reader(handle))[1:]
answers = list(dict.fromkeys((r[1], r[2], r[3]) for r in rows))
questions = sorted({{(p, q) for p, q, _ in answers}})
costs = []
for p, q in questions:
    s = time.process_time()
    gradcheck.grading.grade(by_id[p], q, "0", seed={seed}, time_limit=180)
    costs.append((time.process_time() - s, p + "/" + q))
t3 = time.process_time()
for p, q, a in answers:
    gradcheck.grading.grade(by_id[p], q, a, seed={seed})
t4 = time.process_time()
print(f"  imports {{t1 - t0:.2f}} s, loading the bank ({{len(bank)}} problems) {{t2 - t1:.2f}} s, "
      f"preparing {{len(questions)}} questions {{t3 - t2:.2f}} s, grading {{len(answers)}} distinct "
      f"answers {{t4 - t3:.2f}} s ({{(t4 - t3) / len(answers) * 1e3:.1f}} ms each)")
costs.sort(reverse=True)
print("  slowest to prepare: " + ", ".join(f"{{name}} {{c:.2f}} s" for c, name in costs[:6]))
"""
    print(f"\nwhere the CPU goes, {path.name}, in one process (CPU seconds):", flush=True)
    subprocess.run([sys.executable, "-c", code], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000", help="comma-separated sizes (default 10000)")
    parser.add_argument("--formats", default="text,json,csv,junit,html")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bank", default=str(ROOT / "problems"),
                        help="the problems the class answers (default: the whole bank; "
                             "problems/seeds is the class the issue measured)")
    parser.add_argument("--dask", action="store_true", help="also on a 2-worker LocalCluster")
    parser.add_argument("--skip-direct", action="store_true",
                        help="skip the in-process comparison and the repeat cost")
    parser.add_argument("--distinct", type=int, default=0, metavar="N",
                        help="also N distinct answers with each worker count (the speed-up)")
    parser.add_argument("--json-sizes", action="store_true",
                        help="only the JSON size per evidence policy, for each --rows")
    parser.add_argument("--json-distinct", type=int, default=0, metavar="N",
                        help="with --json-sizes: also a class of N distinct answers")
    parser.add_argument("--only-dask", action="store_true", help="only the Dask comparison")
    parser.add_argument("--breakdown", action="store_true",
                        help="where one worker's CPU goes (imports, bank, questions, answers)")
    args = parser.parse_args()
    global BANK
    BANK = Path(args.bank).resolve()
    bank = load_bank([BANK])
    sizes = [int(n) for n in args.rows.split(",")]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if args.json_sizes:
            json_sizes(bank, sizes, args.seed, tmp, args.json_distinct)
            return
        if args.only_dask:
            on_dask(bank, sizes[0], args.seed, tmp)
            return
        if not args.skip_direct:
            path = tmp / "answers.csv"
            write_csv(bank, sizes[0], args.seed, path)
            in_process(bank, path, args.seed)
            repeat_cost(bank)
        if args.breakdown:
            path = tmp / "answers-breakdown.csv"
            write_csv(bank, sizes[0], args.seed, path)
            breakdown(path, args.seed)
        if args.distinct:
            speedup(bank, args.distinct, [int(n) for n in args.workers.split(",")])
        whole_process(bank, sizes, args.formats.split(","), [int(n) for n in args.workers.split(",")],
                      args.seed, tmp)
        if args.dask:
            on_dask(bank, sizes[0], args.seed, tmp)


if __name__ == "__main__":
    main()
