"""Fixtures for gradcheck serve: an app over a temporary SQLite database and a signed-in client.

Each test module calls ``require_serve()`` first, so it skips, with the install command,
when the serve extra is missing (a skip in a conftest would be a collection error).
Nothing from the extra is imported here at module level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import escape
from pathlib import Path
from typing import Any

import pytest

from gradcheck.loader import load_bank, load_problem
from tests.helpers import SEEDS

TOKEN = "teacher-secret-token"
SERVE_MODULES = ("starlette", "sqlalchemy", "alembic", "jinja2", "multipart", "markdown_it",
                 "mdit_py_plugins", "latex2mathml", "itsdangerous", "uvicorn")


def require_serve(*more: str) -> None:
    """Skip the calling test module, with the install command, when a serve part is missing."""
    for module in (*SERVE_MODULES, *more):
        pytest.importorskip(module, reason=f"gradcheck serve needs {module}: "
                                           "pip install 'gradcheck[serve]'")


@pytest.fixture(scope="session")
def bank() -> tuple[Any, ...]:
    return (load_problem(SEEDS / "linear-regression.toml"),
            load_problem(SEEDS / "exercise-4-2.toml"))


@pytest.fixture(scope="session")
def seed_bank() -> tuple[Any, ...]:
    return tuple(load_bank([SEEDS]))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    from gradcheck.serve.store import open_store

    s = open_store(f"sqlite:///{tmp_path / 'course.db'}")
    yield s
    s.close()


@pytest.fixture
def make_client(bank: tuple[Any, ...], store: Any) -> Iterator[Callable[..., Any]]:
    """make_client(**settings) -> a TestClient (entered) over a fresh app on ``store``."""
    from starlette.testclient import TestClient

    from gradcheck.serve.app import create_app
    from gradcheck.serve.settings import ServeSettings

    opened: list[TestClient] = []

    def make(grader: Any = None, **overrides: Any) -> TestClient:
        settings = ServeSettings(**{"bank": bank, "teacher_token": TOKEN, "points": 8,
                                    **overrides})
        client = TestClient(create_app(settings, store, grader=grader))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(client: Any, student: str) -> str:
    """Sign in through the id form; returns the session's CSRF token."""
    csrf = csrf_of(client.get("/").text)
    response = client.post("/login", data={"csrf": csrf, "student": student})
    assert response.status_code == 200 and f"<strong>{escape(student)}</strong>" in response.text
    return csrf


def teacher_sign_in(client: Any) -> str:
    csrf = csrf_of(client.get("/teacher").text)
    response = client.post("/teacher/login", data={"csrf": csrf, "token": TOKEN})
    assert response.status_code == 200 and "The class" in response.text
    return csrf
