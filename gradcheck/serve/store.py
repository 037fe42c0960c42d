"""Where attempts live: SQLAlchemy Core over SQLite (default) or PostgreSQL, append-only.

Only this module talks to the database. The schema is made by the Alembic migrations
shipped in ``gradcheck/serve/migrations`` (run by ``open_store`` on start-up); the
table below mirrors the latest migration so queries can be written in Core. Nothing
here updates or deletes an attempt, and the migrations add triggers that refuse
UPDATE and DELETE on ``attempts`` in both dialects.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from gradcheck.errors import FileAccessError, UsageError
from gradcheck.verdict import GradeResult

__all__ = ["Attempt", "Store", "attempts_table", "database_url", "open_store"]

metadata = sa.MetaData()

attempts_table = sa.Table(
    "attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("student", sa.String(200), nullable=False),
    sa.Column("problem", sa.String(200), nullable=False),
    sa.Column("question", sa.String(200), nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("diagnosis", sa.String(32), nullable=True),
    sa.Column("feedback", sa.Text, nullable=False),
    sa.Column("understood_as", sa.Text, nullable=True),
    sa.Column("expected", sa.Text, nullable=True),
    sa.Column("result", sa.Text, nullable=False),  # the whole graded row as JSON (evidence too)
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # "page" or "api"
)


@dataclass(frozen=True)
class Attempt:
    """One stored attempt (a row of ``attempts``)."""

    id: int
    created_at: datetime
    student: str
    problem: str
    question: str
    answer: str
    verdict: str
    diagnosis: str | None
    feedback: str
    understood_as: str | None
    expected: str | None
    result: str
    seed: int
    source: str

    def row(self) -> dict[str, Any]:
        """The graded row as ``gradcheck grade --format json`` writes it; ``row`` is this attempt's id."""
        data: dict[str, Any] = json.loads(self.result)
        data["row"] = self.id
        return data


def database_url(text: str) -> str:
    """A SQLAlchemy URL from ``--db``: a URL as given, or a file path meaning SQLite.

    ``postgresql://`` and ``postgres://`` use the psycopg (3) driver.

    >>> database_url("course.db")
    'sqlite:///course.db'
    >>> database_url("postgresql://u@localhost/course")
    'postgresql+psycopg://u@localhost/course'
    """
    if "://" not in text:
        return f"sqlite:///{text}"
    scheme, rest = text.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return text


class Store:
    """Append attempts; read them back in the order they were made."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time; a writer that finds the file locked sleeps in
        # SQLite's busy handler (tens of ms), so threads here take turns instead.
        self._write_lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext())

    def add(self, student: str, result: GradeResult, *, source: str) -> Attempt:
        """Store one graded attempt and return it with its id."""
        from gradcheck.report.grades_json import row_dict

        data = row_dict(result)  # the fields of a row of the JSON report
        data["row"] = None
        data["student"] = student
        values: dict[str, Any] = {
            "created_at": datetime.now(UTC), "student": student, "problem": result.problem,
            "question": result.question, "answer": result.answer, "verdict": result.verdict,
            "diagnosis": result.diagnosis, "feedback": result.feedback,
            "understood_as": result.understood_as, "expected": result.expected,
            "result": json.dumps(data, ensure_ascii=False, allow_nan=True), "seed": result.seed,
            "source": source,
        }
        with self._write_lock, self.engine.begin() as conn:
            new_id = conn.execute(sa.insert(attempts_table).returning(attempts_table.c.id),
                                  values).scalar_one()
        return Attempt(id=new_id, **values)

    def attempts(self, *, student: str | None = None, problem: str | None = None) -> list[Attempt]:
        """Every attempt (optionally of one student or one problem), oldest first."""
        query = sa.select(attempts_table).order_by(attempts_table.c.id)
        if student is not None:
            query = query.where(attempts_table.c.student == student)
        if problem is not None:
            query = query.where(attempts_table.c.problem == problem)
        with self.engine.connect() as conn:
            return [Attempt(**row._mapping) for row in conn.execute(query)]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(attempts_table))
                       .scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Connect to the database at ``url`` and bring its schema up to date.

    Raises:
        UsageError: the URL is malformed or its driver is missing (exit 2).
        FileAccessError: the database cannot be opened or migrated (exit 4).
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise UsageError(f"--db: {url!r} is not a database URL or a file path ({exc})") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database not in ("", ":memory:") and not database.startswith("file:"):
            folder = Path(database).resolve().parent
            if not folder.is_dir():
                raise FileAccessError(f"--db: the folder {folder} does not exist")
        # Grading runs in threads: wait for a writer rather than fail at once.
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if database in ("", ":memory:"):
            kwargs["poolclass"] = sa.pool.StaticPool
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (ModuleNotFoundError, sa.exc.NoSuchModuleError) as exc:
        raise UsageError(f"--db: no driver for {parsed.get_backend_name()} ({exc}); for "
                         "PostgreSQL: pip install 'gradcheck[serve]'") from None
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        try:
            from gradcheck.serve.migrations import upgrade

            upgrade(engine)
        except sa.exc.OperationalError as exc:
            engine.dispose()
            raise FileAccessError(f"--db: cannot open or migrate the database: {exc.orig}") from None
    return Store(engine)


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
