"""The decision rule (docs/grading.md): every verdict example of issue 8 and 14.1, at many seeds.

Each row is an answer a careful teacher would grade one way, built to probe one part of the
rule: tiny truths (no absolute floor), answers undefined on part of the domain, differences
on a small piece, near misses, answers built from the shown points, float64 cancellation
and overflow in the truth, a kink at the given point, and a proof that runs out of time.
The expected verdicts come from the mathematics (hand-derived, or checked with mpmath),
never from a run of the grader.

Rows run at seeds 0-49; the slow rows (a truth whose preparation costs 50-250 ms per seed:
binary cross-entropy, the 999th power) run at seeds 0-9 to keep the suite fast.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import mpmath
import pytest
import sympy

from gradcheck.grading import grade
from gradcheck.loader import load_problem
from gradcheck.problem import Problem
from gradcheck.verification import verify
from tests.helpers import SEEDS

ALL_SEEDS = range(50)
FEW_SEEDS = range(10)


def _toml(name: str, symbols: dict[str, str], of: str, wrt: str) -> str:
    lines = [f'id = "{name}"']
    for symbol, spec in symbols.items():
        lines.append(f"[symbols.{symbol}]")
        lines.extend(part.strip() for part in spec.split(";") if part.strip())
    lines += ["[[questions]]", 'id = "q"', f'of = "{of}"', f'wrt = "{wrt}"']
    return "\n".join(lines) + "\n"


PROBLEMS = {
    # Boltzmann's constant: the derivative is ~1e-18, far below any fixed absolute floor.
    "energy": ({"T": "domain = [200, 400]", "V": "domain = [0.001, 0.01]"},
               "1.380649e-23*T*log(V)", "V"),
    "tiny": ({"x": ""}, "x/2**99", "x"),
    "xlog": ({"x": "domain = [-1.5, 2.5]"}, "x**2*log(x**2)", "x"),
    "cos": ({"x": "domain = [-2, 2]"}, "-cos(x)", "x"),
    "abs": ({"x": "domain = [-0.01, 2]"}, "Abs(x)", "x"),
    "floor": ({"x": "domain = [-2, 2]"}, "x*floor(x)", "x"),
    # cosh - sinh = exp(-x): float64 leaves only rounding noise of cosh(x) ~ 1e17 here.
    "cancel_truth": ({"x": "domain = [20, 40]"}, "cosh(x) - sinh(x)", "x"),
    # (1 - cos x)/x^2 at x = 0.002: float64's truth loses 10 digits, the student's form is exact.
    "cancel_answer": ({"x": "domain = [0.001, 0.003]; value = 0.002"}, "(1 - cos(x))/x**2", "x"),
    "sigmoid": ({"x": "domain = [-800, 800]"}, "1/(1 + exp(-x))", "x"),
    "bce": ({"x": "domain = [-20, 20]", "w": "domain = [-10, 10]", "y": "domain = [0, 1]"},
            "-(y*log(1/(1 + exp(-w*x))) + (1 - y)*log(1 - 1/(1 + exp(-w*x))))", "w"),
    "l1": ({"x": "value = 1", "y": "value = 2", "w": "value = 0",
            "lam": "value = 0.5; domain = [0.1, 1]"}, "(w*x - y)**2 + lam*Abs(w)", "w"),
}
PI9 = "2x(wx-y) + (1 + x/pi^9 + y/pi^9 + w/pi^9)^999/10^9"

# (problem, answer, verdict, seeds). "linear" is the seed bank's linear regression, d loss / d w.
ROWS = [
    ("energy", "1.380649e-23*T/V", "pass", ALL_SEEDS),
    ("energy", "0", "fail", ALL_SEEDS),
    ("energy", "-1.380649e-23*T/V", "fail", ALL_SEEDS),
    ("tiny", "1/2**99", "pass", ALL_SEEDS),
    ("tiny", "1/2**98", "fail", ALL_SEEDS),
    ("xlog", "2*x*log(x**2) + 2*x", "pass", ALL_SEEDS),
    ("xlog", "4*x*log(x) + 2*x", "fail", ALL_SEEDS),
    ("cos", "sin(x)", "pass", ALL_SEEDS),
    ("cos", "sin(x) + 5*Heaviside(x - 1.99)", "fail", ALL_SEEDS),
    ("cos", "cos(x) + 5*Heaviside(x - 1.99)", "fail", ALL_SEEDS),
    ("cos", "1.0000001*sin(x)", "fail", ALL_SEEDS),
    ("abs", "sign(x)", "pass", ALL_SEEDS),
    ("abs", "1", "fail", ALL_SEEDS),
    ("floor", "floor(x)", "pass", ALL_SEEDS),
    ("floor", "floor(x + 0.001)", "fail", ALL_SEEDS),
    ("cancel_truth", "-exp(-x)", "pass", ALL_SEEDS),
    ("cancel_truth", "exp(-x)", "fail", ALL_SEEDS),
    ("cancel_answer", "(x*sin(x) - 4*sin(x/2)**2)/x**3", "pass", ALL_SEEDS),
    ("sigmoid", "exp(x)/(1 + exp(x))**2", "pass", ALL_SEEDS),
    ("bce", "x*(1/(1 + exp(-w*x)) - y)", "pass", FEW_SEEDS),
    ("bce", "x*(1/(1 + exp(-w*x)) + y)", "fail", FEW_SEEDS),
    ("l1", "2*x*(w*x - y) + lam*sign(w)", "pass", ALL_SEEDS),
    ("linear", "2*x*(w*x - y) + 1e-8*sin(x)", "fail", ALL_SEEDS),
    ("linear", PI9, "fail", FEW_SEEDS),
    ("linear", PI9.replace("999", "2"), "fail", ALL_SEEDS),
]


@pytest.fixture(scope="module")
def problems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Problem]:
    folder = tmp_path_factory.mktemp("rule")
    loaded = {"linear": load_problem(SEEDS / "linear-regression.toml")}
    for name, (symbols, of, wrt) in PROBLEMS.items():
        path = Path(folder / f"{name}.toml")
        path.write_text(textwrap.dedent(_toml(name, symbols, of, wrt)), encoding="utf-8")
        loaded[name] = load_problem(path)
    return loaded


def _question(name: str) -> str:
    return "dloss_dw" if name == "linear" else "q"


@pytest.mark.parametrize(("name", "answer", "verdict", "seeds"), ROWS,
                         ids=[f"{r[0]}-{r[2]}-{r[1]}" for r in ROWS])
def test_verdict_at_every_seed(problems: dict[str, Problem], name: str, answer: str,
                               verdict: str, seeds: range) -> None:
    got = {s: grade(problems[name], _question(name), answer, seed=s).verdict for s in seeds}
    assert {s: v for s, v in got.items() if v != verdict} == {}


def test_the_oracles_behind_the_rows() -> None:
    # The rows' verdicts rest on these facts, checked here with mpmath, independently.
    with mpmath.workdps(50):
        x = mpmath.mpf("0.002")
        student = (x * mpmath.sin(x) - 4 * mpmath.sin(x / 2) ** 2) / x**3
        truth = mpmath.diff(lambda t: (1 - mpmath.cos(t)) / t**2, x)
        assert abs(student - truth) < mpmath.mpf(10) ** -30
        cancelled = mpmath.cosh(30) - mpmath.sinh(30)
        assert abs(cancelled - mpmath.exp(-30)) < mpmath.mpf(10) ** -35
    assert float(1.0 - (1.0 - 0.002**2 / 2)) != 0.002**2 / 2  # float64 cancellation is real


def test_an_answer_undefined_on_part_of_the_domain_says_where_and_why(problems) -> None:
    result = grade(problems["xlog"], "q", "4*x*log(x) + 2*x")
    assert result.verdict == "fail"
    assert "log(x) is undefined for x < 0" in result.feedback
    assert "log(x) where log|x| belongs?" in result.feedback


def test_a_kink_at_the_given_point_is_set_aside_and_said(problems) -> None:
    result = grade(problems["l1"], "q", "2*x*(w*x - y) + lam*sign(w)")
    assert result.verdict == "pass"
    assert "is a kink of" in result.feedback and "set aside" in result.feedback
    assert all(dict(e.point)["w"] != 0 for e in result.evidence)


def test_a_pass_records_how_it_was_decided(problems) -> None:
    proved = grade(problems["linear"], "dloss_dw", "2x(wx-y)")
    assert proved.decision is not None and proved.decision.method == "proved"
    assert proved.decision.points == len(proved.evidence)
    sampled = grade(problems["cancel_truth"], "q", "-exp(-x)")
    assert sampled.decision is not None and sampled.decision.method == "sampled"
    assert sampled.decision.secret > 0 and sampled.decision.points > len(sampled.evidence)


def test_one_formula_written_two_ways_is_proved_once(problems, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # "2x(wx-y)" and "2*x*(w*x - y)" read as one expression: the second pass reuses the
    # proof; a different formula (expanded) is proved on its own.
    from gradcheck import decision

    calls = []
    real = decision.prove
    monkeypatch.setattr(decision, "prove", lambda *a: calls.append(1) or real(*a))
    linear = load_problem(SEEDS / "linear-regression.toml")
    methods = [grade(linear, "dloss_dw", text, seed=7).decision
               for text in ("2x(wx-y)", "2*x*(w*x - y)", "2*w*x^2 - 2*x*y")]
    assert [m.method for m in methods if m is not None] == ["proved"] * 3
    assert len(calls) == 2


def test_a_proof_slowed_by_a_busy_machine_is_still_a_proof(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Whether a pass is proved must not depend on the machine's load (the same class gives
    # the same bytes). This answer needs cancel (exp terms), which takes 130-170 ms in a fresh
    # process; on a loaded machine that is 0.4 s of wall clock: still a proof.
    import time

    from gradcheck import decision

    real = sympy.cancel
    monkeypatch.setattr(sympy, "cancel", lambda *a, **k: time.sleep(0.4) or real(*a, **k))
    neuron = load_problem(SEEDS.parent / "backprop" / "sigmoid-neuron.toml")
    result = grade(neuron, "dloss_dw", "(a - y)*a*(1 - a)*x", seed=3, time_limit=5.0)
    assert result.verdict == "pass"
    assert result.decision is not None and result.decision.method == "proved"
    assert decision.PROOF_BUDGET < 5.0  # a safety net inside the answer's time limit


def test_a_proof_that_runs_out_of_time_is_no_proof(problems) -> None:
    result = grade(problems["linear"], "dloss_dw", PI9)
    assert result.verdict == "fail"
    assert verify("(w*x - y)**2", "w", PI9).verdict == "fail"


def test_an_answer_built_from_the_shown_points_fails(problems) -> None:
    linear = problems["linear"]
    shown = grade(linear, "dloss_dw", "2x(wx-y)", seed=4).evidence
    xs = sorted({sympy.Rational(dict(e.point)["x"]) for e in shown})
    trap = "2*x*(w*x - y) + " + "*".join(f"(x - {v})" for v in xs)
    result = grade(linear, "dloss_dw", trap, seed=4)
    assert result.verdict == "fail"
    assert all(e.agrees for e in result.evidence)  # it does agree at every point shown ...
    for e in shown:  # ... and the feedback gives away none of the points it was checked at
        assert f"{dict(e.point)['x']:.6g}" not in result.feedback.split("points shown")[-1]


def test_checking_code_verdicts_are_plain_fails() -> None:
    # Once "cannot compile Subs" (exit 3) and an AttributeError in the chain-rule split.
    assert verify("Abs(w*x - y)", "w", "sign(w*x - y)").verdict == "fail"
    assert verify("Abs(w*x - y)", "w", "x*sign(w*x - y)").verdict == "pass"
    piecewise = "Piecewise((x**2*w, x < 1), (w*x, True))"
    assert verify(piecewise, "w", "2*x").verdict == "fail"
    assert verify(piecewise, "w", "Piecewise((x**2, x < 1), (x, True))").verdict == "pass"


def test_a_value_error_exactly_at_the_tolerance_passes(write_problem) -> None:
    path = write_problem('id = "p"\n[symbols.x]\nvalue = 1\n[[questions]]\nid = "q"\n'
                         'of = "x**2"\nwrt = "x"\nkind = "value"\n'
                         '[questions.tolerance]\nrtol = 0.5\natol = 1e-300\nreason = "test"\n')
    problem = load_problem(path)
    assert grade(problem, "q", "3").verdict == "pass"  # |3 - 2| / 2 = 0.5 exactly
    assert grade(problem, "q", "3.0001").verdict == "fail"


# -- the check stage -----------------------------------------------------------------------

@pytest.mark.parametrize("of", ["Max(x, 0)**2", "x*Abs(x)"])
@pytest.mark.parametrize("at", [3e-7, -5e-7, 1e-9, 0.0])
def test_check_passes_near_a_kink_whose_slope_is_continuous(write_problem, of, at) -> None:
    # d/dx relu(x)^2 = 2 relu(x) and d/dx x|x| = 2|x| are continuous: a central difference
    # whose stencil straddles 0 is off by O(h), which once read as a 5e-4 error.
    from gradcheck.checks import check

    path = write_problem(f'id = "p"\n[symbols.x]\nvalue = {at!r}\n[[questions]]\nid = "q"\n'
                         f'of = "{of}"\nwrt = "x"\n')
    assert check([load_problem(path)]).passed


def test_check_sets_float64_overflow_aside_instead_of_refusing_the_domain(write_problem) -> None:
    # Binary cross-entropy is defined everywhere; float64 overflows for large |w x|.
    from gradcheck.checks import check

    of = PROBLEMS["bce"][1]
    path = write_problem('id = "p"\n[symbols.x]\ndomain = [-20, 20]\n[symbols.w]\n'
                         'domain = [-10, 10]\n[symbols.y]\ndomain = [0, 1]\n[[questions]]\n'
                         f'id = "q"\nof = "{of}"\nwrt = "x"\n')
    report = check([load_problem(path)])
    assert report.passed
    assert {s.reason for s in report.results[0].set_aside} == {"float64 overflow"}


def test_check_still_catches_a_wrong_table_entry(write_problem, monkeypatch) -> None:
    import numpy as np

    from gradcheck.backends import numpy_backend
    from gradcheck.checks import check

    path = write_problem('id = "p"\n[symbols.x]\ndomain = [0.5, 2]\n[[questions]]\nid = "q"\n'
                         'of = "sinh(x)"\nwrt = "x"\n')
    assert check([load_problem(path)]).passed
    monkeypatch.setitem(numpy_backend.TABLE, "sinh", lambda x: 1.001 * np.sinh(x))
    assert not check([load_problem(path)]).passed


# -- the problem's cost is never charged to an answer (issue 14.4) -------------------------

def test_a_slow_truth_is_not_charged_to_the_answer(monkeypatch) -> None:
    import time as clock

    from gradcheck import grading, truth

    real = truth.derive_question

    def slow(*args: object) -> object:
        clock.sleep(0.3)  # a truth that takes longer than the answer's whole time limit
        return real(*args)  # type: ignore[arg-type]

    grading.clear_cache()
    monkeypatch.setattr(truth, "derive_question", slow)
    problem = load_problem(SEEDS / "linear-regression.toml")
    assert grade(problem, "dloss_dw", "2x(wx-y)", time_limit=0.1).verdict == "pass"
    assert grade(problem, "dloss_dw", "x(wx-y)", time_limit=0.1).verdict == "fail"
    grading.clear_cache()


def test_a_truth_that_cannot_be_prepared_is_a_bad_problem(monkeypatch, capsys) -> None:
    from gradcheck import grading, truth
    from gradcheck.cli import main

    grading.clear_cache()
    monkeypatch.setattr(truth, "TRUTH_BUDGET", 1e-6)
    code = main(["grade", str(SEEDS / "linear-regression.toml"), "--question", "dloss_dw",
                 "--answer", "2x(wx-y)"])
    err = capsys.readouterr().err
    assert code == 3 and "linear-regression" in err and "could not be prepared" in err
    result = grade(load_problem(SEEDS / "linear-regression.toml"), "dloss_dw", "2x(wx-y)")
    assert result.verdict == "error"  # never "invalid": the answer is not at fault
    grading.clear_cache()


def test_verify_of_a_wrong_abs_gradient_exits_1(capsys) -> None:
    from gradcheck.cli import main

    code = main(["verify", "--function", "Abs(w*x - y)", "--wrt", "w", "--answer",
                 "sign(w*x - y)"])
    assert code == 1 and "FAIL" in capsys.readouterr().out


def test_every_registry_function_with_breakpoints_is_handled() -> None:
    # A function added to gradcheck.ops with kink=True must get its pieces sampled too.
    from gradcheck import breakpoints, ops

    assert set(ops.kink_classes()) <= set(breakpoints.HANDLED)
