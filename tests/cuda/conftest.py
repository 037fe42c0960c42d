"""CUDA tests: the torch tests again on ``torch-cuda``.

Their module skips itself without torch or without a CUDA device (not this conftest: a
skip raised while a conftest is imported aborts the run when the folder is named).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def backend_name() -> str:
    """The registry name of the backend under test."""
    return "torch-cuda"
