"""Random smooth expressions pass the three-way check: symbolic vs finite differences."""

from __future__ import annotations

import sympy
from hypothesis import HealthCheck, given, settings

from gradcheck.backends.numpy_backend import NumpyBackend
from gradcheck.checks import check_problem
from gradcheck.report.messages import failure
from gradcheck.strategies import expressions
from tests.properties.helpers import SYMBOLS, problem_for


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(SYMBOLS))
def test_random_smooth_expressions_pass_the_check(expr: sympy.Expr) -> None:
    results = check_problem(problem_for(expr), [NumpyBackend()], points=8)
    failed = [failure(r, c) for r in results for c in r.comparisons if not c.passed]
    assert not failed, f"f = {expr}\n" + "\n".join(failed)
