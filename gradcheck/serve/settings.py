"""What a server was started with (frozen; built by the CLI or by a caller of ``create_app``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from gradcheck.problem import Problem

__all__ = ["EXPLAIN_MODES", "IDENTITY_MODES", "ServeSettings", "valid_student"]

ExplainMode = Literal["never", "after-pass", "always"]
IdentityMode = Literal["id", "links"]
EXPLAIN_MODES: tuple[ExplainMode, ...] = ("never", "after-pass", "always")
IDENTITY_MODES: tuple[IdentityMode, ...] = ("id", "links")
_STUDENT = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,100}\Z")


def valid_student(text: object) -> str | None:
    """A student id as stored (surrounding spaces removed), or None when it is not acceptable:
    1 to 100 characters, no control characters."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    return text if _STUDENT.match(text) else None


@dataclass(frozen=True)
class ServeSettings:
    """Everything ``create_app`` needs besides the database.

    bank: the problems offered, in order.
    teacher_token: guards the teacher view and ``/api/gradebook.csv``; also the root of the
        keys that sign session cookies and student links.
    seed, points, time_limit: as for ``gradcheck grade`` (recorded with every attempt).
    slots: attempts graded at the same time (each in its own forked process).
    rate_limit: attempts per student per minute (0: no limit); previews get 5x as many.
    explain: when a student sees the explanation of a question: never, once they passed
        it (after-pass), or after any attempt (always).
    identity: "id" (a student types an id) or "links" (only teacher-issued signed links).
    max_body, max_upload: bytes a request may send (the submissions upload gets max_upload).
    policy: the attempts policy the teacher table and the CSV use unless asked for another
        (best, last, first; as in ``gradcheck.gradebook``).
    """

    bank: tuple[Problem, ...]
    teacher_token: str
    seed: int = 0
    points: int = 20
    time_limit: float = 2.0
    slots: int = 2
    rate_limit: int = 20
    explain: ExplainMode = "after-pass"
    identity: IdentityMode = "id"
    max_body: int = 64 * 1024
    max_upload: int = 5 * 1024 * 1024
    policy: str = "best"
    batch_workers: int = 1
    title: str = "gradcheck"
