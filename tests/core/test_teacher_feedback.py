"""The teacher's own words (feedback on question tests) and hiding the truth from students."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradcheck.cli import main
from gradcheck.errors import ProblemError
from gradcheck.grading import grade
from gradcheck.loader import load_problem
from tests.helpers import LINEAR, SEEDS

WORDS = """
[[questions]]
id = "dloss_dw"
of = "loss"
wrt = "w"
answer = "2*x*s"
  [[questions.accept]]
  answer = "2*x*(w*x - y)"
  feedback = "Yes: the 2 comes down from the square, the x from y_hat = w*x."
  [[questions.reject]]
  answer = "2*s"
  feedback = "You stopped at d loss / d y_hat: one more local gradient, d y_hat / d w."
"""


def _problem(tmp_path: Path, extra: str = "", top: str = "") -> Path:
    path = tmp_path / "lr.toml"
    path.write_text(top + LINEAR.format(stem="lr") + WORDS + extra, encoding="utf-8")
    return path


def test_the_teachers_words_come_first_for_an_equivalent_rejected_answer(tmp_path: Path) -> None:
    problem = load_problem(_problem(tmp_path))
    # Written differently from the rejected "2*s", equal as a function.
    result = grade(problem, "dloss_dw", "2(wx - y)")
    assert result.verdict == "fail"
    assert result.feedback.startswith("You stopped at d loss / d y_hat")
    assert result.diagnosis == "chain"  # gradcheck's own diagnosis still follows
    other = grade(problem, "dloss_dw", "3*s")
    assert "You stopped" not in other.feedback


def test_an_accepted_answers_note_goes_with_a_pass(tmp_path: Path) -> None:
    problem = load_problem(_problem(tmp_path))
    result = grade(problem, "dloss_dw", "2*x*s")
    assert result.verdict == "pass" and result.feedback.startswith("Yes: the 2 comes down")


@pytest.mark.parametrize(("extra", "top", "key"), [
    ('  [[questions.reject]]\n  answer = "s"\n  feedback = 3\n', "", "feedback"),
    ("", "hide_expected = \"yes\"\n", "hide_expected"),
])
def test_bad_feedback_fields_are_problem_errors(tmp_path: Path, extra: str, top: str,
                                                key: str) -> None:
    with pytest.raises(ProblemError, match=key):
        load_problem(_problem(tmp_path, extra, top))


def test_hide_keeps_the_true_value_out_of_the_feedback_but_in_the_result() -> None:
    problem = load_problem(SEEDS / "linear-regression.toml")
    shown = grade(problem, "dloss_dw_value", "-1.5")
    hidden = grade(problem, "dloss_dw_value", "-1.5", hide=True)
    assert "-2" in shown.feedback and "-2" not in hidden.feedback
    assert hidden.expected == shown.expected == "-2"
    assert hidden.evidence == shown.evidence
    formula = grade(problem, "dloss_dw", "3*x*(w*x - y)", hide=True)
    assert formula.verdict == "fail" and "but d loss / d w is" not in formula.feedback
    assert formula.expected is not None and formula.expected not in formula.feedback


def test_a_problem_can_ask_to_hide(tmp_path: Path) -> None:
    problem = load_problem(_problem(tmp_path, top="hide_expected = true\n"))
    assert problem.hide_expected
    result = grade(problem, "dloss_dw", "3*s")
    assert "which is not d loss / d w" in result.feedback


def test_cli_hide_expected(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(SEEDS / "linear-regression.toml")
    code = main(["grade", path, "--question", "dloss_dw_value", "--answer", "-1.5",
                 "--hide-expected"])
    out = capsys.readouterr().out
    assert code == 1 and "expected" not in out and "-2" not in out
    main(["grade", path, "--question", "dloss_dw_value", "--answer", "-1.5"])
    assert "expected:      -2" in capsys.readouterr().out
