"""Functions a backend lacks, found when problems are loaded for a run on that backend.

A problem may use a function that one backend has no implementation of (torch has no
``Ei`` or ``LambertW``; the op registry says why, ``ops.Op.refused``). Such a problem is
fine for numpy users, so the loader accepts it; a run that asks for that backend
(``check --backend torch-cpu``) refuses it before any check starts, with a message that
names the file, the key, the function and the backend. ``gradcheck lint`` reports the
same as a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sympy

from gradcheck import ops
from gradcheck.backends import REGISTRY
from gradcheck.errors import ExpressionError, UnsupportedFunctionError
from gradcheck.problem import Problem

__all__ = ["Refusal", "check_backends", "refusals"]


@dataclass(frozen=True)
class Refusal:
    """A function of a problem that a backend cannot evaluate, and why."""

    path: str
    key: str
    backend: str
    function: str
    reason: str

    def error(self, more: int = 0) -> UnsupportedFunctionError:
        extra = f" ({more} more like it in the problems loaded)" if more else ""
        return UnsupportedFunctionError(self.backend, self.function,
                                        where=f"{self.path}, {self.key}",
                                        reason=self.reason + extra)


def _expressions(problem: Problem) -> Iterable[tuple[str, sympy.Basic]]:
    """(key, expression) for every formula a check of the problem compiles."""
    from gradcheck.parsing import TEACHER_LIMITS, parse_expression

    for stage in problem.stages:
        yield f"graph.{stage.name}", stage.expr
    for q in problem.questions:
        yield f"questions.{q.id}.of", q.of_expr
        if q.answer is not None and q.kind == "expression":
            try:
                yield (f"questions.{q.id}.answer",
                       parse_expression(q.answer, problem.names(), limits=TEACHER_LIMITS))
            except ExpressionError:
                continue  # the check says what is wrong with it


def refusals(problem: Problem, backends: Sequence[str]) -> list[Refusal]:
    """Every (key, backend, function) of ``problem`` that a backend in ``backends`` lacks.

    Derivatives add no function that the registry refuses (the derivative of ``Ei`` is
    ``exp(x)/x``, of ``besselj`` another ``besselj``), so the problem's own formulas tell.
    """
    if problem.arrays is not None:  # vectors and matrices: their own compiler and checks
        return []
    families = {name: REGISTRY[name].family for name in backends if name in REGISTRY}
    if not families or set(families.values()) == {"numpy"}:
        return []
    extra = max((q.order for q in problem.questions), default=0)
    found = []
    for key, expr in _expressions(problem):
        for name, family in families.items():
            for function, reason in ops.refused_in(expr, family).items():
                found.append(Refusal(problem.path, key, name, function, reason))
            if family == "torch":  # orders torch cannot compute, read from the formula
                for node, reason in _torch_orders(expr, extra):
                    found.append(Refusal(problem.path, key, name, str(node), reason))
    return found


def _torch_orders(expr: sympy.Basic, extra: int) -> list[tuple[sympy.Basic, str]]:
    from gradcheck.backends.torch_ops import refused_order  # torch itself is not imported

    out = []
    for node in expr.atoms(sympy.besseli, sympy.besselk, sympy.polygamma):
        reason = refused_order(node, extra)
        if reason is not None:
            out.append((node, reason))
    return sorted(out, key=lambda item: sympy.default_sort_key(item[0]))


def check_backends(problems: Iterable[Problem], backends: Sequence[str]) -> None:
    """Refuse a run on ``backends`` of problems that use a function one of them lacks.

    Raises:
        UnsupportedFunctionError: names the first file, key, function and backend, and
            how many more there are.
    """
    found = [r for p in problems for r in refusals(p, backends)]
    if found:
        raise found[0].error(len(found) - 1)
