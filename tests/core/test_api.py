"""The public API is small, declared, and every declared name resolves."""

from __future__ import annotations

import subprocess
import sys

import gradcheck


def test_every_public_name_resolves() -> None:
    for name in gradcheck.__all__:
        assert getattr(gradcheck, name) is not None, name


def test_all_is_exactly_the_declared_surface() -> None:
    assert sorted(gradcheck.__all__) == gradcheck.__all__
    lazy = set(gradcheck._LAZY)
    eager = {n for n in gradcheck.__all__ if n not in lazy}
    assert lazy <= set(gradcheck.__all__)
    assert all(issubclass(getattr(gradcheck, n), Exception) or n == "ExitCode" for n in eager)
    assert {"check", "load_bank", "load_problem", "derive", "explain", "grade", "verify",
            "verify_backward", "grade_batch", "lint", "GradcheckError"} <= set(gradcheck.__all__)


def test_error_root_and_valueerror() -> None:
    for name in ("ProblemError", "ExpressionError", "UsageError", "UnsupportedFunctionError"):
        cls = getattr(gradcheck, name)
        assert issubclass(cls, gradcheck.GradcheckError) and issubclass(cls, ValueError)


def test_import_is_light() -> None:
    code = "import sys, gradcheck; print(sorted(m for m in ('sympy', 'scipy', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_functions_stay_functions_after_their_modules_load() -> None:
    # A function named like its module is hidden once the module is imported: guard the surface.
    code = ("import importlib, gradcheck\n"
            "for m in ('checks', 'grading', 'verification', 'explanation', 'linting', 'batch'):\n"
            "    importlib.import_module('gradcheck.' + m)\n"
            "import types\n"
            "print(sorted(n for n in gradcheck.__all__ "
            "if isinstance(getattr(gradcheck, n), types.ModuleType)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
