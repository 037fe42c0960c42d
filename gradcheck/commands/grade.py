"""``gradcheck grade``: grade one answer, or a whole class's submissions file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gradcheck.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from gradcheck.executor import EvidencePolicy
    from gradcheck.problem import Problem

FORMATS = ("text", "json", "csv", "junit", "html")

EPILOG = """\
examples:
  one answer:
    gradcheck grade problems/seeds/linear-regression.toml --question dloss_dw --answer "2x(wx - y)"
  a whole class (answers.csv has the columns student,problem,question,answer; .jsonl also works):
    gradcheck grade --bank problems/ --submissions answers.csv
    gradcheck grade --bank problems/ --submissions answers.csv --format html --output report.html
    gradcheck grade --bank problems/ --submissions answers.jsonl --format csv --output grades.csv
    gradcheck grade --bank problems/ --submissions answers.csv --workers 0 --time-limit 5
    gradcheck grade --bank problems/ --submissions answers.csv --format json --evidence none
    gradcheck grade --bank problems/ --submissions answers.csv --scheduler tcp://host:8786

exit codes: 0 every answer passed, 1 some answer did not (or use --exit-zero),
            2 usage error (unknown file, bad option, unreadable submissions), 3 bad problem file.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "grade", help="grade students' answers (one, or a whole submissions file)",
        description="Grade an answer to a problem's question (verdict, diagnosis, feedback and "
                    "evidence), or every row of a submissions file against a problem bank. "
                    "Each answer is graded in a worker process that is stopped after the time "
                    "limit; a bad row becomes an invalid or error result and the rest are "
                    "still graded.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("problem", nargs="?", metavar="PROBLEM.toml",
                   help="one problem file (with --question and --answer)")
    p.add_argument("--question", metavar="ID", help="the question's id in PROBLEM.toml")
    p.add_argument("--answer", metavar="TEXT", help="the answer to grade, e.g. \"2x(wx - y)\"")
    p.add_argument("--bank", action="append", default=[], metavar="PATH",
                   help="problem files or folders for a batch (repeatable)")
    p.add_argument("--submissions", metavar="FILE",
                   help="answers.csv (header student,problem,question,answer) or answers.jsonl")
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (default text)")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed for the random points; recorded in every report (default 0)")
    p.add_argument("--points", type=int, default=20, metavar="N",
                   help="random points per answer besides the given point (default 20)")
    p.add_argument("--time-limit", type=float, default=2.0, metavar="SECONDS",
                   help="time allowed per answer; a slower answer is invalid (default 2)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="grading processes; 0 means one per CPU (default 1)")
    p.add_argument("--evidence", choices=("all", "failing", "none"), default=None,
                   help="which answers keep their evidence points in the report: all, failing "
                        "(a failed answer's only; the default for a batch) or none (default for "
                        "one answer: all)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a Dask cluster, e.g. tcp://host:8786 (pip install "
                        "'gradcheck[dask]'); --workers is then ignored")
    p.add_argument("--exit-zero", action="store_true",
                   help="exit 0 once the batch is graded, whatever the verdicts")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from gradcheck.batch import cpu_count

    _check(args)
    workers = cpu_count() if args.workers == 0 else args.workers
    if args.problem is not None:
        passed = _one(args, workers)
    else:
        passed = _batch(args, workers)
    if passed or args.exit_zero:
        return ExitCode.OK
    return ExitCode.FAILED


def _check(args: argparse.Namespace) -> None:
    single = args.problem is not None
    if single and (args.bank or args.submissions):
        raise UsageError("give either PROBLEM.toml with --question and --answer, "
                         "or --bank with --submissions, not both")
    if single and (args.question is None or args.answer is None):
        raise UsageError("grading one answer needs --question ID and --answer TEXT")
    if not single and not (args.bank and args.submissions):
        raise UsageError("give PROBLEM.toml --question ID --answer TEXT for one answer, "
                         "or --bank PATH --submissions FILE for a batch (see --help)")
    if not single and (args.question or args.answer):
        raise UsageError("--question and --answer go with PROBLEM.toml, not with --bank")
    if args.workers < 0:
        raise UsageError(f"--workers must be 0 (one per CPU) or more, not {args.workers}")
    if args.points < 1:
        raise UsageError(f"--points must be at least 1, not {args.points}")
    if not args.time_limit > 0:
        raise UsageError(f"--time-limit must be a positive number of seconds, not {args.time_limit}")
    for path in [args.problem] if single else [*args.bank, args.submissions]:
        if not Path(path).exists():
            raise UsageError(f"{path}: no such file or folder")


def _one(args: argparse.Namespace, workers: int) -> bool:
    from gradcheck.batch import grade_batch
    from gradcheck.cli import write_output
    from gradcheck.loader import load_problem
    from gradcheck.report.grades import GRADE_RENDERERS, render_answer
    from gradcheck.submissions import Submission

    problem = load_problem(args.problem)
    _known_question(problem, args.question)
    submission = Submission(1, "", problem.id, args.question, args.answer)
    report = grade_batch((problem,), (submission,), seed=args.seed, points=args.points,
                         time_limit=args.time_limit, workers=workers,
                         evidence=args.evidence or "all", scheduler=args.scheduler)
    if args.format == "text":
        write_output(render_answer(report.results[0]), args.output)
    else:
        write_output(GRADE_RENDERERS[args.format](report), args.output)
    return report.passed


def _known_question(problem: Problem, question_id: str) -> None:
    ids = [q.id for q in problem.questions]
    if question_id not in ids:
        raise UsageError(f"{problem.path}: problem {problem.id} has no question {question_id!r}; "
                         f"its questions are {', '.join(ids)}")


def _batch(args: argparse.Namespace, workers: int) -> bool:
    """Grade as a stream: rows are read, graded and kept on disk a window at a time, and
    the JSON report is written row by row, so memory does not grow with the rows."""
    from gradcheck.batch import SpooledResults, batch_report, grade_stream
    from gradcheck.cli import open_output
    from gradcheck.loader import load_bank
    from gradcheck.report.grades import GRADE_RENDERERS, write_json
    from gradcheck.submissions import iter_submissions

    bank = load_bank(args.bank)
    submissions = iter_submissions(args.submissions)
    progress = _ProgressBar() if sys.stderr.isatty() else None
    evidence: EvidencePolicy = args.evidence or "failing"
    stream = grade_stream(bank, submissions, seed=args.seed, points=args.points,
                          time_limit=args.time_limit, workers=workers, progress=progress,
                          evidence=evidence, scheduler=args.scheduler,
                          total=_count_lines(args.submissions) if progress else None)
    with SpooledResults(stream) as results:
        if progress is not None:
            progress.finish()
        report = batch_report(bank, results, seed=args.seed, points=args.points,
                              time_limit=args.time_limit, evidence=evidence, counts=results.counts)
        with open_output(args.output) as out:
            if args.format == "json":
                write_json(report, out)
            else:
                out.write(GRADE_RENDERERS[args.format](report))
        return report.passed


def _count_lines(path: str) -> int:
    """About the number of rows (lines after the first), for the progress bar only."""
    lines = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return max(lines - 1, 0) if not path.lower().endswith((".jsonl", ".ndjson")) else lines


class _ProgressBar:
    """``grading 1234/10000 rows (12%)`` on stderr, redrawn at most ten times a second."""

    def __init__(self) -> None:
        self.shown = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.shown < 0.1:
            return
        self.shown = now
        self.drawn = True
        share = f" ({min(100, 100 * done // total)}%)" if total else ""
        sys.stderr.write(f"\rgrading {done}/{total or '?'} rows{share}")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
