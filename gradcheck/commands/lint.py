"""``gradcheck lint``: find what is wrong or suspicious in problem files, without grading."""

from __future__ import annotations

import argparse

from gradcheck.errors import ExitCode

EPILOG = """\
examples:
  gradcheck lint problems/
  gradcheck lint problems/seeds/linear-regression.toml --strict
  gradcheck lint problems/ --format json --output lint.json
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "lint", help="find mistakes in problem files",
        description="Report schema errors, duplicate ids, unused symbols and stages, questions "
                    "without a reject test, domains where a function is undefined (an "
                    "error above the share gradcheck check refuses, 20%), and "
                    "reference answers that disagree with SymPy. Each finding is printed as "
                    "'path: key: level: message (hint)' ('path: level: message (hint)' when "
                    "it has no key). Exit 0 when there is no error "
                    "(warnings allowed unless --strict), 1 on errors, 2 on a usage error, "
                    "3 when a file cannot be loaded.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="problem files or folders (searched for *.toml)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 on warnings too")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed for the random points of the domain and reference checks (default 0)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="report format (default text)")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from gradcheck.linting import RENDERERS, lint
    from gradcheck.output import write_output

    report = lint(args.paths, seed=args.seed)
    write_output(RENDERERS[args.format](report), args.output)
    return report.exit_code(strict=args.strict)
