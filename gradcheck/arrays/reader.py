"""Read array expressions (numpy semantics) into explicit SymPy matrices, never executing text.

A tokenizer and a recursive-descent parser, like ``gradcheck.parsing`` for scalars, but
every value is a 2-D matrix of scalar expressions and every operation follows numpy:
``A @ B``, ``A * B`` (elementwise, broadcasting), ``A.T``, ``sum(A, axis=0)`` (keepdims),
``X[:, 0]``, literals ``[1, 2, 3]`` (a column) and ``[[1, 2], [3, 4]]`` (rows).

Student notation (``student=True``) adds what cannot be misread: juxtaposition as the
matrix product (``2X^T(Xw - y)``: a scalar times anything is a scalar product, two
matrices side by side are a matrix product), ``^T``, ``'`` and ``ᵀ`` for the transpose,
``⊙`` for the elementwise product, ``X^{-1}`` / ``X^-1`` / ``X⁻¹`` for the inverse of a
square matrix, ``·`` and ``×`` as ``*``, and names run together (``Xw``) when every piece
is a known name. What was read comes back as text (``understood_as``) with every
product explicit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy
from sympy import ImmutableMatrix as Matrix

from gradcheck.arrays import algebra as A
from gradcheck.arrays.algebra import ShapeError
from gradcheck.errors import ExpressionError

GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "η": "eta",
         "θ": "theta", "λ": "lambda", "μ": "mu", "ν": "nu", "ρ": "rho", "σ": "sigma", "τ": "tau",
         "φ": "phi", "ω": "omega"}
ALIASES = {"lambda": ("lam", "lmbda", "lmb"), "sigma": (), "mu": ()}
SUPERSCRIPT_DIGITS = {"²": 2, "³": 3}
UNARY: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "sqrt": sympy.sqrt,
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "tanh": sympy.tanh,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "abs": sympy.Abs, "Abs": sympy.Abs,
    "sign": sympy.sign, "Heaviside": sympy.Heaviside, "heaviside": sympy.Heaviside,
    "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
    "relu": lambda x: sympy.Max(x, 0),
    "softplus": lambda x: sympy.log(1 + sympy.exp(x)),
    "erf": sympy.erf,
}
REDUCTIONS = {"sum": A.total, "mean": A.mean, "logsumexp": A.logsumexp, "softmax": A.softmax,
              "log_softmax": A.log_softmax}
LINALG = {"trace": A.trace, "det": A.det, "logdet": A.logdet, "inv": A.inv, "norm": A.norm,
          "diag": A.diag, "diagonal": A.diagonal, "transpose": A.transpose}
FUNCTION_NAMES = frozenset({*UNARY, *REDUCTIONS, *LINALG, "max", "min", "Max", "Min", "outer",
                            "dot", "ones", "zeros", "eye", "onehot"})
CONSTANTS = {"pi": sympy.pi, "e": sympy.E, "E": sympy.E}


@dataclass(frozen=True)
class Limits:
    """Bounds on untrusted text: what a student may type. Teachers get generous ones."""

    max_length: int = 2000
    max_depth: int = 60
    max_entries: int = 4096
    max_exponent: int = 64
    max_digits: int = 30


TEACHER_LIMITS = Limits(max_length=20_000, max_depth=200, max_entries=20_000, max_exponent=10_000,
                        max_digits=200)


@dataclass(frozen=True)
class Reading:
    """An array expression as read: its value, and the text with every operation explicit."""

    value: Matrix
    text: str

    @property
    def shape(self) -> tuple[int, int]:
        return self.value.shape


@dataclass(frozen=True)
class _Val:
    m: Matrix
    text: str
    prec: int   # 1 sum, 2 product, 3 unary minus, 4 power, 5 atom


@dataclass(frozen=True)
class _Tok:
    kind: str   # num, name, op, end
    value: str
    pos: int


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<num>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|\.T\b|[-+*/@^(),\[\]:='{}])
""", re.VERBOSE)
_UNICODE_OPS = {"−": "-", "–": "-", "·": "*", "×": "*", "⊙": "⊙", "ᵀ": "ᵀ", "⁻": "⁻", "¹": "¹",
                "²": "²", "³": "³", "∘": "⊙"}


def tokenize(text: str, student: bool) -> list[_Tok]:
    tokens: list[_Tok] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if student and ch in _UNICODE_OPS:
            tokens.append(_Tok("op", _UNICODE_OPS[ch], i))
            i += 1
            continue
        if student and ch in GREEK:
            tokens.append(_Tok("name", GREEK[ch], i))
            i += 1
            continue
        match = _TOKEN.match(text, i)
        if match is None:
            raise ExpressionError(f"unexpected character {ch!r} at position {i}", i)
        kind = match.lastgroup or ""
        if kind != "space":
            value = match.group()
            if kind == "op" and not student and value in ("^", "'", "{", "}"):
                raise ExpressionError(f"{value!r} at position {i} is student notation; in a problem "
                                      "file write ** for powers and .T for the transpose", i)
            tokens.append(_Tok(kind, value, i))
        i = match.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


def _split(word: str, known: frozenset[str]) -> list[str] | None:
    """``Xw`` -> ``[X, w]`` when every piece is a known name (longest pieces first)."""
    if word in known:
        return [word]
    for cut in range(len(word) - 1, 0, -1):
        head = word[:cut]
        if head in known:
            rest = _split(word[cut:], known)
            if rest is not None:
                return [head, *rest]
    return None


class _Parser:
    def __init__(self, text: str, names: Mapping[str, Matrix], student: bool, limits: Limits,
                 swap_products: bool) -> None:
        self.names = names
        self.student = student
        self.limits = limits
        self.swap = swap_products
        self.tokens = self._resolve(tokenize(text, student))
        self.i = 0
        self.depth = 0

    # -- names ---------------------------------------------------------------------------
    def _lookup_name(self, word: str) -> str | None:
        if word in self.names:
            return word
        for alias in ALIASES.get(word, ()):
            if alias in self.names:
                return alias
        for full, aliases in ALIASES.items():
            if word in aliases and full in self.names:
                return full
        return None

    def _resolve(self, tokens: list[_Tok]) -> list[_Tok]:
        known = frozenset({*self.names, *FUNCTION_NAMES, *CONSTANTS})
        out: list[_Tok] = []
        for k, tok in enumerate(tokens):
            after_caret = k > 0 and tokens[k - 1].value == "^" and tok.value == "T"
            keyword = tokens[k + 1].value == "=" if k + 1 < len(tokens) else False
            if (tok.kind != "name" or tok.value in known or self._lookup_name(tok.value)
                    or after_caret or keyword):
                out.append(tok)
                continue
            if tok.value == "sigma" and "sigma" not in self.names:
                out.append(_Tok("name", "sigmoid", tok.pos))
                continue
            pieces = _split(tok.value, known) if self.student else None
            if pieces is None:
                raise ExpressionError(self._unknown(tok.value, tok.pos), tok.pos)
            pos = tok.pos
            for piece in pieces:
                out.append(_Tok("name", piece, pos))
                pos += len(piece)
        return out

    def _unknown(self, word: str, pos: int) -> str:
        names = ", ".join(sorted(self.names)) or "none"
        return f"unknown name {word!r} at position {pos}; the names you can use here are {names}"

    # -- tokens ----------------------------------------------------------------------------
    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> _Tok:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def take(self, value: str | None = None) -> _Tok:
        tok = self.tok
        if value is not None and tok.value != value:
            found = f"{tok.value!r}" if tok.kind != "end" else "the end"
            raise ExpressionError(f"expected {value!r} at position {tok.pos}, found {found}", tok.pos)
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in values

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise ExpressionError(f"the expression is nested more than {self.limits.max_depth} deep",
                                  self.tok.pos, limit="nesting")

    def check(self, v: _Val, pos: int) -> _Val:
        if len(v.m) > self.limits.max_entries:
            raise ExpressionError(f"a value with {len(v.m)} entries is larger than allowed "
                                  f"({self.limits.max_entries})", pos, limit="size")
        return v

    def shape_error(self, exc: ShapeError, pos: int, hint: str = "") -> ExpressionError:
        return ExpressionError(f"{exc}{hint} (at position {pos})", pos, limit="shape")

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> _Val:
        v = self.expr()
        if self.tok.kind != "end":
            raise ExpressionError(f"unexpected {self.tok.value!r} at position {self.tok.pos}", self.tok.pos)
        return v

    def expr(self) -> _Val:
        self.enter()
        left = self.product()
        while self.at("+", "-"):
            op = self.take()
            right = self.product()
            f = A.add if op.value == "+" else A.sub
            try:
                m = f(left.m, right.m)
            except ShapeError as exc:
                raise self.shape_error(exc, op.pos) from None
            rtext = right.text if right.prec > 1 or op.value == "+" else f"({right.text})"
            left = self.check(_Val(m, f"{left.text} {op.value} {rtext}", 1), op.pos)
        self.depth -= 1
        return left

    def _starts_operand(self) -> bool:
        tok = self.tok
        if tok.kind in ("num", "name"):
            return True
        return tok.kind == "op" and tok.value in ("(", "[")

    def product(self) -> _Val:
        left = self.unary()
        while True:
            if self.at("*", "/", "@", "⊙"):
                op = self.take()
                right = self.unary()
                left = self.combine(left, op.value, right, op.pos)
            elif self.student and self._starts_operand():
                pos = self.tok.pos
                right = self.unary()
                left = self.combine(left, "juxtaposed", right, pos)
            else:
                return left

    def combine(self, left: _Val, op: str, right: _Val, pos: int) -> _Val:
        scalar_side = A.is_scalar(left.m) or A.is_scalar(right.m)
        if op == "juxtaposed":
            op = "*" if scalar_side else "@"
        elif op == "⊙":
            op = "*"
        if self.swap and not scalar_side and op in ("*", "@"):
            op = "@" if op == "*" else "*"
        lt = left.text if left.prec >= 2 else f"({left.text})"
        rt = right.text if right.prec > 2 else f"({right.text})"
        try:
            if op == "@":
                m = A.matmul(left.m, right.m)
            elif op == "*":
                m = A.mul(left.m, right.m)
            else:
                m = A.div(left.m, right.m)
        except ShapeError as exc:
            hint = ""
            if op == "@":
                hint = self._matmul_hint(left, right)
            raise self.shape_error(exc, pos, hint) from None
        return self.check(_Val(m, f"{lt} {op} {rt}", 2), pos)

    @staticmethod
    def _matmul_hint(left: _Val, right: _Val) -> str:
        def t(v: _Val) -> str:
            return v.text if v.prec >= 5 else f"({v.text})"
        options = [(left.m.T, right.m, f"{t(left)}.T @ {right.text}"),
                   (left.m, right.m.T, f"{left.text} @ {t(right)}.T"),
                   (right.m, left.m, f"{right.text} @ {left.text}")]
        for a, b, text in options:
            if a.cols == b.rows:
                return f"; did you mean {text}?"
        return ""

    def unary(self) -> _Val:
        if self.at("-", "+"):
            op = self.take()
            self.enter()
            v = self.unary()
            self.depth -= 1
            if op.value == "+":
                return v
            text = v.text if v.prec >= 3 else f"({v.text})"
            return _Val(A.neg(v.m), f"-{text}", 3)
        return self.power()

    def power(self) -> _Val:
        base = self.postfix()
        if self.at("**", "^"):
            op = self.take()
            if self.student and op.value == "^" and not A.is_scalar(base.m) and self._inverse_follows():
                return self.postfix_loop(self._inverse(base, op.pos))
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            self._bound_exponent(exponent, op.pos)
            try:
                m = A.power(base.m, exponent.m)
            except ShapeError as exc:
                raise self.shape_error(exc, op.pos) from None
            bt = base.text if base.prec >= 5 else f"({base.text})"
            et = exponent.text if exponent.prec >= 5 else f"({exponent.text})"
            return self.check(_Val(m, f"{bt}**{et}", 4), op.pos)
        return base

    def _inverse_follows(self) -> bool:
        """``^{-1}``, ``^-1`` or ``^(-1)`` after a matrix: its inverse (student notation)."""
        vals = [self.peek(k).value for k in range(4)]
        return vals[:3] == ["-", "1", ""] or vals[:4] in (["{", "-", "1", "}"], ["(", "-", "1", ")"]) \
            or (vals[0] == "-" and vals[1] == "1")

    def _inverse(self, base: _Val, pos: int) -> _Val:
        if self.at("{", "("):
            close = "}" if self.tok.value == "{" else ")"
            self.take()
            self.take("-")
            self.take("1")
            self.take(close)
        else:
            self.take("-")
            self.take("1")
        try:
            m = A.inv(base.m)
        except ShapeError as exc:
            raise self.shape_error(exc, pos) from None
        return _Val(m, f"inv({base.text})", 5)

    def _bound_exponent(self, exponent: _Val, pos: int) -> None:
        for value in exponent.m:
            if value.is_number and abs(sympy.Float(value)) > self.limits.max_exponent:
                raise ExpressionError(f"the exponent {value} is larger than allowed "
                                      f"({self.limits.max_exponent})", pos, limit="exponent")

    def postfix(self) -> _Val:
        return self.postfix_loop(self.atom())

    def postfix_loop(self, v: _Val) -> _Val:
        while True:
            tok = self.tok
            if self.at(".T", "ᵀ", "'"):
                self.take()
                v = _Val(v.m.T, f"{v.text if v.prec >= 5 else '(' + v.text + ')'}.T", 5)
            elif self.student and self.at("^") and self.peek().value == "T" and "T" not in self.names:
                self.take()
                self.take()
                v = _Val(v.m.T, f"{v.text if v.prec >= 5 else '(' + v.text + ')'}.T", 5)
            elif self.at("⁻") and self.peek().value == "¹":
                self.take()
                self.take()
                v = self._inverse_from(v, tok.pos)
            elif self.at("²", "³"):
                self.take()
                n = SUPERSCRIPT_DIGITS[tok.value]
                bt = v.text if v.prec >= 5 else f"({v.text})"
                v = _Val(A.power(v.m, A.scalar(sympy.Integer(n))), f"{bt}**{n}", 4)
            elif self.at("["):
                v = self.index(v)
            else:
                return v

    def _inverse_from(self, v: _Val, pos: int) -> _Val:
        try:
            return _Val(A.inv(v.m), f"inv({v.text})", 5)
        except ShapeError as exc:
            raise self.shape_error(exc, pos) from None

    def index(self, v: _Val) -> _Val:
        start = self.take("[")
        parts: list[int | None] = [self.index_part()]
        while self.at(","):
            self.take()
            parts.append(self.index_part())
        self.take("]")
        if len(parts) > 2:
            raise ExpressionError(f"at most two indices (everything is 2-D), at position {start.pos}",
                                  start.pos)
        m = v.m
        try:
            if len(parts) == 1:
                (i,) = parts
                if i is None:
                    out = m
                elif m.cols == 1:
                    out = A.scalar(m[self.wrap(i, m.rows), 0])
                elif m.rows == 1:
                    out = A.scalar(m[0, self.wrap(i, m.cols)])
                else:
                    out = m[self.wrap(i, m.rows), :]
            else:
                i, j = parts
                rows = range(m.rows) if i is None else [self.wrap(i, m.rows)]
                cols = range(m.cols) if j is None else [self.wrap(j, m.cols)]
                out = Matrix(len(rows), len(cols), [m[r, c] for r in rows for c in cols])
        except IndexError as exc:
            raise ExpressionError(f"{exc} for a {A.shape_text(m)} value (at position {start.pos})",
                                  start.pos, limit="shape") from None
        text = ", ".join(":" if p is None else str(p) for p in parts)
        base = v.text if v.prec >= 5 else f"({v.text})"
        return _Val(Matrix(out), f"{base}[{text}]", 5)

    @staticmethod
    def wrap(i: int, n: int) -> int:
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range (size {n})")
        return i % n

    def index_part(self) -> int | None:
        if self.at(":"):
            self.take()
            return None
        sign = 1
        if self.at("-"):
            self.take()
            sign = -1
        tok = self.take()
        if tok.kind != "num" or not tok.value.isdigit():
            raise ExpressionError(f"an index must be a whole number or ':', at position {tok.pos}", tok.pos)
        return sign * int(tok.value)

    def atom(self) -> _Val:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            return _Val(A.scalar(self.number(tok)), tok.value, 5)
        if tok.kind == "name":
            self.take()
            if self.at("(") and tok.value in FUNCTION_NAMES and tok.value not in self.names:
                return self.call(tok)
            return self.name(tok)
        if self.at("("):
            self.take()
            v = self.expr()
            self.take(")")
            return _Val(v.m, v.text if v.prec >= 5 else f"({v.text})", 5)
        if self.at("["):
            return self.literal()
        found = repr(tok.value) if tok.kind != "end" else "the end"
        raise ExpressionError(f"expected a number, a name or '(' at position {tok.pos}, found {found}",
                              tok.pos)

    def number(self, tok: _Tok) -> sympy.Expr:
        digits = sum(c.isdigit() for c in tok.value)
        if digits > self.limits.max_digits:
            raise ExpressionError(f"a number with {digits} digits is longer than allowed", tok.pos,
                                  limit="digits")
        mantissa, _, exponent = tok.value.lower().partition("e")
        if exponent and abs(int(exponent)) > 300:
            raise ExpressionError(f"the number {tok.value} is out of range", tok.pos, limit="digits")
        return sympy.Rational(tok.value) if ("." in tok.value or exponent) else sympy.Integer(mantissa)

    def name(self, tok: _Tok) -> _Val:
        key = self._lookup_name(tok.value)
        if key is not None:
            return _Val(self.names[key], key, 5)
        if tok.value in CONSTANTS:
            return _Val(A.scalar(CONSTANTS[tok.value]), tok.value, 5)
        if tok.value in FUNCTION_NAMES:
            raise ExpressionError(f"{tok.value} is a function: write {tok.value}(...) "
                                  f"(at position {tok.pos})", tok.pos)
        raise ExpressionError(self._unknown(tok.value, tok.pos), tok.pos)

    def literal(self) -> _Val:
        start = self.take("[")
        rows: list[list[sympy.Expr]] = []
        texts: list[str] = []
        nested = self.at("[")
        while True:
            if nested:
                row = self.literal()
                rows.append(list(row.m))
            else:
                v = self.expr()
                if not A.is_scalar(v.m):
                    raise ExpressionError(f"a literal's entries must be numbers or scalars, at position "
                                          f"{start.pos}", start.pos)
                rows.append([v.m[0, 0]])
                texts.append(v.text)
            if self.at(","):
                self.take()
                continue
            self.take("]")
            break
        if nested:
            widths = {len(r) for r in rows}
            if len(widths) != 1:
                raise ExpressionError(f"the rows of the literal at position {start.pos} have different "
                                      "lengths", start.pos, limit="shape")
            m = Matrix(rows)
            text = "[" + ", ".join("[" + ", ".join(str(x) for x in r) + "]" for r in rows) + "]"
            return self.check(_Val(m, text, 5), start.pos)
        m = Matrix(len(rows), 1, [r[0] for r in rows])
        return self.check(_Val(m, "[" + ", ".join(texts) + "]", 5), start.pos)

    def call(self, tok: _Tok) -> _Val:
        name = tok.value
        self.take("(")
        self.enter()
        args: list[_Val] = []
        kwargs: dict[str, _Val] = {}
        if not self.at(")"):
            while True:
                if self.tok.kind == "name" and self.peek().value == "=":
                    key = self.take().value
                    self.take("=")
                    kwargs[key] = self.expr()
                else:
                    args.append(self.expr())
                if self.at(","):
                    self.take()
                    continue
                break
        self.take(")")
        self.depth -= 1
        try:
            m = self.apply(name, args, kwargs, tok.pos)
        except ShapeError as exc:
            raise self.shape_error(exc, tok.pos) from None
        parts = [a.text for a in args] + [f"{k}={v.text}" for k, v in kwargs.items()]
        shown = {"ln": "log", "abs": "Abs", "heaviside": "Heaviside"}.get(name, name)
        return self.check(_Val(m, f"{shown}({', '.join(parts)})", 5), tok.pos)

    def _int(self, v: _Val, what: str, pos: int) -> int:
        if not (A.is_scalar(v.m) and isinstance(v.m[0, 0], sympy.Integer)):
            raise ExpressionError(f"{what} must be a whole number, at position {pos}", pos)
        return int(v.m[0, 0])

    def _arity(self, name: str, args: list[_Val], lo: int, hi: int, pos: int) -> None:
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise ExpressionError(f"{name} takes {want} argument{'s' if hi > 1 else ''}, "
                                  f"not {len(args)} (at position {pos})", pos)

    def apply(self, name: str, args: list[_Val], kwargs: dict[str, _Val], pos: int) -> Matrix:
        allowed = {"axis"} if name in REDUCTIONS or name in ("max", "min") else set()
        for key in kwargs:
            if key not in allowed:
                raise ExpressionError(f"{name} has no keyword {key!r} (at position {pos})", pos)
        if name in UNARY:
            self._arity(name, args, 1, 1, pos)
            return A.apply(args[0].m, UNARY[name])
        if name in ("Max", "Min") or (name in ("max", "min") and len(args) == 2):
            self._arity(name, args, 2, 2, pos)
            f = sympy.Max if name.lower() == "max" else sympy.Min
            return A.elementwise(args[0].m, args[1].m, f, name)
        if name in REDUCTIONS or name in ("max", "min"):
            self._arity(name, args, 1, 2, pos)
            axis_val = kwargs.get("axis") or (args[1] if len(args) == 2 else None)
            axis = None if axis_val is None else self._int(axis_val, "axis", pos)
            if axis is not None and axis < 0:
                axis += 2
            f = {"max": A.maximum, "min": A.minimum}.get(name) or REDUCTIONS[name]
            return f(args[0].m, axis)
        if name in LINALG:
            self._arity(name, args, 1, 1, pos)
            return LINALG[name](args[0].m)
        if name == "outer":
            self._arity(name, args, 2, 2, pos)
            return A.outer(args[0].m, args[1].m)
        if name == "dot":
            self._arity(name, args, 2, 2, pos)
            a, b = args[0].m, args[1].m
            if a.shape != b.shape or 1 not in a.shape:
                raise ShapeError(f"dot takes two vectors of the same shape, not {A.shape_text(a)} "
                                 f"and {A.shape_text(b)}")
            return A.total(A.mul(a, b))
        if name in ("ones", "zeros"):
            self._arity(name, args, 1, 2, pos)
            sizes = [a.m[0, 0] for a in args]
            return (A.ones if name == "ones" else A.zeros)(*sizes)
        if name == "eye":
            self._arity(name, args, 1, 1, pos)
            return A.eye(args[0].m[0, 0])
        if name == "onehot":
            self._arity(name, args, 2, 2, pos)
            return A.onehot(args[0].m, args[1].m[0, 0])
        raise ExpressionError(f"unknown function {name!r} at position {pos}", pos)


def read(text: str, names: Mapping[str, Matrix], *, student: bool = False,
         limits: Limits | None = None, swap_products: bool = False) -> Reading:
    """Read an array expression over ``names`` (each a matrix of scalar expressions).

    Raises:
        ExpressionError: unreadable text, an unknown name, a limit, or shapes that do not fit
            (``limit == "shape"``), with the position and both shapes named.

    >>> x = Matrix([[sympy.Symbol("a")], [sympy.Symbol("b")]])
    >>> read("x.T @ x", {"x": x}).value
    Matrix([[a**2 + b**2]])
    >>> read("2x^T x", {"x": x}, student=True).text
    '2 * x.T @ x'
    """
    limits = limits or (Limits() if student else TEACHER_LIMITS)
    if not isinstance(text, str):
        raise ExpressionError("the expression must be text")
    if len(text) > limits.max_length:
        raise ExpressionError(f"the expression is {len(text)} characters long; at most "
                              f"{limits.max_length} are allowed", limit="length")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    v = _Parser(text, names, student, limits, swap_products).parse()
    return Reading(v.m, v.text)
