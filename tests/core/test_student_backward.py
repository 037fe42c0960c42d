"""A student's backward pass beside the right one (explain --local / --answer).

Every expected number is worked by hand from the seed notes' graphs (loss = s^2,
s = y_hat - y, y_hat = w*x, ...), never copied from the program's output.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from gradcheck.cli import main
from gradcheck.errors import UsageError
from gradcheck.loader import load_problem
from gradcheck.student_backward import compare_answer, compare_local, edge_names, parse_local
from tests.helpers import PROBLEMS, SEEDS


def _load(name: str):
    return load_problem(SEEDS / f"{name}.toml")


def _values(result, which: str = "your_value") -> dict[str, float]:
    return {b.node: float(getattr(b, which)) for b in result.backward}


# -- local gradients: the seed notes' linear regression, x=1, y=2, w=1 -------------------------

def test_the_2_of_the_square_forgotten() -> None:
    # d loss / d s written s (= -1), not 2s (= -2): every gradient below inherits the half.
    r = compare_local(_load("linear-regression"), "dloss_dw", ["dloss/ds=s"])
    assert r.first_wrong is not None and r.first_wrong.name == "d loss / d s"
    assert float(r.first_wrong.right_value) == -2 and float(r.first_wrong.your_value) == -1
    assert _values(r, "right_value") == {"s": -2, "y_hat": -2, "w": -2}
    assert _values(r) == {"s": -1, "y_hat": -1, "w": -1}
    assert [b.agrees for b in r.backward] == [False, False, False]
    assert r.verdict == "fail"


def test_right_local_gradients_give_the_notes_backward_pass() -> None:
    r = compare_local(_load("linear-regression"), "dloss_dw",
                      ["dloss/ds=2(wx - y)", "d s / d y_hat = 1", "dy_hat/dw=x"])
    assert r.first_wrong is None and r.verdict == "pass"
    assert _values(r) == {"s": -2, "y_hat": -2, "w": -2}
    assert all(e.status == "right" for e in r.edges if e.yours is not None)
    assert all(b.agrees for b in r.backward)


def test_a_local_gradients_number_for_its_formula_is_wrong() -> None:
    # d y_hat / d w = x is 1 at x = 1: "1" has the right number here and nowhere else.
    r = compare_local(_load("linear-regression"), "dloss_dw", ["dy_hat/dw=1"])
    assert r.first_wrong is not None and r.first_wrong.name == "d y_hat / d w"
    assert _values(r) == {"s": -2, "y_hat": -2, "w": -2}
    assert [b.agrees for b in r.backward] == [True, True, False]
    assert r.verdict == "fail"


def test_first_wrong_edge_is_counted_from_the_output() -> None:
    # Example 4-1 (x=2, y=4, w=1): s = -2. ds/dy_hat = -1 gives d loss/d y_hat = -4*-1 = 4,
    # then dy_hat/dw = w = 1 gives d loss/d w = 4; the right ones are -4 and -4*2 = -8.
    r = compare_local(_load("example-4-1"), "dloss_dw", ["dy_hat/dw=w", "ds/dy_hat=-1"])
    assert r.first_wrong is not None and r.first_wrong.name == "d s / d y_hat"
    assert _values(r) == {"s": -4, "y_hat": 4, "w": 4}
    assert _values(r, "right_value") == {"s": -4, "y_hat": -4, "w": -8}
    assert sorted(e.name for e in r.edges if e.status == "wrong") == ["d s / d y_hat", "d y_hat / d w"]


def test_at_another_point() -> None:
    # The --at values of explain: the linear regression graph at Example 4-1's point.
    r = compare_local(_load("linear-regression"), "dloss_dw", ["dloss/ds=s"], {"x": 2, "y": 4})
    assert _values(r) == {"s": -2, "y_hat": -2, "w": -4}
    assert _values(r, "right_value") == {"s": -4, "y_hat": -4, "w": -8}


def test_exercise_4_4_power_rule_on_the_wrong_variable() -> None:
    # y_hat = x^2 w2 + x w1 + b at x=1, y=2, w1=w2=1, b=2: y_hat = 4, s = 2, d loss/d s = 4.
    # d y_hat / d w2 written 2 x w2 (= 2) instead of x^2 (= 1): d loss / d w2 = 8, not 4.
    r = compare_local(_load("exercise-4-4"), "dloss_dw2", ["dy_hat/dw2=2*x*w2"])
    assert r.first_wrong is not None and r.first_wrong.name == "d y_hat / d w2"
    assert float(r.first_wrong.right_value) == 1 and float(r.first_wrong.your_value) == 2
    assert _values(r) == {"s": 4, "y_hat": 4, "w2": 8}


def test_exercise_4_5_forward_value_equal_at_the_point() -> None:
    # x=2, y=4, w1=w2=1, b=0: y_hat = 6, s = 2. d loss / d s written s^2 (the loss, 4) is
    # 2s = 4 here too, so d loss / d b = 4 both ways, yet the local gradient is wrong.
    r = compare_local(_load("exercise-4-5"), "dloss_db", ["dloss/ds=s^2"])
    assert r.first_wrong is not None and r.first_wrong.name == "d loss / d s"
    assert _values(r) == {"s": 4, "y_hat": 4, "b": 4} == _values(r, "right_value")
    assert r.backward[0].agrees is False and r.verdict == "fail"


def test_exercise_4_5_wrong_variable_on_one_edge() -> None:
    # d y_hat / d w1 written w1 (= 1) instead of x (= 2): d loss / d w1 = 4*1 = 4, not 8.
    r = compare_local(_load("exercise-4-5"), "dloss_dw1", ["dy_hat/dw1=w1"])
    assert r.first_wrong is not None and r.first_wrong.name == "d y_hat / d w1"
    assert float(r.backward[-1].your_value) == 4 and float(r.backward[-1].right_value) == 8


def test_computation_graph_j() -> None:
    # a=5, b=3, c=2: dJ/dv = 3, dv/du = 1, du/db = c = 2 -> 6; written b (= 3) -> 9.
    r = compare_local(_load("computation-graph-j"), "dJ_db", ["du/db=b", "dJ/dv=3"])
    assert r.first_wrong is not None and r.first_wrong.name == "d u / d b"
    assert _values(r) == {"v": 3, "u": 3, "b": 9}
    assert _values(r, "right_value") == {"v": 3, "u": 3, "b": 6}


def test_fork_overwritten_instead_of_accumulated() -> None:
    # f = q*x, q = x + y at x=2, y=3: d f/d x = x*1 + q = 2 + 5 = 7. With dq/dx = 0 the
    # branch through q adds nothing: 5.
    r = compare_local(load_problem(PROBLEMS / "backprop" / "fork.toml"), "df_dx", ["dq/dx=0"])
    assert r.first_wrong is not None and r.first_wrong.name == "d q / d x"
    assert _values(r) == {"q": 2, "x": 5}
    assert _values(r, "right_value") == {"q": 2, "x": 7}


def test_a_wrong_edge_off_the_path_does_not_change_the_pass() -> None:
    # d y_hat / d x = w is not on the way from loss to w; writing x there is wrong, but the
    # backward pass to w stays right.
    r = compare_local(_load("linear-regression"), "dloss_dw", ["dy_hat/dx=x"])
    assert r.first_wrong is None and r.verdict == "fail"
    [edge] = [e for e in r.edges if e.yours is not None]
    assert edge.status == "wrong" and not edge.on_path
    assert all(b.agrees for b in r.backward)


# -- a whole answer ---------------------------------------------------------------------------

def test_answer_missing_the_last_local_gradient() -> None:
    # 2(wx - y) leaves out d y_hat / d w = x; at x = 1 it still gives -2. The grader also
    # reads it as x put in as its number 1: both readings are named, both at that edge.
    r = compare_answer(_load("linear-regression"), "dloss_dw", "2*(w*x - y)")
    assert r.verdict == "fail" and r.diagnosis == "chain"
    assert {(x.kind, x.where) for x in r.readings} == {("chain", "d y_hat / d w"),
                                                       ("plugged", "d y_hat / d w")}
    assert float(r.backward[-1].your_value) == -2 and r.backward[-1].agrees is False


def test_answer_value_at_the_point() -> None:
    # x(wx - y) at x=1, y=2, w=1: 1*(1 - 2) = -1.
    r = compare_answer(_load("linear-regression"), "dloss_dw", "x*(w*x - y)")
    assert float(r.backward[-1].your_value) == -1


@pytest.mark.parametrize(("answer", "reading"), [
    ("(a - y)*a*x", ("activation", "d a / d z")),        # sigmoid's value for its derivative
    ("(a - y)*z*(1 - z)*x", ("edge", "d a / d z")),      # z where sigmoid's output belongs
    ("(a - y)*x", ("chain", "d a / d z")),               # d a / d z left out
    ("(a - y)*a*(1 - a)", ("chain", "d z / d w")),       # d z / d w = x left out
])
def test_answer_names_the_edge(answer: str, reading: tuple[str, str]) -> None:
    r = compare_answer(load_problem(PROBLEMS / "backprop" / "sigmoid-neuron.toml"), "dloss_dw", answer)
    assert [(x.kind, x.where) for x in r.readings] == [reading]


def test_answer_with_two_readings_names_both() -> None:
    # f = q*x, q = x + y: the answer x is the path through q alone (the direct branch
    # dropped) and also the product rule with the direct factor x held constant. Both fit.
    r = compare_answer(load_problem(PROBLEMS / "backprop" / "fork.toml"), "df_dx", "x")
    kinds = {x.kind for x in r.readings}
    assert {"path", "product"} <= kinds and len(r.readings) >= 2


def test_answer_no_single_slip_is_said_honestly(capsys) -> None:
    # -(x + q): every sign flipped; no one edge, path or term reproduces it.
    path = str(PROBLEMS / "backprop" / "fork.toml")
    r = compare_answer(load_problem(path), "df_dx", "-x - q")
    assert r.readings == () and r.diagnosis == "sign"
    assert main(["explain", path, "--question", "df_dx", "--answer", "-x - q"]) == 1
    assert "no single slip on the graph reproduces it" in capsys.readouterr().out


def test_right_answer_passes() -> None:
    r = compare_answer(_load("linear-regression"), "dloss_dw", "2x(wx - y)")
    assert r.verdict == "pass" and r.readings == () and r.backward[-1].agrees is True


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("items", "message"), [
    (["dz/dw=1"], "its edges are dy_hat/dx, dy_hat/dw, ds/dy, ds/dy_hat, dloss/ds"),
    (["dloss/ds"], "write EDGE=FORMULA"),
    (["loss/s=2*s"], "write EDGE=FORMULA"),
    (["dloss/ds=2*s", "d loss / d s = 2s"], "given twice"),
], ids=["unknown-edge", "no-formula", "no-d", "twice"])
def test_bad_edges(items: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_local(_load("linear-regression"), items)


@pytest.mark.parametrize("formula", ["2*s+", "__import__('os')", "s)", ""],
                         ids=["unfinished", "dunder", "unbalanced", "empty"])
def test_unreadable_local_gradient(formula: str) -> None:
    with pytest.raises(UsageError, match="d loss / d s: cannot read"):
        compare_local(_load("linear-regression"), "dloss_dw", [f"dloss/ds={formula}"])


def test_edge_names_follow_the_graph() -> None:
    assert edge_names(_load("computation-graph-j")) == ("du/db", "du/dc", "dv/da", "dv/du", "dJ/dv")


def test_array_problems_are_refused() -> None:
    problem = load_problem(PROBLEMS / "matrices" / "linear-layer.toml")
    with pytest.raises(UsageError, match="vectors or matrices"):
        compare_answer(problem, problem.questions[0].id, "0")
    with pytest.raises(UsageError, match="vectors or matrices"):
        compare_local(problem, problem.questions[0].id, [])
    assert main(["explain", problem.path, "--question", problem.questions[0].id,
                 "--local", "dloss/ds=1"]) == 2


# -- the command ----------------------------------------------------------------------------------

def test_cli_exit_status_and_text(capsys) -> None:
    path = str(SEEDS / "linear-regression.toml")
    assert main(["explain", path, "--question", "dloss_dw", "--local", "dloss/ds=s"]) == 1
    out = capsys.readouterr().out
    assert "First wrong edge, from the output back: d loss / d s." in out
    assert "the right local gradient is 2*s (= -2 here)" in out
    assert main(["explain", path, "--question", "dloss_dw", "--local", "dloss/ds=2*s"]) == 0
    assert main(["explain", path, "--question", "dloss_dw", "--answer", "2x(wx-y)"]) == 0
    assert main(["explain", path, "--question", "dloss_dw", "--answer", "2*(w*x - y)"]) == 1
    out = capsys.readouterr().out
    assert "Forward pass" in out and "(first: d y_hat / d w)" in out and "Two readings fit" in out


@pytest.mark.parametrize("argv", [
    ["--local", "dz/dw=1"], ["--local", "dloss/ds=2*s+"], ["--answer", "2*(w*x"],
    ["--answer", "1", "--local", "dloss/ds=2*s"], ["--question", "nope", "--answer", "1"],
], ids=["unknown-edge", "unreadable-local", "unreadable-answer", "both", "no-question"])
def test_cli_bad_input_is_a_usage_error(argv: list[str], capsys) -> None:
    question = [] if "--question" in argv else ["--question", "dloss_dw"]
    assert main(["explain", str(SEEDS / "linear-regression.toml"), *question, *argv]) == 2
    assert capsys.readouterr().err.strip()


def test_cli_json(capsys) -> None:
    path = str(SEEDS / "example-4-1.toml")
    assert main(["explain", path, "--question", "dloss_dw", "--local", "ds/dy_hat=-1",
                 "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["first_wrong"] == "d s / d y_hat" and data["verdict"] == "fail"
    assert [(b["node"], b["your_value"], b["right_value"]) for b in data["backward"]] == [
        ("s", -4, -4), ("y_hat", 4, -4), ("w", 8, -8)]
    assert main(["explain", path, "--question", "dloss_dw", "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["result"]["value"] == -8 and [f["value"] for f in plain["forward"]] == [2, -2, 4]


# -- more of the graph: a stage as the variable, a split edge, one number, the marks -----------

def test_local_gradients_down_to_a_stage() -> None:
    # d loss / d y_hat stops at y_hat: d loss/d s = s (= -1), then * 1.
    r = compare_local(_load("linear-regression"), "dloss_dyhat", ["dloss/ds=s"])
    assert _values(r) == {"s": -1, "y_hat": -1}
    assert r.first_wrong is not None and r.first_wrong.name == "d loss / d s"


def test_one_factor_of_a_compound_edge_left_out(write_problem) -> None:
    # h = tanh(w*x): d h / d x = (1 - h^2) * w. Leaving out the w is the chain rule with one
    # factor of the edge d h / d x left out, and is named at that edge.
    path = write_problem('id = "p"\n[symbols.x]\nvalue = 0.5\n[symbols.w]\nvalue = 1.5\n'
                         '[symbols.y]\nvalue = 0.2\n[graph]\nh = "tanh(w*x)"\nloss = "(h - y)^2"\n'
                         '[[questions]]\nid = "q"\nof = "loss"\nwrt = "x"\n')
    r = compare_answer(load_problem(path), "q", "2*(h - y)*(1 - h^2)")
    assert ("chain", "d h / d x") in {(x.kind, x.where) for x in r.readings}
    # the value at the point, by hand: tanh(0.75) = 0.635148952...
    h = math.tanh(0.75)
    assert float(r.answer_value) == pytest.approx(2 * (h - 0.2) * (1 - h * h), rel=1e-12)


def test_one_number_is_placed_only_by_the_graders_reading() -> None:
    # rnn-through-time at W=0.5, U=1, x=(1, -1, 0.5), y=0.2: h2 held constant gives
    # (h3 - y)(1 - h3^2) h2; rounded to 6 digits as a student would.
    h1 = math.tanh(1.0)
    h2 = math.tanh(0.5 * h1 - 1)
    h3 = math.tanh(0.5 * h2 + 0.5)
    answer = f"{(h3 - 0.2) * (1 - h3 * h3) * h2:.6g}"
    r = compare_answer(load_problem(PROBLEMS / "backprop" / "rnn-through-time.toml"),
                       "dloss_dW_value", answer)
    assert r.diagnosis == "product"
    assert [(x.kind, x.where) for x in r.readings] == [("product", "z3")]


def test_a_number_that_fits_only_by_coincidence_is_not_placed(capsys) -> None:
    # Exercise 4-5 (x=2, y=4, w1=w2=1, b=0): s = 2, d loss / d w1 = 2 s x = 8. The answer 4
    # is the loss s^2, and also 2s, d y_hat / d w1 = x left out: one number, two stories.
    path = str(SEEDS / "exercise-4-5.toml")
    r = compare_answer(load_problem(path), "dloss_dw1_value", "4")
    assert r.diagnosis == "forward" and r.readings == ()
    assert main(["explain", path, "--question", "dloss_dw1_value", "--answer", "4"]) == 1
    assert "one number cannot say" in capsys.readouterr().out


def test_answer_marks_the_row_it_parts_at(capsys) -> None:
    # sigmoid's value at d a / d z: the first gradient that changes is d loss / d z.
    path = str(PROBLEMS / "backprop" / "sigmoid-neuron.toml")
    assert main(["explain", path, "--question", "dloss_dw", "--answer", "(a - y)*a*x"]) == 1
    [row] = [line for line in capsys.readouterr().out.splitlines() if "<- 1." in line]
    assert row.lstrip().startswith("d loss / d z =") and "d a / d z (activation)" in row


def test_answer_json(capsys) -> None:
    path = str(SEEDS / "linear-regression.toml")
    assert main(["explain", path, "--question", "dloss_dw", "--answer", "x*(w*x - y)",
                 "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["result"]["right_value"] == -2 and data["result"]["your_value"] == -1
    assert data["mode"] == "answer" and data["diagnosis"] == "factor"


@pytest.mark.parametrize("formula", ["exp(exp(exp(exp(10))))", "1/(s + 1)", "sqrt(s)", "log(-s - 1)"],
                         ids=["overflow", "division-by-zero", "complex", "log-of-zero"])
def test_a_hostile_local_gradient_is_a_wrong_one_not_a_crash(formula: str, capsys) -> None:
    # s = -1 at the given point: each of these is undefined there (or too large for a float).
    path = str(SEEDS / "linear-regression.toml")
    assert main(["explain", path, "--question", "dloss_dw", "--local", f"dloss/ds={formula}",
                 "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["first_wrong"] == "d loss / d s"
    assert str(data["edges"][0]["your_value"]).startswith("undefined")


@pytest.mark.parametrize(("problem", "question", "item", "says"), [
    ("linear-regression", "dloss_dw", "dloss/ds=-2*s", "sign flipped"),
    ("linear-regression", "dloss_dw", "dloss/ds=s^2", "loss itself, the forward value"),
    ("linear-regression", "dloss_dw", "dloss/ds=s", "the exponent 2 was not brought down"),
    ("linear-regression", "dloss_dw", "dloss/ds=4*s", "the right one times 2"),
    ("linear-regression", "dloss_dw", "dy_hat/dw=w", "with respect to the other input x"),
    ("../backprop/rnn-through-time", "dloss_dW", "dh3/dz3=1 - h3", "written as 1 - tanh(z3)"),
    ("../backprop/sigmoid-neuron", "dloss_dw", "da/dz=a", "written as sigmoid(z), the forward value"),
], ids=["sign", "forward", "power", "factor", "other-input", "tanh", "sigmoid"])
def test_a_wrong_local_gradient_says_what_it_reads_as(problem: str, question: str, item: str,
                                                      says: str) -> None:
    r = compare_local(_load(problem), question, [item])
    assert r.first_wrong is not None and says in r.first_wrong.slip


def test_a_wrong_local_gradient_no_known_slip_fits() -> None:
    # d y_hat / d w2 = x^2 written 2x: no sign, forward value, other input or rule explains it.
    r = compare_local(_load("exercise-4-4"), "dloss_dw2", ["dy_hat/dw2=2*x"])
    assert r.first_wrong is not None and r.first_wrong.slip == ""
