"""Issue 8's notation examples, each read as a teacher means it, or refused with both readings.

Expected expressions are written by hand in SymPy, independent of the parser.
"""

from __future__ import annotations

import time

import pytest
import sympy

from gradcheck import grade
from gradcheck.errors import ExpressionError
from gradcheck.loader import load_problem
from gradcheck.parsing import parse_expression

x, w, y, mu, sigma, lam = sympy.symbols("x w y mu sigma lam", real=True)
Phi_body = sympy.Lambda((z := sympy.Symbol("z", real=True),), (1 + sympy.erf(z / sympy.sqrt(2))) / 2)
NAMES: dict[str, sympy.Basic] = {"x": x, "w": w, "y": y, "mu": mu, "sigma": sigma, "lam": lam,
                                 "Phi": Phi_body}
PHI = (1 + sympy.erf(x / sympy.sqrt(2))) / 2

READINGS = [
    ("bars", "|x|", sympy.Abs(x)),
    ("bars-nested", "||x| - 1|", sympy.Abs(sympy.Abs(x) - 1)),
    ("bars-product", "2|x|y", 2 * sympy.Abs(x) * y),
    ("bars-latex", r"\left|x - \mu\right|", sympy.Abs(x - mu)),
    ("ln-space", "ln x", sympy.log(x)),
    ("ln-bars", "ln |x| + 1", sympy.log(sympy.Abs(x)) + 1),
    ("sin-x-squared", "sin x^2", sympy.sin(x**2)),
    ("sin-2x", "sin 2x", sympy.sin(2 * x)),
    ("sin-x-cos-x", "sin x cos x", sympy.sin(x) * sympy.cos(x)),
    ("sin-superscript-2", "sin²(x)", sympy.sin(x) ** 2),
    ("tanh-caret-2", "tanh^2(x)", sympy.tanh(x) ** 2),
    ("one-minus-tanh2", "1 - tanh^2(wx)", 1 - sympy.tanh(w * x) ** 2),
    ("lambda-letter", "2λw", 2 * lam * w),
    ("lambda-word", "2*lambda*w", 2 * lam * w),
    ("lambda-latex", r"2\lambda w", 2 * lam * w),
    ("mu-letter", "μ", mu),
    ("micro-sign", "\u00b5", mu),
    ("standardised", "(x-μ)/σ²", (x - mu) / sigma**2),
    ("en-dash", "x \u2013 1", x - 1),
    ("minus-sign", "x \u2212 1", x - 1),
    ("dfrac", r"\dfrac{1}{x}", 1 / x),
    ("tfrac", r"\tfrac{x}{2}", x / 2),
    ("e-superscript-x", "eˣ", sympy.exp(x)),
    ("e-superscript-minus-x", "e⁻ˣ", sympy.exp(-x)),
    ("declared-Phi", "Phi(x)", PHI),
    ("declared-Phi-letter", "Φ(x)", PHI),
    ("sigma-symbol-wins", "σ(x - mu)", sigma * (x - mu)),
    ("sigma-symbol-latex", r"\sigma(x - \mu)", sigma * (x - mu)),
    ("one-letter-product", "x(y + 1)", x * (y + 1)),
    ("run-together-sinx", "sinx", sympy.sin(x)),
    ("run-together-xlnx", "xlnx", x * sympy.log(x)),
    ("run-together-product", "2sinxcosx", 2 * sympy.sin(x) * sympy.cos(x)),
    ("run-together-exp", "e^xsinx", sympy.exp(x) * sympy.sin(x)),
    ("run-together-sinh", "sinhx", sympy.sinh(x)),
    ("run-together-declared", "Phix", PHI),
]


@pytest.mark.parametrize(("text", "want"), [r[1:] for r in READINGS], ids=[r[0] for r in READINGS])
def test_each_notation_reads_as_a_teacher_means_it(text: str, want: sympy.Expr) -> None:
    assert parse_expression(text, NAMES, student=True) == want


def test_the_sigmoid_letter_is_the_sigmoid_without_a_symbol_sigma() -> None:
    assert parse_expression("σ(x)", {"x": x}, student=True) == 1 / (1 + sympy.exp(-x))
    assert parse_expression("π x", {"x": x}, student=True) == sympy.pi * x


REFUSED = [
    ("half-x", "1/2x", ["(1/2)*x", "1/(2*x)"]),
    ("x-over-2y", "x/2y", ["(x/2)*y", "x/(2*y)"]),
    ("half-paren", "1/2(x + 1)", ["(1/2)*(...)", "1/(2*(...))"]),
    ("inverse-sin", "sin^-1(x)", ["asin(...)", "1/sin(...)"]),
    ("variable-called", "sigma(x - mu)", ["sigma is a variable here", "sigma*(...)"]),
    ("unknown-function", "Psi(x)", ["unknown name 'Psi'", "not a function in this problem"]),
    ("unknown-greek", "ψ(x)", ["unknown name 'ψ'", "not a function"]),
    ("symbolic-power", "sin^x(y)", ["positive whole number", "sin(...)^k"]),
    ("open-bar", "|x", ["missing '|'"]),
]


@pytest.mark.parametrize(("text", "words"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_ambiguous_or_unknown_forms_are_refused_with_both_readings(text: str,
                                                                  words: list[str]) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, NAMES, student=True)
    for word in words:
        assert word in info.value.message, info.value.message


@pytest.mark.parametrize("text", ["|x|", "2λw", "eˣ", "sin x", "Φ(x)", "x \u2013 1"])
def test_student_notation_stays_out_of_problem_files(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text, NAMES)


HOSTILE = [
    ("many-bars", "|" * 1999 + "x"),
    ("bare-function-chain", "sin " * 499 + "x"),
    ("function-powers", "sin^2 " * 300 + "x"),
    ("greek-run", "λ" * 2000),
    ("superscript-run", "x" + "ˣ" * 1999),
    ("superscript-dunder", "x⁽ᵉᵛᵃˡ⁾"),
    ("declared-doubling", "D(" * 30 + "x" + ")" * 30),
]


@pytest.mark.parametrize("text", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_new_notation_keeps_hostile_input_bounded(text: str) -> None:
    names = {**NAMES, "D": sympy.Lambda((z,), z * z + z)}
    start = time.perf_counter()
    try:
        expr = parse_expression(text, names, student=True)
    except ExpressionError:
        expr = None
    assert time.perf_counter() - start < 0.5
    assert expr is None or sympy.count_ops(expr) < 10_000


ANSWERS_PROBLEM = """
    id = "p"
    [symbols.x]
    domain = [-2.0, 2.0]
    [symbols.mu]
    domain = [-1.0, 1.0]
    [symbols.sigma]
    domain = [0.5, 2.0]
    [functions]
    Phi = { args = ["z"], body = "(1 + erf(z/sqrt(2)))/2" }
    [[questions]]
    id = "dz"
    of = "(x - mu)**2/(2*sigma**2)"
    wrt = "x"
    [[questions]]
    id = "cdf"
    of = "x*Phi(x)"
    wrt = "x"
"""


@pytest.mark.parametrize(("question", "answer", "shown"), [
    ("dz", "(x-μ)/σ²", "(-mu + x)/sigma**2"),
    ("dz", r"\dfrac{x \u2013 \mu}{\sigma^2}", "(-mu + x)/sigma**2"),
    ("cdf", "Φ(x) + x exp(-x²/2)/√(2π)", None),
])
def test_grading_shows_what_was_read(write_problem, question: str, answer: str,
                                     shown: str | None) -> None:
    problem = load_problem(write_problem(ANSWERS_PROBLEM))
    result = grade(problem, question, answer.replace("\\u2013", "\u2013"), points=8)
    assert result.verdict == "pass", result
    assert result.understood_as is not None
    if shown is not None:
        assert result.understood_as == shown
