"""Problem files may use SymPy's vocabulary: each function checks on numpy, or is refused clearly."""

from __future__ import annotations

from gradcheck import check
from gradcheck.linting import lint
from gradcheck.loader import load_problem

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
