"""The torch backend: a strict op table over torch, on the CPU or a CUDA device, with autograd.

It runs the same tape as the numpy backend (``gradcheck.tape``), so the two compilations
of an expression differ only by their tables, and the check compares them. torch is
imported only when a ``TorchBackend`` is built; without torch that raises
``BackendUnavailableError`` with the install command.

Points arrive as float64 numpy arrays; they are moved to ``device`` in ``dtype``, and
every constant of the tape is created there too. Results come back as float64 numpy.

Conventions at kinks (torch's subgradients) are listed in ``gradcheck.backends.torch_ops``.

Known limit: in a ``Piecewise`` whose unselected branch is undefined at a point (e.g.
``sqrt(x)`` for x < 0), torch's gradient of ``where`` is NaN there (0 * inf), which the
check reports as an autograd disagreement.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gradcheck import ops
from gradcheck.errors import BackendUnavailableError, UnsupportedFunctionError, UsageError
from gradcheck.tape import Tape, run_tape

if TYPE_CHECKING:
    import torch as torch_module

INSTALL = "pip install torch  (on this project's machines: pip install torch==2.13.0)"
DTYPES = ("float64", "float32")


def import_torch(name: str = "torch") -> Any:
    """Import torch, or raise BackendUnavailableError saying how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailableError(
            f"backend {name!r} needs torch, which is not installed here; install it with: "
            f"{INSTALL}") from exc
    return torch


def build_table(torch: Any) -> dict[str, Any]:
    """The op table over the given torch module, read from the op registry (gradcheck.ops)."""
    return ops.torch_table(torch)


@functools.cache
def table() -> dict[str, Any]:
    """The shared op table (built on first use, so importing this module never imports torch)."""
    return build_table(import_torch())


class TorchBackend:
    """Evaluates tapes with torch on ``device`` in ``dtype``, and differentiates them by autograd."""

    def __init__(self, name: str = "torch-cpu", dtype: str = "float64",
                 device: str = "cpu") -> None:
        if dtype not in DTYPES:
            raise UsageError(f"unknown dtype {dtype!r} for backend {name!r}; use float64 or float32")
        self.torch = import_torch(name)
        if device.startswith("cuda") and not self.torch.cuda.is_available():
            raise BackendUnavailableError(
                f"backend {name!r} needs a CUDA device, but torch.cuda.is_available() is False "
                f"here (torch {self.torch.__version__}, built for CUDA "
                f"{self.torch.version.cuda or 'none: a CPU-only build'}); use --backend "
                "torch-cpu, or run on a machine with an NVIDIA GPU and a CUDA build of torch")
        self.name = name
        self.dtype = dtype
        self.device = self.torch.device(device)
        self.torch_dtype = getattr(self.torch, dtype)

    def __repr__(self) -> str:
        return f"TorchBackend(name={self.name!r}, dtype={self.dtype!r}, device={str(self.device)!r})"

    def const(self, value: Any) -> torch_module.Tensor:
        """A tape constant as a 0-d tensor on this backend's device and dtype (bool stays bool)."""
        dtype = self.torch.bool if isinstance(value, bool | np.bool_) else self.torch_dtype
        return self.torch.tensor(value, dtype=dtype, device=self.device)

    def columns(self, points: np.ndarray, grad: Sequence[int] = ()) -> list[torch_module.Tensor]:
        """One tensor per input column on the device; those in ``grad`` are leaves with requires_grad."""
        points = np.asarray(points)
        if np.iscomplexobj(points) or points.ndim != 2:
            raise UsageError(f"backend {self.name!r} takes real points of shape (n, k); got "
                             f"dtype {points.dtype}, shape {points.shape}")
        rows = self.torch.as_tensor(np.ascontiguousarray(points.T), device=self.device)
        rows = rows.to(self.torch_dtype)
        return [rows[i].detach().clone().requires_grad_() if i in grad else rows[i]
                for i in range(points.shape[1])]

    def run(self, tape: Tape, inputs: Sequence[Any]) -> list[Any]:
        """The tape's outputs as tensors of shape (n,), in this backend's dtype."""
        n = inputs[0].shape[0] if inputs else 1
        try:
            outputs = run_tape(tape, table(), inputs, self.const, self.name,
                               ops.refusals("torch"))
        except UnsupportedFunctionError as exc:
            if exc.backend == self.name:
                raise
            raise UnsupportedFunctionError(self.name, exc.function, exc.where,
                                           exc.reason) from None
        return [o.to(self.torch_dtype).expand(n) for o in outputs]

    def evaluate(self, tape: Tape, points: np.ndarray) -> np.ndarray:
        """Outputs at each point, shape (n_outputs, n_points), float64 numpy."""
        with self.torch.no_grad():
            outputs = self.run(tape, self.columns(points))
            return self._numpy(self.torch.stack(outputs))

    def autograd(self, tape: Tape, points: np.ndarray, output: int,
                 wrt: Sequence[int]) -> np.ndarray:
        """d^k output / d wrt[0] ... d wrt[k-1] at every point, by one batched autograd pass.

        The points are independent, so the gradient of ``out.sum()`` with respect to an
        input column is the per-point derivative; order 2 differentiates that again.
        """
        inputs = self.columns(points, grad=wrt)
        value = self.run(tape, inputs)[output]
        for k, var in enumerate(wrt):
            value = self._grad(value, inputs[var], create_graph=k + 1 < len(wrt))
        return self._numpy(value)

    def _grad(self, value: Any, leaf: Any, create_graph: bool) -> Any:
        if not value.requires_grad:
            return self.torch.zeros_like(leaf)
        (grad,) = self.torch.autograd.grad(value.sum(), leaf, create_graph=create_graph,
                                           allow_unused=True)
        return self.torch.zeros_like(leaf) if grad is None else grad

    def _numpy(self, tensor: Any) -> np.ndarray:
        result: np.ndarray = tensor.detach().to("cpu", self.torch.float64).numpy()
        return result
