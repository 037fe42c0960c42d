"""Shared fixtures: the seed bank and a writer for throwaway problem files.

Also the Hypothesis profile ``fuzz`` (``pytest --hypothesis-profile=fuzz``): the fuzz
tests of tests/hostile run far more examples, from a fresh random seed each run.
It is registered here, at the root, so the option works for any set of test paths.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("fuzz", max_examples=20_000, deadline=None, derandomize=False,
                          suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def write_problem(tmp_path: Path) -> Callable[..., Path]:
    """Write a problem file; its id defaults to the file stem."""

    def write(text: str, stem: str = "p", folder: str = "") -> Path:
        directory = tmp_path / folder
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{stem}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
