"""Read answers and problem-file expressions as SymPy objects, without eval.

A tokenizer and a recursive-descent parser build SymPy objects directly from a
whitelist of functions and the caller's names. Text never reaches ``eval``,
``exec``, ``sympify`` or ``parse_expr``. Every limit (length, digits, nesting,
exponent, factorial, tree size) is checked before SymPy gets to evaluate
anything expensive. Student mode (``student=True``) also reads what people type:
implicit multiplication, run-together names, unicode and a little LaTeX.
The accepted syntax is described in ``docs/answers.md``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import sympy

from gradcheck import ops
from gradcheck.errors import ExpressionError
from gradcheck.notation import GREEK, LATEX, SUPERSCRIPTS, UNICODE, greek_name, is_greek

__all__ = ["FUNCTIONS", "TEACHER_LIMITS", "Limits", "parse_expression", "parse_number"]


@dataclass(frozen=True)
class Limits:
    """Bounds on what one answer may ask of the parser and of SymPy."""

    max_length: int = 2000
    max_depth: int = 40
    max_exponent: int = 1000
    max_factorial: int = 200
    max_digits: int = 60
    max_nodes: int = 2000


# Problem files are written by teachers: generous, but still bounded (9**9**9 stays refused).
TEACHER_LIMITS = Limits(max_length=20_000, max_depth=100, max_exponent=20_000,
                        max_factorial=5_000, max_digits=400, max_nodes=50_000)


# Function names, their builders, arities and bounded arguments: all from the op registry.
_BUILDERS = ops.parser_functions()
FUNCTIONS: Mapping[str, Callable[..., sympy.Expr]] = MappingProxyType(
    {name: spec.build for name, spec in _BUILDERS.items()})
_CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E, "e": sympy.E}
_STUDENT_ALIASES = {"ln": "log"}
_COMPARE = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge}

_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?", re.ASCII)
_DIGITS = frozenset("0123456789")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_OPERATORS = ("**", "<=", ">=", "+", "-", "*", "/", "^", "(", ")", ",", "!", "<", ">", "|", "&",
              "~")
_LOGIC = {"And": sympy.And, "Or": sympy.Or, "Not": sympy.Not, "Eq": sympy.Eq, "Ne": sympy.Ne}
_CLOSERS = {"(": ")", "{": "}", "|": "|"}


@dataclass(frozen=True)
class _Token:
    """One token: kind is num, name, op or end; pos and text locate it in the input."""

    kind: str
    value: str
    pos: int
    text: str


def _limit_error(
    what: str, field: str, limits: Limits, position: int | None = None
) -> ExpressionError:
    """An error for an exceeded limit, naming the limit and its value."""
    value = getattr(limits, field)
    return ExpressionError(f"{what}; the limit ({field}) is {value}", position, limit=field)


def _describe(ch: str) -> str:
    """Quote a character for a message, naming it when it is not plain ASCII."""
    if ch.isascii():
        return repr(ch)
    return f"{ch!r} ({unicodedata.name(ch, f'U+{ord(ch):04X}')})"


def _bad_character(text: str, i: int, student: bool) -> ExpressionError:
    """Explain why the character at ``i`` cannot start a token."""
    ch = text[i]
    if ch in "\r\n":
        return ExpressionError(
            f"line break at position {i}: an answer is one expression on one line", i
        )
    if ch == "=":
        return ExpressionError(f"unexpected '=' at position {i}: give only the expression, "
                               "e.g. 2*x rather than y = 2*x", i)
    if not student and (ch in UNICODE or ch in SUPERSCRIPTS or ch == "\\" or is_greek(ch)):
        return ExpressionError(f"{_describe(ch)} at position {i} is accepted only in student "
                               "answers; problem files use SymPy syntax (*, /, **, sqrt, pi)", i)
    hint = ""
    if ch in "'\"":
        hint = ": text in quotes is not an expression"
    elif ch == "[":
        hint = ": use ( ) for grouping"
    elif ch.isalpha():
        hint = ": type names with plain ASCII letters"
    return ExpressionError(f"unexpected character {_describe(ch)} at position {i}{hint}", i)


def _number_token(text: str, i: int, limits: Limits) -> _Token:
    """Read the numeric literal at ``i``, checking its digits and decimal exponent."""
    match = _NUMBER.match(text, i)
    assert match is not None  # the caller saw a digit or '.' followed by a digit
    digits = sum(c.isdigit() for c in match.group(1))
    if digits > limits.max_digits:
        what = f"the number at position {i} has {digits} digits"
        raise _limit_error(what, "max_digits", limits, i)
    exponent = match.group(2)
    if exponent is not None and abs(int(exponent)) > limits.max_exponent:
        raise _limit_error(f"the number at position {i} has exponent {exponent}",
                           "max_exponent", limits, i)
    return _Token("num", match.group(0), i, match.group(0))


def _latex_token(text: str, i: int) -> tuple[_Token | None, int]:
    """Read the LaTeX command at ``i``: a token (None when it is spacing) and the next index."""
    match = _LATEX_COMMAND.match(text, i)
    if match is None or match.group(1) not in LATEX:
        shown = match.group(0) if match else "\\"
        raise ExpressionError(f"unknown LaTeX command {shown!r} at position {i}", i)
    kind, value = LATEX[match.group(1)]
    token = None if kind == "skip" else _Token(kind, value, i, match.group(0))
    return token, match.end()


def _superscript_tokens(text: str, i: int, limits: Limits) -> tuple[list[_Token], int]:
    """Turn a run of superscripts into a power: '²' is **2, '⁻¹' is **-1, 'ˣ' is **(x)."""
    end = i
    while end < len(text) and text[end] in SUPERSCRIPTS:
        end += 1
    raw = text[i:end]
    run = "".join(SUPERSCRIPTS[c] for c in raw)
    sign, digits = ("-", run[1:]) if run.startswith("-") else ("", run)
    power = _Token("op", "**", i, raw)
    if digits.isdigit():
        signs = [_Token("op", "-", i, raw)] if sign else []
        return [power, *signs, _Token("num", digits, i, raw)], end
    if not any(c.isalnum() for c in run):
        raise ExpressionError(f"superscript {raw!r} at position {i} needs digits or letters", i)
    inner = [_Token(t.kind, t.value, i, raw) for t in _tokenize(run, True, limits)[:-1]]
    return [power, _Token("op", "(", i, raw), *inner, _Token("op", ")", i, raw)], end


def _tokenize(text: str, student: bool, limits: Limits) -> list[_Token]:
    """Split ``text`` into tokens, converting student forms to the plain grammar."""
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t":
            i += 1
        elif ch in _DIGITS or (ch == "." and text[i + 1:i + 2] in _DIGITS):
            tokens.append(_number_token(text, i, limits))
            i += len(tokens[-1].text)
        elif match := _NAME.match(text, i):
            if "__" in match.group(0):
                raise ExpressionError(f"name {match.group(0)!r} at position {i} is not allowed: "
                                      "names cannot contain '__'", i)
            tokens.append(_Token("name", match.group(0), i, match.group(0)))
            i = match.end()
        elif op := next((o for o in _OPERATORS if text.startswith(o, i)), None):
            tokens.append(_Token("op", "**" if op == "^" else op, i, op))
            i += len(op)
        elif student and ch in UNICODE:
            kind, value = UNICODE[ch]
            tokens.append(_Token(kind, value, i, ch))
            i += 1
        elif student and is_greek(ch):
            tokens.append(_Token("name", ch, i, ch))
            i += 1
        elif student and ch in SUPERSCRIPTS:
            more, i = _superscript_tokens(text, i, limits)
            tokens.extend(more)
        elif student and ch == "\\":
            token, i = _latex_token(text, i)
            tokens.extend([token] if token else [])
        else:
            raise _bad_character(text, i, student)
    return tokens + [_Token("end", "", len(text), "")]


def _split_name(word: str, vocabulary: frozenset[str], pos: int) -> list[str] | None:
    """Split ``word`` into the fewest known names; None if impossible, error if ambiguous."""
    longest = max(map(len, vocabulary), default=0)
    # best[k] = (parts, ways, start of last part) for the prefix word[:k]
    best: list[tuple[int, int, int] | None] = [(0, 1, -1)] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - longest), end):
            prev = best[start]
            if prev is None or word[start:end] not in vocabulary:
                continue
            here = best[end]
            if here is None or prev[0] + 1 < here[0]:
                best[end] = (prev[0] + 1, prev[1], start)
            elif prev[0] + 1 == here[0]:
                best[end] = (here[0], min(2, here[1] + prev[1]), here[2])
    final = best[len(word)]
    if final is None:
        return None
    parts: list[str] = []
    end = len(word)
    while end > 0:
        start = best[end][2]  # type: ignore[index]
        parts.insert(0, word[start:end])
        end = start
    if final[1] > 1:
        example = "*".join(parts)
        raise ExpressionError(f"{word!r} at position {pos} can be read as a product of known "
                              f"names in more than one way; write it with '*', e.g. {example}", pos)
    return parts


def _split_names(tokens: list[_Token], names: Mapping[str, sympy.Basic]) -> list[_Token]:
    """Student mode: give Greek letters and their spellings the problem's name for them,
    and replace each unknown name that is a run of known names by its parts."""
    # Function names too: sinx is sin x (then sin(x)), xlnx is x*ln(x).
    vocabulary = (frozenset(names) | {"pi"} | ({"e"} if "e" not in names else set())
                  | frozenset(FUNCTIONS) | frozenset(_STUDENT_ALIASES))
    out: list[_Token] = []
    for tok in tokens:
        value = tok.value
        if tok.kind == "name" and value not in names and (greek := greek_name(value, names)):
            tok = _Token("name", greek, tok.pos, tok.text)
            value = greek
        known = (value in names or value in _CONSTANTS or value in FUNCTIONS
                 or value in _STUDENT_ALIASES or value == "True" or is_greek(value[:1]))
        parts = None if tok.kind != "name" or known else _split_name(value, vocabulary, tok.pos)
        if not parts:
            out.append(tok)
            continue
        offset = 0
        for part in parts:
            out.append(_Token("name", part, tok.pos + offset, part))
            offset += len(part)
    return out


def _magnitude(number: sympy.Expr) -> float:
    """Roughly how many decimal digits a SymPy number has (numerator or denominator)."""
    if isinstance(number, sympy.Rational):
        return math.log10(max(abs(int(number.p)), int(number.q)))
    return 0.0


class _Parser:
    """Recursive descent over the tokens: sum > term > unary > power > postfix > atom."""

    def __init__(self, tokens: list[_Token], names: Mapping[str, sympy.Basic],
                 student: bool, limits: Limits, text: str = "") -> None:
        self.tokens = tokens
        self.names = names
        self.student = student
        self.limits = limits
        self.text = text
        self.index = 0
        self.depth = 0
        self.bars = 0  # how many |...| are open: inside one, '|' after an operand closes it

    # -- token helpers -------------------------------------------------------------
    def _peek(self) -> _Token:
        return self.tokens[self.index]

    def _next(self) -> _Token:
        tok = self.tokens[self.index]
        self.index += 1
        return tok

    def _is(self, *values: str) -> bool:
        tok = self._peek()
        return tok.kind == "op" and tok.value in values

    def _enter(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise _limit_error(f"the expression nests deeper than {self.limits.max_depth} levels "
                               f"at position {tok.pos}", "max_depth", self.limits, tok.pos)

    def _close(self, opener: _Token) -> None:
        """Consume the bracket that closes ``opener`` or explain what is missing."""
        closer = _CLOSERS[opener.value]
        tok = self._next()
        if tok.kind == "op" and tok.value == closer:
            return
        where = f"the {opener.text!r} at position {opener.pos}"
        if tok.kind == "end":
            raise ExpressionError(f"missing {closer!r} to close {where}", tok.pos)
        raise ExpressionError(f"expected {closer!r} to close {where}, found {tok.text!r} "
                              f"at position {tok.pos}", tok.pos)

    def _unexpected(self, tok: _Token) -> ExpressionError:
        if tok.kind == "end":
            before = self.tokens[self.index - 2].text if self.index >= 2 else ""
            return ExpressionError(
                f"unexpected end of input: the expression stops after {before!r}", tok.pos
            )
        hint = ""
        if tok.value == ",":
            hint = ": commas only separate the arguments of a function"
        elif tok.value in (*_COMPARE, "&", "~") or (tok.value == "|" and not self.student):
            hint = ": comparisons and & | ~ are allowed only in Piecewise conditions"
        elif tok.value in (")", "}"):
            hint = ": nothing is open to close here"
        return ExpressionError(f"unexpected {tok.text!r} at position {tok.pos}{hint}", tok.pos)

    # -- guarded constructors --------------------------------------------------------
    def _pow(self, base: sympy.Expr, exponent: sympy.Expr, tok: _Token) -> sympy.Expr:
        """Build base**exponent after checking that SymPy cannot blow up evaluating it."""
        limit = self.limits.max_exponent
        if isinstance(exponent, sympy.Number):
            size: float
            if isinstance(exponent, sympy.Rational):
                size = max(abs(int(exponent.p)), int(exponent.q))
            else:
                size = abs(float(exponent))
            if size > limit:
                raise _limit_error(f"the exponent {exponent} at position {tok.pos} is too large",
                                   "max_exponent", self.limits, tok.pos)
            numbers = base.atoms(sympy.Number)
            digits = abs(float(exponent)) * max(map(_magnitude, numbers), default=0.0)
            if digits > limit:
                raise _limit_error(f"the power at position {tok.pos} would have about {digits:.0f} "
                                   "digits", "max_exponent", self.limits, tok.pos)
        return sympy.Pow(base, exponent)

    def _check_argument(self, name: str, arg: sympy.Expr, tok: _Token) -> None:
        """Refuse factorial/gamma of a number so large that SymPy would compute it for ages."""
        if isinstance(arg, sympy.Number) and abs(arg) > self.limits.max_factorial:
            raise _limit_error(f"{name} of {arg} at position {tok.pos} is too large",
                               "max_factorial", self.limits, tok.pos)

    def _apply(self, name: str, args: list[sympy.Expr], tok: _Token) -> sympy.Expr:
        """Call the whitelisted builder for ``name`` after the argument checks."""
        spec = _BUILDERS[name]
        low, high = spec.arity
        if len(args) < low or (high is not None and len(args) > high):
            want = f"{low}" if low == high else f"{low} or {high}" if high else f"at least {low}"
            raise ExpressionError(f"{name} takes {want} argument{'s' if want != '1' else ''}, "
                                  f"got {len(args)}", tok.pos)
        for index in spec.bounded:
            self._check_argument(name, args[index], tok)
        if name == "sqrt":
            return self._pow(args[0], sympy.Rational(1, 2), tok)
        try:
            return FUNCTIONS[name](*args)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ExpressionError(f"{name}(...) at position {tok.pos} cannot be built: {exc}",
                                  tok.pos) from None

    # -- grammar ---------------------------------------------------------------------
    def parse(self) -> sympy.Expr:
        """Parse the whole token list as one expression."""
        expr = self._sum()
        tok = self._peek()
        if tok.kind != "end":
            raise self._unexpected(tok)
        return expr

    def _sum(self) -> sympy.Expr:
        # Terms and factors are collected and combined once: pairwise Add/Mul is quadratic.
        terms = [self._term()]
        while self._is("+", "-"):
            tok = self._next()
            right = self._term()
            terms.append(right if tok.value == "+" else sympy.Mul(-1, right))
        return terms[0] if len(terms) == 1 else sympy.Add(*terms)

    def _term(self) -> sympy.Expr:
        first = self._peek()
        factors = [self._unary()]
        while True:
            tok = self._peek()
            if self._is("*", "/"):
                self._next()
                right = self._unary()
                if tok.value == "/":
                    self._check_division(first, tok)
                    right = self._pow(right, sympy.Integer(-1), tok)
                factors.append(right)
            elif self._starts_operand(tok):
                self._check_implicit(tok)
                factors.append(self._power())
            elif len(factors) == 1:
                return factors[0]
            else:
                return self._check_number(sympy.Mul(*factors), first)

    def _check_number(self, expr: sympy.Expr, tok: _Token) -> sympy.Expr:
        """Refuse a product whose numeric coefficient has grown past max_exponent digits."""
        coefficient = expr.as_coeff_Mul()[0] if expr.is_Mul else expr
        digits = _magnitude(coefficient)
        if digits > self.limits.max_exponent:
            raise _limit_error(f"the product starting at position {tok.pos} has a number of "
                               f"about {digits:.0f} digits", "max_exponent", self.limits, tok.pos)
        return expr

    def _starts_operand(self, tok: _Token) -> bool:
        opens = tok.kind == "op" and tok.value in ("(", "{", "sqrt", "frac")
        bar = tok.kind == "op" and tok.value == "|" and self.bars == 0 and self.student
        return opens or bar or tok.kind in ("num", "name")

    def _check_division(self, first: _Token, slash: _Token) -> None:
        """Refuse 1/2x and x/2y: a divisor followed by an implicit product reads two ways."""
        tok = self._peek()
        if not (self.student and self._starts_operand(tok)):
            return
        left = self.text[first.pos:slash.pos].strip()
        divisor = self.text[slash.pos + len(slash.text):tok.pos].strip()
        rest = tok.text if tok.kind != "op" else "(...)"
        raise ExpressionError(
            f"'{left}/{divisor}{rest}' at position {first.pos} can be read two ways: "
            f"({left}/{divisor})*{rest} or {left}/({divisor}*{rest}); write the one you mean "
            "with * and parentheses", slash.pos)

    def _check_implicit(self, tok: _Token) -> None:
        """Allow 2x, x y, (a)(b) only in student mode, and never a number on the right."""
        before = self.tokens[self.index - 1].text
        if not self.student:
            raise ExpressionError("implicit multiplication is not allowed in problem files: write "
                                  f"{before}*{tok.text} (at position {tok.pos})", tok.pos)
        if tok.kind == "num":
            raise ExpressionError(f"the number {tok.text!r} at position {tok.pos} follows "
                                  f"{before!r} with no operator: write *, ^ or +", tok.pos)

    def _unary(self) -> sympy.Expr:
        if not self._is("+", "-"):
            return self._power()
        tok = self._next()
        self._enter(tok)
        operand = self._unary()
        self.depth -= 1
        return operand if tok.value == "+" else sympy.Mul(-1, operand)

    def _power(self) -> sympy.Expr:
        base = self._postfix()
        if not self._is("**"):
            return base
        tok = self._next()
        self._enter(tok)
        exponent = self._unary()
        self.depth -= 1
        return self._pow(base, exponent, tok)

    def _postfix(self) -> sympy.Expr:
        expr = self._atom()
        while self._is("!"):
            tok = self._next()
            if not self.student:
                raise ExpressionError(f"'!' at position {tok.pos} is accepted only in student "
                                      "answers: write factorial(...)", tok.pos)
            self._check_argument("factorial", expr, tok)
            expr = sympy.factorial(expr)
        return expr

    def _atom(self) -> sympy.Expr:
        tok = self._next()
        if tok.kind == "num":
            return self._number(tok)
        if tok.kind == "name":
            return self._name(tok)
        if tok.kind == "op" and tok.value == "|" and not self.student:
            raise ExpressionError(f"'|' at position {tok.pos}: absolute value bars are accepted "
                                  "only in student answers; problem files write Abs(...)", tok.pos)
        if tok.kind == "op" and tok.value in ("(", "{", "sqrt", "frac", "|"):
            self._enter(tok)
            expr = self._nested(tok)
            self.depth -= 1
            return expr
        raise self._unexpected(tok)

    def _nested(self, tok: _Token) -> sympy.Expr:
        """A bracketed group, √atom or \\frac{a}{b}; ``tok`` is already consumed."""
        if tok.value == "sqrt":
            return self._pow(self._atom(), sympy.Rational(1, 2), tok)
        if tok.value == "frac":
            numerator = self._braced(tok)
            return sympy.Mul(numerator, self._pow(self._braced(tok), sympy.Integer(-1), tok))
        if tok.value == "|":
            self.bars += 1
            inside = self._sum()
            self._close(tok)
            self.bars -= 1
            return sympy.Abs(inside)
        outside, self.bars = self.bars, 0  # a bracket starts afresh: |(|x|)| reads as written
        expr = self._sum()
        self._close(tok)
        self.bars = outside
        return expr

    def _braced(self, frac: _Token) -> sympy.Expr:
        opener = self._next()
        if not (opener.kind == "op" and opener.value == "{"):
            raise ExpressionError(f"\\frac at position {frac.pos} needs two groups in braces: "
                                  "\\frac{a}{b}", opener.pos)
        expr = self._sum()
        self._close(opener)
        return expr

    def _number(self, tok: _Token) -> sympy.Expr:
        mantissa, _, exponent = tok.value.lower().partition("e")
        value = sympy.Rational(mantissa)
        return value * sympy.Integer(10) ** int(exponent) if exponent else value

    def _name(self, tok: _Token) -> sympy.Expr:
        """Resolve a name: the caller's names first, then functions, then constants.

        A name mapped to a ``sympy.Lambda`` is a function the problem declares.
        """
        name = tok.value
        if name in self.names:
            value = self.names[name]
            if isinstance(value, sympy.Lambda):
                return self._call(name, tok, value)
            self._check_not_called(tok)
            return value
        function = _STUDENT_ALIASES.get(name, name) if self.student else name
        if function in FUNCTIONS:
            return self._call(function, tok)
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in _STUDENT_ALIASES:
            raise ExpressionError(f"{name!r} at position {tok.pos} is accepted only in student "
                                  f"answers: write {_STUDENT_ALIASES[name]}", tok.pos)
        allowed = ", ".join(sorted(n for n in self.names if n.isascii()))
        where = f"the names you can use here are {allowed}" if allowed else "no names are allowed"
        called = ""
        if self._is("(") and self._peek().pos == tok.pos + len(tok.text):
            called = f"; {name} is not a function in this problem"
        spelled = f" ({GREEK[tok.text][0]})" if tok.text in GREEK else ""
        raise ExpressionError(f"unknown name {tok.text!r}{spelled} at position {tok.pos}{called}; "
                              f"{where}", tok.pos)

    def _check_not_called(self, tok: _Token) -> None:
        """Refuse Phi(x) when Phi is a variable: a call or a product? (x(y+1) is a product)."""
        after = self._peek()
        one_letter = len(tok.text) == 1 or tok.text.startswith("\\")  # x, σ, \sigma
        if not (self.student and not one_letter and after.kind == "op" and after.value == "("
                and after.pos == tok.pos + len(tok.text)):
            return
        name = tok.value
        hidden = f" (the function {name} is hidden by it)" if name in FUNCTIONS else ""
        raise ExpressionError(f"{tok.text}(...) at position {tok.pos}: {name} is a variable here"
                              f"{hidden}, not a function; for the product write {tok.text}*(...)",
                              tok.pos)

    def _call(self, name: str, tok: _Token, declared: sympy.Lambda | None = None) -> sympy.Expr:
        power = self._function_power(tok) if self.student and self._is("**") else None
        opener = self._peek()
        brace = self.student and self._is("{")
        if self.student and not (self._is("(") or brace) and name != "Piecewise":
            first = self._peek()
            if first.kind in ("num", "name") or (first.kind == "op" and first.value in ("|", "sqrt")):
                self._enter(tok)
                args = [self._bare_argument()]
                self.depth -= 1
                result = (self._apply_declared(name, declared, args, tok) if declared is not None
                          else self._apply(name, args, tok))
                return result if power is None else self._pow(result, power, tok)
        if not (self._is("(") or brace):
            raise ExpressionError(f"function {tok.text!r} at position {tok.pos} needs its argument "
                                  f"in parentheses: write {tok.text}(...)", tok.pos)
        result = self._call_arguments(name, tok, opener, declared)
        return result if power is None else self._pow(result, power, tok)

    def _function_power(self, tok: _Token) -> sympy.Expr:
        """sin^2(x) and sin²(x) are sin(x)**2; sin^-1(x) reads two ways and is refused."""
        caret = self._next()
        self._enter(caret)
        exponent = self._unary()
        self.depth -= 1
        if isinstance(exponent, sympy.Integer) and exponent > 0:
            return exponent
        if exponent == -1:
            raise ExpressionError(f"{tok.text}^-1 at position {tok.pos} can be read two ways: "
                                  f"the inverse function or 1/{tok.text}(...); write "
                                  f"a{tok.text}(...) or 1/{tok.text}(...)"
                                  if tok.text in ("sin", "cos", "tan", "sinh", "cosh", "tanh")
                                  else f"{tok.text}^-1 at position {tok.pos}: write "
                                  f"1/{tok.text}(...)", tok.pos)
        raise ExpressionError(f"a power written between a function and its argument at position "
                              f"{caret.pos} must be a positive whole number: write "
                              f"{tok.text}(...)^k instead", caret.pos)

    def _bare_argument(self) -> sympy.Expr:
        """The argument of a function written without parentheses (ln x, sin x^2, sin 2x):
        the implicit product of numbers, names and their powers up to the next operator,
        bracket or function (docs/answers.md)."""
        factors = [self._power()]
        while self._peek().kind in ("num", "name") and not self._names_function(self._peek()):
            self._check_implicit(self._peek())
            factors.append(self._power())
        return factors[0] if len(factors) == 1 else sympy.Mul(*factors)

    def _names_function(self, tok: _Token) -> bool:
        value = self.names.get(tok.value)
        if value is not None:
            return isinstance(value, sympy.Lambda)
        return tok.value in FUNCTIONS or tok.value in _STUDENT_ALIASES

    def _call_arguments(self, name: str, tok: _Token, opener: _Token,
                        declared: sympy.Lambda | None) -> sympy.Expr:
        """The arguments in brackets after a function name, then the function applied."""
        self._next()
        self._enter(opener)
        outside, self.bars = self.bars, 0
        if name == "Piecewise":
            args = self._piecewise_args()
        else:
            args = self._arguments(closer=_CLOSERS[opener.value])
        self._close(opener)
        self.bars = outside
        self.depth -= 1
        if declared is not None:
            return self._apply_declared(name, declared, args, tok)
        return self._apply(name, args, tok)

    def _apply_declared(self, name: str, function: sympy.Lambda, args: list[sympy.Expr],
                        tok: _Token) -> sympy.Expr:
        """Apply a function the problem declares ([functions] in its file) to ``args``."""
        want = len(function.variables)
        if len(args) != want:
            raise ExpressionError(f"{name} takes {want} argument{'s' if want != 1 else ''}, "
                                  f"got {len(args)}", tok.pos)
        result: sympy.Expr = function(*args)
        return result

    def _arguments(self, closer: str) -> list[sympy.Expr]:
        if self._is(closer):
            return []
        args = [self._sum()]
        while closer == ")" and self._is(","):
            self._next()
            args.append(self._sum())
        return args

    def _piecewise_args(self) -> list[sympy.Expr]:
        """Piecewise((expr, cond), ...): the only place tuples and conditions are read."""
        pairs = [self._piecewise_pair()]
        while self._is(","):
            self._next()
            pairs.append(self._piecewise_pair())
        return pairs

    def _piecewise_pair(self) -> sympy.Tuple:
        opener = self._next()
        if not (opener.kind == "op" and opener.value == "("):
            raise ExpressionError(f"Piecewise expects (expression, condition) pairs; found "
                                  f"{opener.text!r} at position {opener.pos}", opener.pos)
        self._enter(opener)
        expr = self._sum()
        if not self._is(","):
            raise ExpressionError(f"Piecewise pair at position {opener.pos} needs a condition: "
                                  "(expression, condition)", self._peek().pos)
        self._next()
        condition = self._condition()
        self._close(opener)
        self.depth -= 1
        return sympy.Tuple(expr, condition)

    def _condition(self) -> sympy.Basic:
        """A Piecewise condition: comparisons joined by & | ~ (or And, Or, Not, Eq, Ne)."""
        terms = [self._condition_and()]
        while self._is("|"):
            self._next()
            terms.append(self._condition_and())
        return terms[0] if len(terms) == 1 else sympy.Or(*terms)

    def _condition_and(self) -> sympy.Basic:
        terms = [self._condition_not()]
        while self._is("&"):
            self._next()
            terms.append(self._condition_not())
        return terms[0] if len(terms) == 1 else sympy.And(*terms)

    def _condition_not(self) -> sympy.Basic:
        if not self._is("~"):
            return self._condition_atom()
        tok = self._next()
        self._enter(tok)
        inner = self._condition_not()
        self.depth -= 1
        return sympy.Not(inner)

    def _condition_atom(self) -> sympy.Basic:
        tok = self._peek()
        if tok.kind == "name" and tok.value in ("True", "False"):
            self._next()
            return sympy.true if tok.value == "True" else sympy.false
        if tok.kind == "name" and tok.value in _LOGIC and tok.value not in self.names:
            return self._logic_call()
        if self._is("(") and self._holds_condition():
            opener = self._next()
            self._enter(opener)
            inner = self._condition()
            self._close(opener)
            self.depth -= 1
            return inner
        return self._comparison()

    def _holds_condition(self) -> bool:
        """Whether the bracket at the current token holds a condition, not arithmetic."""
        level = 0
        for tok in self.tokens[self.index:]:
            if tok.kind == "op" and tok.value in ("(", "{"):
                level += 1
            elif tok.kind == "op" and tok.value in (")", "}"):
                level -= 1
                if level == 0:
                    return False
            elif level == 1 and ((tok.kind == "op" and tok.value in (*_COMPARE, "&", "~"))
                                 or (tok.kind == "name" and tok.value in (*_LOGIC, "True",
                                                                          "False"))):
                return True
            elif tok.kind == "end":
                return False
        return False

    def _logic_call(self) -> sympy.Basic:
        """And(c, ...), Or(c, ...), Not(c), Eq(a, b), Ne(a, b) inside a condition."""
        tok = self._next()
        opener = self._next()
        if not (opener.kind == "op" and opener.value == "("):
            raise ExpressionError(f"{tok.value} at position {tok.pos} needs its arguments in "
                                  f"parentheses: write {tok.value}(...)", tok.pos)
        self._enter(opener)
        read = self._sum if tok.value in ("Eq", "Ne") else self._condition
        args = [read()]
        while self._is(","):
            self._next()
            args.append(read())
        self._close(opener)
        self.depth -= 1
        want = {"Not": (1, 1), "Eq": (2, 2), "Ne": (2, 2)}.get(tok.value, (1, None))
        if len(args) < want[0] or (want[1] is not None and len(args) > want[1]):
            raise ExpressionError(f"{tok.value} at position {tok.pos} takes "
                                  f"{want[0] if want[0] == want[1] else 'at least 1'} "
                                  f"argument(s), got {len(args)}", tok.pos)
        try:
            result: sympy.Basic = _LOGIC[tok.value](*args)
        except TypeError as exc:
            raise ExpressionError(f"{tok.value}(...) at position {tok.pos} is invalid: {exc}",
                                  tok.pos) from None
        return result

    def _comparison(self) -> sympy.Basic:
        left = self._sum()
        op = self._next()
        if not (op.kind == "op" and op.value in _COMPARE):
            raise ExpressionError(f"expected a comparison (<, <=, >, >=) at position {op.pos}, "
                                  f"found {op.text!r}", op.pos)
        try:
            return _COMPARE[op.value](left, self._sum())
        except TypeError as exc:
            message = f"comparison at position {op.pos} is invalid: {exc}"
            raise ExpressionError(message, op.pos) from None


def _check_size(expr: sympy.Basic, limits: Limits) -> None:
    """Count the tree's nodes, stopping as soon as the limit is passed."""
    for count, _ in enumerate(sympy.preorder_traversal(expr), start=1):
        if count > limits.max_nodes:
            raise _limit_error(f"the expression has more than {limits.max_nodes} parts",
                               "max_nodes", limits)


def parse_expression(text: str, names: Mapping[str, sympy.Basic], *, student: bool = False,
                     limits: Limits = Limits()) -> sympy.Expr:
    """Parse ``text`` into a SymPy expression over ``names``, without evaluating code.

    Args:
        text: the expression, e.g. ``"2*x*(w*x - y)"``.
        names: every name the expression may use, mapped to its SymPy object.
        student: accept implicit multiplication, run-together names, unicode and LaTeX.
        limits: bounds on size and on numeric work.

    Returns:
        The SymPy expression.

    Raises:
        ExpressionError: with ``position`` (0-based) and, for an exceeded limit, ``limit``.

    >>> x, y = sympy.symbols("x y", real=True)
    >>> parse_expression("2x(x - y)", {"x": x, "y": y}, student=True)
    2*x*(x - y)
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    if len(text) > limits.max_length:
        raise _limit_error(f"answer is {len(text)} characters long", "max_length", limits)
    if not text.strip():
        raise ExpressionError("the answer is empty", 0)
    tokens = _tokenize(text, student, limits)
    if student:
        tokens = _split_names(tokens, names)
    try:
        expr = _Parser(tokens, names, student, limits, text).parse()
    except RecursionError:
        what = "the expression nests too deeply for Python"
        raise _limit_error(what, "max_depth", limits) from None
    _check_size(expr, limits)
    return expr


def parse_number(text: str, *, limits: Limits = Limits()) -> sympy.Expr:
    """Parse a number, fraction or constant expression such as ``3/4``, ``2pi`` or ``e^2``.

    Student syntax is accepted; no names are.

    >>> parse_number("0.25")
    1/4
    """
    return parse_expression(text, {}, student=True, limits=limits)
