"""gradcheck: tells, with evidence, whether a gradient is right.

The pipeline is problem -> derivation -> compiled functions -> check results -> report;
each stage is a function in its own module, re-exported here. Names are loaded on
first use, so ``import gradcheck`` (and ``gradcheck --help``, and pytest start-up with
the plugin) stay quick and never import sympy's heavier parts or torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gradcheck.errors import (
    BackendUnavailableError,
    ExitCode,
    ExpressionError,
    GradcheckError,
    ProblemError,
    UnsupportedFunctionError,
    UsageError,
)

# public name -> the module that defines it
_LAZY = {
    "CheckReport": "gradcheck.check",
    "Comparison": "gradcheck.check",
    "QuestionResult": "gradcheck.check",
    "check": "gradcheck.check",
    "Derivation": "gradcheck.derivation",
    "Target": "gradcheck.derivation",
    "derive": "gradcheck.derivation",
    "explain": "gradcheck.explain",
    "load_bank": "gradcheck.loader",
    "load_problem": "gradcheck.loader",
    "Problem": "gradcheck.problem",
    "Question": "gradcheck.problem",
    "Tolerance": "gradcheck.tolerances",
    "GradeResult": "gradcheck.verdict",
}

__all__ = sorted([
    "BackendUnavailableError", "ExitCode", "ExpressionError", "GradcheckError",
    "ProblemError", "UnsupportedFunctionError", "UsageError", *_LAZY,
])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gradcheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from gradcheck.check import CheckReport, Comparison, QuestionResult, check
    from gradcheck.derivation import Derivation, Target, derive
    from gradcheck.explain import explain
    from gradcheck.loader import load_bank, load_problem
    from gradcheck.problem import Problem, Question
    from gradcheck.tolerances import Tolerance
    from gradcheck.verdict import GradeResult
