"""explain --answer / --local: time per answer over the bank's reject tests, and coverage.

    python benchmarks/bench_explain_student.py [--problems problems]

For every scalar, first-order question with a given point, every rejected answer of its
tests goes through ``compare_answer`` (the grader, then the slips on the graph), and its
first rejected answer also through ``compare_local`` with the first on-path edge's local
gradient written as the grader's sign slip. Prints the median and the slowest time per
call, and how many graph-labelled rejects get their label among the readings.
"""

from __future__ import annotations

import argparse
import statistics
import time

from gradcheck.derivation import local_gradients
from gradcheck.loader import load_bank
from gradcheck.student_backward import compare_answer, compare_local

GRAPH_LABELS = {"path", "term", "product", "activation", "edge", "plugged", "chain"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", default="problems")
    args = parser.parse_args()
    answer_times: list[float] = []
    local_times: list[float] = []
    labelled = matched = placed = 0
    for problem in load_bank([args.problems]):
        if problem.arrays is not None or problem.given_point is None:
            continue
        for question in problem.questions:
            if question.order != 1 or question.of not in problem.stage_names:
                continue
            rejects = [t for t in question.tests if t.expect == "reject"]
            for test in rejects:
                start = time.perf_counter()
                result = compare_answer(problem, question.id, test.answer)
                answer_times.append(time.perf_counter() - start)
                placed += bool(result.readings)
                if test.diagnosis in GRAPH_LABELS:
                    labelled += 1
                    matched += test.diagnosis in {r.kind for r in result.readings}
            edge = next((g for g in local_gradients(problem) if g.stage == question.of), None)
            if edge is not None:
                start = time.perf_counter()
                compare_local(problem, question.id, {(edge.stage, edge.input): f"-({edge.expr})"})
                local_times.append(time.perf_counter() - start)
    for name, times in (("compare_answer", answer_times), ("compare_local", local_times)):
        print(f"{name}: {len(times)} calls, median {statistics.median(times) * 1e3:.0f} ms, "
              f"slowest {max(times):.2f} s, total {sum(times):.1f} s")
    print(f"answers placed on the graph: {placed} of {len(answer_times)}; graph-labelled "
          f"rejects with their label among the readings: {matched} of {labelled}")


if __name__ == "__main__":
    main()
