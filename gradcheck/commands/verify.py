"""``gradcheck verify``: is a hand-derived derivative right? No problem file needed."""

from __future__ import annotations

import argparse

from gradcheck.errors import ExitCode

EPILOG = """\
examples:
  gradcheck verify --function "log(1 + exp(x))" --wrt x --answer "1/(1 + exp(-x))"
  gradcheck verify --function "(w*x - y)^2" --wrt w --answer "2x(wx - y)" --domain x=-5:5
  gradcheck verify --function "log(x)" --wrt x --answer "1/x" --domain x=0.1:3 --format json
  gradcheck verify --function "sum((X @ w - y)**2)" --wrt w --answer "2X^T(Xw - y)" \
      --shape X=4x3 --shape w=3 --shape y=4
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "verify", help="check a hand-derived derivative of a formula",
        description="Compare ANSWER with the derivative of FUNCTION with respect to WRT at "
                    "random points (numerically, like a graded answer), and say which known "
                    "mistake explains a wrong one. Exit 0 when right, 1 when wrong, 2 when "
                    "the input cannot be read.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--function", required=True, metavar="TEXT", help="the function, e.g. x^2*y")
    p.add_argument("--wrt", required=True, metavar="NAME", help="the variable, e.g. x")
    p.add_argument("--answer", required=True, metavar="TEXT", help="your derivative")
    p.add_argument("--domain", action="append", default=[], metavar="NAME=LOW:HIGH",
                   help="interval for NAME's random values (default -2:2); repeatable")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=ROWSxCOLS",
                   help="NAME is a matrix (X=4x3) or a column vector (w=3); the texts then use numpy "
                        "notation: @, .T, sum(A, axis=0) ...; repeatable")
    p.add_argument("--points", type=int, default=20, metavar="N",
                   help="random points, at most 100000 (default 20)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed for the random points (default 0)")
    p.add_argument("--time-limit", type=float, default=2.0, metavar="SECONDS",
                   help="time for preparing the function, and as much again for the answer; "
                        "slower work is stopped (default 2)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="output format (default text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from gradcheck.output import write_output
    from gradcheck.report.grades import render_answer
    from gradcheck.report.json_report import dumps
    from gradcheck.verification import (
        CLI,
        check_points,
        check_time_limit,
        parse_domain,
        parse_shape,
        verify_as,
    )

    check_points(args.points, "--points")
    check_time_limit(args.time_limit, "--time-limit")
    domain = dict(parse_domain(text) for text in args.domain)
    shapes = dict(parse_shape(text) for text in args.shape)
    result = verify_as(CLI, args.function, args.wrt, args.answer, domain=domain, seed=args.seed,
                       points=args.points, time_limit=args.time_limit, shapes=shapes or None)
    if args.format == "json":
        write_output(dumps({"seed": result.seed, **result.to_dict()}), None)
    else:
        write_output(render_answer(result), None)
    return {"pass": ExitCode.OK, "fail": ExitCode.FAILED}.get(result.verdict, ExitCode.USAGE)
