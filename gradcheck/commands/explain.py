"""``gradcheck explain``: forward pass, local gradients and backward pass for one question."""

from __future__ import annotations

import argparse

from gradcheck.errors import ExitCode

EPILOG = """\
examples:
  gradcheck explain problems/seeds/linear-regression.toml --question dloss_dw
  gradcheck explain problems/seeds/linear-regression.toml --question dloss_dw --at x=2 --at y=4
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
    if problem.arrays is not None:  # vectors and matrices: shapes and dimension analysis
        from gradcheck.arrays.explanation import explain_text
        with working_on(f"explaining problem {problem.id!r}, question {args.question!r}"):
            text = explain_text(problem, args.question, point or None) + "\n"
        write_output(text, None)
        return ExitCode.OK
    with working_on(f"explaining problem {problem.id!r}, question {args.question!r}"):
        text = render_explanation(explain(problem, args.question, point))
    write_output(text, None)
    return ExitCode.OK
