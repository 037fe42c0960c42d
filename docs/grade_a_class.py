"""Grade a class and plot how each question went: a script to read and to run.

    python docs/grade_a_class.py [--output DIR]

Grades docs/examples/class.csv (50 answers) against the seed bank, prints the share of
right answers per question (with pandas when it is installed: pip install
'gradcheck[pandas]'), and writes DIR/per-question.svg (a bar per question: percent of
its answers right) and DIR/report.html (the full report). In a notebook, the last
lines' ``report`` and ``frame`` display themselves (``BatchReport._repr_html_``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gradcheck
from gradcheck.report import render_html
from gradcheck.report.charts import bar_chart

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=".", help="folder for per-question.svg and report.html")
    out = Path(parser.parse_args().output)
    out.mkdir(parents=True, exist_ok=True)

    bank = gradcheck.load_bank([ROOT / "problems"])
    report = gradcheck.grade_batch(bank, gradcheck.read_submissions(ROOT / "docs/examples/class.csv"),
                                   seed=0)
    print(report)  # BatchReport(50 rows: ...)

    # Per question: answers and the percent right.
    per_question: dict[str, list[bool]] = {}
    for r in report.results:
        per_question.setdefault(f"{r.problem}/{r.question}", []).append(r.passed)
    try:
        frame = report.to_dataframe()
    except gradcheck.UsageError:  # pandas not installed: the same table by hand
        for question, passed in sorted(per_question.items()):
            print(f"{question:40} {len(passed):3} answers  {100 * sum(passed) / len(passed):5.1f}% right")
    else:
        frame["question"] = frame["problem"] + "/" + frame["question"]
        table = frame.groupby("question")["verdict"].agg(
            answers="size", right=lambda v: round(100 * (v == "pass").mean(), 1))
        print(table.to_string())

    bars = [(q, round(100 * sum(p) / len(p))) for q, p in sorted(per_question.items())]
    svg = bar_chart(bars, "percent of answers right, per question", label_width=300)
    (out / "per-question.svg").write_text(svg, encoding="utf-8")
    (out / "report.html").write_text(render_html(report), encoding="utf-8")
    print(f"wrote {out / 'per-question.svg'} and {out / 'report.html'}")


if __name__ == "__main__":
    main()
