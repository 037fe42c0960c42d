"""``gradcheck check``: derive, compile and check every question of a problem bank."""

from __future__ import annotations

import argparse

from gradcheck.errors import ExitCode

EPILOG = """\
examples:
  gradcheck check problems/
  gradcheck check problems/seeds/linear-regression.toml --points 100 --seed 7
  gradcheck check problems/ --backend numpy --backend torch-cpu --format json --output report.json
  gradcheck check problems/ --backend auto --dtype float32
  gradcheck check problems/ --scheduler tcp://host:8786
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check", help="check the symbolic derivatives of problem files",
        description="For every question, compare the symbolic derivative with finite "
                    "differences (and autograd, on torch backends) at the symbols' values "
                    "and at random points in their domains. Also checks teachers' reference "
                    "answers. Exit 0 when all pass, 1 when any fails, 2 on a usage error, "
                    "3 on a bad problem file.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="problem files or folders (searched for *.toml)")
    add_backend_options(p)
    p.add_argument("--points", type=int, default=20, metavar="N",
                   help="random points per question besides the given point, at most 100000 "
                        "(default 20)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed for the random points; recorded in every report (default 0)")
    p.add_argument("--format", choices=("text", "json", "junit"), default="text",
                   help="report format (default text)")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="check each problem on a Dask cluster, e.g. tcp://host:8786 "
                        "(pip install 'gradcheck[dask]'); the same report as a local run")
    p.set_defaults(run=run)


def add_backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", action="append", default=[], metavar="NAME",
                   help="numpy, torch-cpu, torch-cuda or auto (every one available here); "
                        "repeat for several (default numpy)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="precision of the backends' evaluation (default float64)")


def run(args: argparse.Namespace) -> ExitCode:
    from gradcheck.bounded import check_points
    from gradcheck.checks import check
    from gradcheck.loader import load_bank
    from gradcheck.output import write_output
    from gradcheck.report import RENDERERS

    check_points(args.points, "--points")
    problems = load_bank(args.paths)
    if args.scheduler:
        from gradcheck.dask_executor import check_on_dask

        report = check_on_dask(problems, args.scheduler, backends=args.backend or ("numpy",),
                               points=args.points, seed=args.seed, dtype=args.dtype)
    else:
        report = check(problems, backends=args.backend, points=args.points, seed=args.seed,
                       dtype=args.dtype)
    write_output(RENDERERS[args.format](report), args.output)
    return ExitCode.OK if report.passed else ExitCode.FAILED
