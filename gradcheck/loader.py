"""Read problem files (TOML) into validated, frozen Problems.

Only this module reads problem files. Expressions are read by gradcheck's own
whitelist parser (never eval or sympify); every error names the file, the key
and what to do.
"""

from __future__ import annotations

import keyword
import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy

from gradcheck.arrays import model as arrays_model
from gradcheck.deadline import Timeout, deadline
from gradcheck.errors import ExpressionError, FileAccessError, ProblemError
from gradcheck.parsing import FUNCTIONS, TEACHER_LIMITS, parse_expression, parse_number
from gradcheck.problem import (
    DEFAULT_DOMAIN,
    DIAGNOSES,
    AnswerTest,
    FunctionDef,
    Problem,
    Question,
    Stage,
    SymbolSpec,
    sym,
)
from gradcheck.tolerances import Tolerance

TOP_KEYS = {"id", "title", "source", "statement", "symbols", "functions", "graph", "questions",
            "tolerance", "hide_expected"}
SYMBOL_KEYS = {"value", "domain", "description", "shape", "aliases"}
FUNCTION_KEYS = {"args", "body"}
MAX_FUNCTION_ARGS = 8
QUESTION_KEYS = {"id", "of", "wrt", "kind", "order", "answer", "prompt", "tolerance", "accept",
                 "reject", "points"}
TEST_KEYS = {"answer", "diagnosis", "feedback"}
TOLERANCE_KEYS = {"rtol", "atol", "reason"}
# A bank's settings: gradcheck.toml in a folder applies to every problem file under it.
SETTINGS_FILE = "gradcheck.toml"
SETTINGS_KEYS = {"grading"}
GRADING_KEYS = {"hide_expected"}
RESERVED = {"e", "E", "pi", "I", "oo", "nan", "zoo", "S", "N", "O", "Q", "True", "False", "None"}
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
RESERVED_LETTERS = {"π", "ℯ"}
# Greek letters that name both a function and a common variable (a discount factor gamma,
# momentum beta): a problem may declare such a symbol, which then hides the function.
GREEK_FUNCTION_NAMES = {"beta", "gamma", "zeta"}


class _File:
    """The path being read, so every error can name it."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def error(self, key: str, message: str, hint: str = "") -> ProblemError:
        return ProblemError(self.path, key, message, hint)

    def check_keys(self, table: Mapping[str, Any], allowed: set[str], key: str) -> None:
        for name in table:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                raise self.error(where, "unknown key", "known keys here are " + ", ".join(sorted(allowed)))

    def string(self, table: Mapping[str, Any], name: str, key: str, *, required: bool = False) -> str:
        value = table.get(name)
        if value is None:
            if required:
                raise self.error(key, "is required", f"add {name} = \"...\"")
            return ""
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {type(value).__name__}")
        return value

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, not {value!r}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range (1 followed by 400 zeros)
            raise self.error(key, f"is too large ({len(str(abs(value)))} digits); numbers must "
                             "be within about 1e308") from None
        if not math.isfinite(number):
            raise self.error(key, f"must be finite, not {value!r}")
        return number


def load_problem(path: str | Path) -> Problem:
    """Read and validate one problem file.

    Raises:
        ProblemError: naming the file, the key and what to do.
    """
    path = Path(path)
    file = _File(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise file.error("", f"cannot be read: {exc.strerror}") from exc
    except OSError as exc:  # it is there, but no permission or a failing disk: exit 4
        raise FileAccessError(f"{path}: cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise file.error("", "is not UTF-8 text", "save the file as UTF-8") from exc
    return parse_problem(text, path)


def parse_problem(text: str, path: str | Path, *, bank: BankSettings | None = None) -> Problem:
    """A problem from the text of its file; ``path`` names it in errors and in the problem
    (and its stem is the default id), as if the text had been read from there.

    ``bank``: the settings the problem inherits; None reads them from the ``gradcheck.toml``
    nearest to ``path`` (``bank_settings``).

    Raises:
        ProblemError: naming the file, the key and what to do.
    """
    path = Path(path)
    file = _File(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise file.error("", f"is not valid TOML: {exc}", "fix the TOML syntax there") from exc
    except ValueError:  # tomllib's int(): more digits than Python converts (4300)
        raise file.error("", "holds a number with too many digits to read (at most 4300)",
                         "numbers must be within about 1e308") from None
    except RecursionError:
        raise file.error("", "is nested too deeply to read",
                         "a problem file needs only a few levels of tables and arrays") from None
    return _problem(file, data, path.stem, bank)


def load_bank(paths: Iterable[str | Path]) -> tuple[Problem, ...]:
    """Read every ``*.toml`` under the given files and folders, in sorted order.

    Raises:
        ProblemError: on the first bad file, or when two files share a problem id.
    """
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for file in _toml_files(paths):
        problem = load_problem(file)
        if problem.id in seen:
            raise ProblemError(str(file), "id", f"duplicate problem id {problem.id!r}",
                               f"{seen[problem.id]} has the same id; rename one file")
        seen[problem.id] = str(file)
        problems.append(problem)
    return tuple(problems)


def _toml_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = problem_files(path)
            if not found:
                raise ProblemError(str(path), "", "holds no *.toml problem files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ProblemError(str(path), "", "no such file or folder")
    return files


def _problem(file: _File, data: Mapping[str, Any], stem: str, bank: BankSettings | None) -> Problem:
    file.check_keys(data, TOP_KEYS, "")
    pid = file.string(data, "id", "id", required=True)
    if pid != stem:
        raise file.error("id", f"is {pid!r} but the file is named {stem}.toml",
                         "make the id equal the file name without .toml")
    if not ID_RE.match(pid):
        raise file.error("id", f"{pid!r} is not a valid id", "use letters, digits, - _ and .")
    tolerance = _tolerance(file, data["tolerance"], "tolerance") if "tolerance" in data else None
    if bank is None:
        bank = bank_settings(Path(file.path).parent)
    hide = _flag(file, data, "hide_expected", bank.hide_expected)
    if arrays_model.is_array_problem(data):
        return arrays_model.load(file, data, pid=pid, title=file.string(data, "title", "title"),
                                 source=file.string(data, "source", "source"),
                                 statement=file.string(data, "statement", "statement"),
                                 tolerance=tolerance, hide_expected=hide)
    symbols = _symbols(file, data.get("symbols"))
    vocabulary: dict[str, sympy.Basic] = {s.name: sym(s.name) for s in symbols}
    vocabulary.update({a: sym(s.name) for s in symbols for a in s.aliases})
    functions = _functions(file, data.get("functions", {}), vocabulary)
    vocabulary.update({f.name: f.function for f in functions})
    stages = _stages(file, data.get("graph", {}), symbols, vocabulary)
    vocabulary.update({s.name: sym(s.name) for s in stages})
    targets = {*(s.name for s in symbols), *(s.name for s in stages)}
    questions = _questions(file, data.get("questions"), vocabulary, {s.name for s in stages},
                           targets)
    _check_values(file, symbols, questions)
    return Problem(
        id=pid,
        title=file.string(data, "title", "title"),
        path=file.path,
        symbols=symbols,
        stages=stages,
        questions=questions,
        source=file.string(data, "source", "source"),
        statement=file.string(data, "statement", "statement"),
        tolerance=tolerance,
        hide_expected=hide,
        functions=functions,
    )


def _flag(file: _File, data: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise file.error(name, f"must be true or false, not {value!r}")
    return value


# -- a bank's settings (gradcheck.toml) ---------------------------------------------------------


@dataclass(frozen=True)
class BankSettings:
    """What every problem under a folder inherits from the folder's ``gradcheck.toml``.

    ``hide_expected``: keep the true value and the expected formula out of student-facing
    feedback (a problem file's own ``hide_expected`` wins over it). ``path``: the settings
    file, or "" when none applies.
    """

    hide_expected: bool = False
    path: str = ""


def bank_settings(folder: str | Path) -> BankSettings:
    """The settings of the nearest ``gradcheck.toml`` in ``folder`` or a folder above it.

    The search stops at a repository's root (a folder holding ``.git``), so a settings file
    outside the repository never applies to its problems.

    Raises:
        ProblemError: the settings file is not valid TOML, has an unknown key or a bad value.
    """
    settings = _settings_file(Path(folder))
    if settings is None:
        return BankSettings()
    file = _File(settings)
    try:
        data = tomllib.loads(settings.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise file.error("", f"cannot be read: {exc}") from exc
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        raise file.error("", f"is not valid TOML: {exc}", "fix the TOML syntax there") from exc
    file.check_keys(data, SETTINGS_KEYS, "")
    grading = data.get("grading", {})
    if not isinstance(grading, dict):
        raise file.error("grading", "must be a table: [grading]", "write [grading] on its own line")
    file.check_keys(grading, GRADING_KEYS, "grading")
    value = grading.get("hide_expected", False)
    if not isinstance(value, bool):
        raise file.error("grading.hide_expected", f"must be true or false, not {value!r}")
    return BankSettings(hide_expected=value, path=str(settings))


def _settings_file(folder: Path) -> Path | None:
    try:
        folder = folder.resolve()
    except OSError:
        return None
    for place in (folder, *folder.parents):
        candidate = place / SETTINGS_FILE
        if candidate.is_file():
            return candidate
        if (place / ".git").exists():
            return None
    return None


def is_settings_file(path: str | Path) -> bool:
    """Whether ``path`` is a bank's settings file (``gradcheck.toml``), not a problem file."""
    return Path(path).name == SETTINGS_FILE


def problem_files(folder: Path) -> list[Path]:
    """Every ``*.toml`` under ``folder`` but the settings files, in sorted order."""
    return [p for p in sorted(folder.rglob("*.toml")) if not is_settings_file(p)]


def _check_values(file: _File, symbols: tuple[SymbolSpec, ...],
                  questions: tuple[Question, ...]) -> None:
    """A value question is asked at the symbols' values, so every symbol needs one."""
    missing = [s.name for s in symbols if s.value is None]
    for question in questions:
        if question.kind == "value" and missing:
            raise file.error(f"questions.{question.id}.kind",
                             "a value question needs a value for every symbol; "
                             "without one: " + ", ".join(missing),
                             f"add value = ... under [symbols.{missing[0]}]")


def _check_name(file: _File, name: str, key: str) -> None:
    if not NAME_RE.match(name) or "__" in name or keyword.iskeyword(name):
        raise file.error(key, f"{name!r} is not a usable name",
                         "use a letter followed by letters, digits or single underscores")
    if name in RESERVED or (name in FUNCTIONS and name not in GREEK_FUNCTION_NAMES):
        raise file.error(key, f"{name!r} is the name of a function or constant",
                         "choose another name")


def _symbols(file: _File, table: Any) -> tuple[SymbolSpec, ...]:
    if not isinstance(table, dict) or not table:
        raise file.error("symbols", "is required: at least one [symbols.NAME] table",
                         "add e.g. [symbols.x] with value = 1.0")
    specs = []
    taken = set(table)
    for name, spec in table.items():
        key = f"symbols.{name}"
        _check_name(file, name, key)
        if not isinstance(spec, dict):
            raise file.error(key, "must be a table", f"write [symbols.{name}] with value = ...")
        file.check_keys(spec, SYMBOL_KEYS, key)
        if spec.get("shape") not in (None, [], 1, [1]):
            raise file.error(f"{key}.shape", "vectors and matrices are not supported yet",
                             "declare scalar symbols, one per component")
        value = file.number(spec["value"], f"{key}.value") if "value" in spec else None
        specs.append(SymbolSpec(name=name, value=value, domain=_domain(file, spec, key),
                                description=file.string(spec, "description", f"{key}.description"),
                                aliases=_aliases(file, spec.get("aliases", []), key, taken)))
    return tuple(specs)


def _aliases(file: _File, raw: Any, key: str, taken: set[str]) -> tuple[str, ...]:
    """Other names of a symbol: ASCII names, or one non-ASCII letter such as λ."""
    key = f"{key}.aliases"
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise file.error(key, f"must be a list of names, not {raw!r}", 'e.g. aliases = ["λ", "lam"]')
    for alias in raw:
        if len(alias) == 1 and not alias.isascii():
            if not unicodedata.category(alias).startswith("L") or alias in RESERVED_LETTERS:
                raise file.error(key, f"{alias!r} is not a usable alias",
                                 "a one-character alias is a letter other than π, e.g. λ")
        else:
            _check_name(file, alias, key)
        if alias in taken:
            raise file.error(key, f"{alias!r} is already the name of a symbol or an alias",
                             "give each name to one symbol only")
        taken.add(alias)
    return tuple(raw)


def _functions(file: _File, table: Any, names: Mapping[str, sympy.Basic]) -> tuple[FunctionDef, ...]:
    """The problem's own functions: NAME = { args = ["z"], body = "..." } under [functions]."""
    if not isinstance(table, dict):
        raise file.error("functions", "must be a table",
                         'write [functions] then Phi = { args = ["z"], body = "(1 + erf(z/sqrt(2)))/2" }')
    defs: list[FunctionDef] = []
    known: dict[str, sympy.Basic] = {}
    for name, spec in table.items():
        key = f"functions.{name}"
        _check_name(file, name, key)
        if name in names:
            raise file.error(key, f"{name!r} is already a symbol or an alias", "rename the function")
        if not isinstance(spec, dict):
            raise file.error(key, "must be a table with args and body",
                             f'write {name} = {{ args = ["z"], body = "..." }}')
        file.check_keys(spec, FUNCTION_KEYS, key)
        args = _function_args(file, spec.get("args"), f"{key}.args")
        body = file.string(spec, "body", f"{key}.body", required=True)
        variables = {a: sym(a) for a in args}
        expr = _parse(file, body, {**known, **variables}, f"{key}.body",
                      hint="a function's body uses only its args and the functions above it")
        function = sympy.Lambda(tuple(variables.values()), expr)
        defs.append(FunctionDef(name=name, args=args, body=body, function=function))
        known[name] = function
    return tuple(defs)


def _function_args(file: _File, raw: Any, key: str) -> tuple[str, ...]:
    if (not isinstance(raw, list) or not raw or len(raw) > MAX_FUNCTION_ARGS
            or not all(isinstance(a, str) for a in raw)):
        raise file.error(key, f"must be a list of 1 to {MAX_FUNCTION_ARGS} argument names, "
                         f"not {raw!r}", 'e.g. args = ["z"]')
    for arg in raw:
        _check_name(file, arg, key)
    if len(set(raw)) != len(raw):
        raise file.error(key, f"names an argument twice: {raw!r}", "give each argument its own name")
    return tuple(raw)


def _domain(file: _File, spec: Mapping[str, Any], key: str) -> tuple[float, float]:
    if "domain" not in spec:
        return DEFAULT_DOMAIN
    raw = spec["domain"]
    if not isinstance(raw, list) or len(raw) != 2:
        raise file.error(f"{key}.domain", f"must be [low, high], not {raw!r}")
    low, high = (file.number(v, f"{key}.domain") for v in raw)
    if not low < high:
        raise file.error(f"{key}.domain", f"low {low} is not below high {high}",
                         "write [low, high] with low < high")
    return (low, high)


PARSE_SECONDS = 5.0  # per expression of a problem file; a real one takes milliseconds


def _parse(file: _File, text: Any, names: Mapping[str, sympy.Basic], key: str,
           hint: str = "write a SymPy expression over the problem's symbols and stages"
           ) -> sympy.Expr:
    """Read a problem-file expression with the teacher's reader (SymPy syntax, generous limits)."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise file.error(key, f"must be an expression in a string, not {text!r}")
    shown = repr(text) if len(str(text)) <= 200 else f"{str(text)[:200]!r}..."
    try:
        with deadline(PARSE_SECONDS):
            return parse_expression(str(text), names, limits=TEACHER_LIMITS)
    except ExpressionError as exc:
        raise file.error(key, f"cannot read {shown}: {exc.message}", hint) from exc
    except Timeout:
        raise _TooSlow(str(file.path), key, f"reading {shown} took longer than "
                       f"{PARSE_SECONDS:g} s", "it evaluates something huge, such as "
                       "floor(exp(10**9)); write it in a simpler form") from None


class _TooSlow(ProblemError):
    """An expression took longer than PARSE_SECONDS to read (it is not read a second time)."""


def _stages(file: _File, table: Any, symbols: tuple[SymbolSpec, ...],
            vocabulary: Mapping[str, sympy.Basic]) -> tuple[Stage, ...]:
    if not isinstance(table, dict):
        raise file.error("graph", "must be a table of stage = \"expression\"")
    symbol_names = {s.name for s in symbols}
    later = {name: sym(name) for name in table}
    stages: list[Stage] = []
    names: dict[str, sympy.Basic] = dict(vocabulary)
    for name, text in table.items():
        key = f"graph.{name}"
        _check_name(file, name, key)
        if name in symbol_names:
            raise file.error(key, f"{name!r} is both a symbol and a stage", "rename the stage")
        if name in vocabulary:
            raise file.error(key, f"{name!r} is already an alias or a function", "rename the stage")
        try:
            expr = _parse(file, text, names, key)
        except _TooSlow:
            raise
        except ProblemError:
            _used_too_early(file, text, name, names, later, key)
            raise
        stages.append(Stage(name=name, expr=expr, text=str(text)))
        names[name] = sym(name)
    return tuple(stages)


def _used_too_early(file: _File, text: Any, name: str, names: Mapping[str, sympy.Basic],
                    later: Mapping[str, sympy.Basic], key: str) -> None:
    """Raise a clearer error when a stage refers to itself or to a stage defined below it."""
    try:
        with deadline(PARSE_SECONDS):
            expr = parse_expression(str(text), {**later, **names}, limits=TEACHER_LIMITS)
    except (ExpressionError, Timeout):
        return
    too_early = sorted(s.name for s in expr.free_symbols if s.name not in names)
    which = "itself" if too_early == [name] else f"stage {too_early[0]!r}"
    raise file.error(key, f"uses {which} before it is defined",
                     "stages may use only symbols and the stages above them")


def _questions(file: _File, items: Any, names: Mapping[str, sympy.Basic],
               stage_names: set[str], targets: set[str]) -> tuple[Question, ...]:
    if not isinstance(items, list) or not items:
        raise file.error("questions", "is required: at least one [[questions]] table",
                         'add [[questions]] with id, of and wrt')
    questions: list[Question] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        key = f"questions[{index}]"
        if not isinstance(item, dict):
            raise file.error(key, "must be a table", "write [[questions]]")
        qid = file.string(item, "id", f"{key}.id", required=True)
        key = f"questions.{qid}"
        if not ID_RE.match(qid):
            raise file.error(f"{key}.id", f"{qid!r} is not a valid id", "use letters, digits, - _ and .")
        if qid in seen:
            raise file.error(f"{key}.id", f"duplicate question id {qid!r}", "give each question its own id")
        seen.add(qid)
        file.check_keys(item, QUESTION_KEYS, key)
        questions.append(_question(file, item, qid, key, names, stage_names, targets))
    return tuple(questions)


def _question(file: _File, item: Mapping[str, Any], qid: str, key: str,
              names: Mapping[str, sympy.Basic], stage_names: set[str],
              targets: set[str]) -> Question:
    of = file.string(item, "of", f"{key}.of", required=True)
    of_expr = _parse(file, of, names, f"{key}.of")
    wrt = _wrt(file, item, key, targets, names)
    kind = item.get("kind", "expression")
    if kind not in ("expression", "value"):
        raise file.error(f"{key}.kind", f"is {kind!r}", 'use "expression" or "value"')
    answer = item.get("answer")
    if answer is not None:
        answer = _reference(file, answer, kind, names, f"{key}.answer")
    tolerance = _tolerance(file, item["tolerance"], f"{key}.tolerance") if "tolerance" in item else None
    return Question(id=qid, of=of, of_expr=of_expr, wrt=wrt, kind=kind, answer=answer,
                    prompt=file.string(item, "prompt", f"{key}.prompt"), tolerance=tolerance,
                    tests=_answer_tests(file, item, key), points=_points(file, item, key))


def _points(file: _File, item: Mapping[str, Any], key: str) -> float:
    """A question's weight in the gradebook: a finite number >= 0 (default 1)."""
    raw = item.get("points", 1)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw < 0:
        raise file.error(f"{key}.points", f"must be a number of points, 0 or more, not {raw!r}",
                         "e.g. points = 2 (a right answer earns them; the default is 1)")
    return raw


def _wrt(file: _File, item: Mapping[str, Any], key: str, names: set[str],
         vocabulary: Mapping[str, sympy.Basic]) -> tuple[str, ...]:
    """The variables a question differentiates by: symbols or stages (an alias is its symbol)."""
    raw = item.get("wrt")
    if raw is None:
        raise file.error(f"{key}.wrt", "is required", 'name the symbol, e.g. wrt = "w"')
    wrt = (raw,) if isinstance(raw, str) else raw
    if not isinstance(wrt, list | tuple) or not wrt or not all(isinstance(w, str) for w in wrt):
        raise file.error(f"{key}.wrt", f"must be a name or a list of names, not {raw!r}")
    order = item.get("order", len(wrt))
    if isinstance(order, bool) or order not in (1, 2):
        raise file.error(f"{key}.order", f"is {order!r}", "gradcheck asks first (1) or second (2) derivatives")
    if len(wrt) == 1 and order == 2:
        wrt = [wrt[0], wrt[0]]
    if len(wrt) != order:
        raise file.error(f"{key}.order", f"is {order} but wrt names {len(wrt)} variables",
                         "give one name per derivative")
    canonical = []
    for name in wrt:
        value = vocabulary.get(name)
        if name not in names and isinstance(value, sympy.Symbol) and value.name in names:
            name = value.name
        if name not in names:
            raise file.error(f"{key}.wrt", f"unknown name {name!r}",
                             "the names here are " + ", ".join(sorted(names)))
        canonical.append(name)
    return tuple(canonical)


def _reference(file: _File, answer: Any, kind: str, names: Mapping[str, sympy.Basic],
               key: str) -> str:
    if kind == "value":
        if isinstance(answer, bool) or not isinstance(answer, str | int | float):
            raise file.error(key, f"must be a number, not {answer!r}")
        try:
            parse_number(str(answer), limits=TEACHER_LIMITS)
        except ExpressionError as exc:
            raise file.error(key, f"cannot read {answer!r} as a number: {exc.message}",
                             'write a number such as -2 or "-4/2"') from exc
        return str(answer)
    _parse(file, answer, names, key)
    return str(answer)


def _answer_tests(file: _File, item: Mapping[str, Any], key: str) -> tuple[AnswerTest, ...]:
    tests: list[AnswerTest] = []
    for expect in ("accept", "reject"):
        entries = item.get(expect, [])
        if not isinstance(entries, list):
            raise file.error(f"{key}.{expect}", "must be a list of tables",
                             f"write [[questions.{expect}]] with answer = \"...\"")
        for index, entry in enumerate(entries):
            where = f"{key}.{expect}[{index}]"
            if not isinstance(entry, dict):
                raise file.error(where, "must be a table", f"write [[questions.{expect}]]")
            file.check_keys(entry, TEST_KEYS, where)
            answer = entry.get("answer")
            if isinstance(answer, bool) or not isinstance(answer, str | int | float):
                raise file.error(f"{where}.answer", "is required: a string or a number")
            diagnosis = entry.get("diagnosis")
            if diagnosis is not None and (expect == "accept" or diagnosis not in DIAGNOSES):
                hint = ("only a rejected answer carries a diagnosis" if expect == "accept"
                        else "known diagnoses are " + ", ".join(DIAGNOSES))
                raise file.error(f"{where}.diagnosis", f"{diagnosis!r} is not allowed here", hint)
            feedback = file.string(entry, "feedback", f"{where}.feedback") or None
            tests.append(AnswerTest(answer=str(answer), expect=expect, diagnosis=diagnosis,
                                    feedback=feedback))
    return tuple(tests)


def _tolerance(file: _File, table: Any, key: str) -> Tolerance:
    if not isinstance(table, dict):
        raise file.error(key, "must be a table with rtol, atol and reason")
    file.check_keys(table, TOLERANCE_KEYS, key)
    reason = file.string(table, "reason", f"{key}.reason")
    if not reason:
        raise file.error(f"{key}.reason", "is required", "say why the default tolerance does not fit")
    rtol = file.number(table.get("rtol", 1e-6), f"{key}.rtol")
    atol = file.number(table.get("atol", 1e-9), f"{key}.atol")
    if rtol <= 0 or atol <= 0:
        raise file.error(key, "rtol and atol must be positive")
    return Tolerance(rtol=rtol, atol=atol, reason=reason)
