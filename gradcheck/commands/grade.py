"""``gradcheck grade``: grade one answer, or a whole class's submissions file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gradcheck.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from gradcheck.batch import BatchReport, Progress
    from gradcheck.problem import Problem
    from gradcheck.report.grades import RenderOptions
    from gradcheck.submissions import Submission

FORMATS = ("text", "json", "csv", "junit", "html", "canvas", "moodle")
ATTEMPTS = ("best", "last", "first")

EPILOG = """\
examples:
  one answer:
    gradcheck grade problems/seeds/linear-regression.toml --question dloss_dw --answer "2x(wx - y)"
  a whole class (answers.csv has the columns student,problem,question,answer; .jsonl also works):
    gradcheck grade --bank problems/ --submissions answers.csv
    gradcheck grade --bank problems/ --submissions answers.csv --format html --output report.html
    gradcheck grade --bank problems/ --submissions answers.jsonl --format csv --output grades.csv
    gradcheck grade --bank problems/ --submissions answers.csv --format html --split-by student --output pages/
    gradcheck grade --bank problems/ --submissions answers.csv --format canvas --attempts last > canvas.csv
    gradcheck grade --bank problems/ --submissions answers.csv --workers 0 --time-limit 5

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
    p.add_argument("--exit-zero", action="store_true",
                   help="exit 0 once the batch is graded, whatever the verdicts")
    p.add_argument("--attempts", choices=ATTEMPTS, default="best",
                   help="which of a student's attempts at a question counts in the gradebook "
                        "(csv, canvas, moodle, html): best, last or first (default best)")
    p.add_argument("--split-by", choices=("student",), metavar="student",
                   help="with --format html and --output DIR: one page per student in DIR")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="text format: the evidence points under each row")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bar (it is drawn only when stdout and stderr are terminals)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from gradcheck.batch import cpu_count
    from gradcheck.cli import write_output

    _check(args)
    workers = cpu_count() if args.workers == 0 else args.workers
    if args.problem is not None:
        report, text = _one(args, workers)
    else:
        report, text = _batch(args, workers)
    if args.split_by:
        _write_pages(report, args)
    else:
        write_output(text, args.output)
    if report.passed or args.exit_zero:
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
    if args.split_by and (args.format != "html" or not args.output or args.output == "-"):
        raise UsageError("--split-by student writes one HTML page per student: it needs "
                         "--format html and --output DIR")
    if args.workers < 0:
        raise UsageError(f"--workers must be 0 (one per CPU) or more, not {args.workers}")
    if args.points < 1:
        raise UsageError(f"--points must be at least 1, not {args.points}")
    if not args.time_limit > 0:
        raise UsageError(f"--time-limit must be a positive number of seconds, not {args.time_limit}")
    for path in [args.problem] if single else [*args.bank, args.submissions]:
        if not Path(path).exists():
            raise UsageError(f"{path}: no such file or folder")


def _one(args: argparse.Namespace, workers: int) -> tuple[BatchReport, str]:
    from gradcheck.loader import load_problem
    from gradcheck.report.grades import GRADE_RENDERERS, render_answer
    from gradcheck.submissions import Submission

    problem = load_problem(args.problem)
    _known_question(problem, args.question)
    submission = Submission(1, "", problem.id, args.question, args.answer)
    report = _grade((problem,), (submission,), args, workers, progress=None)
    if args.format == "text":
        return report, render_answer(report.results[0])
    return report, GRADE_RENDERERS[args.format](report, _options(args))


def _known_question(problem: Problem, question_id: str) -> None:
    ids = [q.id for q in problem.questions]
    if question_id not in ids:
        raise UsageError(f"{problem.path}: problem {problem.id} has no question {question_id!r}; "
                         f"its questions are {', '.join(ids)}")


def _batch(args: argparse.Namespace, workers: int) -> tuple[BatchReport, str]:
    from gradcheck.loader import load_bank
    from gradcheck.progress import ProgressBar, wanted
    from gradcheck.report.grades import GRADE_RENDERERS
    from gradcheck.submissions import read_submissions

    bank = load_bank(args.bank)
    submissions = read_submissions(args.submissions)
    progress = ProgressBar() if wanted(args.quiet) else None
    try:
        report = _grade(bank, submissions, args, workers, progress)
    finally:
        if progress is not None:
            progress.finish()
    if args.split_by:
        return report, ""
    return report, GRADE_RENDERERS[args.format](report, _options(args))


def _options(args: argparse.Namespace) -> RenderOptions:
    from gradcheck.report.grades import RenderOptions

    return RenderOptions(attempts=args.attempts, verbose=args.verbose)


def _write_pages(report: BatchReport, args: argparse.Namespace) -> None:
    """One HTML page per student, and index.html, in the folder --output names."""
    from gradcheck.cli import write_output
    from gradcheck.report.grades_html import render_student_pages

    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    for name, page in render_student_pages(report, _options(args)).items():
        write_output(page, str(folder / name))


def _grade(bank: tuple[Problem, ...], submissions: tuple[Submission, ...],
           args: argparse.Namespace, workers: int, progress: Progress | None) -> BatchReport:
    from gradcheck.batch import grade_batch

    return grade_batch(bank, submissions, seed=args.seed, points=args.points,
                       time_limit=args.time_limit, workers=workers, progress=progress)
