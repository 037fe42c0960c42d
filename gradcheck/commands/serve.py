"""``gradcheck serve``: run the web page for students and the teacher view (uvicorn)."""

from __future__ import annotations

import argparse
import os
import sys

from gradcheck.errors import ExitCode, UsageError

EPILOG = """\
examples:
  gradcheck serve problems/                                   # http://127.0.0.1:8000, ./gradcheck.db
  gradcheck serve problems/ --db sqlite:///course.db --teacher-token "$TOKEN"
  gradcheck serve problems/ --db postgresql://gradcheck@localhost/course --identity links
  GRADCHECK_TEACHER_TOKEN=... gradcheck serve problems/ --host 0.0.0.0 --port 8080

The teacher view is /teacher; the JSON API (POST /api/attempts, GET /api/gradebook.csv)
is described in docs/serve-api.md. Without a token one is made up and printed.

exit codes: 0 stopped normally, 2 usage error (bad option, missing extra, malformed --db),
3 bad problem file, 4 the database cannot be opened or the address cannot be listened on.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from gradcheck.serve.settings import EXPLAIN_MODES, IDENTITY_MODES

    p = sub.add_parser(
        "serve", help="a web page where students answer and the teacher sees the class",
        description="Serve the problems as web pages: students type an answer, see how it is "
                    "read while typing, submit it and get the verdict; every attempt is stored. "
                    "The teacher sees the class at /teacher. Needs the serve extra: "
                    "pip install 'gradcheck[serve]'.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="problem files or folders")
    p.add_argument("--db", default="sqlite:///gradcheck.db", metavar="URL",
                   help="database URL or SQLite file (default sqlite:///gradcheck.db); "
                        "postgresql://user@host/name for PostgreSQL")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--teacher-token", metavar="TOKEN",
                   help="the teacher's token (default: $GRADCHECK_TEACHER_TOKEN, else a new "
                        "random one, printed)")
    p.add_argument("--identity", choices=IDENTITY_MODES, default="id",
                   help="id: students type their id (default); links: only teacher-issued "
                        "signed links")
    p.add_argument("--explain", choices=EXPLAIN_MODES, default="after-pass",
                   help="when students see the explanation of a question (default after-pass)")
    p.add_argument("--attempts", choices=("best", "last", "first"), default="best",
                   help="which of a student's attempts at a question counts in the teacher's "
                        "table and gradebook CSV unless asked for another (default best)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the random points")
    p.add_argument("--points", type=int, default=20, metavar="N",
                   help="random points per answer (default 20)")
    p.add_argument("--time-limit", type=float, default=2.0, metavar="SECONDS",
                   help="time allowed per answer (default 2)")
    p.add_argument("--slots", type=int, default=0, metavar="N",
                   help="answers graded at once, each in its own process (default: 2 per CPU)")
    p.add_argument("--rate-limit", type=int, default=20, metavar="N",
                   help="attempts per student per minute (default 20; 0: no limit)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    try:
        import uvicorn

        from gradcheck.serve.app import create_app, new_token
        from gradcheck.serve.settings import ServeSettings
        from gradcheck.serve.store import database_url, open_store
    except ModuleNotFoundError as exc:
        raise UsageError(f"gradcheck serve needs {exc.name}: pip install 'gradcheck[serve]'") from None
    from gradcheck.batch import cpu_count
    from gradcheck.loader import load_bank

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    if args.points < 1 or not args.time_limit > 0 or args.rate_limit < 0 or args.slots < 0:
        raise UsageError("--points must be at least 1, --time-limit positive, --rate-limit and "
                         "--slots at least 0")
    bank = load_bank(args.paths)
    if not bank:
        raise UsageError("no problem files found in " + ", ".join(args.paths))
    token = args.teacher_token or os.environ.get("GRADCHECK_TEACHER_TOKEN") or ""
    made_up = not token
    token = token or new_token()
    _check_address(args.host, args.port)
    store = open_store(database_url(args.db))
    settings = ServeSettings(bank=tuple(bank), teacher_token=token, seed=args.seed,
                             points=args.points, time_limit=args.time_limit,
                             slots=args.slots or 2 * cpu_count(), rate_limit=args.rate_limit,
                             explain=args.explain, identity=args.identity,
                             policy=args.attempts)
    app = create_app(settings, store)
    warning = host_warning(args.host)
    if warning:
        print(warning, file=sys.stderr)
    where = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}"
    print(f"gradcheck serve: {len(bank)} problems, database {_safe_url(store)}", file=sys.stderr)
    print(f"gradcheck serve: students {where}/   teacher {where}/teacher", file=sys.stderr)
    if made_up:
        print(f"gradcheck serve: teacher token (made up for this run): {token}", file=sys.stderr)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        store.close()
    return ExitCode.OK


def _check_address(host: str, port: int) -> None:
    """Fail early (exit 4) when the address is taken or not this machine's."""
    import socket

    from gradcheck.errors import FileAccessError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise FileAccessError(f"cannot listen on {host} port {port}: {exc.strerror}") from None


def host_warning(host: str) -> str | None:
    """The warning printed when the server listens beyond this machine (None for loopback).

    >>> host_warning("127.0.0.1") is None
    True
    """
    if host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (f"gradcheck: warning: listening on {host}: other machines can reach this server; "
            "it speaks plain HTTP, so put it behind an HTTPS proxy and keep the teacher token "
            "secret")


def _safe_url(store: object) -> str:
    engine = getattr(store, "engine", None)
    return engine.url.render_as_string(hide_password=True) if engine is not None else "?"
