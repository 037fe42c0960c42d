"""``gradcheck explain``: forward pass, local gradients and backward pass for one question."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gradcheck.errors import ExitCode

if TYPE_CHECKING:
    from gradcheck.problem import Problem

EPILOG = """\
examples:
  gradcheck explain problems/seeds/linear-regression.toml --question dloss_dw
  gradcheck explain problems/seeds/linear-regression.toml --question dloss_dw --at x=2 --at y=4
  gradcheck explain problems/seeds/linear-regression.toml --question dloss_dw --answer "2*(w*x - y)"
  gradcheck explain problems/seeds/linear-regression.toml --question dloss_dw --local "dloss/ds=s"
  gradcheck explain problems/backprop/sigmoid-neuron.toml --question dloss_dw --local "da/dz=a" --format json

exit status: 0 explained (and the student's work is right), 1 the student's answer or a
local gradient they gave is wrong, 2 bad usage (an unknown edge, an unreadable formula).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "explain", help="show the forward pass, local gradients and backward pass",
        description="Explain one question's derivative the way backpropagation is taught: "
                    "the value of every stage (forward pass), the derivative of every stage "
                    "with respect to its inputs (local gradients), and the chain rule from "
                    "the output back to the variable (backward pass), at the symbols' values.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("problem", metavar="PROBLEM.toml", help="a problem file")
    p.add_argument("--question", required=True, metavar="ID", help="the question's id")
    p.add_argument("--at", action="append", default=[], metavar="NAME=VALUE",
                   help="use this value instead of the file's (repeatable)")
    p.add_argument("--answer", metavar="EXPR",
                   help="a student's answer for the whole gradient: shown beside the right "
                        "backward pass, with where it parts from it")
    p.add_argument("--local", action="append", default=[], metavar="EDGE=EXPR",
                   help="a student's local gradient for one edge, e.g. 'dloss/ds=2*s' "
                        "(repeatable): their backward pass beside the right one")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="output format (default text)")
    p.add_argument("--seed", type=int, default=0,
                   help="fixes the random points formulas are compared at (default 0)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from gradcheck.errors import UsageError, working_on
    from gradcheck.explanation import explain, render_explanation
    from gradcheck.loader import load_problem
    from gradcheck.output import write_output

    problem = load_problem(args.problem)
    point = {}
    for item in args.at:
        name, _, value = item.partition("=")
        try:
            point[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--at {item!r}: write NAME=VALUE, e.g. --at x=2") from None
        if name.strip() not in problem.symbol_names:
            raise UsageError(f"--at {item!r}: {name!r} is not a symbol of {problem.id}; "
                             "its symbols are " + ", ".join(problem.symbol_names))
    try:
        problem.question(args.question)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if args.answer is not None and args.local:
        raise UsageError("give --answer (the whole gradient) or --local (local gradients), not both")
    if args.answer is not None or args.local:
        return _student(problem, args, point)
    if problem.arrays is not None and args.format == "json":
        raise UsageError(f"{problem.id} has vectors or matrices: explain --format json covers "
                         "scalar problems; use --format text")
    if problem.arrays is not None:  # vectors and matrices: shapes and dimension analysis
        from gradcheck.arrays.explanation import explain_text
        with working_on(f"explaining problem {problem.id!r}, question {args.question!r}"):
            text = explain_text(problem, args.question, point or None) + "\n"
        write_output(text, None)
        return ExitCode.OK
    with working_on(f"explaining problem {problem.id!r}, question {args.question!r}"):
        e = explain(problem, args.question, point)
        if args.format == "json":
            from gradcheck.report.backward_pass import explanation_json
            text = explanation_json(e)
        else:
            text = render_explanation(e)
    write_output(text, None)
    return ExitCode.OK


def _student(problem: Problem, args: argparse.Namespace, point: dict[str, float]) -> ExitCode:
    """The student's backward pass (--local) or answer (--answer) beside the right one."""
    from gradcheck.errors import working_on
    from gradcheck.output import write_output
    from gradcheck.report.backward_pass import student_backward_json, student_backward_text
    from gradcheck.student_backward import compare_answer, compare_local

    with working_on(f"explaining problem {problem.id!r}, question {args.question!r}"):
        if args.answer is not None:
            result = compare_answer(problem, args.question, args.answer, point, seed=args.seed)
        else:
            result = compare_local(problem, args.question, args.local, point, seed=args.seed)
        text = (student_backward_json(result) if args.format == "json"
                else student_backward_text(result))
    write_output(text, None)
    return ExitCode.OK if result.passed else ExitCode.FAILED
