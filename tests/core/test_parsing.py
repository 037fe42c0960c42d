"""Tests for gradcheck.parsing: accepted forms against hand-built SymPy, errors, hostile input."""

from __future__ import annotations

import doctest
import time
from pathlib import Path

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck import parsing
from gradcheck.errors import ExpressionError
from gradcheck.parsing import FUNCTIONS, Limits, parse_expression, parse_number

w, x, y = sympy.symbols("w x y", real=True)
y_hat, h1 = sympy.symbols("y_hat h1", real=True)
NAMES = {"w": w, "x": x, "y": y, "y_hat": y_hat, "h1": h1}


def same(got: sympy.Basic, want: sympy.Basic) -> bool:
    """Structural equality, or a zero difference after simplification."""
    return got == want or sympy.simplify(got - want) == 0


# Accepted in both modes: (text, expected), the expected built by hand with SymPy.
BOTH = [
    ("integer", "42", sympy.Integer(42)),
    ("decimal-exact", "0.5", sympy.Rational(1, 2)),
    ("leading-dot", ".5", sympy.Rational(1, 2)),
    ("trailing-dot", "2.", sympy.Integer(2)),
    ("exp-notation", "1e-3", sympy.Rational(1, 1000)),
    ("exp-notation-upper", "2.5E+3", sympy.Integer(2500)),
    ("sum-product", "2*x + y", 2 * x + y),
    ("division", "x/y", x / y),
    ("power-star", "x**3", x**3),
    ("power-caret", "x^3", x**3),
    ("power-right-assoc", "2^3^2", sympy.Integer(512)),
    ("unary-minus-below-power", "-x^2", -(x**2)),
    ("negative-exponent", "2^-1", sympy.Rational(1, 2)),
    ("double-unary", "--x", x),
    ("unary-plus", "+x", x),
    ("parentheses", "(x + 1)*(x - 1)", (x + 1) * (x - 1)),
    ("mixed-precedence", "1 + 2*3^2", sympy.Integer(19)),
    ("left-assoc-division", "x/y/w", x / y / w),
    ("exp", "exp(x)", sympy.exp(x)),
    ("log-natural", "log(x)", sympy.log(x)),
    ("log-base", "log(x, 2)", sympy.log(x) / sympy.log(2)),
    ("sqrt", "sqrt(x)", sympy.sqrt(x)),
    ("trig", "sin(x)*cos(y) + tan(w)", sympy.sin(x) * sympy.cos(y) + sympy.tan(w)),
    ("reciprocal-trig", "sec(x) + csc(x) + cot(x)", sympy.sec(x) + sympy.csc(x) + sympy.cot(x)),
    ("reciprocal-hyperbolic", "sech(x)**2 + csch(x) + coth(x)",
     sympy.sech(x) ** 2 + sympy.csch(x) + sympy.coth(x)),
    ("inverse-trig", "asin(x) + acos(x) + atan(x)", sympy.asin(x) + sympy.acos(x) + sympy.atan(x)),
    ("atan2", "atan2(y, x)", sympy.atan2(y, x)),
    ("hyperbolic", "sinh(x) + cosh(x) + tanh(x)", sympy.sinh(x) + sympy.cosh(x) + sympy.tanh(x)),
    ("inverse-hyperbolic", "asinh(x) + acosh(x) + atanh(x)",
     sympy.asinh(x) + sympy.acosh(x) + sympy.atanh(x)),
    ("Abs", "Abs(x)", sympy.Abs(x)),
    ("abs", "abs(x)", sympy.Abs(x)),
    ("sign", "sign(x)", sympy.sign(x)),
    ("Max-three", "Max(x, y, 0)", sympy.Max(x, y, 0)),
    ("max-min", "max(x, y) - min(x, y)", sympy.Max(x, y) - sympy.Min(x, y)),
    ("Heaviside", "Heaviside(x)", sympy.Heaviside(x)),
    ("erf", "erf(x) + erfc(x)", sympy.erf(x) + sympy.erfc(x)),
    ("gamma", "gamma(x) + loggamma(x)", sympy.gamma(x) + sympy.loggamma(x)),
    ("floor-ceiling", "floor(x) + ceiling(x)", sympy.floor(x) + sympy.ceiling(x)),
    ("factorial", "factorial(5)", sympy.Integer(120)),
    ("sigmoid", "sigmoid(x)", 1 / (1 + sympy.exp(-x))),
    ("softplus", "softplus(x)", sympy.log(1 + sympy.exp(x))),
    ("relu", "relu(x)", sympy.Max(x, 0)),
    ("log1p", "log1p(x)", sympy.log(1 + x)),
    ("expm1", "expm1(x)", sympy.exp(x) - 1),
    ("pi", "2*pi", 2 * sympy.pi),
    ("E", "E**x", sympy.exp(x)),
    ("e-is-euler", "e**x", sympy.exp(x)),
    ("underscore-name", "y_hat - y", y_hat - y),
    ("name-with-digit", "h1*w", h1 * w),
    ("spaces-and-tabs", " x\t+  y ", x + y),
    ("piecewise", "Piecewise((x, x > 0), (0, True))", sympy.Piecewise((x, x > 0), (0, True))),
    ("piecewise-all-comparisons", "Piecewise((1, x < 0), (2, x <= 1), (3, x >= 2), (4, True))",
     sympy.Piecewise((1, x < 0), (2, x <= 1), (3, x >= 2), (4, True))),
    ("big-but-allowed-power", "2**1000", sympy.Integer(2) ** 1000),
]


@pytest.mark.parametrize("student", [False, True], ids=["strict", "student"])
@pytest.mark.parametrize(("text", "want"), [c[1:] for c in BOTH], ids=[c[0] for c in BOTH])
def test_accepted_in_both_modes(text: str, want: sympy.Expr, student: bool) -> None:
    assert same(parse_expression(text, NAMES, student=student), want)


def test_flat_chains_keep_their_meaning() -> None:
    assert parse_expression("xy" * 500, NAMES, student=True) == x**500 * y**500
    assert parse_expression("x/2*y", NAMES, student=True) == x * y / 2


def test_e_is_a_name_when_the_caller_says_so() -> None:
    e = sympy.Symbol("e", real=True)
    got = parse_expression("e**x", {"e": e, "x": x})
    assert got == e**x and got != sympy.exp(x)


def test_a_name_shadows_a_function_name() -> None:
    gamma = sympy.Symbol("gamma", real=True)
    assert parse_expression("gamma*x", {"gamma": gamma, "x": x}) == gamma * x


def test_decimals_are_exact() -> None:
    got = parse_expression("0.1 + 0.2", {})
    assert got == sympy.Rational(3, 10) and isinstance(got, sympy.Rational)


STUDENT = [
    ("implicit-number-name", "2x", 2 * x),
    ("implicit-number-paren", "2(x+1)", 2 * (x + 1)),
    ("implicit-paren-paren", "(x+1)(x-1)", (x + 1) * (x - 1)),
    ("implicit-space", "x y", x * y),
    ("implicit-number-space", "2 x", 2 * x),
    ("implicit-name-paren", "x(y+1)", x * (y + 1)),
    ("implicit-number-function", "2sin(x)", 2 * sympy.sin(x)),
    ("implicit-after-paren", "(x+1)x", (x + 1) * x),
    ("implicit-binds-like-times", "2x^2", 2 * x**2),
    ("implicit-after-power", "x^2 y", x**2 * y),
    ("split-two", "wx", w * x),
    ("split-xy", "xy", x * y),
    ("split-in-context", "2x(wx - y)", 2 * x * (w * x - y)),
    ("split-power-binds-last", "wx^2", w * x**2),
    ("known-long-name-kept", "y_hat", y_hat),
    ("split-prefers-known-names", "h1x", h1 * x),
    ("split-with-pi", "2pix", 2 * sympy.pi * x),
    ("ln", "ln(x)", sympy.log(x)),
    ("e-power", "e^x", sympy.exp(x)),
    ("sigma-letter", "σ(x)", 1 / (1 + sympy.exp(-x))),
    ("sqrt-sign-atom", "√x", sympy.sqrt(x)),
    ("sqrt-sign-group", "√(x+1)", sympy.sqrt(x + 1)),
    ("sqrt-sign-atom-only", "√x + 1", sympy.sqrt(x) + 1),
    ("unicode-minus", "x − y", x - y),
    ("middle-dot", "2·x", 2 * x),
    ("times-sign", "2×x", 2 * x),
    ("division-sign", "x÷y", x / y),
    ("superscript-two", "x²", x**2),
    ("superscript-three", "x³ + y²", x**3 + y**2),
    ("superscript-negative", "x⁻¹", 1 / x),
    ("superscript-below-minus", "-x²", -(x**2)),
    ("pi-letter", "2π", 2 * sympy.pi),
    ("factorial-bang", "3!", sympy.Integer(6)),
    ("latex-frac", r"\frac{x}{y}", x / y),
    ("latex-sigmoid", r"\frac{1}{1+e^{-x}}", 1 / (1 + sympy.exp(-x))),
    ("latex-cdot", r"2 \cdot x", 2 * x),
    ("latex-times", r"x \times y", x * y),
    ("latex-left-right", r"\left(x+1\right)^{2}", (x + 1) ** 2),
    ("latex-braces-group", "{x+1}y", (x + 1) * y),
    ("latex-sqrt", r"\sqrt{x+1}", sympy.sqrt(x + 1)),
    ("latex-exp", r"\exp(x)", sympy.exp(x)),
    ("latex-ln", r"\ln(x)", sympy.log(x)),
    ("latex-log-is-natural", r"\log(x)", sympy.log(x)),
    ("latex-sin-braces", r"\sin{x}", sympy.sin(x)),
    ("latex-sigma", r"\sigma(x)", 1 / (1 + sympy.exp(-x))),
    ("latex-pi", r"2\pi x", 2 * sympy.pi * x),
    ("latex-e-power", "e^{x}", sympy.exp(x)),
    ("latex-power", "x^{2}", x**2),
    ("latex-spacing", r"x\,y", x * y),
]


@pytest.mark.parametrize(("text", "want"), [c[1:] for c in STUDENT], ids=[c[0] for c in STUDENT])
def test_student_forms(text: str, want: sympy.Expr) -> None:
    assert same(parse_expression(text, NAMES, student=True), want)


STRICT_TOO = {"known-long-name-kept", "e-power"}
STUDENT_ONLY = [c for c in STUDENT if c[0] not in STRICT_TOO]


@pytest.mark.parametrize(("text", "want"), [c[1:] for c in STUDENT_ONLY],
                         ids=[c[0] for c in STUDENT_ONLY])
def test_student_forms_are_refused_in_strict_mode(text: str, want: sympy.Expr) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text, NAMES)


def test_strict_implicit_multiplication_says_what_to_write() -> None:
    with pytest.raises(ExpressionError, match=r"implicit multiplication .*2\*x") as caught:
        parse_expression("2x", NAMES)
    assert caught.value.position == 1


def test_ambiguous_split_is_an_error() -> None:
    a, b, c, ab, bc = sympy.symbols("a b c ab bc", real=True)
    names = {"a": a, "b": b, "c": c, "ab": ab, "bc": bc}
    with pytest.raises(ExpressionError, match="more than one way"):
        parse_expression("abc", names, student=True)


def test_split_takes_the_fewest_names() -> None:
    a, b, c, ab = sympy.symbols("a b c ab", real=True)
    got = parse_expression("abc", {"a": a, "b": b, "c": c, "ab": ab}, student=True)
    assert got == ab * c and got != a * b * c


# (id, text, student, words that must appear, position)
ERRORS = [
    ("unknown-name", "x + z", False, ["unknown name 'z'", "h1, w, x, y, y_hat"], 4),
    ("missing-close", "2*(x + 1", False, ["missing ')'", "'(' at position 2"], 8),
    ("extra-close", "(x + 1))", False, ["unexpected ')'", "position 7"], 7),
    ("end-after-plus", "x +", False, ["unexpected end of input", "after '+'"], 3),
    ("bad-character", "x + $", False, ["unexpected character '$'", "position 4"], 4),
    ("function-without-call", "sin + x", False, ["'sin'", "parentheses"], 0),
    ("wrong-arity", "sin(x, y)", False, ["sin takes 1 argument", "got 2"], 0),
    ("too-few-max", "Max(x)", False, ["Max takes at least 2", "got 1"], 0),
    ("log-arity", "log(x, y, w)", False, ["log takes 1 or 2", "got 3"], 0),
    ("attribute", "x.real", False, ["unexpected character '.'"], 1),
    ("subscript", "x[0]", False, ["'['", "( )"], 1),
    ("comma-outside-call", "x, y", False, ["unexpected ','", "commas"], 1),
    ("equals", "y = 2*x", False, ["'='", "only the expression"], 2),
    ("semicolon", "x; y", False, ["';'"], 1),
    ("newline", "x +\ny", False, ["line break"], 3),
    ("comparison-outside-piecewise", "x < y", False, ["comparisons", "Piecewise"], 2),
    ("true-outside-piecewise", "True", False, ["unknown name 'True'"], 0),
    ("empty", "   ", False, ["empty"], 0),
    ("strict-unicode", "x − y", False, ["only in student answers"], 2),
    ("strict-latex", r"\frac{x}{y}", False, ["only in student answers"], 0),
    ("strict-ln", "ln(x)", False, ["only in student answers", "log"], 0),
    ("strict-bang", "3!", False, ["factorial(...)"], 1),
    ("brace-mismatch", "{x + 1)", True, ["expected '}'", "found ')'"], 6),
    ("number-after-name", "x 2", True, ["'2'", "no operator"], 2),
    ("unknown-latex", r"\infty", True, ["unknown LaTeX command"], 0),
    ("frac-without-braces", r"\frac12", True, ["two groups in braces"], 5),
    ("piecewise-without-condition", "Piecewise((x))", False, ["needs a condition"], 12),
    ("dunder", "x.__class__", False, ["'.'"], 1),
    ("cyrillic", "\u0445 + 1", True, ["CYRILLIC SMALL LETTER HA", "ASCII"], 0),
    ("no-names-for-numbers", "x", True, ["unknown name 'x'", "no names"], 0),
]


@pytest.mark.parametrize(("text", "student", "words", "position"), [c[1:] for c in ERRORS],
                         ids=[c[0] for c in ERRORS])
def test_error_messages(text: str, student: bool, words: list[str], position: int) -> None:
    names = {} if "no names" in words else NAMES
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text, names, student=student)
    for word in words:
        assert word in str(caught.value)
    assert caught.value.position == position
    assert caught.value.limit is None


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_expression("x +", NAMES)


def test_limit_message_names_the_limit_and_its_value() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("x" * 5000, NAMES)
    assert "answer is 5000 characters long" in str(caught.value)
    assert "2000" in str(caught.value) and caught.value.limit == "max_length"


@pytest.mark.parametrize(
    ("text", "limits", "field"),
    [
        ("1" * 61, Limits(), "max_digits"),
        ("x**1001", Limits(), "max_exponent"),
        ("x**(-1001)", Limits(), "max_exponent"),
        ("1e1001", Limits(), "max_exponent"),
        ("factorial(201)", Limits(), "max_factorial"),
        ("(" * 41 + "x" + ")" * 41, Limits(), "max_depth"),
        ("+".join(f"x**{i}" for i in range(2, 30)), Limits(max_nodes=20), "max_nodes"),
    ],
    ids=["digits", "exponent", "negative-exponent", "decimal-exponent", "factorial", "depth",
         "nodes"],
)
def test_each_limit_is_named(text: str, limits: Limits, field: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text, NAMES, limits=limits)
    assert caught.value.limit == field
    assert str(getattr(limits, field)) in str(caught.value)


def test_limits_at_the_boundary_are_accepted() -> None:
    assert parse_expression("x**1000", NAMES) == x**1000
    assert parse_expression("factorial(200)", NAMES) == sympy.factorial(200)
    assert parse_expression("(" * 40 + "x" + ")" * 40, NAMES) == x


def _tmp_hostile(tmp_path: Path) -> list[str]:
    target = tmp_path / "pwned"
    return [
        f"__import__('os').system('touch {target}')",
        f"open('{target}', 'w')",
        f"x;__import__('pathlib').Path('{target}').touch()",
    ]


HOSTILE = [
    ("import-system", "__import__('os').system('echo hi')", None),
    ("subclasses", "().__class__.__bases__[0].__subclasses__()", None),
    ("lambda", "lambda: 1", None),
    ("attribute-dunder", "x.__class__", None),
    ("eval", "eval('1')", None),
    ("exec", "exec", None),
    ("open", "open('/etc/passwd')", None),
    ("string-repeat", "'a'*10", None),
    ("tower-of-nines", "9**9**9**9", "max_exponent"),
    ("ten-tower", "10**10**10", "max_exponent"),
    ("power-of-billion", "10**(10**9)", "max_exponent"),
    ("rational-power", "(13/10)**6472416997", "max_exponent"),
    ("tiny-root", "2**(1/10**9)", "max_exponent"),
    ("hidden-big-base", "(2**999*x)**1000", "max_exponent"),
    ("huge-integer-power", "(2**1000)**1000", "max_exponent"),
    ("huge-product", "(2**999)*" * 200 + "1", "max_exponent"),
    ("huge-product-hidden", "x*(2**999)*" * 150 + "1", "max_exponent"),
    ("long-implicit-product", "xy" * 1000 + "+", None),
    ("factorial-billion", "factorial(10**9)", "max_factorial"),
    ("factorial-of-factorial", "factorial(factorial(20))", "max_factorial"),
    ("gamma-billion", "gamma(10**9)", "max_factorial"),
    ("loggamma-billion", "loggamma(10**9)", "max_factorial"),
    ("symbolic-huge-exponent", "x**(10**9)", "max_exponent"),
    ("one-megabyte", "x+" * 500_000 + "x", "max_length"),
    ("open-parens", "(" * 10000, "max_length"),
    ("many-minus", "-" * 10000 + "x", "max_length"),
    ("some-minus", "-" * 100 + "x", "max_depth"),
    ("nested-exp", "exp(" * 1000 + "x" + ")" * 1000, "max_length"),
    ("power-chain", "x" + "^x" * 200, "max_depth"),
    ("cyrillic-x", "\u0445 + 1", None),
    ("fullwidth-x", "\uff58 + 1", None),
    ("null-byte", "x\x00+1", None),
    ("statement", "x;import os", None),
    ("newline", "x\nimport os", None),
    ("long-number", "9" * 5000, "max_length"),
    ("arabic-digit", "\u0663", None),
]


@pytest.mark.parametrize("student", [False, True], ids=["strict", "student"])
@pytest.mark.parametrize(("text", "limit"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_input_is_refused_fast(text: str, limit: str | None, student: bool) -> None:
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text, NAMES, student=student)
    assert time.perf_counter() - start < 0.5
    if limit is not None:
        assert caught.value.limit == limit


def test_factorial_chain_is_limited() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("3!!!", NAMES, student=True)
    assert caught.value.limit == "max_factorial"


def test_deep_nesting_with_raised_limits_is_still_an_error() -> None:
    limits = Limits(max_length=10**6, max_depth=10**6)
    text = "exp(" * 3000 + "x" + ")" * 3000
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text, NAMES, limits=limits)
    assert caught.value.limit == "max_depth"


@pytest.mark.parametrize("student", [False, True], ids=["strict", "student"])
def test_hostile_input_executes_nothing(tmp_path: Path, student: bool) -> None:
    for text in _tmp_hostile(tmp_path):
        with pytest.raises(ExpressionError):
            parse_expression(text, NAMES, student=student)
    assert not (tmp_path / "pwned").exists()
    assert list(tmp_path.iterdir()) == []


def test_non_text_is_refused() -> None:
    with pytest.raises(ExpressionError, match="must be text"):
        parse_expression(b"x", NAMES)  # type: ignore[arg-type]


NUMBERS = [
    ("integer", "3", sympy.Integer(3)),
    ("fraction", "3/4", sympy.Rational(3, 4)),
    ("decimal", "0.25", sympy.Rational(1, 4)),
    ("negative", "-2", sympy.Integer(-2)),
    ("constant", "2pi", 2 * sympy.pi),
    ("euler-power", "e^2", sympy.exp(2)),
    ("sqrt", "√2/2", sympy.sqrt(2) / 2),
    ("function-of-number", "log(2)", sympy.log(2)),
]


@pytest.mark.parametrize(("text", "want"), [c[1:] for c in NUMBERS], ids=[c[0] for c in NUMBERS])
def test_parse_number(text: str, want: sympy.Expr) -> None:
    assert parse_number(text) == want


def test_parse_number_refuses_names() -> None:
    with pytest.raises(ExpressionError, match="unknown name 'x'"):
        parse_number("2x")


def test_public_api() -> None:
    assert sorted(parsing.__all__) == ["FUNCTIONS", "Limits", "TEACHER_LIMITS", "parse_expression",
                                      "parse_number"]
    with pytest.raises(TypeError):
        FUNCTIONS["eval"] = eval  # type: ignore[index]


def test_doctests() -> None:
    assert doctest.testmod(parsing).failed == 0


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3) -> sympy.Expr:
    """Small random expressions over x and y: sums, products, integer powers, exp, sin."""
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from([x, y, sympy.Integer(draw(st.integers(-5, 5)))]))
    kind = draw(st.sampled_from(["add", "mul", "pow", "exp", "sin"]))
    a = draw(expressions(depth - 1))
    if kind in ("add", "mul"):
        b = draw(expressions(depth - 1))
        return a + b if kind == "add" else a * b
    if kind == "pow":
        return a ** draw(st.integers(0, 4))
    return sympy.exp(a) if kind == "exp" else sympy.sin(a)


@settings(max_examples=100, deadline=None)
@given(expressions())
def test_sstr_round_trip(expr: sympy.Expr) -> None:
    assert parse_expression(sympy.sstr(expr), {"x": x, "y": y}) == expr
