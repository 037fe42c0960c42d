"""``gradcheck serve``: a web page where students answer and teachers see the class.

Needs the ``serve`` extra (``pip install 'gradcheck[serve]'``). The pieces, one concern
each: ``settings`` (what the server was started with), ``store`` (attempts in SQLite or
PostgreSQL, append-only, migrated by Alembic), ``grader`` (grading and previews in
killable forked processes, off the event loop), ``classbook`` (the students x questions
table under an attempts policy), ``mathml`` and ``graph`` (what the page shows),
``security`` (tokens, CSRF, limits), ``app`` (the routes). The JSON API is documented in
docs/serve-api.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ServeSettings", "create_app", "open_store"]

if TYPE_CHECKING:
    from gradcheck.serve.app import create_app
    from gradcheck.serve.settings import ServeSettings
    from gradcheck.serve.store import open_store


def __getattr__(name: str) -> Any:
    import importlib

    modules = {"create_app": "gradcheck.serve.app", "ServeSettings": "gradcheck.serve.settings",
               "open_store": "gradcheck.serve.store"}
    if name not in modules:
        raise AttributeError(f"module 'gradcheck.serve' has no attribute {name!r}")
    return getattr(importlib.import_module(modules[name]), name)
