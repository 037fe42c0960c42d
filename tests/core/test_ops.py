"""The op registry: complete for every backend, and every numpy row against an mpmath oracle.

Runs without torch: a wrong numpy entry is caught here, not only under tests/torch.
"""

from __future__ import annotations

import doctest

import mpmath
import numpy as np
import pytest
import sympy

from gradcheck import finite_diff, ops
from gradcheck.backends import get_backend
from gradcheck.backends.numpy_backend import TABLE as NUMPY_TABLE
from gradcheck.errors import UnsupportedFunctionError
from gradcheck.parsing import FUNCTIONS, parse_expression
from gradcheck.tape import FUNCTION_OPS, NON_ANALYTIC, build_tape
from tests.op_cases import CASES, IDS, Case, assert_close, oracle, points_for, x, y

BACKEND_FAMILIES = ("numpy", "torch")


def test_every_row_is_computed_by_every_backend_or_refused_with_a_reason() -> None:
    for op in ops.OPS:
        if op.rewrite is not None:
            assert op.numpy is None and op.torch is None, op.name
            continue
        for family in BACKEND_FAMILIES:
            has = getattr(op, family) is not None
            refused = op.refused.get(family, "")
            assert has != bool(refused), f"{op.name}: {family} needs an implementation or a reason"
            assert not refused or "--backend" in refused, f"{op.name}: say what to use instead"


def test_every_row_is_covered_by_an_oracle_case() -> None:
    assert {op.name for op in ops.OPS} == {c.op for c in CASES}


def test_tables_are_derived_from_the_registry() -> None:
    assert set(NUMPY_TABLE) == {op.name for op in ops.OPS if op.rewrite is None}
    assert NON_ANALYTIC == {op.name for op in ops.OPS if not op.analytic}
    for op in ops.OPS:
        for cls in op.classes:
            assert FUNCTION_OPS[cls] == op.name
        for name in op.names:
            assert name in FUNCTIONS, name


def test_evalf_form_is_needed_exactly_where_sympy_cannot_evaluate() -> None:
    assert {op.name for op in ops.OPS if op.evalf is not None} == NOT_EVALUATED_BY_SYMPY
    assert ops.evalf_form(sympy.sin(x) + 1) == sympy.sin(x) + 1


def test_kinks_are_the_functions_whose_pieces_must_all_be_sampled() -> None:
    assert set(ops.kink_classes()) == {sympy.Abs, sympy.sign, sympy.Max, sympy.Min,
                                       sympy.Heaviside, sympy.DiracDelta, sympy.floor,
                                       sympy.ceiling, sympy.Piecewise}
    assert all(not op.analytic for op in ops.OPS if op.kink)


def test_every_named_row_has_a_high_precision_value() -> None:
    structural = {"add", "mul", "neg", "reciprocal", "powi", "pow", "piecewise", "diracdelta"}
    for op in ops.OPS:
        if op.classes and op.name not in structural and op.classes[0].__module__.startswith("sympy.functions"):
            assert op.mpmath is not None, op.name


# SymPy 1.14 leaves these unevaluated; ops.evalf_form rewrites them by an identity.
NOT_EVALUATED_BY_SYMPY = {"erfcinv"}

# One point per row, inside its domain: SymPy's evalf must agree with the mpmath column.
HIGH_PRECISION = [
    ("exp", (0.7,)), ("log", (0.7,)), ("sqrt", (0.7,)), ("sin", (0.7,)), ("cos", (0.7,)),
    ("tan", (0.7,)), ("sec", (0.7,)), ("csc", (0.7,)), ("cot", (0.7,)), ("asin", (0.7,)),
    ("acos", (0.7,)), ("atan", (0.7,)), ("atan2", (-0.3, -0.7)), ("sinh", (0.7,)),
    ("cosh", (0.7,)), ("tanh", (0.7,)), ("sech", (0.7,)), ("csch", (0.7,)), ("coth", (0.7,)),
    ("acot", (-0.7,)), ("asec", (-1.7,)), ("acsc", (1.7,)), ("sinc", (0.7,)),
    ("acoth", (-1.7,)), ("asech", (0.7,)), ("acsch", (-0.7,)), ("asinh", (0.7,)),
    ("acosh", (1.7,)), ("atanh", (0.7,)), ("abs", (-0.7,)), ("sign", (-0.7,)),
    ("max", (0.7, 0.3)), ("min", (0.7, 0.3)), ("heaviside", (0.7,)), ("floor", (-0.7,)),
    ("ceiling", (-0.7,)), ("erf", (0.7,)), ("erfc", (0.7,)), ("erfinv", (0.7,)),
    ("erfcinv", (0.3,)), ("gamma", (-0.7,)), ("loggamma", (3.7,)), ("factorial", (3.7,)),
    ("beta", (0.7, 2.5)), ("polygamma", (2, 0.7)), ("lowergamma", (2.5, 0.7)),
    ("uppergamma", (2.5, 0.7)), ("zeta", (2.5,)), ("zeta", (2.5, 0.7)), ("besselj", (2.5, 0.7)),
    ("bessely", (2.5, 0.7)), ("besseli", (2.5, 0.7)), ("besselk", (2.5, 0.7)), ("Ei", (-0.7,)),
    ("LambertW", (0.7,)), ("LambertW", (-0.3, -1)),
]


@pytest.mark.parametrize(("name", "args"), HIGH_PRECISION, ids=[f"{n}{a}" for n, a in HIGH_PRECISION])
def test_sympy_evalf_agrees_with_the_high_precision_column(name: str, args: tuple[float, ...]) -> None:
    op = ops.BY_NAME[name]
    exact = [sympy.nsimplify(a) for a in args]
    with mpmath.workdps(40):
        want = op.mpmath(*(mpmath.mpf(str(a)) if isinstance(a, float) else a for a in args))
        build = op.classes[0] if op.classes else sympy.sqrt
        got = build(*exact).evalf(40)
        if name in NOT_EVALUATED_BY_SYMPY:
            assert not got.is_Number  # if SymPy learns it, this test says so
            got = ops.evalf_form(build(*exact)).evalf(40)
        assert abs(complex(got) - complex(want)) <= 1e-30 * max(1, abs(complex(want)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_numpy_row_matches_the_oracle(case: Case) -> None:
    tape = build_tape([case.expr], [x, y])
    row = ops.BY_NAME[case.op]
    assert case.op in tape.ops if row.rewrite is None else case.expr.has(*row.classes)
    pts = points_for(case)
    got = get_backend("numpy").evaluate(tape, pts)[0]
    assert got.dtype == np.float64 and got.shape == (len(pts),)
    assert_close(got, oracle(case, pts), rtol=1e-12, atol=1e-13)


ANALYTIC_CASES = [c for c in CASES if c.op not in NON_ANALYTIC and c.op not in ("add", "mul")
                  and isinstance(c.expr, sympy.Expr)]


@pytest.mark.parametrize("case", ANALYTIC_CASES, ids=[f"{c.op}-{c.expr}" for c in ANALYTIC_CASES])
def test_the_complex_step_through_an_analytic_row_is_exact(case: Case) -> None:
    """analytic=True is a promise: the complex step gives SymPy's derivative to rounding."""
    tape = build_tape([case.expr], [x, y])
    backend = get_backend("numpy")
    pts = points_for(case)
    got = finite_diff.complex_step(lambda p: backend.evaluate(tape, p)[0], pts, 0).values
    truth = backend.evaluate(build_tape([sympy.diff(case.expr, x)], [x, y]), pts)[0]
    assert_close(got, truth, rtol=1e-12, atol=1e-13)


def test_rewritten_rows_leave_no_trace_on_the_tape() -> None:
    tape = build_tape([sympy.sec(x) + sympy.coth(y) + sympy.factorial(x) + sympy.beta(x, y)], [x, y])
    assert not tape.ops & {"sec", "coth", "factorial", "beta"}
    assert {"cos", "tanh", "gamma", "reciprocal"} <= tape.ops


def test_a_missing_row_names_the_backend_and_the_reason() -> None:
    tape = build_tape([sympy.Ei(x)], [x, y])
    with pytest.raises(UnsupportedFunctionError) as info:
        from gradcheck.tape import run_tape
        run_tape(tape, {}, [np.ones(2), np.ones(2)], lambda c: c, "mybackend",
                 ops.refusals("torch"))
    assert "mybackend" in str(info.value) and "exponential integral" in str(info.value)


NOT_WRITTEN = {"diracdelta"}  # appears in derivatives only; no one writes it


def _written(case: Case) -> sympy.Basic:
    """The case as an expression: a condition becomes Piecewise((1, cond), (0, True))."""
    if isinstance(case.expr, sympy.logic.boolalg.Boolean):
        return sympy.Piecewise((1, case.expr), (0, True))
    return case.expr


WRITTEN = [c for c in CASES if c.op not in NOT_WRITTEN]


@pytest.mark.parametrize("student", [False, True], ids=["problem-file", "student"])
@pytest.mark.parametrize("case", WRITTEN, ids=[f"{c.op}-{c.expr}" for c in WRITTEN])
def test_every_row_reads_back_from_what_sympy_prints(case: Case, student: bool) -> None:
    """What grading shows as "understood as" (SymPy's sstr) is read back as the same thing."""
    expr = _written(case)
    read = parse_expression(sympy.sstr(expr), {"x": x, "y": y}, student=student)
    assert read == expr or sympy.expand(read - expr) == 0


def test_doctests() -> None:
    assert doctest.testmod(ops).failed == 0
