"""The three-way check on a torch backend: symbolic vs autograd vs finite differences, and vs numpy."""

from __future__ import annotations

import functools
import json
import operator

import pytest

from gradcheck.backends import available_backends, get_backend
from gradcheck.backends.torch_backend import table
from gradcheck.checks import check, check_problem
from gradcheck.cli import main
from gradcheck.errors import BackendUnavailableError, UnsupportedFunctionError
from gradcheck.loader import load_bank, load_problem
from gradcheck.report.json_report import render_json
from gradcheck.report.text import render_text
from gradcheck.tolerances import tolerance_for
from tests.helpers import LINEAR, PROBLEMS, SEEDS

pytest.importorskip("torch")

THREE_WAY = {"autograd vs symbolic", "function vs numpy", "derivative vs numpy"}
RELU = """\
id = "relu"
title = "a kink at the given point"
[symbols.x]
value = 1.5
[symbols.w]
value = 0
[[questions]]
id = "d_w"
of = "Max(w, 0)*x"
wrt = "w"
"""


@pytest.fixture(scope="module")
def bank():
    return load_bank([PROBLEMS])


def test_seed_bank_passes_the_three_way_check(bank, backend_name: str) -> None:
    report = check(bank, backends=["numpy", backend_name], points=10)
    assert [(r.problem, r.question, r.backend) for r in report.results if not r.passed] == []
    torch_results = [r for r in report.results if r.backend == backend_name]
    assert len(torch_results) == len(report.results) // 2
    for result in torch_results:
        whats = {c.what for c in result.comparisons}
        assert whats >= THREE_WAY and any("finite differences" in w for w in whats), whats


def test_second_order_questions_use_double_backward(write_problem, backend_name: str) -> None:
    text = LINEAR.format(stem="second") + """
[[questions]]
id = "d2"
of = "exp(s) * tanh(w)"
wrt = ["w", "x"]
"""
    problem = load_problem(write_problem(text, stem="second"))
    (result,) = check_problem(problem, [get_backend(backend_name)], points=10)
    assert result.passed
    autograd = next(c for c in result.comparisons if c.what == "autograd vs symbolic")
    assert autograd.worst_error < 1e-12


def test_float32_passes_with_the_float32_tolerance_and_says_so(bank, backend_name: str) -> None:
    report = check(bank, backends=[backend_name], points=10, dtype="float32")
    assert report.passed and report.dtype == "float32"
    for result in report.results:
        assert result.dtype == "float32"
        problem = next(p for p in bank if p.id == result.problem)
        question = problem.question(result.question)
        expected = tolerance_for("float32", question.tolerance or problem.tolerance)
        assert {c.tolerance for c in result.comparisons} == {expected}
    assert f"{backend_name} float32" in render_text(report)
    data = json.loads(render_json(report))
    assert data["dtype"] == "float32"
    assert data["results"][0]["comparisons"][0]["tolerance"]["rtol"] == 2e-3


def test_a_broken_translation_fails_vs_numpy(monkeypatch, backend_name: str) -> None:
    wrong = lambda *a: functools.reduce(operator.mul, a) * 1.001  # noqa: E731
    monkeypatch.setitem(table(), "mul", wrong)
    problem = load_problem(SEEDS / "linear-regression.toml")
    results = check_problem(problem, [get_backend(backend_name)], points=5)
    failed = {c.what for r in results for c in r.comparisons if not c.passed}
    assert "function vs numpy" in failed


def test_an_op_missing_from_the_table_is_an_error_naming_backend_and_op(monkeypatch,
                                                                        backend_name: str) -> None:
    monkeypatch.delitem(table(), "mul")
    problem = load_problem(SEEDS / "linear-regression.toml")
    with pytest.raises(UnsupportedFunctionError, match=f"'{backend_name}' cannot compile mul"):
        check_problem(problem, [get_backend(backend_name)], points=5)


def test_a_kink_at_the_given_point_is_set_aside_not_failed(write_problem,
                                                           backend_name: str) -> None:
    problem = load_problem(write_problem(RELU, stem="relu"))
    (result,) = check_problem(problem, [get_backend(backend_name)], points=10)
    assert result.passed
    assert "autograd vs symbolic" in {c.what for c in result.comparisons}
    assert [(s.point, s.reason, s.given) for s in result.set_aside][0] == (
        (("x", 1.5), ("w", 0.0)), "non-differentiable", True)


def test_cli_checks_on_torch(capsys, backend_name: str) -> None:
    path = str(SEEDS / "linear-regression.toml")
    assert main(["check", path, "--backend", backend_name, "--dtype", "float32"]) == 0
    assert f"{backend_name} float32" in capsys.readouterr().out


def test_auto_includes_torch_cpu() -> None:
    assert available_backends()[:2] == ["numpy", "torch-cpu"]


def test_torch_cuda_without_a_device_is_a_usage_error(capsys) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(BackendUnavailableError, match="CUDA"):
        get_backend("torch-cuda")
    assert "torch-cuda" not in available_backends()
    assert main(["check", str(SEEDS / "linear-regression.toml"), "--backend", "torch-cuda"]) == 2
    assert "torch.cuda.is_available() is False" in capsys.readouterr().err
