"""Explanations reproduce the forward and backward passes printed in the seed notes."""

from __future__ import annotations

import pytest

from gradcheck.cli import main
from gradcheck.errors import UsageError
from gradcheck.explanation import explain
from gradcheck.loader import load_problem
from tests.helpers import SEEDS


def _values(lines) -> dict[str, float]:
    return {line.name: float(line.value) for line in lines}


def test_linear_regression_forward_local_backward() -> None:
    e = explain(load_problem(SEEDS / "linear-regression.toml"), "dloss_dw")
    assert _values(e.forward) == {"y_hat": 1, "s": -1, "loss": 1}
    local = _values(e.local)
    assert local["d loss / d s"] == -2 and local["d s / d y_hat"] == 1 and local["d y_hat / d w"] == 1
    assert [(b.node, float(b.value)) for b in e.backward] == [("s", -2), ("y_hat", -2), ("w", -2)]
    assert float(e.result.value) == -2


def test_computation_graph_backward_pass() -> None:
    e = explain(load_problem(SEEDS / "computation-graph-j.toml"), "dJ_db")
    assert _values(e.forward) == {"u": 6, "v": 11, "J": 33}
    assert [(b.node, float(b.value)) for b in e.backward] == [("v", 3), ("u", 3), ("b", 6)]


def test_example_4_1_at_another_point() -> None:
    # Example 4-1 is the linear-regression graph at x=2, y=4, w=1: -8.
    e = explain(load_problem(SEEDS / "linear-regression.toml"), "dloss_dw", {"x": 2, "y": 4})
    assert float(e.result.value) == -8


def test_second_order_is_refused(write_problem) -> None:
    path = write_problem('id = "p"\n[symbols.x]\nvalue = 1.0\n'
                         '[[questions]]\nid = "q"\nof = "x**3"\nwrt = "x"\norder = 2\n')
    with pytest.raises(UsageError):
        explain(load_problem(path), "q")


def test_cli(capsys) -> None:
    assert main(["explain", str(SEEDS / "neuron-product.toml"), "--question", "dloss_dx"]) == 0
    out = capsys.readouterr().out
    assert "Forward pass" in out and "Backward pass" in out and "= 5 * 3 = 15" in out
    assert main(["explain", str(SEEDS / "neuron-product.toml"), "--question", "nope"]) == 2
    assert "its questions are" in capsys.readouterr().err
