"""Turn text into tokens: numbers, names and operators, and what people type (student mode).

The first stage of ``gradcheck.parsing``. Student notation (unicode operators,
superscripts, LaTeX commands, Greek letters) becomes the tokens of the plain grammar
here, using the tables of ``gradcheck.notation``; numbers are checked against the
limits before SymPy sees them. Nothing is evaluated.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from gradcheck.errors import ExpressionError
from gradcheck.notation import LATEX, SUPERSCRIPTS, UNICODE, greek_name, is_greek

__all__ = ["TEACHER_LIMITS", "Limits", "Token", "limit_error", "split_names", "tokenize"]


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


_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?", re.ASCII)
_DIGITS = frozenset("0123456789")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_OPERATORS = ("**", "<=", ">=", "+", "-", "*", "/", "^", "(", ")", ",", "!", "<", ">", "|", "&",
              "~")


@dataclass(frozen=True)
class Token:
    """One token: kind is num, name, op or end; pos and text locate it in the input."""

    kind: str
    value: str
    pos: int
    text: str


def limit_error(
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


def _number_token(text: str, i: int, limits: Limits) -> Token:
    """Read the numeric literal at ``i``, checking its digits and decimal exponent."""
    match = _NUMBER.match(text, i)
    assert match is not None  # the caller saw a digit or '.' followed by a digit
    digits = sum(c.isdigit() for c in match.group(1))
    if digits > limits.max_digits:
        what = f"the number at position {i} has {digits} digits"
        raise limit_error(what, "max_digits", limits, i)
    exponent = match.group(2)
    if exponent is not None and abs(int(exponent)) > limits.max_exponent:
        raise limit_error(f"the number at position {i} has exponent {exponent}",
                           "max_exponent", limits, i)
    return Token("num", match.group(0), i, match.group(0))


def _latex_token(text: str, i: int) -> tuple[Token | None, int]:
    """Read the LaTeX command at ``i``: a token (None when it is spacing) and the next index."""
    match = _LATEX_COMMAND.match(text, i)
    if match is None or match.group(1) not in LATEX:
        shown = match.group(0) if match else "\\"
        raise ExpressionError(f"unknown LaTeX command {shown!r} at position {i}", i)
    kind, value = LATEX[match.group(1)]
    token = None if kind == "skip" else Token(kind, value, i, match.group(0))
    return token, match.end()


def _superscript_tokens(text: str, i: int, limits: Limits) -> tuple[list[Token], int]:
    """Turn a run of superscripts into a power: '²' is **2, '⁻¹' is **-1, 'ˣ' is **(x)."""
    end = i
    while end < len(text) and text[end] in SUPERSCRIPTS:
        end += 1
    raw = text[i:end]
    run = "".join(SUPERSCRIPTS[c] for c in raw)
    sign, digits = ("-", run[1:]) if run.startswith("-") else ("", run)
    power = Token("op", "**", i, raw)
    if digits.isdigit():
        signs = [Token("op", "-", i, raw)] if sign else []
        return [power, *signs, Token("num", digits, i, raw)], end
    if not any(c.isalnum() for c in run):
        raise ExpressionError(f"superscript {raw!r} at position {i} needs digits or letters", i)
    inner = [Token(t.kind, t.value, i, raw) for t in tokenize(run, True, limits)[:-1]]
    return [power, Token("op", "(", i, raw), *inner, Token("op", ")", i, raw)], end


def tokenize(text: str, student: bool, limits: Limits) -> list[Token]:
    """Split ``text`` into tokens, converting student forms to the plain grammar."""
    tokens: list[Token] = []
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
            tokens.append(Token("name", match.group(0), i, match.group(0)))
            i = match.end()
        elif op := next((o for o in _OPERATORS if text.startswith(o, i)), None):
            tokens.append(Token("op", "**" if op == "^" else op, i, op))
            i += len(op)
        elif student and ch in UNICODE:
            kind, value = UNICODE[ch]
            tokens.append(Token(kind, value, i, ch))
            i += 1
        elif student and is_greek(ch):
            tokens.append(Token("name", ch, i, ch))
            i += 1
        elif student and ch in SUPERSCRIPTS:
            more, i = _superscript_tokens(text, i, limits)
            tokens.extend(more)
        elif student and ch == "\\":
            token, i = _latex_token(text, i)
            tokens.extend([token] if token else [])
        else:
            raise _bad_character(text, i, student)
    return tokens + [Token("end", "", len(text), "")]


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


def split_names(tokens: list[Token], names: Mapping[str, object], known: frozenset[str],
                functions: frozenset[str]) -> list[Token]:
    """Student mode: give Greek letters and their spellings the problem's name for them,
    and replace each unknown name that is a run of known names by its parts.

    ``known`` words are never split (functions, constants); ``functions`` may be split off
    a longer word (sinx is sin x).
    """
    # Function names too: sinx is sin x (then sin(x)), xlnx is x*ln(x).
    vocabulary = (frozenset(names) | {"pi"} | ({"e"} if "e" not in names else set())
                  | functions)
    out: list[Token] = []
    for tok in tokens:
        value = tok.value
        if tok.kind == "name" and value not in names and (greek := greek_name(value, names)):
            tok = Token("name", greek, tok.pos, tok.text)
            value = greek
        known_word = value in names or value in known or is_greek(value[:1])
        parts = None if tok.kind != "name" or known_word else _split_name(value, vocabulary, tok.pos)
        if not parts:
            out.append(tok)
            continue
        offset = 0
        for part in parts:
            out.append(Token("name", part, tok.pos + offset, part))
            offset += len(part)
    return out


