"""Every op of the torch table against the numpy table and against an mpmath oracle (SymPy evalf).

The cases are shared with tests/core/test_ops.py (tests/op_cases.py): one or more per row
of the op registry.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from gradcheck import ops
from gradcheck.backends import get_backend
from gradcheck.backends.torch_backend import table
from gradcheck.errors import UnsupportedFunctionError
from gradcheck.tape import build_tape
from gradcheck.tolerances import tolerance_for
from tests.op_cases import CASES, IDS, Case, assert_close, oracle, points_for, x, y

pytest.importorskip("torch")

REFUSED = set(ops.refusals("torch"))
TORCH_CASES = [c for c in CASES if c.op not in REFUSED]
TORCH_IDS = [i for c, i in zip(CASES, IDS, strict=True) if c.op not in REFUSED]
# Where torch computes differently from scipy (recurrences, erfinv(1 - x)), float32 is looser.
FLOAT32_SLACK = {"besseli": 10.0, "besselk": 10.0, "erfcinv": 10.0}


def test_the_torch_table_is_the_registry_less_what_torch_refuses() -> None:
    computed = {op.name for op in ops.OPS if op.rewrite is None}
    assert set(table()) == computed - REFUSED
    assert REFUSED == {"Ei", "LambertW", "besselj", "bessely"}


@pytest.mark.parametrize("case", TORCH_CASES, ids=TORCH_IDS)
def test_op_matches_numpy_and_the_oracle_in_float64(case: Case, backend_name: str) -> None:
    tape = build_tape([case.expr], [x, y])
    pts = points_for(case)
    got = get_backend(backend_name).evaluate(tape, pts)[0]
    assert got.dtype == np.float64 and got.shape == (len(pts),)
    assert_close(got, get_backend("numpy").evaluate(tape, pts)[0], rtol=case.rtol, atol=1e-13)
    assert_close(got, oracle(case, pts), rtol=case.rtol, atol=1e-13)


@pytest.mark.parametrize("case", TORCH_CASES, ids=TORCH_IDS)
def test_op_matches_the_oracle_in_float32(case: Case, backend_name: str) -> None:
    tape = build_tape([case.expr], [x, y])
    # Round the points to float32 first: the oracle then sees the inputs torch computed on.
    pts = points_for(case).astype(np.float32).astype(np.float64)
    got = get_backend(backend_name, "float32").evaluate(tape, pts)[0]
    tol = tolerance_for("float32")
    slack = FLOAT32_SLACK.get(case.op, 1.0)
    assert_close(got, oracle(case, pts), rtol=tol.rtol * slack, atol=tol.atol * slack)


@pytest.mark.parametrize("expr", [sympy.Ei(x), sympy.LambertW(x), sympy.besselj(0, x)],
                         ids=["Ei", "LambertW", "besselj"])
def test_a_refused_function_names_the_backend_and_what_to_use(expr: sympy.Expr,
                                                              backend_name: str) -> None:
    with pytest.raises(UnsupportedFunctionError) as info:
        get_backend(backend_name).evaluate(build_tape([expr], [x, y]), points_for(CASES[0]))
    message = str(info.value)
    assert backend_name in message and "torch" in message and "--backend numpy" in message


@pytest.mark.parametrize("expr", [sympy.besselk(sympy.Rational(5, 2), x), sympy.besseli(y, x),
                                  sympy.besseli(20, x)], ids=["half-order", "variable-order",
                                                              "order-20"])
def test_a_bessel_order_torch_cannot_compute_is_refused(expr: sympy.Expr,
                                                        backend_name: str) -> None:
    pts = np.column_stack([np.linspace(0.5, 2, 4), np.linspace(0.5, 2, 4)])
    with pytest.raises(UnsupportedFunctionError, match=f"backend '{backend_name}'.*bessel"):
        get_backend(backend_name).evaluate(build_tape([expr], [x, y]), pts)


def test_checking_on_torch_refuses_a_function_torch_lacks_and_says_what_to_use(
        write_problem, backend_name: str) -> None:
    from gradcheck import check
    from gradcheck.loader import load_problem

    problem = load_problem(write_problem("""
        id = "p"
        [symbols.x]
        domain = [0.2, 2.0]
        [[questions]]
        id = "q"
        of = "Ei(x)"
        wrt = "x"
    """))
    assert check([problem], backends=["numpy"], points=8).passed
    with pytest.raises(UnsupportedFunctionError, match=f"'{backend_name}'.*Ei.*--backend numpy"):
        check([problem], backends=[backend_name], points=8)


def test_a_run_on_torch_is_refused_before_any_check_starts(write_problem, monkeypatch,
                                                          backend_name: str) -> None:
    from gradcheck import checks
    from gradcheck.loader import load_problem

    started = []
    monkeypatch.setattr(checks, "check_target", lambda *a, **k: started.append(a) or [])
    plain = load_problem(write_problem('id = "a"\n[symbols.x]\n[[questions]]\nid = "q"\n'
                                       'of = "x**2"\nwrt = "x"\n', stem="a"))
    path = write_problem('id = "b"\n[symbols.x]\ndomain = [0.2, 2]\n[[questions]]\nid = "q"\n'
                         'of = "LambertW(x)"\nwrt = "x"\n', stem="b")
    with pytest.raises(UnsupportedFunctionError) as info:
        checks.check([plain, load_problem(path)], backends=[backend_name])
    assert started == []  # not even the first problem was checked
    message = str(info.value)
    assert str(path) in message and "questions.q.of" in message and "LambertW" in message
    assert backend_name in message
