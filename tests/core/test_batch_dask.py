"""The Dask executor on a LocalCluster of 2 worker processes: the same bytes as a local run,
the time limit on the workers, no row lost when a worker dies, and one grading process kept
per worker thread from chunk to chunk."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest

from gradcheck.batch import grade_batch
from gradcheck.checks import check
from gradcheck.executor import Settings, Task
from gradcheck.loader import load_bank
from gradcheck.problem import Problem
from gradcheck.report import RENDERERS
from gradcheck.report.grades import render_json
from gradcheck.submissions import Submission
from gradcheck.verdict import GradeResult

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                                        "(pip install 'gradcheck[dask]')")

ROOT = Path(__file__).parents[2]
BANK = load_bank([ROOT / "problems"])
LR = "linear-regression"


def slow_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
               points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """Imported by name on the workers: sleeps on request ("slow": 30 s; "nap": 0.25 s)."""
    if answer == "slow":
        time.sleep(30)
    if answer.startswith("nap"):
        time.sleep(0.25)
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass", feedback="ok", seed=seed)


def pid_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
              points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """Imported by name on the workers: says which process graded the answer."""
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass", feedback=str(os.getpid()), seed=seed)


def callbacks_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
                    points: int = 20, time_limit: float = 2.0) -> GradeResult:
    """Imported by name on the workers: how many GC callbacks the grading process has."""
    import gc

    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict="pass", feedback=str(len(gc.callbacks)), seed=seed)


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", memory_limit="2GiB",
                                       silence_logs=50)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def rows(*answers: str, question: str = "dloss_dw") -> list[Submission]:
    return [Submission(i, f"s{i}", LR, question, a) for i, a in enumerate(answers, start=1)]


def test_a_dask_batch_is_byte_identical_to_a_local_one(cluster) -> None:
    answers = ["2x(wx-y)", "x(wx-y)", "-2x(wx-y)", "2w(wx-y)", "__import__('os')", "(wx-y)^2",
               "2x(wx-y)", "x(wx-y)"] * 3
    subs = [*rows(*answers), Submission(99, "zed", "no-such-problem", "q", "x"),
            *rows("-2", "2", question="dloss_dw_value")]
    local = grade_batch(BANK, subs, seed=4, evidence="failing")
    remote = grade_batch(BANK, subs, seed=4, evidence="failing", scheduler=cluster)
    assert [r.verdict for r in local.results][:6] == ["pass", "fail", "fail", "fail", "invalid",
                                                       "fail"]
    assert render_json(remote) == render_json(local)


def test_check_on_dask_gives_the_local_report(cluster) -> None:
    from gradcheck.dask_executor import check_on_dask

    bank = BANK[:3]
    local = check(bank, points=5, seed=2)
    remote = check_on_dask(bank, cluster, backends=("numpy",), points=5, seed=2, dtype="float64")
    assert RENDERERS["json"](remote) == RENDERERS["json"](local)


def test_the_time_limit_holds_on_dask_workers(cluster) -> None:
    start = time.monotonic()
    report = grade_batch(BANK, rows("x", "slow", "y"), time_limit=0.5, grader=slow_grade,
                         scheduler=cluster)
    assert time.monotonic() - start < 20
    assert [r.verdict for r in report.results] == ["pass", "error", "pass"]
    assert "exceeded the time limit: it took longer than 0.5 s" in report.results[1].feedback


def test_a_lost_dask_worker_loses_no_row(cluster) -> None:
    from gradcheck.dask_executor import DaskExecutor

    tasks = [Task(i, LR, "dloss_dw", f"nap{i}") for i in range(12)]  # 3 s of work
    with DaskExecutor(cluster, BANK, Settings(), grader=slow_grade) as executor:
        executor.submit(tasks)
        victim = _worker_running(cluster, executor.prefix)
        pid = cluster.run(os.getpid, workers=[victim])[victim]
        time.sleep(0.5)  # mid-chunk
        os.kill(pid, signal.SIGKILL)
        done: list[tuple[int, GradeResult]] = []
        deadline = time.monotonic() + 60
        while executor.pending() and time.monotonic() < deadline:
            done += executor.collect(0.1)
    assert sorted(key for key, _ in done) == list(range(12))
    assert {r.verdict for _, r in done} == {"pass"}


def _worker_running(client, prefix: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if any(str(k).startswith(prefix) for k in keys):
                return str(worker)
        time.sleep(0.02)
    pytest.fail("no worker took the chunk within 30 s")


def test_grade_and_check_commands_take_a_scheduler(cluster, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from gradcheck.cli import main

    answers = tmp_path / "answers.csv"
    answers.write_text("student,problem,question,answer\n"
                       f"ada,{LR},dloss_dw,2x(wx-y)\nbob,{LR},dloss_dw,x(wx-y)\n", encoding="utf-8")
    address = cluster.scheduler.address
    grade = ["grade", "--bank", str(ROOT / "problems"), "--submissions", str(answers),
             "--format", "json", "--hide-expected"]  # an option that changes loaded problems
    assert main(grade) == 1
    local = capsys.readouterr().out
    assert main([*grade, "--scheduler", address]) == 1
    assert capsys.readouterr().out == local
    check_args = ["check", str(ROOT / "problems" / "seeds" / "linear-regression.toml"),
                  "--format", "json"]
    assert main(check_args) == 0
    local = capsys.readouterr().out
    assert main([*check_args, "--scheduler", address]) == 0
    assert capsys.readouterr().out == local


def test_an_unreachable_scheduler_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from gradcheck import dask_executor
    from gradcheck.cli import main

    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", "1s")
    code = main(["check", str(ROOT / "problems" / "seeds" / "linear-regression.toml"),
                 "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err


def test_dask_workers_keep_their_grading_process_from_chunk_to_chunk(cluster) -> None:
    from gradcheck.dask_executor import DaskExecutor

    workers = set(cluster.run(os.getpid).values())
    done: list[tuple[int, GradeResult]] = []
    with DaskExecutor(cluster, BANK, Settings(), grader=pid_grade) as executor:
        for chunk in range(8):
            executor.submit([Task(3 * chunk + i, LR, "dloss_dw", f"a{chunk}.{i}") for i in range(3)])
        deadline = time.monotonic() + 60
        while executor.pending() and time.monotonic() < deadline:
            done += executor.collect(0.1)
    assert sorted(key for key, _ in done) == list(range(24))
    graders = {int(r.feedback) for _, r in done}
    assert len(graders) <= len(workers)  # one process per worker thread, not one per chunk
    assert not graders & workers  # a forked process, which a deadline can kill


def test_a_row_over_the_time_limit_costs_only_itself_on_a_kept_grader(cluster) -> None:
    subs = rows("a", "slow", "b", "nap", "c")
    local = grade_batch(BANK, subs, time_limit=0.5, grader=slow_grade)
    assert [r.verdict == "pass" for r in local.results] == [True, False, True, True, True]
    for _ in range(2):  # the second batch meets the processes forked after the first's kills
        remote = grade_batch(BANK, subs, time_limit=0.5, grader=slow_grade, scheduler=cluster)
        assert render_json(remote) == render_json(local)


def test_a_kept_grader_forks_again_for_a_new_version_of_a_problem() -> None:
    from gradcheck.dask_executor import KeptGrader, load_sources, sources
    from gradcheck.grading import grade

    linear = next(p for p in BANK if p.id == LR)
    shown = sources([linear])[LR]
    hidden = (*shown[:3], True)  # --hide-expected: another version of the problem
    kept = KeptGrader(None, Settings())
    try:
        first = kept.grade(load_sources((shown,)), [Task(0, LR, "dloss_dw", "x(wx-y)")])
        again = kept.grade(load_sources((shown,)), [Task(1, LR, "dloss_dw", "2x(wx-y)")])
        assert kept.forks == 1
        other = kept.grade(load_sources((hidden,)), [Task(2, LR, "dloss_dw", "x(wx-y)")])
        assert kept.forks == 2
        later = kept.grade(load_sources((shown,)), [Task(3, LR, "dloss_dw_value", "-2")])
        assert kept.forks == 3  # back to the first version, and a question not prepared
    finally:
        kept.close()
    assert first[0][1] == grade(linear, "dloss_dw", "x(wx-y)")
    assert again[0][1] == grade(linear, "dloss_dw", "2x(wx-y)")
    assert other[0][1] == grade(replace(linear, hide_expected=True), "dloss_dw", "x(wx-y)")
    assert other[0][1].feedback != first[0][1].feedback  # the hidden version hides the truth
    assert later[0][1] == grade(linear, "dloss_dw_value", "-2")


def test_no_dask_gc_callback_can_swallow_a_grading_deadline(cluster) -> None:
    """A deadline's Timeout raised inside a GC callback is lost; a Dask worker has one
    (its GC diagnosis), the grading process forked from it must not."""
    report = grade_batch(BANK, rows("a", "b", "c"), grader=callbacks_grade, scheduler=cluster)
    assert [r.feedback for r in report.results] == ["0", "0", "0"]
