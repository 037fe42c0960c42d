"""The numpy backend: a strict op table over numpy and scipy.special.

Accepts complex input (the complex-step derivative runs through it); ops that are
not analytic never see complex input, because the check does not use the complex
step on tapes that contain them.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.special

from gradcheck.tape import Table, Tape, run_tape


def _piecewise(*args: Any) -> Any:
    # SymPy's Piecewise takes the first true condition: fold from the last pair back.
    result: Any = np.nan
    for value, cond in reversed(list(zip(args[::2], args[1::2], strict=True))):
        result = np.where(cond, value, result)
    return result


def _heaviside(x: Any, h0: Any = 0.5) -> Any:
    return np.where(x > 0, 1.0, np.where(x < 0, 0.0, h0))


def _diracdelta(x: Any, k: Any = 0) -> Any:
    # Zero away from the origin; undefined (NaN) on it, so that point is set aside.
    return np.where(x == 0, np.nan, 0.0 * x)


def _polygamma(n: Any, x: Any) -> Any:
    if np.iscomplexobj(x) and n == 0:
        return scipy.special.psi(x)
    return scipy.special.polygamma(int(n), x)


TABLE: Table = {
    "add": lambda *a: functools.reduce(operator.add, a),
    "mul": lambda *a: functools.reduce(operator.mul, a),
    "neg": operator.neg,
    "reciprocal": lambda x: 1.0 / x,
    "powi": lambda x, n: x * x if n == 2 else x**n,
    "pow": np.power,
    "sqrt": np.sqrt,
    "exp": np.exp, "log": np.log,
    "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "sec": lambda x: 1.0 / np.cos(x), "csc": lambda x: 1.0 / np.sin(x),
    "cot": lambda x: 1.0 / np.tan(x),
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "atan2": np.arctan2,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "sech": lambda x: 1.0 / np.cosh(x), "csch": lambda x: 1.0 / np.sinh(x),
    "coth": lambda x: 1.0 / np.tanh(x),
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "abs": np.abs, "sign": np.sign,
    "max": lambda *a: functools.reduce(np.maximum, a),
    "min": lambda *a: functools.reduce(np.minimum, a),
    "heaviside": _heaviside, "diracdelta": _diracdelta,
    "erf": scipy.special.erf, "erfc": scipy.special.erfc,
    "gamma": scipy.special.gamma, "loggamma": scipy.special.loggamma,
    "polygamma": _polygamma,
    "floor": np.floor, "ceiling": np.ceil,
    "factorial": lambda x: scipy.special.gamma(x + 1.0),
    "piecewise": _piecewise,
    "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "eq": np.equal, "ne": np.not_equal,
    "and": np.logical_and, "or": np.logical_or, "not": np.logical_not,
}


class NumpyBackend:
    """Evaluates tapes with numpy; no autodiff of its own."""

    def __init__(self, name: str = "numpy", dtype: str = "float64") -> None:
        self.name = name
        self.dtype = dtype

    def evaluate(self, tape: Tape, points: np.ndarray) -> np.ndarray:
        """Outputs at each point, shape (n_outputs, n_points); complex in gives complex out."""
        points = np.asarray(points)
        if not np.iscomplexobj(points):
            points = points.astype(self.dtype, copy=False)
        n = points.shape[0]
        with np.errstate(all="ignore"):
            outputs = run_tape(tape, TABLE, [points[:, i] for i in range(points.shape[1])],
                               lambda c: c, self.name)
            stacked = np.stack([np.broadcast_to(np.asarray(o), (n,)) for o in outputs])
        if np.iscomplexobj(points):
            return stacked.astype(np.complex128)
        return stacked.astype(np.float64)

    def autograd(self, tape: Tape, points: np.ndarray, output: int,
                 wrt: Sequence[int]) -> np.ndarray | None:
        return None
