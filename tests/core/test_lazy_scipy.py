"""scipy.special is imported only when a problem calls one of its functions.

Importing it costs about 0.4 s of every process's start-up (a batch, a pool worker, a CI
job over the bank), and most problems never need it. Each case runs in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import SEEDS

GRADE_SEED = f"""
import sys
from gradcheck.grading import grade
from gradcheck.loader import load_problem
problem = load_problem({str(SEEDS / 'linear-regression.toml')!r})
assert grade(problem, "dloss_dw", "2*x*(w*x - y)").verdict == "pass"
print("scipy" in sys.modules)
"""

ERF = """
import math, sys
import numpy as np
from gradcheck.ops import numpy_table
before = "scipy.special" in sys.modules
value = float(numpy_table()["erf"](np.array([0.5]))[0])
print(before, "scipy.special" in sys.modules, abs(value - math.erf(0.5)) < 1e-15)
"""


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_grading_a_seed_problem_does_not_import_scipy() -> None:
    assert _run(GRADE_SEED) == "False"


def test_a_special_function_imports_scipy_when_first_called() -> None:
    assert _run(ERF) == "False True True"
