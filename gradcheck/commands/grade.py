"""``gradcheck grade``: grade one answer, or a whole class's submissions file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gradcheck.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from gradcheck.batch import BatchReport
    from gradcheck.executor import EvidencePolicy
    from gradcheck.problem import Problem
    from gradcheck.report.grades import RenderOptions

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
    gradcheck grade --bank problems/ --submissions answers.csv --format json --evidence none
    gradcheck grade --bank problems/ --submissions answers.csv --scheduler tcp://host:8786
  feedback without the true value or formula:
    gradcheck grade problems/seeds/linear-regression.toml --question dloss_dw_value --answer -1 --hide-expected

exit codes: 0 every answer passed, 1 some answer did not (or use --exit-zero; one answer:
            1 wrong, 2 unreadable or too slow, 3 the question cannot be graded),
            2 usage error (unknown file, bad option, unreadable submissions), 3 bad problem file,
            4 I/O error (cannot read an input or write --output), 5 internal error (a row
            that a gradcheck bug could not grade: its row says so; the others are graded).
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
                   help="random points per answer besides the given point, at most 100000 "
                        "(default 20)")
    p.add_argument("--time-limit", type=float, default=2.0, metavar="SECONDS",
                   help="time allowed per answer, at most 3600; an answer too slow to read is "
                        "invalid, one whose grading had to be killed an error (default 2)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="grading processes; 0 means one per CPU (default 1)")
    p.add_argument("--hide-expected", action="store_true",
                   help="keep the true value and the expected formula out of the feedback "
                        "(reports for the teacher still carry them; the one-answer text "
                        "output leaves them out); a problem file can ask the same with "
                        "hide_expected = true")
    p.add_argument("--evidence", choices=("all", "failing", "none"), default=None,
                   help="which answers keep their evidence points in the report: all, failing "
                        "(a failed answer's given point and first disagreeing point, with "
                        "a count of the rest; the default for a batch) or none (default for "
                        "one answer, and with --verbose: all)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a Dask cluster, e.g. tcp://host:8786 (pip install "
                        "'gradcheck[dask]'); --workers is then ignored")
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

    _check(args)
    workers = cpu_count() if args.workers == 0 else args.workers
    if args.problem is not None:
        outcome = _one(args, workers)
    else:
        outcome = _batch(args, workers)
    verdicts, internal = outcome
    if args.exit_zero:
        return ExitCode.OK
    if internal:
        return ExitCode.INTERNAL  # a gradcheck bug cost a row: the report says which
    if args.problem is not None:  # one answer: the same codes as verify and check
        return SINGLE_EXIT[verdicts[0][0]]
    return ExitCode.OK if all(v == "pass" or n == 0 for v, n in verdicts) else ExitCode.FAILED


def _outcome(report: BatchReport) -> tuple[list[tuple[str, int]], bool]:
    """Rows per verdict, and whether a gradcheck bug cost a row (one pass over the rows)."""
    from gradcheck.batch import INTERNAL_ERROR

    internal = getattr(report.results, "internal", None)  # SpooledResults knows it: no pass
    if internal is None:
        internal = any(r.diagnosis == INTERNAL_ERROR for r in report.results
                       if r.verdict == "error")
    return [(v, int(n)) for v, n in dict(report.counts).items()], internal


# An answer that cannot be read is a usage error (2); a question that cannot be graded
# (undefined on its domain, a function nothing compiles) is a bad problem file (3).
SINGLE_EXIT = {"pass": ExitCode.OK, "fail": ExitCode.FAILED, "invalid": ExitCode.USAGE,
               "error": ExitCode.BAD_PROBLEM}


def _check(args: argparse.Namespace) -> None:
    from gradcheck.bounded import check_points, check_time_limit

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
    check_points(args.points, "--points")
    check_time_limit(args.time_limit, "--time-limit")
    for path in [args.problem] if single else [*args.bank, args.submissions]:
        if not Path(path).exists():
            raise UsageError(f"{path}: no such file or folder")


def _one(args: argparse.Namespace, workers: int) -> tuple[list[tuple[str, int]], bool]:
    from gradcheck.batch import grade_batch
    from gradcheck.grading import prepare
    from gradcheck.loader import load_problem
    from gradcheck.output import write_output
    from gradcheck.report.grades import GRADE_RENDERERS, render_answer
    from gradcheck.submissions import Submission

    problem = _hidden(load_problem(args.problem), args)
    _known_question(problem, args.question)
    prepare(problem, args.question, seed=args.seed, points=args.points)  # exit 3 if it cannot
    submission = Submission(1, "", problem.id, args.question, args.answer)
    report = grade_batch((problem,), (submission,), seed=args.seed, points=args.points,
                         time_limit=args.time_limit, workers=workers,
                         evidence=args.evidence or "all", scheduler=args.scheduler)
    if args.split_by:
        _write_pages(report, args)
    elif args.format == "text":
        write_output(render_answer(report.results[0], hide=problem.hide_expected), args.output)
    else:
        write_output(GRADE_RENDERERS[args.format](report, _options(args)), args.output)
    return [(report.results[0].verdict, 1)], _outcome(report)[1]


def _hidden(problem: Problem, args: argparse.Namespace) -> Problem:
    from dataclasses import replace

    return replace(problem, hide_expected=True) if args.hide_expected else problem


def _known_question(problem: Problem, question_id: str) -> None:
    ids = [q.id for q in problem.questions]
    if question_id not in ids:
        raise UsageError(f"{problem.path}: problem {problem.id} has no question {question_id!r}; "
                         f"its questions are {', '.join(ids)}")


def _batch(args: argparse.Namespace, workers: int) -> tuple[list[tuple[str, int]], bool]:
    """Grade as a stream: rows are read and graded a window at a time and kept on disk, and
    the report is written row by row (text, JSON, JUnit, HTML), so memory does not grow
    with the rows."""
    from gradcheck.batch import SpooledResults, batch_report, grade_stream
    from gradcheck.loader import load_bank
    from gradcheck.output import open_output
    from gradcheck.progress import ProgressBar, wanted
    from gradcheck.report.grades import GRADE_RENDERERS, GRADE_WRITERS
    from gradcheck.submissions import iter_submissions

    bank = tuple(_hidden(p, args) for p in load_bank(args.bank))
    submissions = iter_submissions(args.submissions)
    progress = ProgressBar() if wanted(args.quiet) else None
    # --verbose shows every answer's evidence, so it keeps it unless --evidence says otherwise
    evidence: EvidencePolicy = args.evidence or ("all" if args.verbose else "failing")
    stream = grade_stream(bank, submissions, seed=args.seed, points=args.points,
                          time_limit=args.time_limit, workers=workers, progress=progress,
                          evidence=evidence, scheduler=args.scheduler,
                          total=_count_rows(args.submissions) if progress else None)
    try:
        results = SpooledResults(stream)
    finally:
        if progress is not None:
            progress.finish()
    with results:
        report = batch_report(bank, results, seed=args.seed, points=args.points,
                              time_limit=args.time_limit, evidence=evidence, counts=results.counts)
        if args.split_by:
            _write_pages(report, args)
        else:
            with open_output(args.output) as out:
                write = GRADE_WRITERS.get(args.format)
                if write is not None:  # a row at a time: memory flat in the rows
                    write(report, out, _options(args))
                else:  # a gradebook: a cell per student and question
                    out.write(GRADE_RENDERERS[args.format](report, _options(args)))
        return _outcome(report)


def _count_rows(path: str) -> int:
    """About the number of rows (lines after the header), for the progress bar only."""
    lines = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return lines if path.lower().endswith((".jsonl", ".ndjson")) else max(lines - 1, 0)


def _options(args: argparse.Namespace) -> RenderOptions:
    from gradcheck.report.grades import RenderOptions

    return RenderOptions(attempts=args.attempts, verbose=args.verbose)


def _write_pages(report: BatchReport, args: argparse.Namespace) -> None:
    """One HTML page per student, and index.html, in the folder --output names."""
    from gradcheck.output import make_output_folder, write_output
    from gradcheck.report.grades_html import render_student_pages

    folder = make_output_folder(args.output)
    for name, page in render_student_pages(report, _options(args)).items():
        write_output(page, str(folder / name))
