"""Hiding the truth for a whole bank (gradcheck.toml) and on the command line: no student-facing
field of a hidden result holds the true value or the expected formula; the teacher's reports do.

Oracle: the notes' own numbers for the training step (d loss / d w = 2 x (w x - y) = -16.2288
at x = 3, y = 6, w = 1.0984) and that formula evaluated by hand at every evidence point."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from gradcheck.cli import main
from gradcheck.errors import ProblemError
from gradcheck.loader import SETTINGS_FILE, bank_settings, load_bank, load_problem
from tests.helpers import SEEDS

TRUTH_AT_GIVEN = "-16.2288"
FORMULA = "2*x*(w*x - y)"  # the question's reference answer, what `expected` shows
HIDE = "[grading]\nhide_expected = true\n"
ROWS = [("ada", "dloss_dw_value", "-8"), ("bob", "dloss_dw", "3*x*(w*x - y)"),
        ("cy", "dloss_dw", "2*x*(w*x + y)"), ("dee", "dloss_dw_value", "-16.2")]


def _truth(point: dict[str, float]) -> float:
    x, y, w = point["x"], point["y"], point["w"]
    return 2 * x * (w * x - y)


def _bank(tmp_path: Path, settings: str | None = HIDE) -> Path:
    bank = tmp_path / "bank"
    (bank / "week1").mkdir(parents=True)
    shutil.copy(SEEDS / "training-step.toml", bank / "week1" / "training-step.toml")
    if settings is not None:
        (bank / SETTINGS_FILE).write_text(settings, encoding="utf-8")
    (tmp_path / ".git").mkdir(exist_ok=True)  # the search for settings stops at a repository
    return bank


def test_every_problem_under_a_gradcheck_toml_inherits_its_setting(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    (problem,) = load_bank([bank])  # the settings file is not read as a problem
    assert problem.id == "training-step" and problem.hide_expected
    assert load_problem(bank / "week1" / "training-step.toml").hide_expected
    assert bank_settings(bank / "week1").path == str((bank / SETTINGS_FILE).resolve())
    own = bank / "week1" / "shown.toml"
    own.write_text((SEEDS / "training-step.toml").read_text().replace(
        'id = "training-step"', 'id = "shown"\nhide_expected = false'), encoding="utf-8")
    assert not load_problem(own).hide_expected  # the problem file's own word wins


def test_no_settings_file_no_hiding_and_the_search_stops_at_the_repository(tmp_path: Path) -> None:
    assert not load_problem(_bank(tmp_path, None) / "week1" / "training-step.toml").hide_expected
    outer = tmp_path / "outer"
    repo = outer / "repo"
    (repo / ".git").mkdir(parents=True)
    (outer / SETTINGS_FILE).write_text(HIDE, encoding="utf-8")
    shutil.copy(SEEDS / "training-step.toml", repo / "training-step.toml")
    assert not load_problem(repo / "training-step.toml").hide_expected


@pytest.mark.parametrize(("text", "key"), [
    ("[grading]\nhide_expected = 1\n", "grading.hide_expected"),
    ("[grading]\nhide = true\n", "grading.hide"),
    ("hide_expected = true\n", "hide_expected"),
    ("grading = 3\n", "grading"),
    ("[grading\n", "not valid TOML"),
], ids=["not-a-bool", "unknown-grading-key", "top-level-key", "not-a-table", "bad-toml"])
def test_a_bad_settings_file_is_a_problem_error_naming_it(tmp_path: Path, text: str, key: str) -> None:
    bank = _bank(tmp_path, text)
    with pytest.raises(ProblemError, match=key) as info:
        load_bank([bank])
    assert info.value.path.endswith(SETTINGS_FILE)


def _write_submissions(tmp_path: Path) -> Path:
    path = tmp_path / "answers.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "problem", "question", "answer"])
        writer.writerows((s, "training-step", q, a) for s, q, a in ROWS)
    return path


def _truth_texts(report: dict) -> set[str]:  # type: ignore[type-arg]
    """Every true value of the report's evidence (computed by hand), as feedback prints numbers."""
    values = {_truth(e["point"]) for r in report["results"] for e in r["evidence"]}
    return {text for v in values for text in (f"{v:.10g}", f"{v:.6g}", f"{v:.4g}")}


def test_hidden_bank_student_pages_and_feedback_hold_no_truth_teacher_reports_do(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    answers = _write_submissions(tmp_path)
    assert main(["grade", "--bank", str(bank), "--submissions", str(answers), "--format", "json",
                 "--evidence", "all", "--output", str(tmp_path / "report.json"), "--exit-zero"]) == 0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    # The teacher's report keeps the expected formula and the evidence, and they are right.
    assert [r["verdict"] for r in report["results"]] == ["fail"] * 4
    for r in report["results"]:
        assert r["expected"] == (TRUTH_AT_GIVEN if r["question"].endswith("_value") else FORMULA)
        assert r["evidence"] and all(e["expected"] == pytest.approx(_truth(e["point"]))
                                     for e in r["evidence"])
    secrets = _truth_texts(report) | {TRUTH_AT_GIVEN, TRUTH_AT_GIVEN.lstrip("-"), FORMULA}
    # Student-facing: the feedback of every row...
    for r in report["results"]:
        assert not [s for s in secrets if s in r["feedback"]], r["feedback"]
    # ... and the pages handed back to students.
    pages = tmp_path / "pages"
    assert main(["grade", "--bank", str(bank), "--submissions", str(answers), "--format", "html",
                 "--split-by", "student", "--output", str(pages), "--exit-zero"]) == 0
    teacher = tmp_path / "teacher.html"
    main(["grade", "--bank", str(bank), "--submissions", str(answers), "--format", "html",
          "--output", str(teacher), "--exit-zero"])
    from gradcheck.report.grades_html import math_html

    names = ("x", "y", "w", "y_hat", "s", "loss")
    shown_formula = math_html(FORMULA, names)
    assert shown_formula in teacher.read_text(encoding="utf-8")
    assert math_html(TRUTH_AT_GIVEN, names) in teacher.read_text(encoding="utf-8")
    for student, *_ in ROWS:
        page = (pages / f"{student}.html").read_text(encoding="utf-8")
        assert student in page
        assert shown_formula not in page and FORMULA not in page
        assert not [s for s in secrets - {FORMULA} if s in page]


def test_the_bank_setting_reaches_the_one_answer_output(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_bank(tmp_path) / "week1" / "training-step.toml")
    assert main(["grade", path, "--question", "dloss_dw_value", "--answer", "-8"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "expected" not in out and "16.2288" not in out
    assert main(["grade", path, "--question", "dloss_dw", "--answer", "3*x*(w*x - y)"]) == 1
    out = capsys.readouterr().out
    assert "expected" not in out and FORMULA not in out and "evidence" not in out


def test_the_plugin_and_the_loader_agree_on_the_settings_file_name() -> None:
    from gradcheck import pytest_plugin

    assert pytest_plugin.SETTINGS_FILE == SETTINGS_FILE


def test_a_dask_worker_takes_the_clients_word_not_a_settings_file_near_the_path(tmp_path: Path) -> None:
    from gradcheck.dask_executor import load_sources

    path = _bank(tmp_path) / "week1" / "training-step.toml"  # its bank hides
    text = path.read_text(encoding="utf-8")
    shown = load_sources((("training-step", str(path), text, False),))
    assert not shown["training-step"].hide_expected
    hidden = load_sources((("training-step", str(tmp_path / "training-step.toml"), text, True),))
    assert hidden["training-step"].hide_expected
