"""The check stage's high-precision referee (issue 8, requirement 1).

Float64 artefacts (cancellation in the function, in its finite differences or in a
compiled formula) must not fail a right derivative; a wrong backend table entry must
still fail with the referee on. Oracles: mpmath (through the formulas' exact values) and
hand-derived derivatives.
"""

from __future__ import annotations

import functools
import operator
import re

import mpmath
import numpy as np
import pytest

from gradcheck import ops
from gradcheck.backends import numpy_backend
from gradcheck.checks import check
from gradcheck.loader import load_problem


def _problem(write_problem, of: str, domain: str, answer: str | None = None):
    extra = f'answer = "{answer}"\n' if answer else ""
    return load_problem(write_problem(
        f'id = "p"\n[symbols.x]\ndomain = {domain}\n[[questions]]\nid = "q"\nof = "{of}"\n'
        f'wrt = "x"\n{extra}'))


def test_the_cancellations_are_real() -> None:
    # The oracle behind the rows below: float64 is far off where mpmath is not.
    x = 30.0
    exact = float((1 - mpmath.mpf(x)) * mpmath.exp(-mpmath.mpf(x)))  # d/dx x*exp(-x)
    float64 = (np.cosh(x) - np.sinh(x)) + x * (np.sinh(x) - np.cosh(x))
    assert abs(float64 - exact) > 0.5 * abs(exact)  # float64 gives 0
    x = 0.002
    accurate = float((x * mpmath.sin(x) - 4 * mpmath.sin(mpmath.mpf(x) / 2) ** 2) / mpmath.mpf(x) ** 3)
    naive = np.sin(x) / x**2 - 2 * (1 - np.cos(x)) / x**3
    assert abs(naive - accurate) > 1e-5 * abs(accurate)


CANCELLING = [
    # The function and every float64 opinion of its derivative cancel; at these seeds
    # finite differences and the compiled formula round differently and disagree.
    ("x*(cosh(x) - sinh(x))", "[20, 40]", None, 8),
    ("x*(cosh(x) - sinh(x))", "[20, 40]", None, 9),
    ("(cosh(x) - sinh(x))*sin(x)", "[20, 40]", None, 8),
    # the accurate reference answer against SymPy's derivative, which cancels in float64
    ("(1 - cos(x))/x**2", "[0.001, 0.003]", "(x*sin(x) - 4*sin(x/2)**2)/x**3", 0),
    ("(1 - cos(x))/x**2", "[0.001, 0.003]", "(x*sin(x) - 4*sin(x/2)**2)/x**3", 1),
]


@pytest.mark.parametrize(("of", "domain", "answer", "seed"), CANCELLING,
                         ids=[f"{c[0]}-seed{c[3]}" for c in CANCELLING])
def test_float64_cancellation_does_not_fail_a_right_derivative(write_problem, of, domain, answer,
                                                                seed) -> None:
    report = check([_problem(write_problem, of, domain, answer)], seed=seed)
    (result,) = report.results
    assert result.passed, [c for c in result.comparisons if not c.passed]
    assert sum(c.refereed for c in result.comparisons) > 0  # high precision decided


def test_a_wrong_reference_answer_still_fails_where_float64_cancels(write_problem) -> None:
    # Off by 1e-4 relative: the referee compares the formulas' exact values.
    problem = _problem(write_problem, "(1 - cos(x))/x**2", "[0.001, 0.003]",
                       "1.0001*(x*sin(x) - 4*sin(x/2)**2)/x**3")
    (result,) = check([problem]).results
    assert not result.passed
    ref = next(c for c in result.comparisons if c.what == "reference answer vs symbolic")
    assert ref.refereed > 0 and ref.worst_error > 1e-5  # 1e-4 of a truth below the floor 1e-3


def _bad_mul(*a):
    # Off by 1e-4 of the first factor: a uniform scale would be consistent with the
    # finite differences of the (equally scaled) function, and no float64 test sees it.
    return functools.reduce(operator.mul, a) + 1e-4 * a[0]


# (table entry, a wrong implementation, a problem that uses it, its domain)
BROKEN = [
    ("mul", _bad_mul, "x*(cosh(x) - sinh(x))", "[20, 40]"),
    ("mul", _bad_mul, "x**3*sin(x)", "[0.5, 2]"),
    ("tanh", lambda x: np.tanh(x) * (1 + 1e-4), "coth(x)", "[0.5, 2]"),  # coth is 1/tanh
    ("min", lambda *a: functools.reduce(np.maximum, a), "Min(x, 1)*x**2", "[0, 2]"),
    # 1e-4 too much wherever the first condition holds
    ("piecewise", lambda *a: ops.numpy_table()["piecewise"](*a) + 1e-4 * np.asarray(a[1], float),
     "Piecewise((x**2, x < 1), (2*x - 1, True))", "[0, 2]"),
]


@pytest.mark.parametrize(("entry", "wrong", "of", "domain"), BROKEN,
                         ids=[f"{b[0]}-{b[2]}" for b in BROKEN])
def test_a_wrong_table_entry_fails_with_the_referee_on(write_problem, monkeypatch, entry, wrong,
                                                         of, domain) -> None:
    problem = _problem(write_problem, of, domain)
    assert check([problem]).passed
    monkeypatch.setitem(numpy_backend.TABLE, entry, wrong)
    (result,) = check([problem]).results
    assert not result.passed
    assert sum(c.refereed for c in result.comparisons) > 0  # the referee saw it and said no


def test_a_refereed_failure_says_so(write_problem) -> None:
    from gradcheck.report.text import render_text

    problem = _problem(write_problem, "(1 - cos(x))/x**2", "[0.001, 0.003]",
                       "1.0001*(x*sin(x) - 4*sin(x/2)**2)/x**3")
    text = render_text(check([problem]))
    assert re.search(r"decided in high precision at [0-9]+ point\(s\) where float64 disagreed", text)
