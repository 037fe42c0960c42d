"""The CLI's exit codes and outputs, called in-process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gradcheck.cli import main
from tests.helpers import LINEAR, PROBLEMS, ROOT, SEEDS

QUESTION = '[[questions]]\nid = "q"\nof = "loss"\nwrt = "w"\nanswer = "{answer}"\n'


def test_check_seed_bank_exits_0(capsys) -> None:
    assert main(["check", str(PROBLEMS), "--points", "5"]) == 0
    out = capsys.readouterr().out
    assert "linear-regression" in out and "FAIL" not in out


def test_wrong_reference_exits_1_and_spells_out_the_failure(write_problem, capsys) -> None:
    path = write_problem(LINEAR.format(stem="p") + QUESTION.format(answer="2*(w*x - y)"))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "p > q > numpy float64 > reference answer vs symbolic" in out
    assert "got" in out and "expected" in out and "worst at x=" in out


def test_bad_problem_file_exits_3(write_problem, capsys) -> None:
    path = write_problem(LINEAR.format(stem="p").replace('"w*x"', '"w*z"')
                         + QUESTION.format(answer="1"))
    assert main(["check", str(path)]) == 3
    err = capsys.readouterr().err
    assert str(path) in err and "graph.y_hat" in err


@pytest.mark.parametrize("args", [
    ["check", str(SEEDS), "--backend", "tensorflow"],
    ["check", str(SEEDS), "--points", "0"],
    ["check", str(SEEDS), "--format", "yaml"],
    ["check"],
    ["frobnicate"],
], ids=["unknown-backend", "zero-points", "unknown-format", "no-paths", "unknown-command"])
def test_usage_errors_exit_2(args: list[str], capsys) -> None:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse reports its own usage errors this way
        code = exc.code
    assert code == 2
    assert capsys.readouterr().err


def test_json_output_file_is_deterministic(tmp_path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for out in (first, second):
        assert main(["check", str(SEEDS / "linear-regression.toml"), "--format", "json",
                     "--seed", "11", "--output", str(out)]) == 0
    assert first.read_bytes() == second.read_bytes()
    data = json.loads(first.read_text())
    assert data["schema"] == "gradcheck/check-report/1" and data["seed"] == 11
    assert all(r["verdict"] == "pass" for r in data["results"])


def test_junit_output(tmp_path) -> None:
    out = tmp_path / "r.xml"
    assert main(["check", str(SEEDS / "example-4-1.toml"), "--format", "junit",
                 "--output", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("<?xml") and 'testsuite name="example-4-1"' in text


def test_console_script_help_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "gradcheck", "check", "--help"],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0
    assert "--backend" in done.stdout and "examples:" in done.stdout
