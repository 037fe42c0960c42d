"""Reports are written whole or not at all, and a path that cannot be written fails first."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from gradcheck import batch, output
from gradcheck.cli import main
from gradcheck.errors import ExitCode, OutputError
from gradcheck.output import check_output_path, open_output, write_output
from tests.helpers import SEEDS

LR_FILE = str(SEEDS / "linear-regression.toml")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    write_output("héllo\n", str(target))
    assert target.read_bytes() == "héllo\n".encode()
    assert _leftovers(tmp_path) == []


def test_new_file_permissions_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_output("x", str(tmp_path / "r.txt"))
    finally:
        os.umask(old)
    assert (tmp_path / "r.txt").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "missing" / "r.json", "does not exist"),
    (lambda tmp: tmp, "is a folder"),
    (lambda tmp: tmp / "file.txt" / "r.json", "is not a folder"),
], ids=["missing-folder", "folder", "file-as-folder"])
def test_unwritable_paths_are_refused_before_any_work(tmp_path: Path, make, words: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputError, match=words) as info:
        check_output_path(str(make(tmp_path)))
    assert info.value.exit_code == ExitCode.IO == 4
    assert isinstance(info.value, OSError)


def test_a_read_only_file_system_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(target: Path) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(output, "_temporary", read_only)
    with pytest.raises(OutputError, match="Read-only file system"):
        check_output_path(str(tmp_path / "r.json"))


def test_a_full_disk_keeps_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text('{"old": true}\n')
    with pytest.raises(OutputError, match="No space left"):
        with open_output(str(target)) as stream:
            stream.write("{" * 100_000)
            raise OSError(errno.ENOSPC, "No space left on device")
    assert json.loads(target.read_text()) == {"old": True}
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_device_that_is_full_is_an_output_error() -> None:
    with pytest.raises(OutputError, match="No space left"):
        write_output("x" * 100_000, "/dev/full")


def test_a_renderer_error_half_way_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    with pytest.raises(ZeroDivisionError):
        with open_output(str(target)) as stream:
            stream.write("<html>")
            1 / 0  # noqa: B018 - a renderer's bug, half-way through
    assert not target.exists() and _leftovers(tmp_path) == []


def test_lone_surrogates_are_escaped_not_a_crash(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_output(json.dumps({"answer": "2\udcffx \ud800"}, ensure_ascii=False), str(target))
    data = json.loads(target.read_bytes().decode("utf-8"))  # valid UTF-8, valid JSON
    assert data == {"answer": "2\udcffx \ud800"}


def test_dash_means_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    write_output("to stdout\n", "-")
    write_output("again\n", None)
    assert capsys.readouterr().out == "to stdout\nagain\n"


# ---- through the commands: exit 4, one line, before any grading -------------------------


@pytest.mark.parametrize("argv", [
    ["check", LR_FILE, "--format", "json"],
    ["lint", LR_FILE, "--format", "json"],
    ["grade", LR_FILE, "--question", "dloss_dw", "--answer", "2x(wx-y)"],
], ids=["check", "lint", "grade"])
def test_commands_exit_4_on_a_missing_folder(tmp_path: Path, argv: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "no" / "report.out"
    assert main([*argv, "--output", str(target)]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "Traceback" not in err


def test_batch_output_is_checked_before_grading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("graded before the output path was checked")

    monkeypatch.setattr(batch, "grade_batch", never)
    answers = tmp_path / "answers.csv"
    answers.write_text("student,problem,question,answer\nada,linear-regression,dloss_dw,x\n")
    code = main(["grade", "--bank", str(SEEDS), "--submissions", str(answers),
                 "--output", str(tmp_path)])
    assert code == 4 and "is a folder" in capsys.readouterr().err


def test_a_raw_byte_in_an_answer_reaches_the_json_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    answer = os.fsdecode(b"2x(wx-y)\xff")  # how Python receives a non-UTF-8 argument
    code = main(["grade", LR_FILE, "--question", "dloss_dw", "--answer", answer,
                 "--format", "json", "--output", str(target)])
    assert code in (1, 2) and target.stat().st_size > 0
    assert json.loads(target.read_bytes().decode("utf-8"))["results"][0]["answer"] == answer
