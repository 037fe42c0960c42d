"""What people type, in tables: unicode, superscripts, LaTeX commands and Greek letters.

Student answers only (problem files use plain SymPy syntax). ``gradcheck.parsing``
turns each entry into the token of its plain-grammar equivalent; every reading is
listed in docs/answers.md, and an answer's reading is shown back ("understood as").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["GREEK", "LATEX", "SUPERSCRIPTS", "UNICODE", "greek_name", "is_greek"]

# Characters -> the token they become (kind, value).
UNICODE: Mapping[str, tuple[str, str]] = MappingProxyType({
    "\u2212": ("op", "-"),   # minus sign
    "\u2013": ("op", "-"),   # en dash, as word processors turn '-' into
    "\u00b7": ("op", "*"), "\u22c5": ("op", "*"), "\u2217": ("op", "*"), "\u00d7": ("op", "*"),
    "\u00f7": ("op", "/"), "\u2215": ("op", "/"),
    "\u221a": ("op", "sqrt"), "{": ("op", "{"), "}": ("op", "}"),
    "\u00b5": ("name", "\u03bc"),  # micro sign, typed for mu
})

# Superscript characters -> plain text; a run such as '⁻ˣ' becomes **(-x).
SUPERSCRIPTS: Mapping[str, str] = MappingProxyType({
    **{c: str(i) for i, c in enumerate("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")},
    "\u207b": "-", "\u207a": "+", "\u207d": "(", "\u207e": ")",
    **dict(zip("\u1d43\u1d47\u1d9c\u1d48\u1d49\u1da0\u1d4d\u02b0\u2071\u02b2\u1d4f\u02e1\u1d50"
               "\u207f\u1d52\u1d56\u02b3\u02e2\u1d57\u1d58\u1d5b\u02b7\u02e3\u02b8\u1dbb",
               "abcdefghijklmnoprstuvwxyz", strict=True)),
})

# Greek letters -> the ASCII names a problem may give that variable, first the usual one.
# λ is also 'lam' (lambda is a Python keyword, so no problem can name a symbol 'lambda').
GREEK: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "α": ("alpha",), "β": ("beta",), "γ": ("gamma",), "δ": ("delta",),
    "ε": ("epsilon", "eps"), "ϵ": ("epsilon", "eps"), "ζ": ("zeta",), "η": ("eta",),
    "θ": ("theta",), "ϑ": ("theta",), "ι": ("iota",), "κ": ("kappa",),
    "λ": ("lam", "lamda", "lmbda"), "μ": ("mu",), "ν": ("nu",), "ξ": ("xi",),
    "ο": ("omicron",), "π": ("pi",), "ρ": ("rho",), "σ": ("sigma",), "ς": ("sigma",),
    "τ": ("tau",), "υ": ("upsilon",), "φ": ("phi",), "ϕ": ("phi",), "χ": ("chi",),
    "ψ": ("psi",), "ω": ("omega",),
    "Γ": ("Gamma",), "Δ": ("Delta",), "Θ": ("Theta",), "Λ": ("Lambda",), "Ξ": ("Xi",),
    "Π": ("Pi",), "Σ": ("Sigma",), "Υ": ("Upsilon",), "Φ": ("Phi",), "Ψ": ("Psi",),
    "Ω": ("Omega",),
})
# What a Greek letter means when the problem gives it no variable: σ(x) is the sigmoid.
GREEK_DEFAULTS: Mapping[str, str] = MappingProxyType({"π": "pi", "σ": "sigmoid", "Γ": "gamma"})
# Every spelling of a letter, ASCII or Greek, -> the letter.
_LETTER_OF: dict[str, str] = {}
for _letter, _words in GREEK.items():
    for _word in (_letter, *_words):
        _LETTER_OF.setdefault(_word, _letter)
_LETTER_OF["lambda"] = "λ"

_LATEX_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "θ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ",
    "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
_FUNCTION_COMMANDS = ("exp", "log", "sin", "cos", "tan", "sec", "csc", "cot",
                      "sinh", "cosh", "tanh", "sech", "csch", "coth")

# LaTeX commands -> the token they become (kind, value); "skip" is spacing.
LATEX: Mapping[str, tuple[str, str]] = MappingProxyType({
    "cdot": ("op", "*"), "times": ("op", "*"), "div": ("op", "/"),
    "frac": ("op", "frac"), "dfrac": ("op", "frac"), "tfrac": ("op", "frac"),
    "sqrt": ("op", "sqrt"), "left": ("skip", ""), "right": ("skip", ""),
    "lvert": ("op", "|"), "rvert": ("op", "|"), "vert": ("op", "|"), "|": ("op", "|"),
    ",": ("skip", ""), ";": ("skip", ""), "!": ("skip", ""), " ": ("skip", ""),
    "ln": ("name", "log"),
    "arcsin": ("name", "asin"), "arccos": ("name", "acos"), "arctan": ("name", "atan"),
    **{f: ("name", f) for f in _FUNCTION_COMMANDS},
    **{command: ("name", letter) for command, letter in _LATEX_GREEK.items()},
})


def is_greek(ch: str) -> bool:
    """Whether ``ch`` is one Greek letter (a name on its own in student answers)."""
    return ch.isalpha() and unicodedata.name(ch, "").startswith("GREEK")


def greek_name(word: str, names: Mapping[str, object]) -> str | None:
    """The problem's name for a Greek letter or its spelling, or what the letter means alone.

    ``μ`` and ``mu`` are one variable: whichever of the letter and its spellings the
    problem uses (as a symbol or an alias) is returned. With none of them, π is pi, σ is
    the sigmoid and Γ the gamma function; otherwise None (the caller reports the name).
    """
    letter = _LETTER_OF.get(word)
    if letter is None:
        return None
    found = [w for w in (letter, *GREEK.get(letter, ())) if w in names]
    if len(found) == 1:
        return found[0]
    if not found and word == letter:
        return GREEK_DEFAULTS.get(letter)
    return None
