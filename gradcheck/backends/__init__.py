"""The backend table: one module and one class per backend, imported only when asked for.

Nothing outside this table branches on backend names. A backend evaluates a tape on
points given as a float64 numpy array of shape (n_points, n_inputs) and returns
numpy float64 arrays, whatever device it computes on.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from gradcheck.errors import BackendUnavailableError, UsageError

if TYPE_CHECKING:  # the tape imports the op registry, which imports torch_ops from here
    from gradcheck.tape import Tape


class Backend(Protocol):
    """What the check needs from a backend."""

    name: str
    dtype: str

    def evaluate(self, tape: Tape, points: np.ndarray) -> np.ndarray:
        """Outputs of the tape at each point: shape (n_outputs, n_points), float64."""
        ...

    def autograd(self, tape: Tape, points: np.ndarray, output: int, wrt: Sequence[int]) -> np.ndarray | None:
        """d^k output / d wrt... at each point by the backend's own autodiff, or None without one."""
        ...


@dataclass(frozen=True)
class BackendEntry:
    """Where a backend lives and how to build it."""

    module: str
    cls: str
    description: str
    options: dict[str, Any] = field(default_factory=dict)
    family: str = "numpy"  # the op registry's column it evaluates with (ops.Op.refused)


REGISTRY: dict[str, BackendEntry] = {
    "numpy": BackendEntry("gradcheck.backends.numpy_backend", "NumpyBackend",
                          "numpy (and scipy.special), float64 or float32, no autodiff"),
    "torch-cpu": BackendEntry("gradcheck.backends.torch_backend", "TorchBackend",
                              "torch on the CPU, with autograd", {"device": "cpu"}, "torch"),
    "torch-cuda": BackendEntry("gradcheck.backends.torch_backend", "TorchBackend",
                               "torch on a CUDA device, with autograd", {"device": "cuda"},
                               "torch"),
}


def get_backend(name: str, dtype: str = "float64") -> Backend:
    """Build the backend called ``name``.

    Raises:
        UsageError: for a name not in the table, or an unknown dtype.
        BackendUnavailableError: when it cannot run here (torch missing, no CUDA device).
    """
    if name not in REGISTRY:
        raise UsageError(f"unknown backend {name!r}; known backends are "
                         + ", ".join([*REGISTRY, "auto"]))
    if dtype not in ("float64", "float32"):
        raise UsageError(f"unknown dtype {dtype!r}; use float64 or float32")
    entry = REGISTRY[name]
    module = importlib.import_module(entry.module)
    backend: Backend = getattr(module, entry.cls)(name=name, dtype=dtype, **entry.options)
    return backend


def available_backends() -> list[str]:
    """Names of the backends that can run on this machine (what ``--backend auto`` picks)."""
    names = []
    for name in REGISTRY:
        try:
            get_backend(name)
        except BackendUnavailableError:
            continue
        names.append(name)
    return names


def resolve_backends(names: Sequence[str]) -> list[str]:
    """Expand ``auto`` and drop duplicates, keeping order; numpy when nothing is asked."""
    result: list[str] = []
    for name in names or ["numpy"]:
        for item in available_backends() if name == "auto" else [name]:
            if item not in result:
                result.append(item)
    return result
