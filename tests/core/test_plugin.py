"""The pytest plugin, run through pytester: opt-in collection, items, and our failure reports."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import sympy

# pytester's in-process runs restore sys.modules afterwards, and a C extension cannot be
# loaded twice: import what the plugin imports lazily here, before any run.
import gradcheck.checks  # noqa: F401
import gradcheck.loader  # noqa: F401
import gradcheck.report.messages  # noqa: F401
from gradcheck import pytest_plugin
from gradcheck.derivation import derive
from gradcheck.parsing import parse_expression
from gradcheck.problem import Problem
from gradcheck.verdict import GradeResult
from tests.helpers import LINEAR, SEEDS

pytest_plugins = ["pytester"]


GOOD = LINEAR + """\
[[questions]]
id = "dloss_dw"
of = "loss"
wrt = "w"
answer = "{answer}"
  [[questions.accept]]
  answer = "{accept}"
  [[questions.reject]]
  answer = "-2*x*(w*x - y)"
  diagnosis = "sign"
  [[questions.reject]]
  answer = "2*(w*x - y)"
"""


def problem_text(stem: str = "p", answer: str = "2*x*(w*x - y)",
                 accept: str = "2x(wx - y)") -> str:
    return GOOD.format(stem=stem, answer=answer, accept=accept)


def fake_grade(problem: Problem, question_id: str, answer: str, *, seed: int = 0,
               points: int = 20, time_limit: float = 2.0, limits: object = None) -> GradeResult:
    """Stands in for gradcheck.grading.grade: exact comparison at three points, sign diagnosis."""
    target = derive(problem).target(question_id)
    truth = target.derivative
    got = parse_expression(answer, problem.names(), student=True)
    points_ = [{s: sympy.Rational(k + 1, 3 + k) for s in target.symbols} for k in range(3)]

    def equal(a: sympy.Expr, b: sympy.Expr) -> bool:
        return all(sympy.simplify((a - b).xreplace(p)) == 0 for p in points_)

    verdict = "pass" if equal(got, truth) else "fail"
    diagnosis = "sign" if verdict == "fail" and equal(got, -truth) else None
    return GradeResult(problem=problem.id, question=question_id, answer=answer,
                       verdict=verdict, diagnosis=diagnosis, feedback=f"{verdict} (fake grader)",
                       understood_as=str(got))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake grader, and numpy as the only backend (fast, and torch-independent)."""
    monkeypatch.setattr(pytest_plugin, "_grader", lambda: fake_grade)
    monkeypatch.setattr("gradcheck.backends.available_backends", lambda: ["numpy"])


def write(pytester: pytest.Pytester, name: str, text: str) -> Path:
    path = pytester.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.usefixtures("fake")
def test_good_bank_passes_with_one_item_per_kind(pytester: pytest.Pytester) -> None:
    write(pytester, "bank/p.toml", problem_text())
    result = pytester.runpytest("--gradcheck", "bank", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*p.toml::reference PASSED*", "*p.toml::check?numpy? PASSED*",
                                 "*p.toml::answers?dloss_dw? PASSED*"])


@pytest.mark.usefixtures("fake")
def test_reference_typo_names_file_question_and_values(pytester: pytest.Pytester) -> None:
    write(pytester, "bank/p.toml", problem_text(answer="2*x*(w*x + y)"))
    result = pytester.runpytest("--gradcheck", "bank")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*p > dloss_dw > numpy float64 > reference answer vs symbolic*",
                                 "*got *(reference answer)*", "*expected *(symbolic (numpy))*",
                                 "FAILED bank/p.toml::reference*"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.usefixtures("fake")
def test_wrong_accept_test_shows_answer_expectation_and_verdict(pytester: pytest.Pytester) -> None:
    write(pytester, "bank/p.toml", problem_text(accept="2*(w*x - y)"))
    result = pytester.runpytest("--gradcheck", "bank")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*bank/p.toml: question dloss_dw: 1 of 3 answer tests disagree with the grader",
        "*answer   '2*(w*x - y)'", "*expected accept", "*got      fail",
        "*feedback fail (fake grader)"])


@pytest.mark.usefixtures("fake")
def test_rejection_must_carry_the_diagnosis(pytester: pytest.Pytester) -> None:
    text = problem_text().replace('diagnosis = "sign"', 'diagnosis = "factor"')
    write(pytester, "bank/p.toml", text)
    result = pytester.runpytest("--gradcheck", "bank")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*expected reject with diagnosis 'factor'",
                                 "*got      fail (diagnosis 'sign')"])


BROKEN = [
    pytest.param('id = "p"\n[symbols.x]\nvalue = "one"\n', "symbols.x.value", "must be a number",
                 id="bad-value"),
    pytest.param('id = "p"\n[symbols.x\n', "", "is not valid TOML", id="toml-syntax"),
    pytest.param('id = "q"\n[symbols.x]\n', "id", "but the file is named p.toml",
                 id="id-not-stem"),
    pytest.param(problem_text().replace('of = "loss"', 'of = "los"'), "questions.dloss_dw.of",
                 "cannot read", id="unknown-name"),
]


@pytest.mark.usefixtures("fake")
@pytest.mark.parametrize(("text", "key", "message"), BROKEN)
def test_broken_file_is_one_failing_item_naming_the_key(
        pytester: pytest.Pytester, text: str, key: str, message: str) -> None:
    write(pytester, "bank/p.toml", text)
    write(pytester, "bank/good.toml", problem_text("good"))
    result = pytester.runpytest("--gradcheck", "bank")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*bank/p.toml: cannot load the problem",
                                 f"*{'key ' + key + ': ' if key else ''}*{message}*",
                                 "FAILED bank/p.toml::load*"])


def test_without_flag_or_ini_no_toml_is_collected(pytester: pytest.Pytester) -> None:
    write(pytester, "pyproject.toml", '[project]\nname = "other"\n')
    write(pytester, "data.toml", "a = 1\n")
    write(pytester, "sub/config.toml", "[x]\ny = 2\n")
    write(pytester, "test_it.py", "def test_it():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "data.toml" not in result.stdout.str()
    assert "config.toml" not in result.stdout.str()


@pytest.mark.usefixtures("fake")
def test_flag_collects_only_the_given_paths(pytester: pytest.Pytester) -> None:
    write(pytester, "data.toml", "a = 1\n")
    write(pytester, "bank/p.toml", problem_text())
    result = pytester.runpytest("--gradcheck", "bank", ".", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["bank/p.toml::reference"])
    result2 = pytester.runpytest("--gradcheck", "bank", "--collect-only", "-q")
    assert "data.toml" not in result2.stdout.str()


@pytest.mark.usefixtures("fake")
def test_ini_key_collects_its_folders_without_the_flag(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntestpaths = tests\ngradcheck_paths = bank\n")
    write(pytester, "bank/p.toml", problem_text())
    write(pytester, "other/data.toml", "a = 1\n")
    write(pytester, "tests/test_it.py", "def test_it():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)
    assert "data.toml" not in result.stdout.str()


def test_flag_without_paths_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--gradcheck")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--gradcheck needs the problem bank's paths*"])


@pytest.mark.usefixtures("fake")
def test_reportinfo_names_file_and_question(pytester: pytest.Pytester) -> None:
    write(pytester, "bank/p.toml", problem_text())
    items = pytester.inline_genitems("--gradcheck", "bank")[0]
    infos = {item.name: item.reportinfo() for item in items}
    assert infos["answers[dloss_dw]"][2] == "p.toml: question dloss_dw: answer tests"
    assert all(Path(path).name == "p.toml" for path, _, _ in infos.values())


def test_startup_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    write(pytester, "test_light.py", """\
        import sys

        def test_light():
            assert "gradcheck.pytest_plugin" in sys.modules
            heavy = {"torch", "sympy", "numpy", "scipy", "gradcheck.loader"} & set(sys.modules)
            assert not heavy, heavy
        """)
    result = pytester.runpytest_subprocess("-p", "no:benchmark", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
    assert "gradcheck" in pytester.runpytest_subprocess("--help").stdout.str()


def test_seed_bank_passes_with_the_real_grader(pytester: pytest.Pytester) -> None:
    pytest.importorskip("gradcheck.grading")
    shutil.copytree(SEEDS, pytester.path / "seeds")
    result = pytester.runpytest_subprocess("--gradcheck", "seeds")  # torch stays out of here
    assert result.ret == 0, result.stdout.str()


HIDDEN_TRUTH = LINEAR + """\
[[questions]]
id = "dloss_dw_value"
of = "loss"
wrt = "w"
kind = "value"
answer = "-2"
  [[questions.accept]]
  answer = "-1.5"
"""


@pytest.mark.parametrize(("how", "hidden"), [
    ("nothing", False), ("option", True), ("ini", True), ("bank-settings", True)])
def test_answer_tests_can_be_graded_as_students_see_them(pytester: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         how: str, hidden: bool) -> None:
    # The real grader: a wrongly accepted -1.5 fails, and its feedback is shown. The truth is
    # -2 (the notes: 2x(wx - y) at x=1, y=2, w=1); hidden, the feedback does not give it.
    import gradcheck.grading  # noqa: F401

    monkeypatch.setattr("gradcheck.backends.available_backends", lambda: ["numpy"])
    write(pytester, "bank/p.toml", HIDDEN_TRUTH.format(stem="p"))
    args = ["--gradcheck", "bank"]
    if how == "option":
        args.append("--gradcheck-hide-expected")
    elif how == "ini":
        pytester.makeini("[pytest]\ngradcheck_hide_expected = true\n")
    elif how == "bank-settings":
        write(pytester, "bank/gradcheck.toml", "[grading]\nhide_expected = true\n")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2, failed=1)  # the settings file is no problem item
    out = result.stdout.str()
    assert "feedback" in out and "your answer gives -1.5" in out
    assert ("but d loss / d w is -2" in out) != hidden
    assert ("which is not d loss / d w" in out) == hidden
