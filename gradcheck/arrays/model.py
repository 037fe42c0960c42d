"""Array problems: symbols with a shape, stages and answers with numpy semantics.

The loader hands a problem file here when a symbol declares a ``shape`` or ``fixed``.
Every matrix symbol becomes a matrix of real scalar symbols (``W`` 3x2 -> ``W__0_0`` ...
``W__2_1``; the double underscore cannot clash with a problem's own names), every stage
a matrix of scalar expressions, and derivatives are taken entry by entry on those
explicit matrices: never by SymPy's MatrixSymbol calculus, which FINDINGS.md shows is
silently wrong on log det and softmax cross-entropy. The result is an ordinary
``Problem`` whose ``symbols`` are the free entries (so points, seeds and reports work
unchanged) and whose ``arrays`` holds this model.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import sympy
from sympy import ImmutableMatrix as Matrix

from gradcheck.arrays import algebra as A
from gradcheck.arrays.reader import CONSTANTS, FUNCTION_NAMES, TEACHER_LIMITS, read
from gradcheck.errors import ExpressionError
from gradcheck.problem import DEFAULT_DOMAIN, AnswerTest, Problem, Question, SymbolSpec, sym
from gradcheck.tolerances import Tolerance

SYMBOL_KEYS = {"value", "domain", "description", "shape", "fixed"}
QUESTION_KEYS = {"id", "of", "wrt", "kind", "answer", "prompt", "tolerance", "accept", "reject"}
TEST_KEYS = {"answer", "diagnosis"}
DIAGNOSES = ("transposed", "symmetric-only", "sign", "factor", "missing-term", "batch-sum",
             "elementwise", "matmul", "transposed-jacobian", "wrt", "forward")
MAX_ENTRIES = 400          # free entries in one problem: derivation cost grows with them
MAX_SIDE = 12


@dataclass(frozen=True)
class ArraySymbol:
    """An input: its shape, entry domains, value, and whether it is fixed data."""

    name: str
    shape: tuple[int, int]
    domains: tuple[tuple[float, float], ...]     # one per entry, row-major
    value: Matrix | None
    fixed: bool
    description: str = ""
    vector: bool = False                          # declared as shape = [n]

    @property
    def entries(self) -> Matrix:
        """The matrix of its entry symbols, or its value when fixed."""
        if self.fixed:
            assert self.value is not None
            return self.value
        return entry_symbols(self.name, self.shape)


@dataclass(frozen=True)
class ArrayStage:
    name: str
    text: str
    local: Matrix        # over entry symbols of symbols and earlier stages
    shape: tuple[int, int]


@dataclass(frozen=True)
class ArrayQuestion:
    id: str
    of: str
    wrt: str
    kind: str
    answer: str | None
    shape: tuple[int, int]           # the shape a right answer has
    jacobian: bool                   # of is not 1x1: numerator layout out x in


@dataclass(frozen=True)
class ArrayModel:
    symbols: tuple[ArraySymbol, ...]
    stages: tuple[ArrayStage, ...]
    questions: tuple[ArrayQuestion, ...]
    composed: Mapping[str, Matrix] = field(default_factory=dict)   # stage -> over inputs only
    # Derived tables (names, stage maps), built once per model on first use: they depend on
    # the fields above only, and rebuilding them for every answer was most of its CPU.
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its derived tables (rebuilt on first use where it lands)."""
        return {**self.__dict__, "_memo": {}}

    def symbol(self, name: str) -> ArraySymbol | None:
        return next((s for s in self.symbols if s.name == name), None)

    def stage(self, name: str) -> ArrayStage | None:
        return next((s for s in self.stages if s.name == name), None)

    def question(self, qid: str) -> ArrayQuestion:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def shape_of(self, name: str) -> tuple[int, int]:
        found = self.symbol(name) or self.stage(name)
        assert found is not None
        return found.shape

    def local_names(self) -> dict[str, Matrix]:
        """Names an expression may use: symbols (fixed ones as values) and stages (their entries)."""
        names = self._memo.get("local_names")
        if names is None:
            names = {s.name: s.entries for s in self.symbols}
            names.update({s.name: entry_symbols(s.name, s.shape) for s in self.stages})
            self._memo["local_names"] = names
        return dict(names)

    def input_names(self) -> dict[str, Matrix]:
        """Names mapped to matrices over the free inputs only (stages composed)."""
        names = {s.name: s.entries for s in self.symbols}
        names.update(self.composed)
        return names

    @property
    def inputs(self) -> tuple[sympy.Symbol, ...]:
        return tuple(v for s in self.symbols if not s.fixed for v in s.entries)

    def compose(self, m: Matrix, keep: str | None = None) -> Matrix:
        """Replace stage entries by their definitions over the inputs (except stage ``keep``)."""
        mapping = self.stage_map(keep)
        return Matrix(m.rows, m.cols, [v.xreplace(mapping) for v in m])

    def stage_map(self, keep: str | None = None) -> Mapping[sympy.Symbol, sympy.Expr]:
        """Stage entry -> its definition over the inputs (stage ``keep`` left as its entries)."""
        key = ("stage_map", keep)
        mapping = self._memo.get(key)
        if mapping is None:
            mapping = self._memo[key] = MappingProxyType(self._stage_map(keep))
        return mapping

    def _stage_map(self, keep: str | None) -> dict[sympy.Symbol, sympy.Expr]:
        mapping: dict[sympy.Symbol, sympy.Expr] = {}
        for stage in self.stages:
            entries = entry_symbols(stage.name, stage.shape)
            if stage.name == keep:
                continue
            for symbol, local in zip(entries, stage.local, strict=True):
                mapping[symbol] = local.xreplace(mapping)
        return mapping


def entry_name(name: str, shape: tuple[int, int], i: int, j: int) -> str:
    if shape == (1, 1):
        return name
    if shape[1] == 1:
        return f"{name}__{i}"
    return f"{name}__{i}_{j}"


def entry_symbols(name: str, shape: tuple[int, int]) -> Matrix:
    rows, cols = shape
    return Matrix(rows, cols, [sym(entry_name(name, shape, i, j)) for i in range(rows) for j in range(cols)])


# -- loading ------------------------------------------------------------------------------------

def is_array_problem(data: Mapping[str, Any]) -> bool:
    symbols = data.get("symbols")
    if not isinstance(symbols, dict):
        return False
    for spec in symbols.values():
        if isinstance(spec, dict) and (spec.get("shape") not in (None, [], 1, [1]) or spec.get("fixed")):
            return True
    return False


class _Reader:
    """Reads one array problem; ``file`` is the loader's _File (errors name file and key)."""

    def __init__(self, file: Any) -> None:
        self.file = file

    def error(self, key: str, message: str, hint: str = "") -> Exception:
        return self.file.error(key, message, hint)

    def shape(self, raw: Any, key: str) -> tuple[tuple[int, int], bool]:
        if raw in (None, [], 1, [1]):
            return (1, 1), False
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = [raw]
        ok = isinstance(raw, list) and 1 <= len(raw) <= 2 and all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_SIDE for n in raw)
        if not ok:
            raise self.error(key, f"must be [n] (a column vector) or [rows, cols], with sides from 1 to "
                             f"{MAX_SIDE}, not {raw!r}",
                             "declare a small size: the truth is derived entry by entry")
        return ((raw[0], 1), True) if len(raw) == 1 else ((raw[0], raw[1]), False)

    def number(self, value: Any, key: str) -> sympy.Expr:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must hold numbers, not {value!r}")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(key, f"must be finite, not {value!r}")
            return sympy.Rational(repr(value))
        if abs(value) > 10**15:
            raise self.error(key, f"{value} is too large", "use numbers of a sensible size")
        return sympy.Integer(value)

    def value(self, raw: Any, shape: tuple[int, int], key: str) -> Matrix:
        rows, cols = shape
        if not isinstance(raw, list):
            if shape == (1, 1):
                return A.scalar(self.number(raw, key))
            raise self.error(key, f"must be a list for shape {rows}x{cols}, not {raw!r}")
        if cols == 1 and all(not isinstance(v, list) for v in raw):
            flat = raw
        elif all(isinstance(r, list) for r in raw):
            flat = [v for r in raw for v in r]
            if len(raw) != rows or any(len(r) != cols for r in raw):
                raise self.error(key, f"has the wrong shape: expected {rows} rows of {cols}",
                                 "write one list per row")
        else:
            raise self.error(key, "must be a flat list (a vector) or a list of rows")
        if len(flat) != rows * cols:
            raise self.error(key, f"has {len(flat)} entries; shape {rows}x{cols} needs {rows * cols}")
        return Matrix(rows, cols, [self.number(v, key) for v in flat])

    def domains(self, raw: Any, shape: tuple[int, int], key: str) -> tuple[tuple[float, float], ...]:
        n = shape[0] * shape[1]
        if raw is None:
            return (DEFAULT_DOMAIN,) * n

        def interval(pair: Any) -> tuple[float, float] | None:
            if (isinstance(pair, list) and len(pair) == 2
                    and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)):
                lo, hi = float(pair[0]), float(pair[1])
                if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                    raise self.error(key, f"interval {pair!r} must be [low, high] with low < high, finite")
                return (lo, hi)
            return None

        single = interval(raw)
        if single is not None:
            return (single,) * n
        flat: list[Any] = []
        if isinstance(raw, list):
            for item in raw:
                if interval(item) is not None:
                    flat.append(item)
                elif isinstance(item, list):
                    flat.extend(item)
        pairs = [interval(p) for p in flat]
        if len(pairs) != n or any(p is None for p in pairs):
            raise self.error(key, f"must be [low, high], or one [low, high] per entry ({n} for shape "
                             f"{shape[0]}x{shape[1]})")
        return tuple(p for p in pairs if p is not None)

    def expression(self, text: Any, names: Mapping[str, Matrix], key: str) -> Matrix:
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            raise self.error(key, f"must be an expression in a string, not {text!r}")
        try:
            return read(str(text), names, limits=TEACHER_LIMITS).value
        except ExpressionError as exc:
            raise self.error(key, f"cannot read {text!r}: {exc.message}",
                             "write a numpy-style array expression over the problem's symbols and stages "
                             "(see problems/README.md)") from None


def _check_name(file: Any, name: str, key: str) -> None:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or "__" in name or keyword.iskeyword(name):
        raise file.error(key, f"{name!r} is not a usable name",
                         "use a letter followed by letters, digits or single underscores")
    if name in FUNCTION_NAMES or name in CONSTANTS or name == "T":
        raise file.error(key, f"{name!r} is the name of a function or constant in array expressions",
                         "choose another name")


def load(file: Any, data: Mapping[str, Any], *, pid: str, title: str, source: str, statement: str,
         tolerance: Tolerance | None, hide_expected: bool = False) -> Problem:
    """An array problem file -> a Problem whose ``arrays`` is the model (see the module doc)."""
    check_name = _check_name
    r = _Reader(file)
    symbols = _symbols(r, data.get("symbols"), check_name)
    stages = _stages(r, data.get("graph", {}), symbols, check_name)
    model = ArrayModel(symbols=symbols, stages=stages, questions=())
    model = ArrayModel(symbols=symbols, stages=stages, questions=(),
                       composed={s.name: model.compose(entry_symbols(s.name, s.shape)) for s in stages})
    questions, array_questions = _questions(r, data.get("questions"), model)
    model = ArrayModel(symbols=symbols, stages=stages, questions=array_questions,
                       composed=model.composed)
    specs = []
    for s in symbols:
        if s.fixed:
            continue
        for k, entry in enumerate(s.entries):
            value = None if s.value is None else float(s.value[k])
            specs.append(SymbolSpec(name=str(entry), value=value, domain=s.domains[k],
                                    description=s.description))
    return Problem(id=pid, title=title, path=file.path, symbols=tuple(specs), stages=(),
                   questions=questions, source=source, statement=statement, tolerance=tolerance,
                   hide_expected=hide_expected, arrays=model)


def _symbols(r: _Reader, table: Any, check_name: Any) -> tuple[ArraySymbol, ...]:
    if not isinstance(table, dict) or not table:
        raise r.error("symbols", "is required: at least one [symbols.NAME] table")
    out = []
    total = 0
    for name, spec in table.items():
        key = f"symbols.{name}"
        check_name(r.file, name, key)
        if not isinstance(spec, dict):
            raise r.error(key, "must be a table")
        r.file.check_keys(spec, SYMBOL_KEYS, key)
        shape, vector = r.shape(spec.get("shape"), f"{key}.shape")
        fixed = spec.get("fixed", False)
        if not isinstance(fixed, bool):
            raise r.error(f"{key}.fixed", f"must be true or false, not {fixed!r}")
        value = r.value(spec["value"], shape, f"{key}.value") if "value" in spec else None
        if fixed and value is None:
            raise r.error(f"{key}.value", "is required for a fixed symbol (data keeps its value)",
                          "give value = [...] or drop fixed = true")
        domains = r.domains(spec.get("domain"), shape, f"{key}.domain")
        if not fixed:
            total += shape[0] * shape[1]
        out.append(ArraySymbol(name=name, shape=shape, domains=domains, value=value, fixed=fixed,
                               description=r.file.string(spec, "description", f"{key}.description"),
                               vector=vector))
    if total > MAX_ENTRIES:
        raise r.error("symbols", f"declares {total} free entries; at most {MAX_ENTRIES} can be derived "
                      "entry by entry in reasonable time", "declare smaller shapes, or mark data fixed = true")
    return tuple(out)


def _stages(r: _Reader, table: Any, symbols: tuple[ArraySymbol, ...],
            check_name: Any) -> tuple[ArrayStage, ...]:
    if not isinstance(table, dict):
        raise r.error("graph", "must be a table of stage = \"expression\"")
    names: dict[str, Matrix] = {s.name: s.entries for s in symbols}
    stages = []
    for name, text in table.items():
        key = f"graph.{name}"
        check_name(r.file, name, key)
        if name in names:
            raise r.error(key, f"{name!r} is both a symbol and a stage", "rename the stage")
        local = r.expression(text, names, key)
        stages.append(ArrayStage(name=name, text=str(text), local=local, shape=local.shape))
        names[name] = entry_symbols(name, local.shape)
    return tuple(stages)


def _questions(r: _Reader, items: Any,
               model: ArrayModel) -> tuple[tuple[Question, ...], tuple[ArrayQuestion, ...]]:
    if not isinstance(items, list) or not items:
        raise r.error("questions", "is required: at least one [[questions]] table")
    names = model.local_names()
    questions, arrays = [], []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise r.error(f"questions[{index}]", "must be a table")
        qid = r.file.string(item, "id", f"questions[{index}].id", required=True)
        key = f"questions.{qid}"
        if qid in seen:
            raise r.error(f"{key}.id", f"duplicate question id {qid!r}")
        seen.add(qid)
        r.file.check_keys(item, QUESTION_KEYS, key)
        of = r.file.string(item, "of", f"{key}.of", required=True)
        of_value = r.expression(of, names, f"{key}.of")
        wrt = item.get("wrt")
        if not isinstance(wrt, str):
            raise r.error(f"{key}.wrt", f"must name one symbol or stage, not {wrt!r}",
                          "array questions ask first derivatives with respect to one array")
        target = model.symbol(wrt)
        if model.stage(wrt) is None and (target is None or target.fixed):
            free = [s.name for s in model.symbols if not s.fixed] + [s.name for s in model.stages]
            raise r.error(f"{key}.wrt", f"{wrt!r} is not a free symbol or a stage",
                          "the names here are " + ", ".join(free))
        wshape = model.shape_of(wrt)
        jacobian = of_value.shape != (1, 1)
        if jacobian and not (1 in of_value.shape and 1 in wshape):
            raise r.error(f"{key}.of", f"a Jacobian of a {A.shape_text(of_value)} value with respect to a "
                          f"{A.shape_text(A.full(*wshape, 0))} array would have four indices",
                          "ask for the gradient of a scalar, or the Jacobian of a vector w.r.t. a vector")
        shape = (len(of_value), len(A.full(*wshape, 0))) if jacobian else wshape
        kind = item.get("kind", "expression")
        if kind not in ("expression", "value"):
            raise r.error(f"{key}.kind", f"is {kind!r}", 'use "expression" or "value"')
        if kind == "value" and any(s.value is None for s in model.symbols):
            missing = [s.name for s in model.symbols if s.value is None]
            raise r.error(f"{key}.kind", "a value question needs a value for every symbol; without one: "
                          + ", ".join(missing))
        answer = item.get("answer")
        if answer is not None:
            answer = answer if isinstance(answer, str) else _literal_text(answer)
            got = r.expression(answer, names, f"{key}.answer")
            if got.shape != shape and not (got.shape == (1, 1) and kind == "value" and shape == (1, 1)):
                raise r.error(f"{key}.answer", f"is {A.shape_text(got)} but the question's answer is "
                              f"{shape[0]}x{shape[1]}")
        tests = _tests(r, item, key)
        arrays.append(ArrayQuestion(id=qid, of=of, wrt=wrt, kind=kind, answer=answer, shape=shape,
                                    jacobian=jacobian))
        of_expr = sympy.Symbol(of) if of.isidentifier() else sympy.S.Zero
        questions.append(Question(id=qid, of=of, of_expr=of_expr,
                                  wrt=(wrt,), kind=kind, answer=answer,
                                  prompt=r.file.string(item, "prompt", f"{key}.prompt"), tests=tests))
    return tuple(questions), tuple(arrays)


def _literal_text(value: Any) -> str:
    return str(value).replace("'", "")


def _tests(r: _Reader, item: Mapping[str, Any], key: str) -> tuple[AnswerTest, ...]:
    tests = []
    for expect in ("accept", "reject"):
        entries = item.get(expect, [])
        if not isinstance(entries, list):
            raise r.error(f"{key}.{expect}", "must be a list of tables")
        for index, entry in enumerate(entries):
            where = f"{key}.{expect}[{index}]"
            if not isinstance(entry, dict):
                raise r.error(where, "must be a table")
            r.file.check_keys(entry, TEST_KEYS, where)
            answer = entry.get("answer")
            if isinstance(answer, bool) or not isinstance(answer, str | int | float | list):
                raise r.error(f"{where}.answer", "is required: a string or a number")
            diagnosis = entry.get("diagnosis")
            if diagnosis is not None and (expect == "accept" or diagnosis not in DIAGNOSES):
                raise r.error(f"{where}.diagnosis", f"{diagnosis!r} is not allowed here",
                              "known array diagnoses are " + ", ".join(DIAGNOSES))
            text = answer if isinstance(answer, str) else _literal_text(answer)
            tests.append(AnswerTest(answer=text, expect=expect, diagnosis=diagnosis))
    return tuple(tests)
