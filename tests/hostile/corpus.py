"""The hostile answer corpus: stored families, and families generated from a fixed seed.

Stored (``corpus/answers/<family>.jsonl``, one answer per line): ``injection``,
``bombs`` (resource bombs), ``unicode`` and ``latex``. A line is a JSON string, or
``{"repeat": [[text, times], ...]}`` for a long answer (``"(" * 5000 + "x" + ")" * 5000``)
that would bloat the file. ``{canary}`` in an answer stands for a folder the test
creates: a payload that ran would leave a file there.

Generated (``grammar``, ``mutated``, ``soup``) from ``SEED``, so every run grades the
same strings; change the seed to explore, never to make a test pass.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent / "corpus"
SEED = 20261130
STORED = ("injection", "bombs", "unicode", "latex")
GENERATED = {"grammar": 160, "mutated": 160, "soup": 120}
CANARY = "{canary}"

# Right answers to d loss / d w of linear-regression (the seed problem), to mutate.
RIGHT = ("2x(wx-y)", "2*x*(w*x - y)", "2(wx - y)x", "-2x(y - wx)", "2wx^2 - 2xy",
         "2·x·(w·x−y)", r"\frac{2x}{1}(wx-y)", "2*x**2*w - 2*x*y", "(wx-y)*2x", "x(2wx - 2y)")


def stored(family: str) -> list[str]:
    """The answers of a stored family, in file order."""
    answers = []
    for line in (HERE / "answers" / f"{family}.jsonl").read_text(encoding="ascii").splitlines():
        value = json.loads(line)
        if isinstance(value, dict):
            value = "".join(text * times for text, times in value["repeat"])
        answers.append(value)
    return answers


def corpus(canary: str | Path | None = None) -> list[tuple[str, str]]:
    """Every (family, answer), stored families first; ``{canary}`` replaced when given."""
    items = [(family, answer) for family in STORED for answer in stored(family)]
    rng = random.Random(SEED)
    items += [("grammar", grammar(rng)) for _ in range(GENERATED["grammar"])]
    items += [("mutated", mutated(rng)) for _ in range(GENERATED["mutated"])]
    items += [("soup", soup(rng)) for _ in range(GENERATED["soup"])]
    if canary is not None:
        items = [(f, a.replace(CANARY, str(canary))) for f, a in items]
    return items


# ---- grammar: random expressions in student notation, mostly well formed ---------------

_NAMES = ("x", "y", "w", "x", "w", "z", "ŷ", "λ", "sigma", "e", "pi", "E", "I", "nan", "a1",
          "wx", "xy", "loss", "s", "y_hat", "__class__")
_FUNCS = ("sin", "cos", "tan", "exp", "log", "ln", "sqrt", "abs", "tanh", "sigmoid", "relu",
          "softplus", "σ", "atan2", "floor", "sign", "Heaviside", "gelu", "eval", "open",
          "factorial", "gamma", "Max", "min", "erf")
_BINARY = ("+", "-", "*", "/", "^", "**", "·", "×", "−", " ", "")
_NUMBERS = ("0", "1", "2", "-2", "0.5", ".5", "1e-300", "1e300", "2e5", "10^9", "1/3",
            "3.14159", "007", "1_000", "0x10", "1j", "½", "²")


def grammar(rng: random.Random, depth: int = 0) -> str:
    """One random expression (depth at most 6), sometimes with a slip."""
    roll = rng.random()
    if depth >= 6 or roll < 0.25:
        return rng.choice(_NAMES) if rng.random() < 0.6 else rng.choice(_NUMBERS)
    if roll < 0.55:
        return f"{grammar(rng, depth + 1)}{rng.choice(_BINARY)}{grammar(rng, depth + 1)}"
    if roll < 0.75:
        return f"{rng.choice(_FUNCS)}({grammar(rng, depth + 1)})"
    if roll < 0.85:
        return f"({grammar(rng, depth + 1)})"
    if roll < 0.90:
        return f"|{grammar(rng, depth + 1)}|"
    if roll < 0.95:
        return f"\\frac{{{grammar(rng, depth + 1)}}}{{{grammar(rng, depth + 1)}}}"
    return f"-{grammar(rng, depth + 1)}"


# ---- mutated: right answers with a few random edits -------------------------------------

_INSERTS = "()[]{}|^*/+-.,;:!'\"\\_=<>@#$%&~`?x0 \t\n\x00\u2212\u00b7\u00b2\u200b\ud800"


def mutated(rng: random.Random) -> str:
    """A right answer after one to four random edits."""
    text = rng.choice(RIGHT)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(text))
        kind = rng.randrange(6)
        if kind == 0 and text:  # delete
            text = text[:at] + text[at + 1:]
        elif kind == 1:  # insert
            text = text[:at] + rng.choice(_INSERTS) + text[at:]
        elif kind == 2 and len(text) > 1:  # swap two neighbours
            at = min(at, len(text) - 2)
            text = text[:at] + text[at + 1] + text[at] + text[at + 2:]
        elif kind == 3:  # duplicate a piece
            end = rng.randint(at, len(text))
            text = text[:end] + text[at:end] * rng.randint(1, 3) + text[end:]
        elif kind == 4:  # wrap in a function, sometimes unknown
            text = f"{rng.choice(_FUNCS)}({text})"
        else:  # raise to a power
            text = f"({text})^{rng.choice(_NUMBERS)}"
    return text


# ---- soup: random characters --------------------------------------------------------------

_SOUP = ("0123456789" * 3 + "xyzw" * 4 + "+-*/^()" * 3 + " .,!|[]{}=<>'\"\\_#@$%&~`?;:"
         + "αλσμπΣ∂√²³·×−–—…\u200b\u202e\ufeff\x00\x1b\x7f\t\n" + "abcdefghijklmnopqrstuv")


def soup(rng: random.Random) -> str:
    """1 to 80 random characters, now and then a lone surrogate or an astral one."""
    chars = [rng.choice(_SOUP) for _ in range(rng.randint(1, 80))]
    if rng.random() < 0.1:
        chars.insert(rng.randrange(len(chars) + 1), chr(rng.randint(0xD800, 0xDFFF)))
    if rng.random() < 0.1:
        chars.insert(rng.randrange(len(chars) + 1), chr(rng.randint(0x10000, 0x10FFFF)))
    return "".join(chars)
