"""Fault tests for the batch's worker processes: no orphan outlives the batch, no row is lost.

A batch runs as a real ``gradcheck grade`` process (in a subprocess, with a grader that
takes 50 ms a row so the workers are busy); the test finds its workers by pid in /proc,
then kills the batch or one worker from outside.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="finds worker processes through /proc (Linux only)")

ROOT = Path(__file__).parents[2]
ROWS = 120

VICTIM = textwrap.dedent("""
    import sys, time
    import gradcheck.grading
    from gradcheck.verdict import GradeResult

    def slow_grade(problem, question_id, answer, *, seed=0, points=20, time_limit=2.0):
        if answer != "0":  # the batch warms its caches with "0" before forking
            time.sleep(0.05)
        return GradeResult(problem=problem.id, question=question_id, answer=answer,
                           verdict="pass", feedback="ok", seed=seed)

    gradcheck.grading.grade = slow_grade
    from gradcheck.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie (a zombie runs nothing)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
    return fields[0], int(fields[1])


def start_batch(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Start a 2-worker batch writing JSON; its stderr goes to ``stderr.txt`` (not a pipe: an
    orphaned worker would hold a pipe open, and reading it would wait for ever)."""
    answers = tmp_path / "answers.csv"
    answers.write_text("student,problem,question,answer\n" + "".join(
        f"s{i},linear-regression,dloss_dw,x{i}\n" for i in range(ROWS)), encoding="utf-8")
    output = tmp_path / "report.json"
    script = tmp_path / "victim.py"
    script.write_text(VICTIM, encoding="utf-8")
    with open(tmp_path / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(script), "grade", "--bank", str(ROOT / "problems"),
             "--submissions", str(answers), "--workers", "2", "--format", "json",
             "--output", str(output), "--exit-zero"],
            stdout=subprocess.DEVNULL, stderr=err)
    return proc, output


def stderr(tmp_path: Path) -> str:
    return (tmp_path / "stderr.txt").read_text(encoding="utf-8")


def wait_for_workers(proc: subprocess.Popen[bytes], count: int = 2) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = children(proc.pid)
        if len(workers) >= count:
            time.sleep(0.2)  # let them take their first chunks
            return children(proc.pid)
        if proc.poll() is not None:
            pytest.fail(f"the batch ended (exit {proc.returncode}) before its workers started")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("the batch's workers did not start within 60 s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_terminating_the_batch_stops_it_like_ctrl_c(tmp_path: Path, sig: signal.Signals) -> None:
    proc, output = start_batch(tmp_path)
    workers = wait_for_workers(proc)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    time.sleep(1.0)
    assert [pid for pid in workers if alive(pid)] == []
    assert proc.returncode == 2
    err = stderr(tmp_path)
    assert err.strip().endswith("gradcheck: interrupted")
    assert "Traceback" not in err
    assert not output.exists()


def test_killing_the_batch_leaves_no_orphan_worker(tmp_path: Path) -> None:
    proc, output = start_batch(tmp_path)
    workers = wait_for_workers(proc)
    proc.kill()
    proc.wait(timeout=30)
    time.sleep(1.0)
    assert [pid for pid in workers if alive(pid)] == []
    assert not output.exists()


def test_a_killed_worker_loses_no_row(tmp_path: Path) -> None:
    proc, output = start_batch(tmp_path)
    workers = wait_for_workers(proc)
    os.kill(workers[0], signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == 0, stderr(tmp_path)
    results = json.loads(output.read_text(encoding="utf-8"))["results"]
    assert [r["row"] for r in results] == list(range(1, ROWS + 1))
    assert [r["answer"] for r in results] == [f"x{i}" for i in range(ROWS)]
    died = [r for r in results if r["verdict"] != "pass"]
    assert len(died) <= 1  # the row the worker was grading, if any, is an error row
    assert all(r["verdict"] == "error" and "grading process died" in r["feedback"] for r in died)
