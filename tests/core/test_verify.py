"""Tests for gradcheck.verification and the ``gradcheck verify`` command."""

from __future__ import annotations

import doctest
import json

import pytest

from gradcheck import verification as verify_module
from gradcheck.cli import main
from gradcheck.errors import UsageError
from gradcheck.verification import identifiers, parse_domain, verify, verify_problem


@pytest.mark.parametrize(("function", "wrt", "answer"), [
    ("log(1 + exp(x))", "x", "1/(1 + exp(-x))"),
    ("log(1 + exp(2x))/2", "x", "tanh(x)/2 + 1/2"),      # simplify() misses these two
    ("log(cosh(x))/2 + x/2", "x", "1/(1+exp(-2*x))"),
    ("sigmoid(x)", "x", "σ(x)(1 - σ(x))"),
    ("(w*x - y)^2", "w", "2(wx - y)x"),
    ("x^3 y", "x", "3x²y"),
])
def test_true_derivatives_pass(function: str, wrt: str, answer: str) -> None:
    assert verify(function, wrt, answer).verdict == "pass"


def test_wrong_derivative_fails_with_a_diagnosis() -> None:
    result = verify("(w*x - y)^2", "w", "x(wx - y)")
    assert result.verdict == "fail" and result.diagnosis == "factor"
    assert verify("x^2*y", "x", "-2xy").diagnosis == "sign"
    assert verify("x^2*y", "x", "x^2").diagnosis == "wrt"


def test_domain_keeps_points_where_the_function_is_defined() -> None:
    result = verify("log(x)", "x", "1/x", domain={"x": (0.5, 3.0)})
    assert result.verdict == "pass"
    assert all(0.5 <= dict(e.point)["x"] <= 3.0 for e in result.evidence)


def test_answer_names_outside_the_function_become_symbols() -> None:
    result = verify("x^2", "x", "2*x + z")
    assert result.verdict == "fail" and result.diagnosis == "extra-symbol"


def test_run_together_names_in_the_answer_split() -> None:
    problem = verify_problem("w*x", "w", "wx")
    assert [s.name for s in problem.symbols] == ["w", "x"]


def test_identifiers_skip_functions_constants_numbers_and_latex() -> None:
    assert identifiers(r"exp(x) + e*pi + 2e5 + \frac{y}{2} + ln(w1)") == ["x", "y", "w1"]


@pytest.mark.parametrize(("function", "wrt", "domain"), [
    ("__class__ + x", "x", None),
    ("x + I", "x", None),
    ("lambda + x", "x", None),
    ("x^2", "y", None),
    ("x^2", "x", {"z": (0.0, 1.0)}),
    ("x^2", "x", {"x": (1.0, 0.0)}),
    ("x^2 +", "x", None),
    ("sqrt(x - 10)", "x", None),
], ids=["dunder", "reserved", "keyword", "wrt-missing", "domain-name", "domain-order",
        "bad-function", "undefined"])
def test_bad_setup_is_a_usage_error(function: str, wrt: str,
                                    domain: dict[str, tuple[float, float]] | None) -> None:
    with pytest.raises(UsageError):
        verify(function, wrt, "1", domain=domain)


def test_hostile_answer_is_invalid() -> None:
    assert verify("x^2", "x", "__import__('os')").verdict == "invalid"
    assert verify("x^2", "x", "9**9**9**9").verdict == "invalid"


def test_parse_domain() -> None:
    assert parse_domain("x=-5:5") == ("x", (-5.0, 5.0))
    with pytest.raises(UsageError):
        parse_domain("x=5")


def test_same_input_same_result() -> None:
    assert verify("x^2", "x", "3x", seed=4) == verify("x^2", "x", "3x", seed=4)


def test_doctests() -> None:
    assert doctest.testmod(verify_module).failed == 0


# -- the command --------------------------------------------------------------------------

def test_cli_pass_text(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--function", "log(1 + exp(x))", "--wrt", "x",
                 "--answer", "1/(1 + exp(-x))", "--domain", "x=-5:5"])
    out = capsys.readouterr().out
    assert code == 0 and "verdict:       PASS" in out and "understood as: 1/(1 + exp(-x))" in out


def test_cli_fail_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--function", "(w*x - y)^2", "--wrt", "w", "--answer", "x(wx - y)",
                 "--format", "json", "--points", "5", "--seed", "1"])
    body = json.loads(capsys.readouterr().out)
    assert code == 1 and body["verdict"] == "fail" and body["diagnosis"] == "factor"
    assert body["seed"] == 1 and len(body["evidence"]) == 5


def test_cli_invalid_and_usage_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--function", "x^2", "--wrt", "x", "--answer", "2*(x"]) == 2
    assert main(["verify", "--function", "x^2", "--wrt", "y", "--answer", "2x"]) == 2
    assert main(["verify", "--function", "x^2", "--wrt", "x", "--answer", "2x",
                 "--domain", "x:1"]) == 2
    assert "NAME=LOW:HIGH" in capsys.readouterr().err


# -- where the function is undefined --------------------------------------------------------

def test_points_where_the_function_is_undefined_are_skipped() -> None:
    # 1/(x + 1.5) is defined at x = -1.8 but log(x + 1.5) is not: no evidence there.
    result = verify("log(x + 1.5)", "x", "1/(x + 1.5)")
    assert result.verdict == "pass"
    assert all(dict(e.point)["x"] > -1.5 for e in result.evidence)


def test_function_undefined_on_much_of_the_default_domain_asks_for_a_domain() -> None:
    with pytest.raises(UsageError) as info:
        verify("log(x)", "x", "1/x")
    message = str(info.value)
    assert "log(x) or its derivative is undefined" in message
    assert "default domain of x is -2:2" in message
    # Called from Python, the message names the Python argument; the CLI keeps its flag.
    assert "give domain={NAME: (LOW, HIGH)}" in message and "--" not in message
    assert verify("log(x)", "x", "1/x", domain={"x": (0.1, 3.0)}).verdict == "pass"


# (call, what the Python message must say) for every non-answer error that names an input
PYTHON_WORDING = [
    (lambda: verify("x*y", "z", "1"), "wrt 'z' does not appear in the function"),
    (lambda: verify("x*y", "x", "y", domain={"q": (0, 1)}), "domain names 'q'"),
    (lambda: verify("x*y", "x", "y", domain={"x": (1, 0)}), "domain['x'] = (1, 0): need finite"),
    (lambda: verify("x*", "x", "1"), "cannot read function 'x*'"),
    (lambda: verify("gelu(x)", "x", "1"), "cannot read function 'gelu(x)'"),
    (lambda: verify("x", "if", "1"), "'if' in wrt cannot be a variable name"),
    (lambda: verify("x", "x", "1", points=0), "points must be between"),
    (lambda: verify("x", "x", "1", time_limit=-1), "time_limit must be a positive number"),
    (lambda: verify("sum(X @ w)", "w", "X", shapes={"X": (2, 2), "v": (2,)}),
     "shapes v: 'v' does not appear in the function"),
]


@pytest.mark.parametrize(("call", "says"), PYTHON_WORDING, ids=[s for _, s in PYTHON_WORDING])
def test_python_errors_name_the_python_arguments(call, says: str) -> None:
    with pytest.raises(UsageError) as info:
        call()
    assert says in str(info.value)
    assert "--" not in str(info.value)


@pytest.mark.parametrize(("argv", "says"), [
    (["--function", "x*y", "--wrt", "z", "--answer", "1"], "--wrt 'z' does not appear"),
    (["--function", "x*y", "--wrt", "x", "--answer", "y", "--domain", "q=0:1"], "--domain names 'q'"),
    (["--function", "x*y", "--wrt", "x", "--answer", "y", "--domain", "x=1:0"], "--domain x=1.0:0.0"),
    (["--function", "x*", "--wrt", "x", "--answer", "1"], "cannot read --function 'x*'"),
    (["--function", "x", "--wrt", "x", "--answer", "1", "--points", "0"], "--points must be"),
])
def test_the_cli_keeps_its_flags(argv: list[str], says: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", *argv]) == 2
    assert says in capsys.readouterr().err


def test_cli_log_without_a_domain_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--function", "log(x)", "--wrt", "x", "--answer", "1/x"]) == 2
    assert "--domain" in capsys.readouterr().err


# -- unknown functions --------------------------------------------------------------------

def test_unknown_function_in_the_answer_is_invalid_not_a_variable() -> None:
    result = verify("tanh(x)", "x", "gelu (x)^2")
    assert result.verdict == "invalid" and result.diagnosis is None
    assert "unknown function 'gelu'" in result.feedback
    assert [s.name for s in verify_problem("tanh(x)", "x", "gelu(x)^2").symbols] == ["x"]
    hint = verify("asin(x)", "x", "arcsin(x)", domain={"x": (-0.9, 0.9)})
    assert hint.verdict == "invalid" and "write asin(x) instead" in hint.feedback


def test_unknown_function_in_the_function_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown function 'gelu'"):
        verify("gelu(x)", "x", "1")


def test_a_name_before_a_parenthesis_is_still_a_product_when_used_alone() -> None:
    assert verify("x(x + 1)", "x", "2x + 1").verdict == "pass"
    assert verify("w*x", "w", "x (w + 1) - w x").verdict == "pass"
    assert [s.name for s in verify_problem("tanh(x)", "x", "sech(x)^2").symbols] == ["x"]


def test_one_random_point_is_singular() -> None:
    result = verify("x^2", "x", "2x", points=1)
    assert result.feedback.endswith("at 1 random point.")
