"""Array problems through check, lint, explain and the CLI; a broken derivation must be caught."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sympy
from sympy import ImmutableMatrix as Matrix

from gradcheck.arrays import checking
from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.checks import check
from gradcheck.errors import ProblemError
from gradcheck.linting import lint
from gradcheck.loader import load_bank, load_problem
from tests.helpers import PROBLEMS

MATRICES = PROBLEMS / "matrices"


def test_the_matrix_bank_passes_the_check_on_numpy() -> None:
    report = check(load_bank([MATRICES]), points=5)
    assert report.passed
    whats = {c.what for r in report.results for c in r.comparisons}
    assert {"symbolic vs finite differences", "reference answer vs symbolic"} <= whats


def test_a_wrong_derivative_is_caught_by_finite_differences(monkeypatch) -> None:
    real = checking.derivative

    def transposed_twice_as_large(model, of, wrt, substitute=True):
        m = real(model, of, wrt, substitute=substitute)
        return Matrix(m.rows, m.cols, [2 * v for v in m])

    monkeypatch.setattr(checking, "derivative", transposed_twice_as_large)
    results = checking.check_problem(load_problem(MATRICES / "linear-layer.toml"), [NumpyBackend()], points=5)
    failed = {c.what for r in results for c in r.comparisons if not c.passed}
    assert "symbolic vs finite differences" in failed


def test_a_reference_typo_fails_check_and_lint(tmp_path) -> None:
    text = (MATRICES / "linear-layer.toml").read_text().replace('answer = "X.T @ G"', 'answer = "X.T @ G * 2"')
    path = tmp_path / "linear-layer.toml"
    path.write_text(text)
    report = check([load_problem(path)], points=5)
    assert not report.passed
    findings = lint([path]).findings
    assert any(f.key == "questions.dW.answer" and f.level == "error" for f in findings)


BAD = [
    ("shape-words", 'shape = "big"', "symbols.W.shape"),
    ("value-shape", 'value = [[1, 2]]', "symbols.W.value"),
    ("fixed-without-value", "fixed = true", "symbols.W.value"),
    ("per-entry-domain-count", "domain = [[0, 1], [0, 1]]", "symbols.W.domain"),
]


@pytest.mark.parametrize(("case", "line", "key"), BAD, ids=[b[0] for b in BAD])
def test_bad_array_problem_files_name_the_key(tmp_path, case: str, line: str, key: str) -> None:
    text = (MATRICES / "linear-layer.toml").read_text().replace('[symbols.W]\nshape = [3, 2]',
                                                                  f"[symbols.W]\n{line}" if "shape" in line
                                                                  else f"[symbols.W]\nshape = [3, 2]\n{line}")
    path = tmp_path / "linear-layer.toml"
    path.write_text(text)
    with pytest.raises(ProblemError) as info:
        load_problem(path)
    assert info.value.key == key


def test_a_stage_shape_error_in_a_problem_file_names_both_shapes(tmp_path) -> None:
    text = (MATRICES / "linear-layer.toml").read_text().replace('Y = "X @ W + b"', 'Y = "W @ X + b"')
    path = tmp_path / "linear-layer.toml"
    path.write_text(text)
    with pytest.raises(ProblemError, match="3x2 and 4x3 cannot be multiplied"):
        load_problem(path)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gradcheck", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_grade_explain_and_check_on_a_matrix_problem() -> None:
    layer = str(MATRICES / "linear-layer.toml")
    ok = _cli("grade", layer, "--question", "dW", "--answer", "X^T G")
    assert ok.returncode == 0 and "X.T @ G" in ok.stdout
    wrong = _cli("grade", layer, "--question", "dW", "--answer", "G^T X")
    assert wrong.returncode == 1 and "transposed" in wrong.stdout
    explained = _cli("explain", layer, "--question", "dW")
    assert explained.returncode == 0
    assert "X.T @ dY  (shapes: 3x4 @ 4x2 = 3x2)" in explained.stdout
    checked = _cli("check", layer, "--points", "3")
    assert checked.returncode == 0 and "3 of 3 checks passed" in checked.stdout


def test_explain_values_are_the_forward_pass_by_hand() -> None:
    from gradcheck.arrays.explanation import explain_text

    problem = load_problem(MATRICES / "linear-regression-data.toml")
    text = explain_text(problem, "dL_dw")
    # w = 1: y_hat = x = [1, 2, 3]; L = mean((x - y)^2) = (1 + 4 + 9)/3
    assert "L = mean((y_hat - y)**2)  -> 1x1  = 4.66667" in text
    assert text.rstrip().endswith(f"= {float(sympy.Rational(-28, 3)):.6g}")


def test_verify_with_shapes_grades_a_hand_derived_matrix_gradient() -> None:
    from gradcheck.errors import UsageError
    from gradcheck.verification import verify

    shapes = {"X": (4, 3), "w": (3,), "y": (4,)}
    function = "sum((X @ w - y)**2)"
    assert verify(function, "w", "2X^T(Xw - y)", shapes=shapes).verdict == "pass"
    wrong = verify(function, "w", "2(Xw - y)^T X", shapes=shapes)
    assert wrong.verdict == "fail" and wrong.diagnosis == "transposed"
    with pytest.raises(UsageError, match="cannot be multiplied"):
        verify(function, "w", "w", shapes={**shapes, "w": (4,)})
    cli = _cli("verify", "--function", "x.T @ A @ x", "--wrt", "x", "--answer", "2 A x",
               "--shape", "A=3x3", "--shape", "x=3")
    assert cli.returncode == 1 and "symmetric-only" in cli.stdout


def test_verify_backward_takes_a_layer_too() -> None:
    import numpy as np

    from gradcheck import verify_backward

    def forward(x, w):
        return x @ w, (x, w)

    def backward(dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout

    report = verify_backward(forward, backward, {"x": np.ones((4, 3)), "w": np.ones((3, 2))})
    assert report.passed


def test_a_class_batch_with_matrix_rows(tmp_path) -> None:
    import json

    rows = ["student,problem,question,answer",
            "ada,linear-layer,dW,X^T G",
            "bob,linear-layer,dW,G^T X",
            "cy,linear-layer,db,G",
            "dee,linear-layer,dX,X @ G",
            "eve,quadratic-form,df_dx,2 A x + b"]
    path = tmp_path / "answers.csv"
    path.write_text("\n".join(rows) + "\n")
    out = _cli("grade", "--bank", str(MATRICES), "--submissions", str(path), "--format", "json",
               "--workers", "2")
    assert out.returncode == 1, out.stderr
    got = [(r["student"], r["verdict"], r["diagnosis"]) for r in json.loads(out.stdout)["results"]]
    assert got == [("ada", "pass", None), ("bob", "fail", "transposed"), ("cy", "fail", "batch-sum"),
                   ("dee", "invalid", None), ("eve", "fail", "symmetric-only")]
