"""The device-dependent torch tests, run on ``torch-cuda`` (the ``backend_name`` fixture here).

Skipped without torch or without a CUDA device. Besides the shared tests, it checks that
inputs and constants live on the GPU and that results come back as float64 numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device here (torch.cuda.is_available() is False)",
                allow_module_level=True)

from gradcheck.backends import available_backends, get_backend  # noqa: E402
from gradcheck.tape import build_tape  # noqa: E402
from tests.torch.test_autograd import (  # noqa: E402, F401
    test_a_constant_or_unused_input_has_zero_gradient,
    test_autograd_in_float32_is_within_the_float32_tolerance,
    test_first_derivative_matches_sympy,
    test_second_derivative_matches_sympy,
)
from tests.torch.test_check import (  # noqa: E402, F401
    bank,
    test_a_broken_translation_fails_vs_numpy,
    test_a_kink_at_the_given_point_is_set_aside_not_failed,
    test_cli_checks_on_torch,
    test_float32_passes_with_the_float32_tolerance_and_says_so,
    test_second_order_questions_use_double_backward,
    test_seed_bank_passes_the_three_way_check,
)
from tests.torch.test_ops import (  # noqa: E402, F401
    test_op_matches_numpy_and_the_oracle_in_float64,
    test_op_matches_the_oracle_in_float32,
)


def test_backend_fixture_is_cuda(backend_name: str) -> None:
    assert backend_name == "torch-cuda"
    assert "torch-cuda" in available_backends()


def test_inputs_and_constants_are_on_the_gpu() -> None:
    backend = get_backend("torch-cuda")
    x = sympy.Symbol("x", real=True)
    columns = backend.columns(np.array([[0.5], [1.5]]), grad=(0,))
    assert columns[0].device.type == "cuda" and columns[0].requires_grad
    assert backend.const(2.0).device.type == "cuda" and backend.const(True).dtype == torch.bool
    tape = build_tape([sympy.sqrt(2) * sympy.Max(x, 0) + sympy.Heaviside(x) * sympy.log(2)], [x])
    values = backend.evaluate(tape, np.array([[-1.0], [2.0]]))
    assert values.dtype == np.float64 and isinstance(values, np.ndarray)
    np.testing.assert_allclose(values[0], [0.0, 2 * np.sqrt(2) + np.log(2)], rtol=1e-15)
