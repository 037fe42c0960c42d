"""Check a hand-derived derivative without a problem file.

``verify("log(1 + exp(x))", "x", "1/(1 + exp(-x))")`` builds a one-question Problem
in memory (its symbols are the names used in the texts) and grades the answer with
``gradcheck.grading.grade``: the same verdict, diagnosis and evidence as a problem
question. Names are validated before anything is parsed; texts go through the same
safe parser as student answers.
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import re
from collections.abc import Callable, Mapping

from gradcheck.bounded import Overrun, check_points, check_time_limit, run_bounded
from gradcheck.errors import ExpressionError, UsageError
from gradcheck.grading import grade
from gradcheck.parsing import FUNCTIONS, parse_expression
from gradcheck.problem import DEFAULT_DOMAIN, Problem, Question, SymbolSpec, sym
from gradcheck.verdict import GradeResult

__all__ = ["CLI", "PYTHON", "Spelling", "array_problem", "parse_domain", "parse_shape", "verify",
           "verify_as", "verify_problem"]

# Numbers first, so the "e5" of "2e5" is not read as a name; LaTeX commands are skipped.
_SCAN = re.compile(r"\\[A-Za-z]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|([A-Za-z_][A-Za-z0-9_]*)")
_CALL = re.compile(r"[ \t]*\(")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
NOT_NAMES = frozenset({*FUNCTIONS, "ln", "pi", "e", "E", "True"})
RESERVED = frozenset({"I", "oo", "nan", "zoo", "S", "N", "O", "Q", "False", "None"})
QUESTION_ID = "verify"


@dataclasses.dataclass(frozen=True)
class Spelling:
    """How messages name the inputs: the Python arguments, or the CLI's flags."""

    function: str
    wrt: str
    domain: str
    shape: str
    fix_domain: str

    def domain_item(self, name: str, low: float, high: float) -> str:
        if self.domain.startswith("--"):
            return f"{self.domain} {name}={low}:{high}"
        return f"{self.domain}[{name!r}] = ({low}, {high})"


PYTHON = Spelling("function", "wrt", "domain", "shapes", "give domain={NAME: (LOW, HIGH)}")
CLI = Spelling("--function", "--wrt", "--domain", "--shape", "give a --domain NAME=LOW:HIGH")


# Functions the parser does not know, and what to write instead.
_INSTEAD = {"arcsin": "asin(x)", "arccos": "acos(x)", "arctan": "atan(x)",
            "arcsinh": "asinh(x)", "arccosh": "acosh(x)", "arctanh": "atanh(x)"}


def identifiers(text: str) -> list[str]:
    """Names in ``text`` that are not functions or constants, in order of first use.

    A name only ever written before ``(`` is an unknown function, not a name (see
    ``unknown_calls``): ``arcsin(x)`` does not make ``arcsin`` a variable.

    >>> identifiers("log(1 + exp(2x)) * w1 + 2e5 + arcsin(x)")
    ['x', 'w1']
    """
    calls = unknown_calls(text)
    found = (m.group(1) for m in _SCAN.finditer(text) if m.group(1))
    return list(dict.fromkeys(n for n in found if n not in NOT_NAMES and n not in calls))


def unknown_calls(text: str, known: set[str] | frozenset[str] = frozenset()) -> dict[str, int]:
    """Names written as a call, ``name(`` (spaces allowed before the parenthesis), at every
    use, that are not functions, ``known`` names or runs of known names: the position of
    each one's first call.

    ``x(x + 1)`` is a product (``x`` is also used alone) and ``wx(1 - x)`` splits into
    ``w*x`` when ``w`` and ``x`` are known; ``gelu(x)`` is a function the parser does not
    know, never a variable ``gelu`` times ``x``.

    >>> unknown_calls("gelu(x)^2 + x (x + 1)")
    {'gelu': 0}
    """
    called: dict[str, int] = {}
    bare: set[str] = set()
    for m in _SCAN.finditer(text):
        name = m.group(1)
        if not name or name in NOT_NAMES:
            continue
        if _CALL.match(text, m.end()):
            called.setdefault(name, m.start())
        else:
            bare.add(name)
    return {name: pos for name, pos in called.items()
            if name not in bare and name not in known and not _splits(name, set(known))}


def _unknown_function(name: str, pos: int, where: str) -> str:
    instead = f"; write {_INSTEAD[name]} instead" if name in _INSTEAD else ""
    return (f"unknown function {name!r} at position {pos} in {where}{instead} (the functions "
            "gradcheck reads include exp, log, sqrt, sin, cos, tan, sinh, cosh, tanh, sigmoid, "
            f"relu, softplus, abs; for a product write {name}*(...))")


def check_name(name: str, where: str) -> None:
    """Raise UsageError unless ``name`` is a plain identifier that may name a variable."""
    if not _NAME.match(name) or "__" in name or keyword.iskeyword(name) or name in RESERVED:
        raise UsageError(f"{name!r} in {where} cannot be a variable name; use a letter "
                         "followed by letters, digits or single underscores (not I, oo, S, N, "
                         "O, Q, nan, zoo or a Python keyword)")


def _usable(name: str) -> bool:
    # A bad name in the answer is the answer's problem: left out, the parser rejects it.
    try:
        check_name(name, "--answer")
    except UsageError:
        return False
    return True


def _splits(word: str, names: set[str]) -> bool:
    """True when ``word`` is a run of known names (the parser reads ``wx`` as ``w*x``)."""
    ok = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        ok[end] = any(ok[start] and word[start:end] in names for start in range(end))
    return ok[len(word)]


def verify_problem(function: str, wrt: str,
                   answer: str = "", domain: Mapping[str, tuple[float, float]] | None = None,
                   spelling: Spelling = PYTHON) -> Problem:
    """The in-memory problem behind ``verify``: symbols from the texts, one question.

    Raises:
        UsageError: a bad name, a function that cannot be read, ``wrt`` not in the
            function, or a bad domain.
    """
    if len(function) > 2000:
        raise UsageError(f"the function is {len(function)} characters long; at most 2000")
    calls = unknown_calls(function)
    if calls:
        name, pos = next(iter(calls.items()))
        raise UsageError(f"cannot read {spelling.function} {function!r}: "
                         + _unknown_function(name, pos, "the function"))
    names = identifiers(function)
    for name in names:
        check_name(name, spelling.function)
    check_name(wrt, spelling.wrt)
    if wrt not in names:
        raise UsageError(f"{spelling.wrt} {wrt!r} does not appear in the function; its variables "
                         "are " + (", ".join(names) or "none"))
    known = set(names)
    for name in identifiers(answer[:2000]):
        if name not in known and not _splits(name, known) and _usable(name):
            names.append(name)
            known.add(name)
    domains = _domains(domain or {}, names, spelling)
    try:
        expr = parse_expression(function, {n: sym(n) for n in names}, student=True)
    except ExpressionError as exc:
        raise UsageError(f"cannot read {spelling.function} {function!r}: {exc.message}") from None
    text = function.strip()
    of = text if text in names else f"({text})"
    question = Question(id=QUESTION_ID, of=of, of_expr=expr, wrt=(wrt,))
    symbols = tuple(SymbolSpec(name=n, domain=domains.get(n, DEFAULT_DOMAIN)) for n in names)
    return Problem(id="verify", title=f"d/d{wrt} {function}", path="<verify>", symbols=symbols,
                   questions=(question,))


def _domains(domain: Mapping[str, tuple[float, float]], names: list[str],
             spelling: Spelling) -> dict[str, tuple[float, float]]:
    for name, (low, high) in domain.items():
        if name not in names:
            raise UsageError(f"{spelling.domain} names {name!r}, which is not a variable here; the "
                             "variables are " + ", ".join(names))
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise UsageError(f"{spelling.domain_item(name, low, high)}: need finite LOW < HIGH")
    return {n: (float(lo), float(hi)) for n, (lo, hi) in domain.items()}


def array_problem(function: str, wrt: str, shapes: Mapping[str, tuple[int, ...]],
                  domain: Mapping[str, tuple[float, float]] | None = None,
                  spelling: Spelling = PYTHON) -> Problem:
    """The in-memory array problem behind ``verify --shape``: numpy notation, one question.

    Names with a shape are arrays; the other names in the function are scalars.

    Raises:
        UsageError: a bad shape, name or domain, or a function that cannot be read.
    """
    from gradcheck.arrays import model as arrays_model
    from gradcheck.arrays.reader import FUNCTION_NAMES
    from gradcheck.errors import ProblemError

    if len(function) > 2000:
        raise UsageError(f"the function is {len(function)} characters long; at most 2000")
    names = [n for n in identifiers(function) if n not in FUNCTION_NAMES and n not in ("axis", "T")]
    for name in [*shapes, *names]:
        check_name(name, spelling.shape if name in shapes else spelling.function)
    unknown = sorted(set(shapes) - set(names))
    if unknown:
        raise UsageError(f"{spelling.shape} {unknown[0]}: {unknown[0]!r} does not appear in the "
                         "function")
    if wrt not in names:
        raise UsageError(f"{spelling.wrt} {wrt!r} does not appear in the function; its variables "
                         "are " + (", ".join(names) or "none"))
    symbols: dict[str, dict[str, object]] = {}
    for name in names:
        spec: dict[str, object] = {"shape": list(shapes.get(name, ()))}
        if domain and name in domain:
            spec["domain"] = list(domain[name])
        symbols[name] = spec
    data = {"symbols": symbols, "graph": {"f": function},
            "questions": [{"id": QUESTION_ID, "of": "f", "wrt": wrt}]}

    class _Source:
        path = "<verify>"

        def error(self, key: str, message: str, hint: str = "") -> ProblemError:
            return ProblemError(spelling.function, key, message, hint)

        def check_keys(self, table: Mapping[str, object], allowed: set[str], key: str) -> None:
            return None

        def string(self, table: Mapping[str, object], name: str, key: str, *, required: bool = False) -> str:
            value = table.get(name, "")
            return value if isinstance(value, str) else ""

    try:
        return arrays_model.load(_Source(), data, pid="verify", title=f"d/d{wrt} {function}", source="",
                                 statement="", tolerance=None)
    except ProblemError as exc:
        where = exc.key.replace("graph.f", spelling.function).replace("symbols.", f"{spelling.shape} ")
        raise UsageError(f"{where}: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")) from None


def parse_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """Read ``NAME=ROWSxCOLS`` or ``NAME=N`` (a column vector), as given to ``--shape``.

    >>> parse_shape("X=4x3"), parse_shape("w=3")
    (('X', (4, 3)), ('w', (3,)))
    """
    name, eq, dims = text.partition("=")
    try:
        if not eq:
            raise ValueError
        shape = tuple(int(d) for d in dims.lower().replace("×", "x").split("x"))
        if not 1 <= len(shape) <= 2 or min(shape) < 1:
            raise ValueError
    except ValueError:
        raise UsageError(f"--shape {text!r}: write NAME=ROWSxCOLS or NAME=N, e.g. X=4x3 or w=3") from None
    check_name(name.strip(), "--shape")
    return name.strip(), shape


def parse_domain(text: str) -> tuple[str, tuple[float, float]]:
    """Read ``NAME=LOW:HIGH`` (as given to ``--domain``).

    >>> parse_domain("x=-5:5")
    ('x', (-5.0, 5.0))
    """
    name, eq, bounds = text.partition("=")
    low, colon, high = bounds.partition(":")
    try:
        if not (eq and colon):
            raise ValueError
        pair = (float(low), float(high))
    except ValueError:
        raise UsageError(f"--domain {text!r}: write NAME=LOW:HIGH, e.g. x=-5:5") from None
    check_name(name.strip(), "--domain")
    return name.strip(), pair


DEFAULT_TIME_LIMIT = 2.0


def verify(function: str, wrt: str, answer: str, *,
           domain: Mapping[str, tuple[float, float]] | None = None, seed: int = 0,
           points: int = 20, time_limit: float = DEFAULT_TIME_LIMIT,
           shapes: Mapping[str, tuple[int, ...]] | None = None) -> GradeResult:
    """Is ``answer`` the derivative of ``function`` with respect to ``wrt``?

    With ``shapes`` (``{"X": (4, 3), "w": (3,)}``) the names are vectors and matrices and the
    texts use numpy notation (``sum((X @ w - y)**2)``; answers also ``2X^T(Xw - y)``).

    The function is bounded like an answer: reading, deriving and sampling it gets
    ``time_limit`` seconds, then grading the answer gets ``time_limit`` more. The work
    runs in a child process that is killed when it runs past both (where ``fork``
    exists), so no input can make ``verify`` run for ever.

    Args:
        function: the function, e.g. ``"log(1 + exp(x))"`` (student notation allowed).
        wrt: the variable to differentiate with respect to.
        answer: the hand-derived derivative.
        domain: per-variable intervals for the random points (default [-2, 2]).
        seed: fixes the random points.
        points: how many random points (1 to MAX_POINTS).
        time_limit: seconds for the function, and as many again for the answer.

    Returns:
        The GradeResult of ``grade`` on a one-question problem (verdict ``invalid``
        when the answer cannot be read, or took longer than the time limit).

    Raises:
        UsageError: the function, ``wrt``, the domain, the points or the time limit is
            wrong, or the function took longer than the time limit.

    >>> verify("log(1 + exp(x))", "x", "1/(1 + exp(-x))").verdict
    'pass'
    """
    return verify_as(PYTHON, function, wrt, answer, domain=domain, seed=seed, points=points,
                     time_limit=time_limit, shapes=shapes)


def verify_as(spelling: Spelling, function: str, wrt: str, answer: str, *,
              domain: Mapping[str, tuple[float, float]] | None = None, seed: int = 0,
              points: int = 20, time_limit: float = DEFAULT_TIME_LIMIT,
              shapes: Mapping[str, tuple[int, ...]] | None = None) -> GradeResult:
    """``verify``, with messages that name the inputs as ``spelling`` does (``CLI``: the
    command's flags, ``--domain``; ``PYTHON``: the arguments, ``domain=``)."""
    check_points(points, "--points" if spelling is CLI else "points")
    check_time_limit(time_limit, "--time-limit" if spelling is CLI else "time_limit")
    if not isinstance(answer, str):
        raise UsageError(f"the answer must be text, not {type(answer).__name__}")

    def work(mark: Callable[[str], None]) -> GradeResult:
        if shapes:
            mark("function")
            problem = array_problem(function, wrt, shapes, domain, spelling)
            mark("answer")
            return grade(problem, QUESTION_ID, answer, seed=seed, points=points, time_limit=time_limit)
        return _verify(function, wrt, answer, domain, seed, points, time_limit, mark, spelling)

    try:
        return run_bounded(work, time_limit)
    except Overrun as over:
        if over.stage != "answer":
            raise UsageError(f"preparing the function {_short(function)} took longer than "
                             f"{time_limit:g} s, so it was stopped; write it in a simpler "
                             "form (or allow more time)") from None
        return GradeResult(problem="verify", question=QUESTION_ID, answer=answer,
                           verdict="invalid", seed=seed,
                           feedback=f"Grading this answer took longer than {time_limit:g} s, "
                                    "so it was stopped; write it in a simpler form.")


def _short(text: str, most: int = 60) -> str:
    return repr(text) if len(text) <= most else repr(text[:most]) + f"... ({len(text)} characters)"


def _verify(function: str, wrt: str, answer: str,
            domain: Mapping[str, tuple[float, float]] | None, seed: int, points: int,
            time_limit: float, mark: Callable[[str], None], spelling: Spelling) -> GradeResult:
    mark("function")
    problem = verify_problem(function, wrt, answer, domain, spelling)
    truth = grade(problem, QUESTION_ID, "0", seed=seed, points=points, time_limit=time_limit)
    if truth.verdict != "error":  # the truth is ready (cached): the rest is the answer's time
        mark("answer")
        result = grade(problem, QUESTION_ID, answer, seed=seed, points=points,
                       time_limit=time_limit)
    else:
        result = truth
    if result.verdict == "error":
        reason = result.feedback.removeprefix("Cannot grade: ").split(";")[0]
        _, undefined, rest = reason.partition(" is undefined")
        if undefined:
            reason = f"{function} or its derivative is undefined{rest}"
        defaults = [n for n in identifiers(function) if n not in (domain or {})]
        if undefined and defaults:
            low, high = DEFAULT_DOMAIN
            reason += f" (the default domain of {', '.join(defaults)} is {low:g}:{high:g})"
        raise UsageError(f"{reason}; {spelling.fix_domain} where it is defined")
    if result.verdict == "invalid":
        # The parser only knows that 'gelu' is no name here; say it is an unknown function.
        for name, pos in unknown_calls(answer[:2000], {s.name for s in problem.symbols}).items():
            if f"unknown name {name!r}" in result.feedback:
                feedback = f"Cannot read your answer: {_unknown_function(name, pos, 'your answer')}."
                return dataclasses.replace(result, feedback=feedback)
    return result
