"""The same store and app on PostgreSQL, where a server is available.

Set GRADCHECK_TEST_POSTGRES to a URL (``.ci/run`` starts Debian's postgresql and sets it);
without it, or without a server answering there, these tests skip with the reason.
Each test works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.serve.conftest import require_serve

require_serve()
pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg: pip install 'gradcheck[serve]'")

import sqlalchemy as sa  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from gradcheck.serve.app import create_app  # noqa: E402
from gradcheck.serve.settings import ServeSettings  # noqa: E402
from gradcheck.serve.store import database_url, open_store  # noqa: E402
from tests.serve.conftest import TOKEN  # noqa: E402

URL = os.environ.get("GRADCHECK_TEST_POSTGRES", "")


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not URL:
        pytest.skip("no PostgreSQL server: set GRADCHECK_TEST_POSTGRES=postgresql://user:pw@host/db "
                    "(.ci/run starts one)")
    admin = sa.create_engine(database_url(URL))
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at GRADCHECK_TEST_POSTGRES does not answer: {exc.orig}")
    schema = f"gc_{secrets.token_hex(6)}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    joiner = "&" if "?" in URL else "?"
    try:
        yield f"{database_url(URL)}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_postgres_migrates_and_refuses_to_change_attempts(pg_url):
    from gradcheck.serve.migrations import current
    from gradcheck.verdict import GradeResult

    store = open_store(pg_url)
    try:
        assert current(store.engine) == "0001"
        result = GradeResult(problem="p", question="q", answer="2*x", verdict="pass", feedback="ok")
        first = store.add("ada", result, source="api")
        again = open_store(pg_url)  # migrating again is a no-op and loses nothing
        assert [a.id for a in again.attempts()] == [first.id]
        again.close()
        for statement in ("UPDATE attempts SET verdict = 'fail'", "DELETE FROM attempts"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with store.engine.begin() as conn:
                    conn.execute(sa.text(statement))
        assert store.count() == 1
    finally:
        store.close()


def _run_class(store: Any, bank: tuple[Any, ...]) -> tuple[list[Any], str]:
    app = create_app(ServeSettings(bank=bank, teacher_token=TOKEN, points=8), store)
    with TestClient(app) as client:
        rows = []
        for student, answer in [("ada", "2*(w*x - y)"), ("ada", "2x(wx-y)"), ("bob", "-2x(wx-y)"),
                                ("cy", "<script>"), ("ada", "0")]:
            r = client.post("/api/attempts", json={"student": student, "problem": "linear-regression",
                                                   "question": "dloss_dw", "answer": answer})
            assert r.status_code == 200
            rows.append({k: v for k, v in r.json().items() if k != "row"})
        csv = client.get("/api/gradebook.csv", headers={"Authorization": f"Bearer {TOKEN}"}).text
    return rows, csv


def test_the_same_class_gives_the_same_results_on_sqlite_and_postgres(pg_url, bank, tmp_path):
    sqlite = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    postgres = open_store(pg_url)
    try:
        on_sqlite, on_postgres = _run_class(sqlite, bank), _run_class(postgres, bank)
    finally:
        sqlite.close()
        postgres.close()
    assert on_postgres == on_sqlite
    assert [r["verdict"] for r in on_postgres[0]] == ["fail", "pass", "fail", "invalid", "fail"]
