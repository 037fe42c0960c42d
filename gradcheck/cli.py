"""The command line: a thin shell over the Python API.

Each command lives in ``gradcheck/commands/<name>.py`` with ``add_parser`` and
``run``; this module only dispatches and turns errors into exit codes. Nothing
heavy is imported before a command runs, so ``gradcheck --help`` is quick.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from gradcheck.errors import ExitCode, GradcheckError

COMMANDS = ("check", "grade", "verify", "lint", "explain")

DESCRIPTION = """\
Tells, with evidence, whether a gradient is right.

Exit codes: 0 everything passed, 1 something failed, 2 usage error, 3 bad problem file.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcheck", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"gradcheck.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gradcheck.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradcheck")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit code (see ``ExitCode``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _terminate_as_interrupt():
            return int(args.run(args))
    except GradcheckError as exc:
        print(f"gradcheck: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("gradcheck: interrupted", file=sys.stderr)
        return int(ExitCode.USAGE)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a command the way Ctrl-C does: cleanly, with exit code 2.

    The batch's ``finally`` blocks then kill and reap its workers, and no report is written.
    """
    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {n: signal.signal(getattr(signal, n), interrupt) for n in names}
    try:
        yield
    finally:
        for n, handler in previous.items():
            signal.signal(getattr(signal, n), handler)


def write_output(text: str, output: str | None) -> None:
    """Write a rendered report to a file (UTF-8) or to standard output."""
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    with open(output, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
