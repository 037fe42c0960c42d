"""Problem files: what loads, and a table of bad files with the error each must give."""

from __future__ import annotations

import pytest

from gradcheck.errors import ExitCode, ProblemError
from gradcheck.loader import load_bank, load_problem
from gradcheck.problem import DEFAULT_DOMAIN
from tests.helpers import LINEAR, PROBLEMS, SEEDS

QUESTION = """
[[questions]]
id = "dloss_dw"
of = "loss"
wrt = "w"
"""


def test_seed_bank_loads_with_every_question() -> None:
    problems = load_bank([PROBLEMS])
    ids = {p.id for p in problems}
    assert {"linear-regression", "neuron-product", "example-4-1", "computation-graph-j",
            "exercise-4-2", "exercise-4-4"} <= ids
    assert all(p.questions for p in problems)


def test_linear_regression_model() -> None:
    problem = load_problem(SEEDS / "linear-regression.toml")
    assert problem.symbol_names == ("x", "y", "w")
    assert problem.stage_names == ("y_hat", "s", "loss")
    assert problem.given_point == {"x": 1.0, "y": 2.0, "w": 1.0}
    assert problem.question("dloss_dw").wrt == ("w",)


def test_defaults(write_problem) -> None:
    path = write_problem(LINEAR.format(stem="p") + QUESTION)
    problem = load_problem(path)
    question = problem.question("dloss_dw")
    assert question.kind == "expression" and question.order == 1 and question.answer is None
    assert problem.symbol("x").domain == DEFAULT_DOMAIN
    assert question.points == 1


def test_points_weigh_a_question(write_problem) -> None:
    path = write_problem(LINEAR.format(stem="p") + QUESTION + "points = 2.5\n"
                         + QUESTION.replace("dloss_dw", "dloss_dx").replace('"w"', '"x"') + "points = 0\n")
    problem = load_problem(path)
    assert [q.points for q in problem.questions] == [2.5, 0]


# (id, text, key that the error must name, words the message must contain)
BAD_FILES = [
    ("bad-toml", 'id = "p"\n[symbols.x\n', "", "not valid TOML"),
    ("id-mismatch", LINEAR.format(stem="other") + QUESTION, "id", "file is named"),
    ("missing-id", LINEAR.format(stem="p").replace('id = "p"\n', "") + QUESTION, "id", "required"),
    ("unknown-top-key", 'titel = "x"\n' + LINEAR.format(stem="p") + QUESTION, "titel", "unknown key"),
    ("no-symbols", 'id = "p"\n' + QUESTION, "symbols", "required"),
    ("unknown-function", LINEAR.format(stem="p").replace('"s**2"', '"foo(s)"') + QUESTION,
     "graph.loss", "foo"),
    ("undefined-symbol", LINEAR.format(stem="p").replace('"w*x"', '"w*z"') + QUESTION,
     "graph.y_hat", "unknown name 'z'"),
    ("stage-before-defined", LINEAR.format(stem="p").replace('"w*x"', '"w*x + s"') + QUESTION,
     "graph.y_hat", "before it is defined"),
    ("stage-uses-itself", LINEAR.format(stem="p").replace('"s**2"', '"loss + s"') + QUESTION,
     "graph.loss", "itself"),
    ("stage-shadows-symbol", LINEAR.format(stem="p").replace("y_hat = ", "x = ") + QUESTION,
     "graph.x", "both a symbol and a stage"),
    ("function-name-symbol", LINEAR.format(stem="p") + "[symbols.exp]\n" + QUESTION,
     "symbols.exp", "function or constant"),
    ("dunder-name", LINEAR.format(stem="p") + "[symbols.__class__]\n" + QUESTION,
     "symbols.__class__", "not a usable name"),
    ("bad-domain", LINEAR.format(stem="p").replace("[symbols.w]\n", "[symbols.w]\ndomain = [3, 1]\n")
     + QUESTION, "symbols.w.domain", "not below"),
    ("domain-not-pair", LINEAR.format(stem="p").replace("[symbols.w]\n", "[symbols.w]\ndomain = 3\n")
     + QUESTION, "symbols.w.domain", "[low, high]"),
    ("value-not-number", LINEAR.format(stem="p").replace("value = 1.0\n[symbols.y]",
                                                          'value = "one"\n[symbols.y]') + QUESTION,
     "symbols.x.value", "must be a number"),
    ("shape-too-large", LINEAR.format(stem="p").replace("[symbols.w]\n", "[symbols.w]\nshape = [50]\n")
     + QUESTION, "symbols.w.shape", "sides from 1 to"),
    ("no-questions", LINEAR.format(stem="p"), "questions", "required"),
    ("duplicate-question", LINEAR.format(stem="p") + QUESTION + QUESTION,
     "questions.dloss_dw.id", "duplicate"),
    ("unknown-wrt", LINEAR.format(stem="p") + QUESTION.replace('wrt = "w"', 'wrt = "q"'),
     "questions.dloss_dw.wrt", "unknown name 'q'"),
    ("bad-kind", LINEAR.format(stem="p") + QUESTION + 'kind = "formula"\n',
     "questions.dloss_dw.kind", "formula"),
    ("bad-order", LINEAR.format(stem="p") + QUESTION + "order = 3\n",
     "questions.dloss_dw.order", "3"),
    ("unreadable-answer", LINEAR.format(stem="p") + QUESTION + 'answer = "2*x*(w*x - y"\n',
     "questions.dloss_dw.answer", "cannot read"),
    ("value-answer-not-number", LINEAR.format(stem="p") + QUESTION
     + 'kind = "value"\nanswer = "two"\n', "questions.dloss_dw.answer", "as a number"),
    ("diagnosis-unknown", LINEAR.format(stem="p") + QUESTION
     + '[[questions.reject]]\nanswer = "1"\ndiagnosis = "typo"\n',
     "questions.dloss_dw.reject[0].diagnosis", "known diagnoses"),
    ("value-question-without-values", LINEAR.format(stem="p").replace("value = 2.0\n", "")
     + QUESTION + 'kind = "value"\n', "questions.dloss_dw.kind", "without one: y"),
    ("points-negative", LINEAR.format(stem="p") + QUESTION + "points = -1\n",
     "questions.dloss_dw.points", "0 or more"),
    ("points-not-number", LINEAR.format(stem="p") + QUESTION + 'points = "two"\n',
     "questions.dloss_dw.points", "number of points"),
    ("points-bool", LINEAR.format(stem="p") + QUESTION + "points = true\n",
     "questions.dloss_dw.points", "number of points"),
    ("points-nan", LINEAR.format(stem="p") + QUESTION + "points = nan\n",
     "questions.dloss_dw.points", "number of points"),
    ("tolerance-without-reason", LINEAR.format(stem="p") + "[tolerance]\nrtol = 1e-3\n" + QUESTION,
     "tolerance.reason", "required"),
]


@pytest.mark.parametrize(("text", "key", "words"), [c[1:] for c in BAD_FILES],
                         ids=[c[0] for c in BAD_FILES])
def test_bad_problem_file(write_problem, text: str, key: str, words: str) -> None:
    path = write_problem(text, stem="p")
    with pytest.raises(ProblemError) as info:
        load_problem(path)
    error = info.value
    assert error.path == str(path)
    assert error.key == key
    assert words in str(error)
    assert error.exit_code == ExitCode.BAD_PROBLEM
    assert isinstance(error, ValueError)


def test_errors_say_what_to_do(write_problem) -> None:
    path = write_problem(LINEAR.format(stem="p").replace('"w*x"', '"w*z"') + QUESTION)
    with pytest.raises(ProblemError) as info:
        load_problem(path)
    assert "the names you can use here are w, x, y" in str(info.value)


def test_duplicate_problem_ids_across_files(write_problem) -> None:
    first = write_problem(LINEAR.format(stem="p") + QUESTION, folder="a")
    write_problem(LINEAR.format(stem="p") + QUESTION, folder="b")
    with pytest.raises(ProblemError, match="duplicate problem id"):
        load_bank([first.parent.parent])


def test_missing_path_is_an_error(tmp_path) -> None:
    with pytest.raises(ProblemError, match="no such file"):
        load_bank([tmp_path / "nope"])


def test_loading_never_executes_file_contents(write_problem, tmp_path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"__import__('os').system('touch {marker}')"
    path = write_problem(LINEAR.format(stem="p").replace('"s**2"', repr(hostile).replace("'", '"', 1)
                                                         [:-1] + '"') + QUESTION)
    with pytest.raises(ProblemError):
        load_problem(path)
    assert not marker.exists()
