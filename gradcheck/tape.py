"""Compile SymPy expressions to a tape: a straight-line program any backend can run.

A tape lists instructions in evaluation order; each reads earlier slots. Equal
subexpressions share one slot (common-subexpression elimination by hashing), so a
function and all its derivatives cost one pass. No code is generated and nothing
is ``exec``'d: a backend is a table from op name to array function, and running a
tape is a loop over its instructions (not over points: every op is vectorised).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy

from gradcheck import ops
from gradcheck.errors import UnsupportedFunctionError

# SymPy class -> op name, and the ops the complex step may not go through: both read from
# the op registry (gradcheck.ops). What is not there (and not handled in _node) cannot be compiled.
_SYMPY_OPS = ops.sympy_ops()
FUNCTION_OPS: dict[type, str] = {cls: op.name for cls, op in _SYMPY_OPS.items()}
NON_ANALYTIC = frozenset(op.name for op in ops.OPS if not op.analytic)


@dataclass(frozen=True)
class Instruction:
    """``op`` applied to the slots ``args``; ``param`` holds an op's constant (exponent, value)."""

    op: str
    args: tuple[int, ...] = ()
    param: Any = None


@dataclass(frozen=True)
class Tape:
    """A straight-line program: slots 0..n_inputs-1 are the inputs, in order."""

    n_inputs: int
    instructions: tuple[Instruction, ...]
    outputs: tuple[int, ...]

    @property
    def ops(self) -> frozenset[str]:
        return frozenset(i.op for i in self.instructions)

    @property
    def analytic(self) -> bool:
        """True when every op is analytic, so the complex-step derivative is exact."""
        return not (self.ops & NON_ANALYTIC)


def build_tape(exprs: Sequence[sympy.Expr], inputs: Sequence[sympy.Symbol],
               bindings: Sequence[tuple[sympy.Symbol, sympy.Expr]] = ()) -> Tape:
    """Compile expressions over ``inputs`` to one shared tape.

    ``bindings`` is a straight-line program, ``(symbol, expr)`` in evaluation order: each
    expr may use the inputs and the symbols bound before it, and each symbol then reads
    its slot. A deep graph compiles this way in time linear in its size, where the
    expression with every stage substituted in can grow exponentially.

    Raises:
        UnsupportedFunctionError: for any function outside the table (backend "tape").
    """
    builder = _Builder(inputs)
    for symbol, expr in bindings:
        builder.slots[symbol] = builder.slot(sympy.sympify(expr))
    outputs = tuple(builder.slot(sympy.sympify(e)) for e in exprs)
    return Tape(len(inputs), tuple(builder.instructions), outputs)


class _Builder:
    def __init__(self, inputs: Sequence[sympy.Symbol]) -> None:
        self.instructions: list[Instruction] = [Instruction("input", (), i) for i in range(len(inputs))]
        self.slots: dict[Any, int] = {s: i for i, s in enumerate(inputs)}

    def emit(self, key: Any, instruction: Instruction) -> int:
        if key not in self.slots:
            self.slots[key] = len(self.instructions)
            self.instructions.append(instruction)
        return self.slots[key]

    def slot(self, expr: Any) -> int:
        if expr in self.slots:
            return self.slots[expr]
        row = _SYMPY_OPS.get(getattr(expr, "func", None))  # type: ignore[arg-type]
        if row is not None and row.rewrite is not None:
            self.slots[expr] = self.slot(row.rewrite(*expr.args))
            return self.slots[expr]
        return self.emit(expr, self._node(expr))

    def const(self, value: Any) -> int:
        return self.emit(("const", value), Instruction("const", (), value))

    def _node(self, expr: Any) -> Instruction:
        if expr is sympy.true or expr is sympy.false:
            return Instruction("const", (), bool(expr))
        if isinstance(expr, sympy.Symbol):
            raise UnsupportedFunctionError("tape", f"the free symbol {expr}",
                                           "it is not one of the inputs")
        if expr.is_Number or isinstance(expr, sympy.NumberSymbol):
            return Instruction("const", (), float(expr))
        if isinstance(expr, sympy.Add):
            return Instruction("add", self._args(expr.args))
        if isinstance(expr, sympy.Mul):
            return self._mul(expr)
        if isinstance(expr, sympy.Pow):
            return self._pow(expr)
        if isinstance(expr, sympy.Piecewise):
            args = [self.slot(part) for pair in expr.args for part in pair]
            return Instruction("piecewise", tuple(args))
        op = FUNCTION_OPS.get(expr.func)
        if op is None:
            raise UnsupportedFunctionError("tape", _name(expr), str(expr)[:80])
        return Instruction(op, self._args(expr.args))

    def _args(self, args: Sequence[Any]) -> tuple[int, ...]:
        return tuple(self.slot(a) for a in args)

    def _mul(self, expr: sympy.Mul) -> Instruction:
        coeff, rest = expr.as_coeff_Mul()
        if coeff == -1:
            return Instruction("neg", (self.slot(rest),))
        return Instruction("mul", self._args(expr.args))

    def _pow(self, expr: sympy.Pow) -> Instruction:
        base, exp = expr.args
        if exp == sympy.S.Half:
            return Instruction("sqrt", (self.slot(base),))
        if exp == -1:
            return Instruction("reciprocal", (self.slot(base),))
        if exp.is_Integer:
            return Instruction("powi", (self.slot(base),), int(exp))
        if base == sympy.E:
            return Instruction("exp", (self.slot(exp),))
        return Instruction("pow", (self.slot(base), self.slot(exp)))


def _name(expr: Any) -> str:
    func = getattr(expr, "func", type(expr))
    return getattr(func, "__name__", str(func))


Table = Mapping[str, Callable[..., Any]]


def run_tape(tape: Tape, table: Table, inputs: Sequence[Any], const: Callable[[Any], Any],
             backend: str, refused: Mapping[str, str] | None = None) -> list[Any]:
    """Evaluate a tape with a backend's op table; returns the output values.

    ``const`` turns a Python constant into the backend's scalar (a float, a tensor);
    ``refused`` says why the table lacks an op (from the registry), for the message.

    Raises:
        UnsupportedFunctionError: when the table lacks an op the tape uses.
    """
    missing = sorted(op for op in tape.ops if op not in table and op not in ("input", "const"))
    if missing:
        reasons = [(refused or {}).get(op, "") for op in missing]
        raise UnsupportedFunctionError(backend, ", ".join(missing),
                                       reason="; ".join(r for r in reasons if r))
    values: list[Any] = []
    for ins in tape.instructions:
        if ins.op == "input":
            values.append(inputs[ins.param])
        elif ins.op == "const":
            values.append(const(ins.param))
        elif ins.op == "powi":
            values.append(table["powi"](values[ins.args[0]], ins.param))
        else:
            values.append(table[ins.op](*(values[a] for a in ins.args)))
    return [values[o] for o in tape.outputs]
