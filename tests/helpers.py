"""Paths and texts shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
SEEDS = PROBLEMS / "seeds"

LINEAR = """\
id = "{stem}"
title = "linear regression"
[symbols.x]
value = 1.0
[symbols.y]
value = 2.0
[symbols.w]
value = 1.0
[graph]
y_hat = "w*x"
s = "y_hat - y"
loss = "s**2"
"""
