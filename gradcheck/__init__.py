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
    "CheckReport": "gradcheck.checks",
    "Comparison": "gradcheck.checks",
    "QuestionResult": "gradcheck.checks",
    "check": "gradcheck.checks",
    "Derivation": "gradcheck.derivation",
    "Target": "gradcheck.derivation",
    "derive": "gradcheck.derivation",
    "explain": "gradcheck.explanation",
    "StudentBackward": "gradcheck.student_backward",
    "compare_answer": "gradcheck.student_backward",
    "compare_local": "gradcheck.student_backward",
    "grade": "gradcheck.grading",
    "verify": "gradcheck.verification",
    "verify_backward": "gradcheck.backward",
    "verify_layer": "gradcheck.arrays.layers",
    "LayerReport": "gradcheck.arrays.layers",
    "BatchReport": "gradcheck.batch",
    "grade_batch": "gradcheck.batch",
    "Submission": "gradcheck.submissions",
    "read_submissions": "gradcheck.submissions",
    "Finding": "gradcheck.linting",
    "LintReport": "gradcheck.linting",
    "lint": "gradcheck.linting",
    "load_bank": "gradcheck.loader",
    "load_problem": "gradcheck.loader",
    "Problem": "gradcheck.problem",
    "Question": "gradcheck.problem",
    "Tolerance": "gradcheck.tolerances",
    "Evidence": "gradcheck.verdict",
    "GradeResult": "gradcheck.verdict",
}

__all__ = [
    "BackendUnavailableError",
    "BatchReport",
    "CheckReport",
    "Comparison",
    "Derivation",
    "Evidence",
    "ExitCode",
    "ExpressionError",
    "Finding",
    "GradcheckError",
    "GradeResult",
    "LayerReport",
    "LintReport",
    "Problem",
    "ProblemError",
    "Question",
    "QuestionResult",
    "StudentBackward",
    "Submission",
    "Target",
    "Tolerance",
    "UnsupportedFunctionError",
    "UsageError",
    "check",
    "compare_answer",
    "compare_local",
    "derive",
    "explain",
    "grade",
    "grade_batch",
    "lint",
    "load_bank",
    "load_problem",
    "read_submissions",
    "verify",
    "verify_backward",
    "verify_layer",
]


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
    from gradcheck.backward import verify_backward
    from gradcheck.batch import BatchReport, grade_batch
    from gradcheck.checks import CheckReport, Comparison, QuestionResult, check
    from gradcheck.derivation import Derivation, Target, derive
    from gradcheck.explanation import explain
    from gradcheck.grading import grade
    from gradcheck.linting import Finding, LintReport, lint
    from gradcheck.loader import load_bank, load_problem
    from gradcheck.problem import Problem, Question
    from gradcheck.student_backward import StudentBackward, compare_answer, compare_local
    from gradcheck.submissions import Submission, read_submissions
    from gradcheck.tolerances import Tolerance
    from gradcheck.verdict import Evidence, GradeResult
    from gradcheck.verification import verify
