"""Read answers and problem-file expressions as SymPy objects, without eval.

A tokenizer (``gradcheck.tokens``) and a recursive-descent parser build SymPy objects
directly from a whitelist of functions (the op registry, ``gradcheck.ops``) and the
caller's names. Text never reaches ``eval``,
``exec``, ``sympify`` or ``parse_expr``. Every limit (length, digits, nesting,
exponent, factorial, tree size) is checked before SymPy gets to evaluate
anything expensive. Student mode (``student=True``) also reads what people type:
implicit multiplication, run-together names, unicode and a little LaTeX.
The accepted syntax is described in ``docs/answers.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

import sympy

from gradcheck import ops
from gradcheck.errors import ExpressionError
from gradcheck.notation import GREEK
from gradcheck.tokens import TEACHER_LIMITS, Limits, Token, limit_error, split_names, tokenize

__all__ = ["FUNCTIONS", "TEACHER_LIMITS", "Limits", "parse_expression", "parse_number"]


STUDENT_LIMITS = Limits()  # the defaults: what one student answer may ask

# Function names, their builders, arities and bounded arguments: all from the op registry.
_BUILDERS = ops.parser_functions()
FUNCTIONS: Mapping[str, Callable[..., sympy.Expr]] = MappingProxyType(
    {name: spec.build for name, spec in _BUILDERS.items()})
_CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E, "e": sympy.E}
_STUDENT_ALIASES = {"ln": "log"}
_COMPARE = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge}

_LOGIC = {"And": sympy.And, "Or": sympy.Or, "Not": sympy.Not, "Eq": sympy.Eq, "Ne": sympy.Ne}
_CLOSERS = {"(": ")", "{": "}", "|": "|"}
# Words never split off a longer word, and functions that may be (sinx is sin x).
_KNOWN_WORDS = frozenset({*FUNCTIONS, *_CONSTANTS, *_STUDENT_ALIASES, "True"})
_SPLIT_FUNCTIONS = frozenset({*FUNCTIONS, *_STUDENT_ALIASES})


def _magnitude(number: sympy.Expr) -> float:
    """Roughly how many decimal digits a SymPy number has (numerator or denominator)."""
    if isinstance(number, sympy.Rational):
        return math.log10(max(abs(int(number.p)), int(number.q)))
    return 0.0


class _Parser:
    """Recursive descent over the tokens: sum > term > unary > power > postfix > atom."""

    def __init__(self, tokens: list[Token], names: Mapping[str, sympy.Basic],
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
    def _peek(self) -> Token:
        return self.tokens[self.index]

    def _next(self) -> Token:
        tok = self.tokens[self.index]
        self.index += 1
        return tok

    def _is(self, *values: str) -> bool:
        tok = self._peek()
        return tok.kind == "op" and tok.value in values

    def _enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise limit_error(f"the expression nests deeper than {self.limits.max_depth} levels "
                               f"at position {tok.pos}", "max_depth", self.limits, tok.pos)

    def _close(self, opener: Token) -> None:
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

    def _unexpected(self, tok: Token) -> ExpressionError:
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
    def _pow(self, base: sympy.Expr, exponent: sympy.Expr, tok: Token) -> sympy.Expr:
        """Build base**exponent after checking that SymPy cannot blow up evaluating it."""
        limit = self.limits.max_exponent
        if isinstance(exponent, sympy.Number):
            size: float
            if isinstance(exponent, sympy.Rational):
                size = max(abs(int(exponent.p)), int(exponent.q))
            else:
                size = abs(float(exponent))
            if size > limit:
                raise limit_error(f"the exponent {exponent} at position {tok.pos} is too large",
                                   "max_exponent", self.limits, tok.pos)
            numbers = base.atoms(sympy.Number)
            digits = abs(float(exponent)) * max(map(_magnitude, numbers), default=0.0)
            if digits > limit:
                raise limit_error(f"the power at position {tok.pos} would have about {digits:.0f} "
                                   "digits", "max_exponent", self.limits, tok.pos)
        return sympy.Pow(base, exponent)

    def _check_argument(self, name: str, arg: sympy.Expr, tok: Token) -> None:
        """Refuse factorial/gamma of a number so large that SymPy would compute it for ages."""
        if isinstance(arg, sympy.Number) and abs(arg) > self.limits.max_factorial:
            raise limit_error(f"{name} of {arg} at position {tok.pos} is too large",
                               "max_factorial", self.limits, tok.pos)

    def _apply(self, name: str, args: list[sympy.Expr], tok: Token) -> sympy.Expr:
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

    def _check_number(self, expr: sympy.Expr, tok: Token) -> sympy.Expr:
        """Refuse a product whose numeric coefficient has grown past max_exponent digits."""
        coefficient = expr.as_coeff_Mul()[0] if expr.is_Mul else expr
        digits = _magnitude(coefficient)
        if digits > self.limits.max_exponent:
            raise limit_error(f"the product starting at position {tok.pos} has a number of "
                               f"about {digits:.0f} digits", "max_exponent", self.limits, tok.pos)
        return expr

    def _starts_operand(self, tok: Token) -> bool:
        opens = tok.kind == "op" and tok.value in ("(", "{", "sqrt", "frac")
        bar = tok.kind == "op" and tok.value == "|" and self.bars == 0 and self.student
        return opens or bar or tok.kind in ("num", "name")

    def _check_division(self, first: Token, slash: Token) -> None:
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

    def _check_implicit(self, tok: Token) -> None:
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

    def _nested(self, tok: Token) -> sympy.Expr:
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

    def _braced(self, frac: Token) -> sympy.Expr:
        opener = self._next()
        if not (opener.kind == "op" and opener.value == "{"):
            raise ExpressionError(f"\\frac at position {frac.pos} needs two groups in braces: "
                                  "\\frac{a}{b}", opener.pos)
        expr = self._sum()
        self._close(opener)
        return expr

    def _number(self, tok: Token) -> sympy.Expr:
        mantissa, _, exponent = tok.value.lower().partition("e")
        value = sympy.Rational(mantissa)
        return value * sympy.Integer(10) ** int(exponent) if exponent else value

    def _name(self, tok: Token) -> sympy.Expr:
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

    def _check_not_called(self, tok: Token) -> None:
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

    def _call(self, name: str, tok: Token, declared: sympy.Lambda | None = None) -> sympy.Expr:
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

    def _function_power(self, tok: Token) -> sympy.Expr:
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

    def _names_function(self, tok: Token) -> bool:
        value = self.names.get(tok.value)
        if value is not None:
            return isinstance(value, sympy.Lambda)
        return tok.value in FUNCTIONS or tok.value in _STUDENT_ALIASES

    def _call_arguments(self, name: str, tok: Token, opener: Token,
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
                        tok: Token) -> sympy.Expr:
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
            raise limit_error(f"the expression has more than {limits.max_nodes} parts",
                               "max_nodes", limits)


def parse_expression(text: str, names: Mapping[str, sympy.Basic], *, student: bool = False,
                     limits: Limits = STUDENT_LIMITS) -> sympy.Expr:
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
        raise limit_error(f"answer is {len(text)} characters long", "max_length", limits)
    if not text.strip():
        raise ExpressionError("the answer is empty", 0)
    tokens = tokenize(text, student, limits)
    if student:
        tokens = split_names(tokens, names, _KNOWN_WORDS, _SPLIT_FUNCTIONS)
    try:
        expr = _Parser(tokens, names, student, limits, text).parse()
    except RecursionError:
        what = "the expression nests too deeply for Python"
        raise limit_error(what, "max_depth", limits) from None
    _check_size(expr, limits)
    return expr


def parse_number(text: str, *, limits: Limits = STUDENT_LIMITS) -> sympy.Expr:
    """Parse a number, fraction or constant expression such as ``3/4``, ``2pi`` or ``e^2``.

    Student syntax is accepted; no names are.

    >>> parse_number("0.25")
    1/4
    """
    return parse_expression(text, {}, student=True, limits=limits)
