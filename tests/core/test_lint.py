"""gradcheck lint: one table of bad problem files, each with the finding it must produce."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gradcheck.cli import main
from gradcheck.errors import ExitCode
from gradcheck.linting import Finding, lint

CLEAN = """\
id = "{stem}"
[symbols.x]
value = 1.0
[symbols.w]
value = 0.5
[graph]
u = "w*x"
loss = "u**2"
[[questions]]
id = "q"
of = "loss"
wrt = "w"
answer = "2*w*x**2"
  [[questions.accept]]
  answer = "2w x^2"
  [[questions.reject]]
  answer = "-2*w*x**2"
"""


def variant(old: str, new: str) -> str:
    assert old in CLEAN, old
    return CLEAN.replace(old, new)


# (file text, key, level, part of the message)
BAD = [
    pytest.param(variant('wrt = "w"', 'wrt = "w"\nanswr = "1"'), "questions.q.answr", "error",
                 "unknown key", id="schema-unknown-key"),
    pytest.param(variant('value = 1.0', 'value = "one"'), "symbols.x.value", "error",
                 "must be a number", id="schema-bad-value"),
    pytest.param("id = \"{stem}\"\n[symbols.x\n", "", "error", "is not valid TOML",
                 id="schema-toml-syntax"),
    pytest.param(variant('[graph]', '[symbols.z]\n[graph]'), "symbols.z", "warning",
                 "symbol 'z' is used by no stage and no question", id="unused-symbol"),
    pytest.param(variant('loss = "u**2"', 'loss = "u**2"\nextra = "u + 1"'), "graph.extra",
                 "warning", "stage 'extra' is used by no later stage and no question",
                 id="unused-stage"),
    pytest.param(variant('  [[questions.reject]]\n  answer = "-2*w*x**2"\n', ''), "questions.q",
                 "warning", "has no reject test", id="no-reject-test"),
    pytest.param(variant('loss = "u**2"', 'loss = "log(u + 1)"')
                 .replace('value = 0.5', 'value = 0.5\ndomain = [0, 2]')
                 .replace('answer = "2*w*x**2"', 'answer = "x/(w*x + 1)"'),
                 "symbols.x.domain, symbols.w.domain", "warning", "undefined at",
                 id="domain-undefined-somewhere"),
    pytest.param(variant('loss = "u**2"', 'loss = "sqrt(u - 3)"').replace('value = 0.5', '')
                 .replace('value = 1.0', '').replace('answer = "2*w*x**2"\n', ''),
                 "symbols.x.domain, symbols.w.domain", "error", "undefined at",
                 id="domain-undefined-mostly"),
    pytest.param(variant('answer = "2*w*x**2"', 'answer = "2*w*x"'), "questions.q.answer",
                 "error", "reference answer disagrees with SymPy's d loss / d w",
                 id="reference-disagrees"),
    pytest.param(variant('loss = "u**2"', 'loss = "log(u)"').replace('value = 0.5', 'value = -1')
                 .replace('answer = "2*w*x**2"', 'answer = "1/w"')
                 .replace('[symbols.w]', '[symbols.w]\ndomain = [0.5, 2]')
                 .replace('[symbols.x]', '[symbols.x]\ndomain = [0.5, 2]'),
                 "questions.q", "error", "undefined at the symbols' values",
                 id="undefined-at-given-point"),
]


@pytest.mark.parametrize(("text", "key", "level", "message"), BAD)
def test_bad_file_gives_the_finding(write_problem: Callable[..., Path], text: str, key: str,
                                    level: str, message: str) -> None:
    path = write_problem(text.format(stem="p"), stem="p")
    report = lint([path])
    matching = [f for f in report.findings if f.key == key and f.level == level
                and message in f.message]
    assert matching, "\n".join(str(f) for f in report.findings)
    assert all(f.path == str(path) for f in report.findings)


def test_clean_file_has_no_findings(write_problem: Callable[..., Path]) -> None:
    report = lint([write_problem(CLEAN.format(stem="p"), stem="p")])
    assert report.findings == ()
    assert report.exit_code() == ExitCode.OK


def test_duplicate_ids_across_files(write_problem: Callable[..., Path]) -> None:
    write_problem(CLEAN.format(stem="p"), stem="p", folder="a")
    second = write_problem(CLEAN.format(stem="p"), stem="p", folder="b")
    report = lint([second.parent.parent])
    assert [(f.path, f.key, f.level) for f in report.findings] == [(str(second), "id", "error")]
    assert "a/p.toml has the same id" in report.findings[0].hint


def test_seed_bank_is_clean() -> None:
    seeds = Path(__file__).resolve().parents[2] / "problems" / "seeds"
    report = lint([seeds])
    assert report.findings == (), "\n".join(map(str, report.findings))


def test_finding_is_printed_as_path_key_level_message_hint() -> None:
    finding = Finding("p.toml", "symbols.z", "warning", "unused", "remove it")
    assert str(finding) == "p.toml: symbols.z: warning: unused (remove it)"


EXIT = [
    pytest.param(CLEAN, [], ExitCode.OK, id="clean"),
    pytest.param(BAD[5].values[0], [], ExitCode.OK, id="warning"),
    pytest.param(BAD[5].values[0], ["--strict"], ExitCode.FAILED, id="warning-strict"),
    pytest.param(BAD[8].values[0], [], ExitCode.FAILED, id="error"),
    pytest.param(BAD[0].values[0], [], ExitCode.BAD_PROBLEM, id="unloadable"),
]


@pytest.mark.parametrize(("text", "options", "code"), EXIT)
def test_cli_exit_codes(write_problem: Callable[..., Path], capsys: pytest.CaptureFixture[str],
                        text: str, options: list[str], code: ExitCode) -> None:
    path = write_problem(text.format(stem="p"), stem="p")
    assert main(["lint", str(path), *options]) == code
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 file(s) linted")


def test_cli_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["lint"])
    assert exc.value.code == ExitCode.USAGE


def test_cli_text_and_json(write_problem: Callable[..., Path], tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    path = write_problem(BAD[3].values[0].format(stem="p"), stem="p")
    main(["lint", str(path)])
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (f"{path}: symbols.z: warning: symbol 'z' is used by no stage "
                                   "and no question (remove it, or use it in the graph)")
    output = tmp_path / "lint.json"
    main(["lint", str(path), "--format", "json", "--output", str(output)])
    body = json.loads(output.read_text(encoding="utf-8"))
    assert body["warnings"] == 1 and body["findings"][0]["key"] == "symbols.z"


# ---- domains: the threshold of check, one finding per question, only the keys that matter ----

LOG_W = """\
id = "{stem}"
[symbols.x]
value = 1.0
[symbols.w]
value = 0.5
domain = {domain}
[graph]
loss = "{loss}"
[[questions]]
id = "q"
of = "loss"
wrt = "w"
  [[questions.reject]]
  answer = "0"
"""


def _domain_findings(report_findings: tuple[Finding, ...]) -> list[Finding]:
    return [f for f in report_findings if "undefined" in f.message]


def test_domain_over_check_threshold_is_one_error_naming_only_w(
        write_problem: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    from gradcheck.checks import MAX_UNDEFINED

    path = write_problem(LOG_W.format(stem="p", domain="[-1, 2]", loss="log(w)*x"), stem="p")
    report = lint([path])
    found = _domain_findings(report.findings)
    assert [(f.key, f.level) for f in found] == [("symbols.w.domain", "error")], \
        "\n".join(map(str, report.findings))
    assert len(report.findings) == 1
    assert MAX_UNDEFINED < 1 / 3
    assert main(["lint", str(path)]) == ExitCode.FAILED
    assert main(["check", str(path)]) == ExitCode.BAD_PROBLEM  # check refuses it too
    out = capsys.readouterr().out
    assert "symbols.x.domain" not in out


def test_domain_under_check_threshold_is_a_warning_and_check_passes(
        write_problem: Callable[..., Path]) -> None:
    path = write_problem(LOG_W.format(stem="p", domain="[-0.1, 2]", loss="log(w)*x"), stem="p")
    report = lint([path])
    assert [(f.key, f.level) for f in report.findings] == [("symbols.w.domain", "warning")]
    assert main(["check", str(path)]) == ExitCode.OK


def test_check_refusing_what_lint_would_warn_about_gives_one_error(
        write_problem: Callable[..., Path]) -> None:
    # w < 0 on 20% of [-0.2, 0.8]: with seed 0, lint's 200 points see 19-20% (a warning),
    # check's own points over 20% (it refuses the problem): one finding, an error.
    path = write_problem(LOG_W.format(stem="p", domain="[-0.2, 0.8]", loss="log(w)*x"), stem="p")
    report = lint([path], seed=0)
    assert [(f.key, f.level) for f in report.findings] == [("symbols.w.domain", "error")], \
        "\n".join(map(str, report.findings))
    assert "(question q)" in report.findings[0].message


def test_domain_keys_name_every_symbol_that_matters(write_problem: Callable[..., Path]) -> None:
    from gradcheck.checks import domain_keys
    from gradcheck.derivation import derive
    from gradcheck.loader import load_problem

    both = load_problem(write_problem(
        LOG_W.format(stem="p", domain="[-1, 2]", loss="log(w*x)"), stem="p"))
    assert domain_keys(both, derive(both).target("q")) == "symbols.x.domain, symbols.w.domain"
    only_w = load_problem(write_problem(
        LOG_W.format(stem="r", domain="[-1, 2]", loss="log(w)*x"), stem="r"))
    target = derive(only_w).target("q")
    assert domain_keys(only_w, target) == "symbols.w.domain"
    assert domain_keys(only_w, target, seed=7) == "symbols.w.domain"


def test_finding_without_key_is_printed_as_path_level_message_hint(
        write_problem: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert str(Finding("p.toml", "", "error", "bad", "fix it")) == "p.toml: error: bad (fix it)"
    path = write_problem("id = \"p\"\n[symbols.x\n", stem="p")
    assert main(["lint", str(path)]) == ExitCode.BAD_PROBLEM
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{path}: error: is not valid TOML: ")
    assert ": -:" not in first


# -- float64 overflow: lint and check apply one rule (issue 8) ------------------------------

def _wide(write_problem: Callable[..., Path], of: str, domain: str) -> Path:
    return write_problem(f'id = "p"\n[symbols.x]\ndomain = {domain}\n[symbols.y]\ndomain = [0, 1]\n'
                         f'[[questions]]\nid = "q"\nof = "{of}"\nwrt = "x"\n'
                         '[[questions.reject]]\nanswer = "0"\n')


def _domain_keyed(path: Path) -> list[Finding]:
    return [f for f in lint([path]).findings if "domain" in f.key]


@pytest.mark.parametrize(("of", "domain"), [
    ("3*x + y", "[-1e308, 1e308]"),  # 3*x overflows at a third of the points, f' = 3 never
    # binary cross-entropy: defined everywhere, float64 overflows where |x| is large
    ("-(y*log(1/(1 + exp(-x))) + (1 - y)*log(1 - 1/(1 + exp(-x))))", "[-200, 200]"),
])
def test_overflow_is_not_undefined_for_lint_either(write_problem: Callable[..., Path], of: str,
                                                   domain: str) -> None:
    from gradcheck.checks import check
    from gradcheck.loader import load_problem

    path = _wide(write_problem, of, domain)
    assert check([load_problem(path)]).passed
    assert _domain_keyed(path) == []


def test_a_domain_where_float64_overflows_almost_everywhere_is_refused_alike(
        write_problem: Callable[..., Path]) -> None:
    from gradcheck.checks import check
    from gradcheck.errors import ProblemError
    from gradcheck.loader import load_problem

    # x**2 > 1.8e308 once |x| > 1.34e154: at nearly every point of [-1e308, 1e308].
    path = _wide(write_problem, "x**2 + y", "[-1e308, 1e308]")
    with pytest.raises(ProblemError) as info:
        check([load_problem(path)])
    assert "symbols.x.domain" in info.value.key and "overflows float64" in info.value.message
    (finding,) = _domain_keyed(path)
    assert (finding.level, finding.key) == ("error", info.value.key)
    assert "overflows float64" in finding.message
