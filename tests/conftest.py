"""Shared fixtures: the seed bank and a writer for throwaway problem files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


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
