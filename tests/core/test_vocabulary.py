"""Problem files may use SymPy's vocabulary: each function checks on numpy, or is refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradcheck import check, grade
from gradcheck.errors import ExpressionError, ProblemError
from gradcheck.linting import lint
from gradcheck.loader import load_problem
from gradcheck.parsing import TEACHER_LIMITS, parse_expression

ATAN2 = """
    id = "p"
    [symbols.x]
    domain = [0.5, 2.0]
    [symbols.y]
    domain = [-1.0, 1.0]
    [[questions]]
    id = "dx"
    of = "atan2(y, x)"
    wrt = "x"
    answer = "-y/(x**2 + y**2)"
    [[questions]]
    id = "dy"
    of = "atan2(y, x)*x"
    wrt = "y"
"""


def test_atan2_in_a_problem_checks_and_lints_without_a_traceback(write_problem) -> None:
    path = write_problem(ATAN2)
    report = check([load_problem(path)], points=12)
    assert [r.passed for r in report.results] == [True, True]
    # atan2 is not analytic in the registry: finite differences, not the complex step
    methods = {c.method for r in report.results for c in r.comparisons if c.method}
    assert methods and not any("complex" in m for m in methods)
    assert not [f for f in lint([path]).findings if f.level == "error"]


# (id, of, answer derived by hand, domain of x): each function of the list, with
# the derivative a teacher would write, checked against SymPy and finite differences.
VOCABULARY = [
    ("rational", "Rational(1, 3)*x**3", "x**2", (-2.0, 2.0)),
    ("gamma", "gamma(x)", "gamma(x)*digamma(x)", (0.5, 3.0)),
    ("loggamma", "loggamma(x)", "digamma(x)", (0.5, 3.0)),
    # s = 7/3: SymPy would rewrite a half-integer s into erf, hiding the function
    ("lowergamma", "lowergamma(Rational(7, 3), x)", "x**(4/3)*exp(-x)", (0.2, 4.0)),
    ("uppergamma", "uppergamma(Rational(7, 3), x)", "-x**(4/3)*exp(-x)", (0.2, 4.0)),
    ("digamma", "digamma(x)", "trigamma(x)", (0.5, 3.0)),
    ("polygamma", "polygamma(1, x)", "polygamma(2, x)", (0.5, 3.0)),
    ("erf", "erf(x)", "2*exp(-x**2)/sqrt(pi)", (-2.0, 2.0)),
    ("erfc", "erfc(x)", "-2*exp(-x**2)/sqrt(pi)", (-2.0, 2.0)),
    ("erfinv", "erfinv(x)", "sqrt(pi)/2*exp(erfinv(x)**2)", (-0.9, 0.9)),
    ("erfcinv", "erfcinv(x)", "-sqrt(pi)/2*exp(erfcinv(x)**2)", (0.1, 1.9)),
    ("besselj", "besselj(0, x)", "-besselj(1, x)", (-5.0, 5.0)),
    ("bessely", "bessely(1, x)", "bessely(0, x) - bessely(1, x)/x", (0.5, 5.0)),
    ("besseli", "besseli(0, x)", "besseli(1, x)", (-3.0, 3.0)),
    ("besselk", "besselk(0, x)", "-besselk(1, x)", (0.2, 4.0)),
    ("besselj-half", "besselj(Rational(1, 2), x)",
     "besselj(-1/2, x)/2 - besselj(3/2, x)/2", (0.5, 5.0)),
    ("zeta", "zeta(3, x)", "-3*zeta(4, x)", (0.5, 3.0)),
    ("Ei", "Ei(x)", "exp(x)/x", (0.2, 3.0)),
    ("LambertW", "LambertW(x)", "LambertW(x)/(x*(1 + LambertW(x)))", (0.1, 5.0)),
    ("beta", "beta(x, 2)", "beta(x, 2)*(digamma(x) - digamma(x + 2))", (0.5, 3.0)),
    ("atan2", "atan2(1, x)", "-1/(x**2 + 1)", (-2.0, 2.0)),
    ("piecewise", "Piecewise((x**2, x < 0), (sin(x), x <= 1), (x, True))",
     "Piecewise((2*x, x < 0), (cos(x), x <= 1), (1, True))", (-2.0, 2.0)),
    ("piecewise-and", "Piecewise((x**2, (x > -1) & (x < 1)), (1, True))",
     "Piecewise((2*x, And(x > -1, x < 1)), (0, True))", (-2.0, 2.0)),
    ("big-exponent", "x**6000", "6000*x**5999", (0.9995, 1.0005)),
]


def vocabulary_problem(of: str, answer: str, domain: tuple[float, float]) -> str:
    return f"""
        id = "p"
        [symbols.x]
        domain = [{domain[0]}, {domain[1]}]
        [[questions]]
        id = "q"
        of = "{of}"
        wrt = "x"
        answer = "{answer}"
    """


@pytest.mark.parametrize(("of", "answer", "domain"), [v[1:] for v in VOCABULARY],
                         ids=[v[0] for v in VOCABULARY])
def test_each_function_of_the_vocabulary_checks_on_numpy(write_problem, of: str, answer: str,
                                                         domain: tuple[float, float]) -> None:
    problem = load_problem(write_problem(vocabulary_problem(of, answer, domain)))
    (result,) = check([problem], points=12).results
    assert result.passed, result
    assert any("answer" in c.what for c in result.comparisons)


# Student limits stay strict (an exponent of 6000 is over max_exponent); a wrong Piecewise
# answer crashes grading's diagnosis (split_edge), a bug issue 8 lists for the grading work.
STUDENT_VOCABULARY = [v for v in VOCABULARY if v[0] != "big-exponent"]


@pytest.mark.parametrize(("name", "of", "answer", "domain"), STUDENT_VOCABULARY,
                         ids=[v[0] for v in STUDENT_VOCABULARY])
def test_answers_may_use_the_same_functions(write_problem, name: str, of: str, answer: str,
                                            domain: tuple[float, float]) -> None:
    problem = load_problem(write_problem(vocabulary_problem(of, answer, domain)))
    assert grade(problem, "q", answer, points=8).verdict == "pass"
    if not name.startswith("piecewise"):
        assert grade(problem, "q", f"({answer})*1.001", points=8).verdict == "fail"


def test_teacher_limits_are_generous_and_student_limits_are_not(write_problem) -> None:
    problem = load_problem(write_problem(vocabulary_problem("x**6000", "6000*x**5999",
                                                            (0.9995, 1.0005))))
    result = grade(problem, "q", "6000*x**5999")
    assert result.verdict == "invalid" and "max_exponent" in result.feedback
    with pytest.raises(ExpressionError, match="max_exponent"):
        parse_expression("9**9**9", {}, limits=TEACHER_LIMITS)


DECLARED = """
    id = "p"
    [symbols.x]
    domain = [-2.0, 2.0]
    [symbols.lam]
    domain = [0.1, 2.0]
    aliases = ["λ", "lmb"]
    [functions]
    Phi = { args = ["z"], body = "(1 + erf(z/sqrt(2)))/2" }
    scaled = { args = ["a", "b"], body = "a*Phi(b)" }
    [graph]
    p = "Phi(lmb*x)"
    [[questions]]
    id = "q"
    of = "p"
    wrt = "x"
    answer = "lam*exp(-lam**2*x**2/2)/sqrt(2*pi)"
    [[questions]]
    id = "r"
    of = "scaled(lam, x)"
    wrt = "lmb"
    answer = "Phi(x)"
"""


def test_declared_functions_and_aliases_work_in_the_file_and_in_answers(write_problem) -> None:
    problem = load_problem(write_problem(DECLARED))
    assert [r.passed for r in check([problem], points=10).results] == [True, True]
    assert problem.symbol("lam").aliases == ("λ", "lmb")
    assert problem.question("r").wrt == ("lam",)  # an alias in wrt is its symbol
    assert [f.name for f in problem.functions] == ["Phi", "scaled"]
    for answer in ("λ*exp(-λ^2 x^2/2)/sqrt(2π)", "lmb*exp(-lam**2*x**2/2)/sqrt(2*pi)"):
        result = grade(problem, "q", answer, points=8)
        assert result.verdict == "pass", result
        assert "lam" in (result.understood_as or "")
    assert grade(problem, "r", "Phi(x)", points=8).verdict == "pass"
    assert grade(problem, "r", "Φ(x)", points=8).verdict == "pass"
    wrong = grade(problem, "r", "Phi(2*x)", points=8)
    assert wrong.verdict == "fail"
    arity = grade(problem, "r", "Phi(x, lam)", points=8)
    assert arity.verdict == "invalid" and "Phi takes 1 argument, got 2" in arity.feedback


BAD_DECLARATIONS = [
    ("not-a-table", 'functions = 3', "functions", "must be a table"),
    ("no-body", '[functions]\nf = { args = ["z"] }', "functions.f.body", "is required"),
    ("no-args", '[functions]\nf = { body = "z" }', "functions.f.args", "list of 1 to 8"),
    ("bad-arg", '[functions]\nf = { args = ["2z"], body = "z" }', "functions.f.args",
     "not a usable name"),
    ("twice", '[functions]\nf = { args = ["z", "z"], body = "z" }', "functions.f.args",
     "names an argument twice"),
    ("free-name", '[functions]\nf = { args = ["z"], body = "z*x" }', "functions.f.body",
     "unknown name 'x'"),
    ("builtin", '[functions]\nsin = { args = ["z"], body = "z" }', "functions.sin",
     "name of a function"),
    ("clash", '[functions]\nx = { args = ["z"], body = "z" }', "functions.x", "already a symbol"),
    ("unknown-key", '[functions]\nf = { args = ["z"], body = "z", doc = "" }', "functions.f.doc",
     "unknown key"),
    ("alias-type", None, "symbols.x.aliases", "must be a list of names"),
    ("alias-clash", ["y"], "symbols.x.aliases", "already the name"),
    ("alias-pi", ["π"], "symbols.x.aliases", "not a usable alias"),
    ("alias-symbol-char", ["+"], "symbols.x.aliases", "not a usable name"),
]


@pytest.mark.parametrize(("case", "extra", "key", "words"), BAD_DECLARATIONS,
                         ids=[b[0] for b in BAD_DECLARATIONS])
def test_bad_declarations_name_the_file_the_key_and_what_to_do(write_problem, case: str,
                                                               extra: object, key: str,
                                                               words: str) -> None:
    aliases = "" if not case.startswith("alias") else (
        'aliases = "lam"' if extra is None else f"aliases = {json.dumps(extra)}")
    functions = extra if isinstance(extra, str) else ""
    top = functions if case == "not-a-table" else ""
    table = "" if case == "not-a-table" else functions
    path = write_problem(f"""
id = "p"
{top}
[symbols.x]
{aliases}
[symbols.y]
{table}
[[questions]]
id = "q"
of = "x*y"
wrt = "x"
""")
    with pytest.raises(ProblemError) as info:
        load_problem(path)
    assert info.value.key == key and words in info.value.message, str(info.value)
    assert str(path) in str(info.value) and (info.value.hint or "know" in info.value.message)


def test_the_readme_example_of_functions_and_aliases_loads_and_grades(write_problem) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The vocabulary problem files may use")[1]
    block = section.split("```toml\n")[1].split("```")[0]
    problem = load_problem(write_problem('id = "p"\n[symbols.w]\n' + block + """
[[questions]]
id = "q"
of = "lam*w**2 + Phi(w)"
wrt = "w"
"""))
    answer = "2λw + exp(-w²/2)/√(2π)"
    assert grade(problem, "q", answer, points=8).verdict == "pass"
