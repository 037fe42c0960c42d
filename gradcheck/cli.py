"""The command line: a thin shell over the Python API.

Each command lives in ``gradcheck/commands/<name>.py`` with ``add_parser`` and
``run``; this module only dispatches and turns errors into exit codes. Nothing
heavy is imported before a command runs, so ``gradcheck --help`` is quick.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from gradcheck.errors import ExitCode, GradcheckError, InternalError

COMMANDS = ("check", "grade", "verify", "lint", "explain", "serve")

DESCRIPTION = """\
Tells, with evidence, whether a gradient is right.

Exit codes: 0 everything passed, 1 something failed, 2 usage error (or an unreadable
answer, or interrupted), 3 bad problem file, 4 I/O error (cannot read an input or write
the output), 5 internal error (a gradcheck bug; --debug or GRADCHECK_DEBUG=1 shows the
traceback).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcheck", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an internal error (or GRADCHECK_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"gradcheck.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gradcheck.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    for command in sub.choices.values():  # --debug also after the command's name
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the traceback of an internal error")
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradcheck")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit code (see ``ExitCode``).

    An exception that is not a GradcheckError is a bug: it is reported as an internal
    error (exit 5) in one line, with the traceback only under --debug or GRADCHECK_DEBUG=1.
    """
    _tolerant_streams()
    parser = build_parser()
    args = parser.parse_args(_negative_values(argv if argv is not None else sys.argv[1:]))
    debug = bool(getattr(args, "debug", False)) or _debug_env()
    try:
        from gradcheck import output

        if getattr(args, "split_by", None) and args.output:
            output.check_output_folder(args.output)
        else:
            output.check_output_path(getattr(args, "output", None))
        with _terminate_as_interrupt():
            return int(args.run(args))
    except GradcheckError as exc:
        if debug and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(f"gradcheck: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("gradcheck: interrupted", file=sys.stderr)
        return int(ExitCode.USAGE)
    except Exception as exc:  # a bug: one line, never a bare traceback
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        error = InternalError(_what(args), exc)
        print(f"gradcheck: error: {error}", file=sys.stderr)
        return int(ExitCode.INTERNAL)


def _debug_env() -> bool:
    return os.environ.get("GRADCHECK_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _what(args: argparse.Namespace) -> str:
    """``running grade on P.toml, question Q``: what the command line names."""
    text = f"running {args.command}"
    for label, name in (("on", "problem"), ("on the function", "function")):
        value = getattr(args, name, None)
        if value:
            text += f" {label} {str(value)[:80]!r}"
    question = getattr(args, "question", None)
    if question:
        text += f", question {question!r}"
    return text


def _tolerant_streams() -> None:
    """Never crash on text that cannot be encoded (a byte that is not UTF-8 in an argument
    arrives as a lone surrogate): write it as a backslash escape."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


# Options whose value may start with "-" (a negative answer such as -2x).
_TEXT_OPTIONS = ("--answer", "--function")


def _negative_values(argv: Sequence[str]) -> list[str]:
    """``--answer -2x`` as ``--answer=-2x``: argparse would take ``-2x`` for an option."""
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if (item in _TEXT_OPTIONS and i + 1 < len(items) and items[i + 1].startswith("-")
                and not items[i + 1].startswith("--")):
            out.append(f"{item}={items[i + 1]}")
            i += 2
            continue
        out.append(item)
        i += 1
    return out


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
    """Write a rendered report atomically to a file (UTF-8) or to standard output.

    Kept for the commands; the work is done by ``gradcheck.output.write_output``.
    """
    from gradcheck.output import write_output as write

    write(text, output)
