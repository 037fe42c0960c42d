"""pytest plugin: collect problem files as tests, only when asked (``--gradcheck``).

Installing gradcheck must not change other projects' test runs, so nothing is
collected unless ``--gradcheck`` is given or the ini key ``gradcheck_paths`` is set.
Nothing heavy is imported at start-up.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "checking gradcheck problem banks")
    group.addoption("--gradcheck", action="store_true", default=False,
                    help="collect gradcheck problem files (*.toml) as tests")
    parser.addini("gradcheck_paths", type="paths", default=[],
                  help="folders of gradcheck problem files to collect as tests")
