"""Fixtures for gradcheck serve: an app over a temporary SQLite database and a signed-in client.

Every test here skips, with the install command, when the serve extra is missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import escape
from pathlib import Path
from typing import Any

import pytest

for module in ("starlette", "sqlalchemy", "alembic", "jinja2", "multipart", "markdown_it",
               "latex2mathml", "itsdangerous", "httpx"):
    pytest.importorskip(module, reason=f"gradcheck serve needs {module}: "
                                       "pip install 'gradcheck[serve]'")

from starlette.testclient import TestClient  # noqa: E402

from gradcheck.loader import load_bank, load_problem  # noqa: E402
from gradcheck.serve.app import create_app  # noqa: E402
from gradcheck.serve.settings import ServeSettings  # noqa: E402
from gradcheck.serve.store import Store, open_store  # noqa: E402
from tests.helpers import SEEDS  # noqa: E402

TOKEN = "teacher-secret-token"


@pytest.fixture(scope="session")
def bank() -> tuple[Any, ...]:
    return (load_problem(SEEDS / "linear-regression.toml"),
            load_problem(SEEDS / "exercise-4-2.toml"))


@pytest.fixture(scope="session")
def seed_bank() -> tuple[Any, ...]:
    return tuple(load_bank([SEEDS]))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'course.db'}")
    yield s
    s.close()


@pytest.fixture
def make_client(bank: tuple[Any, ...], store: Store) -> Iterator[Callable[..., TestClient]]:
    """make_client(**settings) -> a TestClient (entered) over a fresh app on ``store``."""
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


def sign_in(client: TestClient, student: str) -> str:
    """Sign in through the id form; returns the session's CSRF token."""
    csrf = csrf_of(client.get("/").text)
    response = client.post("/login", data={"csrf": csrf, "student": student})
    assert response.status_code == 200 and f"<strong>{escape(student)}</strong>" in response.text
    return csrf


def teacher_sign_in(client: TestClient) -> str:
    csrf = csrf_of(client.get("/teacher").text)
    response = client.post("/teacher/login", data={"csrf": csrf, "token": TOKEN})
    assert response.status_code == 200 and "The class" in response.text
    return csrf
