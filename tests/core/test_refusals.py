"""Functions a backend lacks are refused when problems are loaded for a run on that backend
(issue 8, requirement 7): before any check starts, naming the file, the key, the function
and the backend; numpy runs still use them, and lint warns."""

from __future__ import annotations

import pytest

from gradcheck import ops
from gradcheck.checks import check
from gradcheck.errors import UnsupportedFunctionError
from gradcheck.linting import lint
from gradcheck.loader import load_problem
from gradcheck.refusals import check_backends, refusals

EI = ('id = "{stem}"\n[symbols.x]\ndomain = [0.2, 2.0]\n[graph]\nf = "x*Ei(x)"\n'
      '[[questions]]\nid = "q"\nof = "f"\nwrt = "x"\n[[questions.reject]]\nanswer = "0"\n')
PLAIN = ('id = "{stem}"\n[symbols.x]\ndomain = [0.2, 2.0]\n[[questions]]\nid = "q"\n'
         'of = "x**3"\nwrt = "x"\nanswer = "3*x**2"\n[[questions.reject]]\nanswer = "0"\n')


def test_the_registry_says_which_functions_torch_lacks() -> None:
    # The oracle: the registry rows that torch refuses, read independently of refusals.py.
    assert {op.name for op in ops.OPS if "torch" in op.refused} >= {"Ei", "LambertW"}
    assert ops.refusals("numpy") == {}


def test_a_run_on_torch_is_refused_naming_file_key_function_and_backend(write_problem) -> None:
    plain = load_problem(write_problem(PLAIN.format(stem="a"), stem="a"))
    ei_path = write_problem(EI.format(stem="b"), stem="b")
    problems = [plain, load_problem(ei_path)]  # the loader accepts it
    with pytest.raises(UnsupportedFunctionError) as info:
        check_backends(problems, ["numpy", "torch-cpu"])
    message = str(info.value)
    assert str(ei_path) in message and "graph.f" in message
    assert "Ei" in message and "'torch-cpu'" in message and "--backend numpy" in message
    check_backends(problems, ["numpy"])  # numpy has every function: nothing refused
    assert check(problems, backends=["numpy"], points=5).passed


def test_the_check_is_refused_before_any_check_starts(write_problem, monkeypatch) -> None:
    from gradcheck import backends, checks

    class Fake:  # a stand-in for torch, so this runs without it
        name, dtype = "torch-cpu", "float64"

    monkeypatch.setattr(checks, "get_backend", lambda name, dtype: Fake())
    monkeypatch.setattr(checks, "resolve_backends", lambda names: list(names))
    started = []
    monkeypatch.setattr(checks, "check_target", lambda *a, **k: started.append(a) or [])
    plain = load_problem(write_problem(PLAIN.format(stem="a"), stem="a"))
    ei = load_problem(write_problem(EI.format(stem="b"), stem="b"))
    with pytest.raises(UnsupportedFunctionError, match="b.toml, graph.f"):
        checks.check([plain, ei], backends=["torch-cpu"])
    assert started == [] and backends.REGISTRY["torch-cpu"].family == "torch"


def test_a_reference_answer_with_such_a_function_is_found_too(write_problem) -> None:
    text = PLAIN.format(stem="p").replace('answer = "3*x**2"', 'answer = "3*x**2 + Ei(x)/10**30"')
    found = refusals(load_problem(write_problem(text)), ["torch-cpu", "torch-cuda"])
    assert [(r.key, r.backend, r.function) for r in found] == [
        ("questions.q.answer", "torch-cpu", "Ei"), ("questions.q.answer", "torch-cuda", "Ei")]


def test_lint_warns_which_backends_lack_it(write_problem) -> None:
    path = write_problem(EI.format(stem="p"))
    (finding,) = [f for f in lint([path]).findings if "Ei" in f.message]
    assert (finding.level, finding.key) == ("warning", "graph.f")
    assert "torch-cpu, torch-cuda" in finding.message and "--backend numpy" in finding.hint
    assert lint([write_problem(PLAIN.format(stem="p"))]).findings == ()


@pytest.mark.parametrize(("of", "why"), [
    ("besseli(x, 2*x)", "constant integer order"),      # a variable order
    ("besselk(5/2, x)", "non-integer order"),
    ("besseli(8, x)", "integer orders up to 8"),        # its derivative needs order 9
    ("polygamma(x, 2)*x", "constant integer order"),
])
def test_orders_torch_cannot_compute_are_refused_at_load_time(write_problem, of: str,
                                                              why: str) -> None:
    text = EI.format(stem="p").replace('f = "x*Ei(x)"', f'f = "{of}"')
    found = refusals(load_problem(write_problem(text)), ["numpy", "torch-cpu"])
    assert [(r.key, r.backend) for r in found] == [("graph.f", "torch-cpu")]
    assert why in found[0].reason and "--backend numpy" in found[0].reason


def test_orders_torch_computes_are_not_refused(write_problem) -> None:
    text = EI.format(stem="p").replace('f = "x*Ei(x)"', 'f = "besseli(7, x) + polygamma(1, x)"')
    assert refusals(load_problem(write_problem(text)), ["torch-cpu"]) == []
