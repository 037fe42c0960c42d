"""The code passes its own static checks: ruff (style, imports, likely bugs) and mypy
(the types the API promises in py.typed). CI runs the test command only, so these run here.

Each tool is a test dependency (``pip install -e ".[test]"``); without it the test skips and
says how to install it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "gradcheck", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing() -> None:
    done = _run("mypy", "gradcheck")
    assert done.returncode == 0, done.stdout + done.stderr
