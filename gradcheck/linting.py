"""Lint a problem bank: what the loader refuses, and what it accepts but is probably wrong.

``lint(paths)`` is a pure function from files to a LintReport of findings. It never
stops at the first bad file: every file is loaded and every check runs, so one run
lists everything to fix. The checks:

* schema errors (whatever the loader refuses), duplicate problem ids across files;
* symbols no stage or question uses, stages no later stage or question uses;
* questions without a reject test (warning);
* domains where a question's function or derivative is undefined at some random
  points (warning) or at more than ``gradcheck.checks.MAX_UNDEFINED`` of them (error,
  the share at which ``gradcheck check`` refuses the problem), naming only the symbols
  whose domain matters (``domain_keys``);
* reference answers that disagree with SymPy's derivative (error).

One finding per question and key: a question whose domain is an error is not checked
further, and when ``gradcheck check``'s own points refuse a domain that lint's points
only warned about, the warning becomes that error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from gradcheck.checks import (
    DOMAIN_POINTS,
    MAX_OVERFLOW,
    MAX_UNDEFINED,
    domain_keys,
    float64_overflow,
    overflow_error,
)
from gradcheck.errors import ExitCode, ProblemError, working_on
from gradcheck.problem import Problem

if TYPE_CHECKING:
    from gradcheck.derivation import Target

__all__ = ["DOMAIN_POINTS", "Finding", "LintReport", "MAX_UNDEFINED", "RENDERERS", "domain_keys",
           "lint", "lint_problem", "render_json", "render_text"]

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One thing to fix: where (file and key), how bad, what, and what to do."""

    path: str
    key: str
    level: Level
    message: str
    hint: str = ""

    def __str__(self) -> str:
        """``path: key: level: message (hint)``; without a key (e.g. a TOML syntax error),
        ``path: level: message (hint)``."""
        where = f"{self.path}: {self.key}" if self.key else self.path
        text = f"{where}: {self.level}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "key": self.key, "level": self.level,
                "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class LintReport:
    """Every finding, in file order, and which files could not be loaded."""

    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    unloadable: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "warning")

    def exit_code(self, strict: bool = False) -> ExitCode:
        """3 when a file cannot be loaded, 1 on errors (or warnings when strict), else 0."""
        if self.unloadable:
            return ExitCode.BAD_PROBLEM
        if self.errors or (strict and self.warnings):
            return ExitCode.FAILED
        return ExitCode.OK


def lint(paths: Iterable[str | Path], *, seed: int = 0) -> LintReport:
    """Lint every ``*.toml`` under the given files and folders.

    Args:
        paths: problem files or folders (searched recursively, in sorted order).
        seed: seed of the random points of the domain and reference checks.

    Returns:
        A LintReport; nothing is raised for a bad file, it becomes a finding.
    """
    files: list[str] = []
    findings: list[Finding] = []
    unloadable: list[str] = []
    seen: dict[str, str] = {}
    for path in _files(paths, findings, unloadable):
        files.append(str(path))
        problem = _load(path, findings, unloadable)
        if problem is None:
            continue
        if problem.id in seen:
            findings.append(Finding(str(path), "id", "error", f"duplicate problem id {problem.id!r}",
                                    f"{seen[problem.id]} has the same id; rename one file"))
        seen.setdefault(problem.id, str(path))
        with working_on(f"linting problem {problem.id!r} ({path})"):
            findings.extend(lint_problem(problem, seed=seed))
    return LintReport(tuple(files), tuple(findings), tuple(unloadable))


def lint_problem(problem: Problem, *, seed: int = 0) -> list[Finding]:
    """Every finding about one loaded problem."""
    from gradcheck.derivation import derive

    if problem.arrays is not None:  # vectors and matrices: the array check finds reference typos
        return [*_missing_rejects(problem), *_array_findings(problem, seed)]
    findings = [*_unused_symbols(problem), *_unused_stages(problem), *_missing_rejects(problem),
                *_backend_refusals(problem)]
    for target in derive(problem).targets:
        domain = _domain(problem, target, seed)
        if domain is not None and domain.level == "error":
            findings.append(domain)  # nothing more to check where the function is undefined
            continue
        checked = list(_reference(problem, target, seed))
        refused = [f for f in checked if f.key == _DOMAIN_REFUSED]
        if domain is not None and not refused:
            findings.append(domain)
        for f in checked:
            if f.key == _DOMAIN_REFUSED:  # check's points refuse it: one error, lint's keys
                key = domain.key if domain is not None else domain_keys(problem, target,
                                                                         seed=seed)
                label = target.question.label
                f = replace(f, key=key, message=f.message.replace(
                    label, f"{label} (question {target.question.id})", 1))
            findings.append(f)
    return findings


def _array_findings(problem: Problem, seed: int) -> Iterator[Finding]:
    from gradcheck.arrays.checking import check_problem
    from gradcheck.backends.numpy_backend import NumpyBackend

    try:
        results = check_problem(problem, [NumpyBackend()], seed=seed)
    except ProblemError as exc:
        yield Finding(exc.path, exc.key, "error", exc.message, exc.hint)
        return
    for result in results:
        for c in result.comparisons:
            if not c.passed and c.what.startswith("reference"):
                yield _finding(problem, f"questions.{result.question}.answer", "error",
                               f"the reference answer is not {result.label}: {c.failures} of {c.points} "
                               f"points disagree (relative error {c.worst_error:.3g})",
                               "fix the answer; gradcheck derives the truth entry by entry")


def _files(paths: Iterable[str | Path], findings: list[Finding],
           unloadable: list[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        from gradcheck.loader import bank_settings, is_settings_file, problem_files

        if path.is_file() and is_settings_file(path):  # a bank's settings: valid or a finding
            try:
                bank_settings(path.parent)
            except ProblemError as exc:
                findings.append(Finding(exc.path, exc.key, "error", exc.message, exc.hint))
                unloadable.append(str(path))
            continue
        found = problem_files(path) if path.is_dir() else [path] if path.is_file() else []
        if not found:
            what = "holds no *.toml problem files" if path.is_dir() else "no such file or folder"
            findings.append(Finding(str(path), "", "error", what, "give problem files or folders"))
            unloadable.append(str(path))
        yield from found


def _load(path: Path, findings: list[Finding], unloadable: list[str]) -> Problem | None:
    from gradcheck.loader import load_problem

    try:
        return load_problem(path)
    except ProblemError as exc:
        findings.append(Finding(exc.path, exc.key, "error", exc.message, exc.hint))
        unloadable.append(str(path))
        return None


def _finding(problem: Problem, key: str, level: Level, message: str, hint: str = "") -> Finding:
    return Finding(problem.path, key, level, message, hint)


def _unused_symbols(problem: Problem) -> Iterator[Finding]:
    used = {s.name for stage in problem.stages for s in stage.expr.free_symbols}
    for question in problem.questions:
        used |= {s.name for s in question.of_expr.free_symbols} | set(question.wrt)
    for name in problem.symbol_names:
        if name not in used:
            yield _finding(problem, f"symbols.{name}", "warning",
                           f"symbol {name!r} is used by no stage and no question",
                           "remove it, or use it in the graph")


def _unused_stages(problem: Problem) -> Iterator[Finding]:
    for index, stage in enumerate(problem.stages):
        later = any(stage.name in {s.name for s in other.expr.free_symbols}
                    for other in problem.stages[index + 1:])
        asked = any(stage.name in {s.name for s in q.of_expr.free_symbols} or stage.name in q.wrt
                    for q in problem.questions)
        if not (later or asked):
            yield _finding(problem, f"graph.{stage.name}", "warning",
                           f"stage {stage.name!r} is used by no later stage and no question",
                           "remove it, or ask a question about it")


def _missing_rejects(problem: Problem) -> Iterator[Finding]:
    for question in problem.questions:
        if not any(t.expect == "reject" for t in question.tests):
            yield _finding(problem, f"questions.{question.id}", "warning",
                           "has no reject test",
                           "add [[questions.reject]] answers the grader must refuse, "
                           "e.g. a sign error, and one equal to the truth only at the given point")


def _backend_refusals(problem: Problem) -> Iterator[Finding]:
    """A function some backend lacks: ``check --backend`` that backend refuses the problem
    before any check starts (``gradcheck.refusals``); numpy users may still use it."""
    from gradcheck.backends import REGISTRY
    from gradcheck.refusals import refusals

    grouped: dict[tuple[str, str], list[str]] = {}
    reasons: dict[tuple[str, str], str] = {}
    for r in refusals(problem, list(REGISTRY)):
        grouped.setdefault((r.key, r.function), []).append(r.backend)
        reasons[(r.key, r.function)] = r.reason
    for (key, function), backends in grouped.items():
        names = ", ".join(dict.fromkeys(backends))
        yield _finding(problem, key, "warning",
                       f"uses {function}, which backend(s) {names} lack: check --backend "
                       f"{backends[0]} refuses this problem before any check starts",
                       reasons[(key, function)])


def _domain(problem: Problem, target: Target, seed: int) -> Finding | None:
    """The question's function or derivative is undefined at random points of the domains:
    an error above ``MAX_UNDEFINED`` of them (``gradcheck check`` refuses it), else a warning."""
    from gradcheck.backends.numpy_backend import NumpyBackend
    from gradcheck.checks import complete
    from gradcheck.points import draw, format_point, label, rng_for

    rng = rng_for(seed, "lint", problem.id, target.question.id)
    pts = complete(target, problem, draw(problem, DOMAIN_POINTS, rng))
    try:
        tape = target.build(target.graph)
    except ValueError as exc:
        return _finding(problem, f"questions.{target.question.id}", "error", str(exc))
    values = NumpyBackend().evaluate(tape, pts)
    # As in check: where float64 overflows but high precision says the point is defined,
    # the point is not undefined; too much overflow is refused by its own rule.
    overflow = float64_overflow(target, pts, values)
    if np.mean(overflow) > MAX_OVERFLOW:
        error = overflow_error(problem, target, pts, overflow, seed)
        return _finding(problem, error.key, "error", error.message, error.hint)
    undefined = ~np.all(np.isfinite(values), axis=0) & ~overflow
    share = float(np.mean(undefined))
    if share == 0:
        return None
    example = format_point(label(target.variables, pts[np.flatnonzero(undefined)[0]]))
    return _finding(problem, domain_keys(problem, target, pts[undefined], seed=seed),
                    "error" if share > MAX_UNDEFINED else "warning",
                    f"{target.question.label} (question {target.question.id}) is undefined "
                    f"at {_percent(share)} of random points in the domains, e.g. {example}",
                    "narrow the domains to where the function and its derivative are defined")


def _percent(share: float) -> str:
    """``34%``; one decimal where rounding would hide which side of MAX_UNDEFINED it is."""
    text = f"{share:.0%}"
    return f"{share:.1%}" if f"{MAX_UNDEFINED:.0%}" == text and share != MAX_UNDEFINED else text


_DOMAIN_REFUSED = "\x00domain"  # marks check's refusal of a domain until lint_problem keys it


def _reference(problem: Problem, target: Target, seed: int) -> Iterator[Finding]:
    """The reference answer disagrees with SymPy's derivative (numpy, float64), or check
    refuses the question (its own random points are undefined too often)."""
    from gradcheck.backends.numpy_backend import NumpyBackend
    from gradcheck.checks import DEFAULT_POINTS, check_target
    from gradcheck.points import format_point
    from gradcheck.report.messages import number

    try:
        results = check_target(problem, target, [NumpyBackend()], points=DEFAULT_POINTS,
                               seed=seed)
    except ProblemError as exc:
        domain = exc.key.startswith("symbols")
        yield Finding(exc.path, _DOMAIN_REFUSED if domain else exc.key, "error", exc.message,
                      exc.hint)
        return
    for result in results:
        for c in result.comparisons:
            if c.what.startswith("reference") and not c.passed:
                yield _finding(
                    problem, f"questions.{result.question}.answer", "error",
                    f"reference answer disagrees with SymPy's {result.label} at {c.failures} of "
                    f"{c.points} points: {number(c.got)} instead of {number(c.expected)} "
                    f"at {format_point(c.worst_point)}",
                    _derivative_hint(problem, target))


def _derivative_hint(problem: Problem, target: Target) -> str:
    from gradcheck.readable import formula

    # Derived without the reference, which is the formula in doubt here.
    shown = formula(problem, target.question.id, reference=False)
    if shown.source == "too-large":
        return ("SymPy's derivative (too large to show as one formula) disagrees; fix the "
                "answer or the question")
    return f"SymPy's derivative is {shown.text}; fix the answer or the question"


def render_text(report: LintReport) -> str:
    """One line per finding, then a summary line."""
    lines = [str(f) for f in report.findings]
    summary = (f"{len(report.files)} file(s) linted: {len(report.errors)} error(s), "
               f"{len(report.warnings)} warning(s)")
    if report.unloadable:
        summary += f", {len(report.unloadable)} file(s) could not be loaded"
    return "\n".join([*lines, summary]) + "\n"


def render_json(report: LintReport) -> str:
    """The report as JSON, keys in a fixed order (same input, same bytes)."""
    import json

    body = {"files": list(report.files), "errors": len(report.errors),
            "warnings": len(report.warnings), "unloadable": list(report.unloadable),
            "findings": [f.to_dict() for f in report.findings]}
    return json.dumps(body, indent=2) + "\n"


RENDERERS = {"text": render_text, "json": render_json}
