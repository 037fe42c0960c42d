"""The evidence policy and the JSON report's size: a failing answer keeps the points that
show its failure (checked against formulas evaluated by hand here), a count of the others,
and a 10,000-row class where most rows fail stays under 10 MB of JSON."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from gradcheck.batch import grade_batch
from gradcheck.executor import FAILING_POINTS, keep_evidence, telling_points
from gradcheck.loader import load_bank
from gradcheck.report.grades_json import SCHEMA, render_json
from gradcheck.submissions import Submission
from gradcheck.verdict import Evidence, GradeResult, Omitted

BANK = load_bank([Path(__file__).parents[2] / "problems"])
LR = "linear-regression"  # loss = (w*x - y)^2, given point x=1, y=2, w=1 (problems/seeds)

Formula = Callable[[float, float, float], float]


def truth(x: float, y: float, w: float) -> float:
    """d loss / d w of loss = (w x - y)^2, by hand."""
    return 2 * x * (w * x - y)


def wrong_answers() -> dict[str, Formula]:
    """Wrong answers to d loss / d w, each with its value written by hand."""
    answers: dict[str, Formula] = {
        "-2*x*(w*x - y)": lambda x, y, w: -2 * x * (w * x - y),
        "2*w*(w*x - y)": lambda x, y, w: 2 * w * (w * x - y),
        "2*(w*x - y)": lambda x, y, w: 2 * (w * x - y),
        "x*(w*x - y)": lambda x, y, w: x * (w * x - y),
    }
    for k in range(3, 40):
        answers[f"{k}*x*(w*x - y)"] = lambda x, y, w, k=k: k * x * (w * x - y)
        answers[f"2*x*(w*x - y) + {k}"] = lambda x, y, w, k=k: 2 * x * (w * x - y) + k
    return answers


RIGHT = ["2x(wx-y)", "2*x*(w*x - y)", "2(wx - y)x"]


def evidence(n: int, disagree: set[int]) -> tuple[Evidence, ...]:
    return tuple(Evidence(((f"x{i}", float(i)),), 1.0, 2.0 if i in disagree else 1.0,
                          1.0 if i in disagree else 0.0, i not in disagree) for i in range(n))


def test_a_failing_answer_keeps_its_first_point_then_its_first_disagreements() -> None:
    points = evidence(21, disagree={4, 6, 9, 15, 20})
    result = GradeResult(LR, "dloss_dw", "a", "fail", "no", evidence=points)
    kept = telling_points(result)
    assert FAILING_POINTS == 2
    assert kept.evidence == (points[0], points[4])
    assert kept.omitted == Omitted(points=19, disagree=4)  # 6, 9, 15 and 20
    assert keep_evidence(result, "failing") == kept
    assert keep_evidence(result, "all") == result
    assert keep_evidence(result, "none").evidence == () and keep_evidence(result, "none").omitted is None
    passed = GradeResult(LR, "dloss_dw", "a", "pass", "ok", evidence=evidence(21, set()))
    assert keep_evidence(passed, "failing").evidence == ()
    short = GradeResult(LR, "dloss_dw", "a", "fail", "no", evidence=evidence(2, {1}))
    assert telling_points(short) == short  # nothing to leave out


def class_rows(rows: int, seed: int = 7) -> tuple[list[Submission], dict[str, Formula]]:
    """A class of one question where about 80% of rows are wrong, answers repeating as in a
    real class (about 80 distinct texts)."""
    rng = random.Random(seed)
    wrong = wrong_answers()
    texts = list(wrong)
    subs = [Submission(i, f"s{i % 300:03d}", LR, "dloss_dw",
                       rng.choice(RIGHT) if rng.random() < 0.2 else rng.choice(texts))
            for i in range(1, rows + 1)]
    return subs, wrong


@pytest.fixture(scope="module")
def graded() -> tuple[str, dict[str, Formula]]:
    subs, wrong = class_rows(2000)
    report = grade_batch(BANK, subs, seed=0, evidence="failing")
    return render_json(report), wrong


def test_a_class_where_most_rows_fail_stays_under_10_mb_at_10000_rows(graded) -> None:
    text, _ = graded
    data = json.loads(text)
    assert data["schema"] == SCHEMA and data["settings"]["evidence"] == "failing"
    rows = data["counts"]["rows"]
    assert rows == 2000 and data["counts"]["fail"] > 0.75 * rows
    # 10,000 rows of the same mix: five times these bytes at most (repeats share evidence,
    # so the real file is smaller still)
    assert len(text.encode("utf-8")) * 10_000 / rows < 10_000_000


def test_failing_rows_keep_points_where_the_answer_differs_from_the_truth(graded) -> None:
    text, wrong = graded
    results = json.loads(text)["results"]
    assert all(r["verdict"] == "pass" for r in results if r["answer"] in RIGHT)
    shared = check_failing_rows(results, wrong)
    assert shared > sum(r["verdict"] == "fail" for r in results) / 2  # a class repeats answers


@pytest.mark.slow
def test_even_a_class_of_different_wrong_answers_stays_under_10_mb() -> None:
    """The worst case: no row repeats another, so none shares its evidence."""
    wrong: dict[str, Formula] = {f"{k}*x*(w*x - y)": lambda x, y, w, k=k: k * x * (w * x - y)
                                 for k in range(3, 403)}
    subs = [Submission(i, f"s{i:03d}", LR, "dloss_dw", a) for i, a in enumerate(wrong, start=1)]
    text = render_json(grade_batch(BANK, subs, seed=0, evidence="failing"))
    results = json.loads(text)["results"]
    assert all(r["verdict"] == "fail" for r in results)
    assert check_failing_rows(results, wrong) == 0
    assert len(text.encode("utf-8")) * 10_000 / len(results) < 10_000_000


def check_failing_rows(results: list[dict], wrong: dict[str, Formula]) -> int:
    """Check every failing row's evidence against the formulas; return how many rows
    point to another row's evidence."""
    shared = 0
    for r in results:
        if r["verdict"] != "fail":
            continue
        points = r["evidence"]
        if r["same_evidence_as"] is not None:
            first = results[r["same_evidence_as"]]
            assert (first["problem"], first["question"], first["answer"]) == (LR, "dloss_dw",
                                                                                r["answer"])
            assert first["same_evidence_as"] is None and points == []
            points, shared = first["evidence"], shared + 1
        assert len(points) == FAILING_POINTS
        assert points[0]["point"] == {"x": 1.0, "y": 2.0, "w": 1.0}  # the given point
        assert len(points) + r["evidence_omitted"]["points"] == 21  # given + 20 random
        answer = wrong[r["answer"]]
        for p in points:
            x, y, w = (p["point"][k] for k in "xyw")
            assert math.isclose(p["expected"], truth(x, y, w), rel_tol=1e-9, abs_tol=1e-9)
            assert math.isclose(p["got"], answer(x, y, w), rel_tol=1e-9, abs_tol=1e-9)
        shown = [p for p in points if not p["agrees"]]
        assert shown, "a failing row must keep a point that shows the failure"
        for p in shown:
            x, y, w = (p["point"][k] for k in "xyw")
            want, got = truth(x, y, w), answer(x, y, w)
            assert abs(got - want) > 1e-6 * max(1.0, abs(want))
    return shared


def test_rows_with_the_same_answer_share_one_copy_of_the_evidence() -> None:
    point = Evidence((("x", 1.0),), 2.0, 3.0, 0.5, False)

    def row(n: int, answer: str, verdict: str = "fail") -> GradeResult:
        return GradeResult(LR, "dloss_dw", answer, verdict, "no",  # type: ignore[arg-type]
                           evidence=(point,), student=f"s{n}", row=n)

    from gradcheck.batch import batch_report

    other = GradeResult(LR, "dloss_dw", "a", "fail", "no", row=5,
                        evidence=(Evidence((("x", 2.0),), 4.0, 3.0, 0.25, False),))
    results = [row(1, "a"), row(2, "b"), row(3, "a"), row(4, "a"), other, row(6, "c", "pass")]
    data = json.loads(render_json(batch_report(BANK, results)))["results"]
    assert [r["same_evidence_as"] for r in data] == [None, None, 0, 0, None, None]
    assert [len(r["evidence"]) for r in data] == [1, 1, 0, 0, 1, 1]
    assert data[0]["evidence"] == [{"point": {"x": 1.0}, "expected": 2.0, "got": 3.0,
                                    "error": 0.5, "agrees": False}]


def test_numbers_are_written_with_the_digits_that_matter() -> None:
    point = Evidence((("x", 1.6295789753324672), ("y", float("inf"))), 8.098122899664416,
                     -4.969457155651038, 0.38634456191607425, False)
    result = GradeResult(LR, "dloss_dw", "a", "fail", "no", evidence=(point,), row=1)
    from gradcheck.batch import batch_report

    text = render_json(batch_report(BANK, [result]))
    line = next(s.strip() for s in text.splitlines() if s.strip().startswith('{"point"'))
    assert line == ('{"point": {"x": 1.62957897533, "y": "inf"}, "expected": 8.09812289966, '
                    '"got": -4.96945715565, "error": 0.386, "agrees": false}')
