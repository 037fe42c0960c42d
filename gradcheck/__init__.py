"""gradcheck: tells, with evidence, whether a gradient is right.

The pipeline is problem -> derivation -> compiled functions -> check results -> report;
each stage is a function in its own module, re-exported here. torch is never imported
until a torch backend is asked for.
"""

from gradcheck.check import CheckReport, Comparison, QuestionResult, check
from gradcheck.derivation import Derivation, Target, derive
from gradcheck.errors import (
    BackendUnavailableError,
    ExitCode,
    ExpressionError,
    GradcheckError,
    ProblemError,
    UnsupportedFunctionError,
    UsageError,
)
from gradcheck.loader import load_bank, load_problem
from gradcheck.problem import Problem, Question
from gradcheck.tolerances import Tolerance

__all__ = [
    "BackendUnavailableError",
    "CheckReport",
    "Comparison",
    "Derivation",
    "ExitCode",
    "ExpressionError",
    "GradcheckError",
    "Problem",
    "ProblemError",
    "Question",
    "QuestionResult",
    "Target",
    "Tolerance",
    "UnsupportedFunctionError",
    "UsageError",
    "check",
    "derive",
    "load_bank",
    "load_problem",
]
