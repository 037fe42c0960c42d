"""The numpy backend: a strict op table over numpy and scipy.special.

Accepts complex input (the complex-step derivative runs through it); ops that are
not analytic never see complex input, because the check does not use the complex
step on tapes that contain them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gradcheck import ops
from gradcheck.tape import Table, Tape, run_tape

# Every row of the op registry has a numpy implementation (a test checks it).
TABLE: Table = ops.numpy_table()


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
                               lambda c: c, self.name, ops.refusals("numpy"))
            stacked = np.stack([np.broadcast_to(np.asarray(o), (n,)) for o in outputs])
        if np.iscomplexobj(points):
            return stacked.astype(np.complex128)
        return stacked.astype(np.float64)

    def autograd(self, tape: Tape, points: np.ndarray, output: int,
                 wrt: Sequence[int]) -> np.ndarray | None:
        return None
