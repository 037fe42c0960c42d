"""Load test of ``gradcheck serve``: simulated students answering at once, one of them hostile.

Starts ``gradcheck serve problems/seeds`` on a free port of 127.0.0.1 over a fresh SQLite
file, then runs N simulated students (threads, one keep-alive connection each) for D
seconds. Each student posts answers to ``/api/attempts`` back to back (no think time
unless --think): the seed bank's reference answers and sign-flipped ones. One student
posts only pathological answers (parser limits, a 2,000-character formula, deep nesting,
one that takes the grader its whole time limit).
Prints requests/s, p50/p99 latency (all students, and the hostile one apart), the status
codes, and whether every attempt that was answered 200 is a row of the database (rows
counted with plain SQL, not with gradcheck's code). Only loopback traffic; bounded in time.
With --db the server uses that database instead (it must have no attempts table yet, or
the rows already there are subtracted).

    python benchmarks/bench_serve.py                       # 50 students, 60 s, SQLite
    python benchmarks/bench_serve.py --students 10 --seconds 10
    python benchmarks/bench_serve.py --db postgresql://user:pw@127.0.0.1/empty_db

The server runs with --rate-limit 0 here (the default, 20 attempts per student per
minute, would cap 50 students at about 17 requests/s: this measures capacity).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT / "problems" / "seeds"
TOKEN = "bench-teacher-token"

PATHOLOGICAL = [
    "9**9**9**9",
    "factorial(10**9)",
    "(" * 60 + "x" + ")" * 60,
    "+".join(f"sin({k}*x*w - y)^{k % 7 + 2}" for k in range(1, 200))[:1990],
    "__import__('os').system('echo pwned')",
    "x" * 2100,
    "exp(exp(exp(exp(exp(exp(x*w))))))",
    # within tolerance of the truth, so the grader tries expanding a 300th power: about 2 s,
    # the whole time limit (in-process measurement)
    "2x(wx - y) + 10^-9*x + (x/100 + y/100 + w/100)^300",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers() -> list[tuple[str, str, str]]:
    """(problem, question, answer): each reference answer and its sign-flipped twin."""
    sys.path.insert(0, str(ROOT))
    from gradcheck.loader import load_bank

    out = []
    for problem in load_bank([BANK]):
        for q in problem.questions:
            if q.answer:
                out += [(problem.id, q.id, q.answer), (problem.id, q.id, f"-({q.answer})")]
    return out


def _count(url: str, where: str = "") -> list[tuple[object, ...]]:
    import sqlalchemy as sa

    from gradcheck.serve.store import database_url

    engine = sa.create_engine(database_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(f"SELECT {where or 'count(*)'} FROM attempts"
                                                           + (" WHERE student = 'student-00' GROUP BY "
                                                              "verdict" if where else "")))]
    finally:
        engine.dispose()


def _start(db: str, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "GRADCHECK_TEACHER_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "gradcheck", "serve", str(BANK), "--db", db, "--port", str(port),
         "--rate-limit", "0"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/problems")
            conn.getresponse().read()
            conn.close()
            return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gradcheck serve did not start: {process.stderr.read() if process.stderr else ''}")


def _warm(port: int, answers: list[tuple[str, str, str]]) -> None:
    """One attempt per question first, so every question's reference is built (start-up cost,
    not load) before the clock starts; these rows are counted too."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for problem, question in dict.fromkeys((p, q) for p, q, _ in answers):
        body = json.dumps({"student": "warm-up", "problem": problem, "question": question,
                           "answer": "0"})
        conn.request("POST", "/api/attempts", body, {"Content-Type": "application/json"})
        conn.getresponse().read()
    conn.close()


class Student(threading.Thread):
    def __init__(self, index: int, port: int, answers: list[tuple[str, str, str]], stop: float,
                 hostile: bool, think: float) -> None:
        super().__init__(daemon=True)
        self.index, self.port, self.answers, self.stop = index, port, answers, stop
        self.hostile, self.think = hostile, think
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.sent = 0
        self.failed = 0  # no HTTP answer at all (connection error or timeout)
        self.verdicts: dict[str, int] = {}

    def run(self) -> None:
        rng = random.Random(self.index)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        i = 0
        while time.monotonic() < self.stop:
            if self.hostile:
                problem, question = "linear-regression", "dloss_dw"
                answer = PATHOLOGICAL[i % len(PATHOLOGICAL)]
            else:
                problem, question, answer = rng.choice(self.answers)
            i += 1
            body = json.dumps({"student": f"student-{self.index:02d}", "problem": problem,
                               "question": question, "answer": answer})
            started = time.perf_counter()
            self.sent += 1
            try:
                conn.request("POST", "/api/attempts", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self.failed += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            self.latencies.append(time.perf_counter() - started)
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            if response.status == 200:
                verdict = json.loads(data)["verdict"]
                self.verdicts[verdict] = self.verdicts.get(verdict, 0) + 1
            if self.think:
                time.sleep(self.think)
        conn.close()


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f} ms"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--db", help="database URL for the server (default: a new SQLite file)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds each student waits between attempts (default 0)")
    args = parser.parse_args()
    answers = _answers()
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or f"sqlite:///{Path(folder) / 'bench.db'}"
        port = _free_port()
        server = _start(db, port)
        try:
            _warm(port, answers)
            before = int(_count(db)[0][0])  # type: ignore[call-overload]
            stop = time.monotonic() + args.seconds
            students = [Student(i, port, answers, stop, hostile=(i == 0), think=args.think)
                        for i in range(args.students)]
            began = time.monotonic()
            for s in students:
                s.start()
            for s in students:
                s.join(timeout=args.seconds + 120)
            elapsed = time.monotonic() - began
            rows = int(_count(db)[0][0]) - before  # type: ignore[call-overload]
            hostile_rows = _count(db, "verdict, count(*)")
        finally:
            server.terminate()
            server.wait(timeout=30)
    sent = sum(s.sent for s in students)
    answered = sum(len(s.latencies) for s in students)
    ok = sum(s.statuses.get(200, 0) for s in students)
    statuses: dict[int, int] = {}
    verdicts: dict[str, int] = {}
    for s in students:
        for k, v in s.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
        for k, v in s.verdicts.items():
            verdicts[k] = verdicts.get(k, 0) + v
    everyone = [x for s in students for x in s.latencies]
    calm = [x for s in students[1:] for x in s.latencies]
    hostile = students[0].latencies
    print(f"gradcheck serve load test: {args.students} students ({args.students - 1} ordinary, "
          f"1 pathological) for {args.seconds:g} s, think time {args.think:g} s, "
          f"{os.cpu_count()} CPUs, {db.split(':', 1)[0]}")
    print(f"requests sent      {sent} in {elapsed:.1f} s: {answered / elapsed:.1f} requests/s answered")
    print(f"status codes       {dict(sorted(statuses.items()))}; no answer at all: "
          f"{sum(s.failed for s in students)}")
    print(f"verdicts           {dict(sorted(verdicts.items()))}")
    print(f"latency, all       p50 {_ms(statistics.median(everyone))}  p99 {_ms(_pct(everyone, 0.99))}"
          f"  max {_ms(max(everyone))}")
    print(f"latency, ordinary  p50 {_ms(statistics.median(calm))}  p99 {_ms(_pct(calm, 0.99))}"
          f"  max {_ms(max(calm))}; {sum(x > 2.5 for x in calm)} over 2.5 s (the time limit + grace)")
    print(f"latency, hostile   p50 {_ms(statistics.median(hostile))}  p99 {_ms(_pct(hostile, 0.99))}"
          f"  ({len(hostile)} attempts; stored verdicts {dict(hostile_rows)})")
    lost = ok - rows
    print(f"attempts stored    {rows} rows for {ok} answers 200 of {sent} sent: "
          + ("none lost" if lost == 0 and sent == answered else f"{lost} LOST"))


if __name__ == "__main__":
    main()
