"""The attempts table: one row per graded answer, never updated or deleted.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempts",
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
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_index("ix_attempts_student", "attempts", ["student", "problem", "question"])
    op.create_index("ix_attempts_question", "attempts", ["problem", "question"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER attempts_no_{event.lower()} BEFORE {event} ON attempts "
                       "BEGIN SELECT RAISE(ABORT, 'attempts are append-only'); END")
    elif dialect == "postgresql":
        op.execute("CREATE FUNCTION attempts_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'attempts are append-only'; END $$")
        op.execute("CREATE TRIGGER attempts_append_only BEFORE UPDATE OR DELETE ON attempts "
                   "FOR EACH ROW EXECUTE FUNCTION attempts_append_only()")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER attempts_append_only ON attempts")
        op.execute("DROP FUNCTION attempts_append_only()")
    op.drop_table("attempts")
