"""Torch tests run on the CPU; each module skips itself where torch is not installed.

The skip is ``pytest.importorskip("torch")`` at the top of every test module, not here:
a skip raised while a conftest is imported aborts the whole run when this folder is
named on the command line.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def backend_name() -> str:
    """The registry name of the backend under test (tests/cuda overrides it)."""
    return "torch-cpu"
