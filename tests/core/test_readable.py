"""Readable formulas: the teacher's reference, else a short verified rewriting, else the raw
derivative. Oracles: SymPy's own derivative of the expanded function, evaluated to 30 digits
at decimal points, and formulas written by hand from the notes."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
import sympy

from gradcheck import grade, readable
from gradcheck.derivation import expand
from gradcheck.loader import load_bank, load_problem
from gradcheck.parsing import TEACHER_LIMITS, parse_expression
from gradcheck.problem import Problem, Question, sym

ROOT = Path(__file__).resolve().parents[2]
BANK = tuple(p for p in load_bank([ROOT / "problems"]) if p.arrays is None)
QUESTIONS = [(p, q) for p in BANK for q in p.questions if q.kind == "expression"]

# The issue's own words: what a student saw for logistic regression, and what the notes write.
LOGISTIC_RAW = ("-x*y*exp(-b - w*x)/(exp(-b - w*x) + 1) + x*(1 - y)*exp(-b - w*x)/((1 - 1/(exp(-b - "
                "w*x) + 1))*(exp(-b - w*x) + 1)**2)")
LOGISTIC = """
id = "logistic"
[symbols.x]
[symbols.w]
[symbols.b]
[symbols.y]
domain = [0, 1]
[graph]
loss = "-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))"
[[questions]]
id = "dloss_dw"
of = "loss"
wrt = "w"
"""


def _oracle(problem: Problem, question: Question) -> sympy.Expr:
    """SymPy's derivative of the function, every stage but the cut ones written out."""
    function = expand(problem, question.of_expr, keep=question.wrt)
    return sympy.diff(function, *(sym(w) for w in question.wrt))


def _read(problem: Problem, question: Question, text: str) -> sympy.Expr:
    parsed = parse_expression(text, problem.names(), limits=TEACHER_LIMITS)
    return expand(problem, parsed, keep=question.wrt)


def _points(problem: Problem, question: Question, n: int, seed: int) -> list[dict[sympy.Symbol, sympy.Expr]]:
    """Decimal points in the domains, as 30-digit floats (cut stages at their forward values)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        point = {sym(s.name): sympy.Float(f"{rng.uniform(*s.domain):.3f}", 30)
                 for s in problem.symbols}
        for w in question.wrt:
            if w in problem.stage_names:
                point[sym(w)] = expand(problem, sym(w)).xreplace(point)
        out.append(point)
    return out


def _equal_at_points(problem: Problem, question: Question, a: sympy.Expr, b: sympy.Expr) -> int:
    """Points where both are finite and real, after asserting they agree at each (30 digits)."""
    compared = 0
    for point in _points(problem, question, 6, seed=7):
        x, y = (sympy.N(e.xreplace(point), 30) for e in (a, b))
        if not (x.is_real and y.is_real and x.is_finite and y.is_finite):
            continue
        assert abs(x - y) <= 1e-20 * max(1, abs(y)), (problem.id, question.id, point, x, y)
        compared += 1
    return compared


def test_the_issues_logistic_regression_reads_as_the_notes_write_it(tmp_path: Path) -> None:
    path = tmp_path / "logistic.toml"
    path.write_text(LOGISTIC)
    problem = load_problem(path)
    question = problem.question("dloss_dw")
    raw = readable.raw_derivative(problem, _target(problem, question))
    assert sympy.sstr(raw) == LOGISTIC_RAW
    shown = readable.formula(problem, "dloss_dw")
    assert shown.source == "derived" and "sigmoid" in shown.text and "exp" not in shown.text
    # (sigmoid(w*x + b) - y)*x, the notes' formula, up to the order of terms
    notes = _read(problem, question, "(sigmoid(w*x + b) - y)*x")
    assert sympy.simplify(_read(problem, question, shown.text) - notes) == 0
    assert len(shown.text) <= len("(sigmoid(w*x + b) - y)*x")
    assert grade(problem, "dloss_dw", "(sigmoid(w*x + b) - y)*x").expected == shown.text


def test_a_sigmoid_stage_is_folded_back_into_its_name() -> None:
    problem = load_problem(ROOT / "problems/backprop/sigmoid-neuron.toml")
    # Written by hand from the notes: a' = a(1 - a), and the cross-entropy's (a - y) x.
    assert readable.formula(problem, "da_dz", reference=False).text == "a*(1 - a)"
    assert readable.formula(problem, "dxent_dw", reference=False).text == "x*(a - y)"
    assert readable.formula(problem, "dloss_dw", reference=False).text in (
        "a*x*(1 - a)*(a - y)", "x*(a - y)*a*(1 - a)")


def test_the_teachers_reference_is_shown_when_there_is_one() -> None:
    problem = load_problem(ROOT / "problems/backprop/sigmoid-neuron.toml")
    shown = readable.formula(problem, "dxent_dw")
    assert shown == readable.Formula("(sigmoid(w*x + b) - y)*x", "reference")
    assert grade(problem, "dxent_dw", "(a - y)*x*2").expected == "(sigmoid(w*x + b) - y)*x"


def test_a_wrong_reference_is_never_shown() -> None:
    problem = load_problem(ROOT / "problems/backprop/sigmoid-neuron.toml")
    q = problem.question("dxent_dw")
    wrong = replace(problem, questions=(replace(q, answer="(a - y)*a*x"),))
    shown = readable.formula(wrong, "dxent_dw")
    assert shown.source == "derived" and shown.text == "x*(a - y)"


def test_a_declared_function_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gelu-phi.toml"
    path.write_text('id = "gelu-phi"\n[symbols.z]\n[functions]\n'
                    'Phi = { args = ["t"], body = "(1 + erf(t/sqrt(2)))/2" }\n'
                    '[graph]\na = "z*Phi(z)"\n[[questions]]\nid = "q"\nof = "a"\nwrt = "z"\n')
    problem = load_problem(path)
    shown = readable.formula(problem, "q")
    assert "Phi(z)" in shown.text and "erf" not in shown.text
    question = problem.question("q")
    assert _equal_at_points(problem, question, _read(problem, question, shown.text),
                            _oracle(problem, question)) >= 4


@pytest.mark.parametrize(("problem", "question"), QUESTIONS,
                         ids=[f"{p.id}/{q.id}" for p, q in QUESTIONS])
def test_every_bank_formula_is_the_derivative_and_no_longer(problem: Problem,
                                                            question: Question) -> None:
    oracle = _oracle(problem, question)
    raw = readable.raw_derivative(problem, _target(problem, question))
    derived = readable.formula(problem, question.id, reference=False)
    shown = readable.formula(problem, question.id)
    for formula in (derived, shown):
        assert _equal_at_points(problem, question, _read(problem, question, formula.text),
                                oracle) >= 4
    if raw is not None:
        assert len(derived.text) <= len(sympy.sstr(raw))
        # The teacher's reference may be written out more than SymPy's form, not much more.
        assert len(shown.text) <= max(len(sympy.sstr(raw)) * 2, 20)
    if problem.id == "sigmoid-neuron" or "sigmoid" in problem.source:
        assert len(derived.text) * 3 <= len(sympy.sstr(raw))


def _target(problem: Problem, question: Question):  # type: ignore[no-untyped-def]
    from gradcheck.derivation import derive_question

    return derive_question(problem, question)


def test_doctests(monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest

    monkeypatch.chdir(ROOT)
    assert doctest.testmod(readable).failed == 0
