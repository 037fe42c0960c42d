"""Notebook display: short reprs, _repr_html_ from the HTML report's renderer, counts, pandas."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

import gradcheck
from gradcheck.batch import BatchReport, grade_batch
from gradcheck.errors import UsageError
from gradcheck.loader import load_bank
from gradcheck.report.grades_html import render_html
from gradcheck.submissions import Submission
from gradcheck.verdict import Evidence, GradeResult
from tests.helpers import PROBLEMS, SEEDS

BANK = load_bank([PROBLEMS])
LR = "linear-regression"
LONG = "x+" * 900 + "x"
HOSTILE = "<img src=x onerror=alert(1)>"
POINTS = tuple(Evidence((("x", float(i)),), 1.0, 1.0, 0.0, True) for i in range(200))


def fake(problem: object, question_id: str, answer: str, **_: object) -> GradeResult:
    ok = answer == "x"
    return GradeResult(problem=LR, question=question_id, answer=answer,
                       verdict="pass" if ok else "fail", feedback="Right." if ok else "Wrong.",
                       diagnosis=None if ok else "sign", understood_as="2*x*(w*x - y)",
                       expected="2*x*(w*x - y)", evidence=POINTS)


@pytest.fixture(scope="module")
def report() -> BatchReport:
    rows = [Submission(i + 1, f"s{i % 7}", LR, "dloss_dw", "x" if i % 3 else LONG) for i in range(49)]
    # 17 of rows 1-49 (i = 0, 3, ..., 48) and the hostile one fail: 32 pass, 18 fail
    rows.append(Submission(50, HOSTILE, LR, "dloss_dw", HOSTILE))
    return grade_batch(BANK, rows, grader=fake)


def test_reprs_are_short(report: BatchReport) -> None:
    one = report.results[0]
    assert len(repr(one)) < 300 and "verdict='fail'" in repr(one) and "<200 points>" in repr(one)
    assert LONG not in repr(one)
    assert repr(report) == "BatchReport(50 rows: 32 pass, 18 fail, 0 invalid, 0 error; seed 0)"


def test_counts_is_a_mapping(report: BatchReport) -> None:
    assert isinstance(report.counts, Mapping)
    assert report.counts["pass"] == 32 and dict(report.counts)["fail"] == 18
    with pytest.raises(TypeError):
        report.counts["pass"] = 0  # type: ignore[index]


def _article(html: str, row: int) -> str:
    start = html.index(f'<span class="rowno">#{row}</span>')
    start = html.rindex("<article", 0, start)
    return html[start:html.index("</article>", start) + len("</article>")]


def test_html_views_are_the_reports_own_blocks(report: BatchReport) -> None:
    page = render_html(report)
    view = report._repr_html_()
    assert _article(view, 2) == _article(page, 2)
    assert "<math" in _article(view, 2)
    assert _article(report.results[1]._repr_html_(), 2) == _article(page, 2)
    hostile = report.results[-1]._repr_html_()
    assert HOSTILE not in hostile and "&lt;img src=x onerror=alert(1)&gt;" in hostile


def test_check_results_have_short_reprs_and_html() -> None:
    report = gradcheck.check([gradcheck.load_problem(SEEDS / "neuron-product.toml")])
    assert repr(report).startswith("CheckReport(") and len(repr(report)) < 200
    first = report.results[0]
    assert repr(first).startswith(f"QuestionResult(neuron-product/{first.question} on numpy")
    html = report._repr_html_()
    assert html.count("<tr") == len(report.results) + 1 and "badge" in html
    assert first._repr_html_().count("<tr") == 2


def test_renderers_are_exposed_by_gradcheck_report(report: BatchReport) -> None:
    from gradcheck import report as renderers

    assert renderers.render_html(report) == render_html(report)
    assert renderers.render_text(report).startswith("row  student")
    check = gradcheck.check([gradcheck.load_problem(SEEDS / "neuron-product.toml")])
    assert renderers.render_text(check).startswith("problem")
    assert renderers.render_json(report).startswith('{\n  "schema": "gradcheck/grade-report/2"')
    for name in renderers.__all__:
        assert getattr(renderers, name) is not None


def test_to_dataframe(report: BatchReport) -> None:
    pd = pytest.importorskip("pandas", reason="pandas is optional: pip install 'gradcheck[pandas]'")
    frame = report.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 50
    assert list(frame["row"]) == list(range(1, 51))
    assert frame["verdict"].value_counts().to_dict() == {"pass": 32, "fail": 18}
    assert frame.loc[0, "answer"] == LONG and frame.loc[0, "points_checked"] == 200


def test_to_dataframe_without_pandas_says_how_to_install(report: BatchReport,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(UsageError, match=r"pip install 'gradcheck\[pandas\]'"):
        report.to_dataframe()


def test_docs_example_grades_a_class_and_plots_it(tmp_path: Path) -> None:
    import runpy

    script = Path(__file__).parents[2] / "docs" / "grade_a_class.py"
    sys_argv = sys.argv
    sys.argv = [str(script), "--output", str(tmp_path)]
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = sys_argv
    svg = (tmp_path / "per-question.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and svg.count("<rect") >= 10
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
