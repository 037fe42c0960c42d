"""How long the answer parser takes on 2,000-character answers, by notation.

Each answer is as long as the student limit allows (``Limits().max_length``); the
baseline in the same process is a plain ASCII sum of products. It prints the median of
``--repeats`` parses (after one untimed parse, so SymPy's cache is warm for every row
alike) and the ratio to the baseline. Refused answers are timed too: a refusal must
be as quick as a reading. The last row is a 20,000-character problem-file expression
read with the teacher's limits.

    python benchmarks/bench_parse.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import sympy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradcheck.errors import ExpressionError  # noqa: E402
from gradcheck.parsing import TEACHER_LIMITS, Limits, parse_expression  # noqa: E402

NAMES = {n: sympy.Symbol(n, real=True) for n in ("x", "w", "y", "mu", "sigma", "lam")}
LENGTH = Limits().max_length


def fill(unit: str, length: int = LENGTH, joiner: str = " + ") -> str:
    """Repeat ``unit`` joined by ``joiner`` up to ``length`` characters."""
    parts: list[str] = []
    while len(joiner.join([*parts, unit])) <= length:
        parts.append(unit)
    return joiner.join(parts)


CASES = [
    ("baseline: ascii products", fill("2*x*(w*x - y)"), False),
    ("implicit products", fill("2x(wx - y)"), True),
    ("greek letters", fill("(x-μ)/σ² + 2λw"), True),
    ("bars", fill("||x| - |y||"), True),
    ("functions without ()", fill("sin x^2 cos 2x ln y"), True),
    ("function powers", fill("sin²(x) tanh^2(wx)"), True),
    ("superscripts", fill("e⁻ˣ x²ʸ"), True),
    ("latex", fill(r"\dfrac{x - \mu}{\sigma^2}"), True),
    ("special functions", fill("besselk(1, x) + erfinv(y/3) + LambertW(x)"), True),
    ("refused: 1/2x at the end", fill("2x(wx - y)", LENGTH - 8) + " + 1/2x", True),
    ("refused: unknown name", fill("2x(wx - y)", LENGTH - 8) + " + Psi(x)", True),
]


def timed(text: str, student: bool, limits: Limits, repeats: int) -> tuple[float, str]:
    def once() -> str:
        try:
            parse_expression(text, NAMES, student=student, limits=limits)
            return "read"
        except ExpressionError:
            return "refused"

    outcome = once()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return statistics.median(times), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rows = [(name, text, student, Limits()) for name, text, student in CASES]
    rows.append(("teacher: 20,000 characters", fill("2*x*(w*x - y)", TEACHER_LIMITS.max_length),
                 False, TEACHER_LIMITS))
    base = None
    print(f"{'answer':34} {'chars':>6} {'median ms':>10} {'x baseline':>10}  outcome")
    for name, text, student, limits in rows:
        median, outcome = timed(text, student, limits, args.repeats)
        base = base or median
        print(f"{name:34} {len(text):6d} {median * 1e3:10.1f} {median / base:10.2f}  {outcome}")


if __name__ == "__main__":
    main()
