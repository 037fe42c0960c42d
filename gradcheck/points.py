"""Where derivatives are checked: the given point and seeded random points in each domain.

Randomness comes only from ``rng_for(seed, *keys)``: the same seed and keys give the
same points on every machine and in every run, whatever else was checked before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gradcheck.problem import Problem


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator fixed by the seed and a path of names (problem id, question id, ...).

    >>> float(rng_for(0, "a").random()) == float(rng_for(0, "a").random())
    True
    """
    digest = hashlib.sha256("\x00".join(keys).encode()).digest()
    entropy = [int(seed) & (2**64 - 1), int.from_bytes(digest[:16], "little")]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def draw(problem: Problem, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points drawn uniformly from each symbol's domain: shape (n, n_symbols)."""
    lows = np.array([s.domain[0] for s in problem.symbols])
    highs = np.array([s.domain[1] for s in problem.symbols])
    u = rng.random((n, len(problem.symbols)))
    # lows*(1-u) + highs*u, not lows + (highs-lows)*u: highs - lows overflows for [-1e308, 1e308]
    return lows * (1 - u) + highs * u


def given(problem: Problem) -> np.ndarray | None:
    """The symbols' values as one point of shape (1, n_symbols), or None when some are missing."""
    point = problem.given_point
    if point is None:
        return None
    return np.array([[point[name] for name in problem.symbol_names]], dtype=np.float64)


@dataclass(frozen=True)
class SetAside:
    """A point not used for checking, and why: the function is undefined or not differentiable."""

    point: tuple[tuple[str, float], ...]
    reason: str
    given: bool

    def to_dict(self) -> dict[str, object]:
        return {"point": dict(self.point), "reason": self.reason, "given": self.given}


def label(names: Sequence[str], row: np.ndarray) -> tuple[tuple[str, float], ...]:
    """A point as (name, value) pairs, for messages and reports."""
    return tuple((name, float(v)) for name, v in zip(names, row, strict=True))


def format_point(point: tuple[tuple[str, float], ...], digits: int = 10) -> str:
    """``x=1, w=0.5`` with values printed to ``digits`` significant digits at most."""
    return ", ".join(f"{name}={value:.{digits}g}" for name, value in point)


def number(value: float) -> str:
    """A float short enough to read, exact enough to act on (``inf`` and ``nan`` as such)."""
    return f"{float(value):.10g}"
