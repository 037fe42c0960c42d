"""pytest plugin: collect problem files as tests, only when asked (``--gradcheck``).

Installing gradcheck must not change other projects' test runs, so nothing is
collected unless ``--gradcheck`` is given or the ini key ``gradcheck_paths`` is set,
and then only ``*.toml`` files under those paths. Nothing heavy is imported at
start-up: the loader, SymPy, the check and the backends are imported when a problem
file is collected.

Each problem file yields these items:

* ``reference``: the teacher's reference answers equal SymPy's derivatives;
* ``check[<backend>]``: symbolic derivatives against finite differences (and
  autograd, and the numpy compilation) on every backend available here;
* ``answers[<question>]``: the question's answer tests run through the grader.

A file that cannot be loaded becomes one failing item, ``load``, naming the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from gradcheck.checks import QuestionResult
    from gradcheck.problem import AnswerTest, Problem
    from gradcheck.verdict import GradeResult

INI_KEY = "gradcheck_paths"
HIDE_KEY = "gradcheck_hide_expected"
SETTINGS_FILE = "gradcheck.toml"  # a bank's settings, not a problem (gradcheck.loader.SETTINGS_FILE)
_ROOTS = pytest.StashKey[tuple[Path, ...]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "checking gradcheck problem banks")
    group.addoption("--gradcheck", action="store_true", default=False,
                    help="collect gradcheck problem files (*.toml) under the given paths as tests")
    group.addoption("--gradcheck-hide-expected", action="store_true", default=False,
                    help="grade the answer tests as students see them: without the true value "
                         "and the expected formula in the feedback (as gradcheck grade "
                         "--hide-expected; a bank's gradcheck.toml can ask the same)")
    parser.addini(INI_KEY, type="paths", default=[],
                  help="folders of gradcheck problem files to collect as tests")
    parser.addini(HIDE_KEY, type="bool", default=False,
                  help="as --gradcheck-hide-expected")


def pytest_configure(config: pytest.Config) -> None:
    roots = _bank_roots(config)
    config.stash[_ROOTS] = roots
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # No paths on the command line: walk the bank's folders besides testpaths.
        base = config.invocation_params.dir
        walked = [(base / arg).resolve() for arg in config.args]
        config.args.extend(str(p) for p in config.getini(INI_KEY) if not _under(p, walked))


def _under(path: Path, roots: list[Path] | tuple[Path, ...]) -> bool:
    path = Path(path).resolve()
    return any(path == root or root in path.parents for root in roots)


def _bank_roots(config: pytest.Config) -> tuple[Path, ...]:
    """Where problem files are collected: the ini folders, and the paths given with --gradcheck."""
    roots = [Path(p).resolve() for p in config.getini(INI_KEY)]
    if config.getoption("gradcheck"):
        if config.args_source != pytest.Config.ArgsSource.INVOCATION_DIR:
            base = config.invocation_params.dir
            roots += [(base / arg.split("::")[0]).resolve() for arg in config.args]
        if not roots:
            raise pytest.UsageError(
                "--gradcheck needs the problem bank's paths: run `pytest --gradcheck problems/` "
                f"or set {INI_KEY} = [\"problems\"] in the pytest ini options")
    return tuple(roots)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ProblemFile | None:
    if file_path.suffix != ".toml" or file_path.name == SETTINGS_FILE:
        return None
    if not _under(file_path, parent.config.stash.get(_ROOTS, ())):
        return None
    node: ProblemFile = ProblemFile.from_parent(parent, path=file_path)
    return node


class ProblemFile(pytest.File):
    """One problem file: loads it and yields its reference, check and answer items."""

    def collect(self) -> Iterator[pytest.Item]:
        from gradcheck.errors import GradcheckError
        from gradcheck.loader import load_problem

        try:
            problem = load_problem(self.path)
        except GradcheckError as exc:
            yield ErrorItem.from_parent(self, name="load", error=exc)
            return
        self.problem = problem
        self._results: dict[str, list[QuestionResult]] = {}
        if any(q.answer is not None for q in problem.questions):
            yield ReferenceItem.from_parent(self, name="reference")
        yield from self._check_items()
        for question in problem.questions:
            if question.tests:
                yield AnswersItem.from_parent(self, name=f"answers[{question.id}]",
                                              question=question.id)

    def _check_items(self) -> Iterator[pytest.Item]:
        from gradcheck.backends import available_backends

        try:
            names = available_backends()
        except Exception as exc:  # a broken backend table must not crash collection
            yield ErrorItem.from_parent(self, name="check", error=exc)
            return
        for name in names:
            yield CheckItem.from_parent(self, name=f"check[{name}]", backend=name)

    def results(self, backend: str) -> list[QuestionResult]:
        """check_problem on one backend, computed once per file (reference and check share it)."""
        if backend not in self._results:
            from gradcheck.backends import get_backend
            from gradcheck.checks import check_problem

            self._results[backend] = check_problem(self.problem, [get_backend(backend)])
        return self._results[backend]


class GradcheckFailure(Exception):
    """A failed item's report, already rendered."""


class _ProblemItem(pytest.Item):
    """Shared rendering: our own report instead of a Python traceback."""

    parent: ProblemFile

    @property
    def problem(self) -> Problem:
        return self.parent.problem

    @property
    def where(self) -> str:
        """The problem file as pytest shows it (relative to where pytest was started)."""
        # pytest 9.2 types node ids as NodeId (not str): the call is typed loosely so that
        # this checks under every pytest the package allows.
        relative: Any = cast(Any, self.config).cwd_relative_nodeid(self.nodeid)
        return str(relative).split("::")[0]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        from gradcheck.errors import GradcheckError

        if isinstance(excinfo.value, GradcheckFailure | GradcheckError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # Shown as the failure's heading; not a dotted Python name, so pytest leaves it be.
        return self.path, None, f"{self.path.name}: {self.name}"


class ErrorItem(_ProblemItem):
    """Stands for a file (or a step) that could not be set up: fails with the error."""

    def __init__(self, *, error: BaseException, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        from gradcheck.errors import ProblemError

        exc = excinfo.value
        if isinstance(exc, ProblemError):
            key = f"key {exc.key}: " if exc.key else ""
            fix = f"\n  what to do: {exc.hint}" if exc.hint else ""
            return f"{self.where}: cannot load the problem\n  {key}{exc.message}{fix}"
        return f"{self.where}: {type(exc).__name__}: {exc}"


class ReferenceItem(_ProblemItem):
    """The teacher's reference answers equal SymPy's derivatives (numpy, float64)."""

    def runtest(self) -> None:
        _raise_failures(self.where, self.parent.results("numpy"), reference=True)


class CheckItem(_ProblemItem):
    """The three-way check of every question on one backend."""

    def __init__(self, *, backend: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.backend = backend

    def runtest(self) -> None:
        _raise_failures(self.where, self.parent.results(self.backend), reference=False)


def _raise_failures(where: str, results: list[QuestionResult], *, reference: bool) -> None:
    """Fail with the shared failure messages for the comparisons this item is about."""
    from gradcheck.report import messages

    texts = [messages.failure(r, c) for r in results for c in r.comparisons
             if not c.passed and c.what.startswith("reference") == reference]
    if texts:
        raise GradcheckFailure(f"{where}: {len(texts)} comparison(s) disagree\n"
                               + "\n".join(texts))


@dataclass(frozen=True)
class AnswerOutcome:
    """One answer test and what the grader said."""

    test: AnswerTest
    result: GradeResult

    @property
    def ok(self) -> bool:
        if self.test.expect == "accept":
            return self.result.verdict == "pass"
        rejected = self.result.verdict in ("fail", "invalid")
        return rejected and self.test.diagnosis in (None, self.result.diagnosis)

    def describe(self) -> str:
        t, r = self.test, self.result
        expected = t.expect + (f" with diagnosis {t.diagnosis!r}" if t.diagnosis else "")
        lines = [f"  answer   {t.answer!r}", f"  expected {expected}",
                 f"  got      {r.verdict}" + (f" (diagnosis {r.diagnosis!r})" if r.diagnosis else "")]
        if r.understood_as:
            lines.append(f"  read as  {r.understood_as}")
        if r.feedback:
            lines.append(f"  feedback {r.feedback}")
        return "\n".join(lines)


def _hide_everything(config: pytest.Config) -> bool:
    return bool(config.getoption("gradcheck_hide_expected") or config.getini(HIDE_KEY))


def _grader() -> Any:
    """The grading function (imported late: the grader pulls in SymPy and the backends)."""
    from gradcheck.grading import grade

    return grade


class AnswersItem(_ProblemItem):
    """A question's answer tests: accepted answers pass, rejected ones do not (and why)."""

    def __init__(self, *, question: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.question = question

    def runtest(self) -> None:
        grade = _grader()
        tests = self.problem.question(self.question).tests
        # Without the option: the problem's own setting (its file, or its bank's gradcheck.toml)
        hide = {"hide": True} if _hide_everything(self.config) else {}
        outcomes = [AnswerOutcome(t, grade(self.problem, self.question, t.answer, **hide))
                    for t in tests]
        wrong = [o for o in outcomes if not o.ok]
        if wrong:
            head = (f"{self.where}: question {self.question}: {len(wrong)} of {len(outcomes)} "
                    "answer tests disagree with the grader")
            raise GradcheckFailure("\n".join([head, *(o.describe() for o in wrong)]))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}: question {self.question}: answer tests"
