"""The parts of gradcheck serve on their own: MathML safety, the class table, tokens, limits,
the store and its migrations, the graph picture and the command line."""

from __future__ import annotations

import re
import socket
import sqlite3
from types import SimpleNamespace

import pytest

from tests.serve.conftest import require_serve

require_serve()
import sqlalchemy as sa  # noqa: E402

from gradcheck.serve import classbook  # noqa: E402
from gradcheck.serve.mathml import MATHML_ELEMENTS, answer_math, latex_math, render_statement, sanitize  # noqa: E402
from gradcheck.serve.security import RateLimiter, bearer, link_signer, token_matches  # noqa: E402
from gradcheck.serve.store import database_url, open_store  # noqa: E402
from gradcheck.verdict import GradeResult  # noqa: E402

HOSTILE_NAMES = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>',
                 '<mi onmouseover="alert(1)">x', "</math><script>alert(1)</script>"]


def only_mathml(html: str) -> bool:
    """Every tag is an allow-listed MathML element and no attribute is an event handler."""
    tags = re.findall(r"</?([A-Za-z][\w-]*)([^>]*)>", html)
    return all(t.lower() in MATHML_ELEMENTS and not re.search(r"\bon\w+\s*=", a, re.I)
               for t, a in tags)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_sympy_mathml_printer_lets_markup_through_and_we_do_not(name):
    import sympy
    from sympy.printing.mathml import mathml

    raw = mathml(sympy.Symbol(name), printer="presentation")
    assert not only_mathml(raw)  # the printer's hole: the name comes out as markup
    assert only_mathml(sanitize(raw))
    # and a formula naming it never reaches SymPy's printer: only declared names are parsed
    shown = answer_math(f"2*{name}", ("x", "w"))
    assert shown.startswith("<code>") and only_mathml(shown.replace("<code>", "").replace("</code>", ""))


def test_latex_text_with_markup_is_escaped_in_statements():
    html = render_statement(r"Here $\text{<script>alert(1)</script>} = x$ and <b>raw</b>, "
                            "![a](http://elsewhere.example/x.png) [b](https://elsewhere.example)")
    assert "<script" not in html and "<b>" not in html
    assert "elsewhere.example" not in html.split("![")[0] or 'src="http' not in html
    assert 'src="http' not in html and 'href="https' not in html
    assert "<math" in latex_math(r"\frac{\partial L}{\partial w}")


def test_sanitize_keeps_mathml_structure_and_drops_the_rest():
    mathml = ('<math display="inline"><mrow onclick="x()"><mi mathvariant="bold">w</mi>'
              '<mspace width="1em"/><mtext>a &lt; b</mtext><foreignObject><p>t</p>'
              '</foreignObject></mrow></math>')
    assert sanitize(mathml) == ('<math display="inline"><mrow><mi mathvariant="bold">w</mi>'
                                '<mspace width="1em"/><mtext>a &lt; b</mtext>t</mrow></math>')


def _attempts(*rows):
    return [SimpleNamespace(id=i, student=s, problem="linear-regression", question=q, answer="a",
                            verdict=v, diagnosis=d, feedback="f")
            for i, (s, q, v, d) in enumerate(rows, start=10)]


def test_stored_attempts_make_the_gradebook_under_each_policy_by_hand():
    from gradcheck.loader import load_problem
    from gradcheck.report.grades import report_gradebook
    from tests.helpers import SEEDS

    bank = [load_problem(SEEDS / "linear-regression.toml")]
    rows = _attempts(("ada", "dloss_dw", "fail", "sign"), ("ada", "dloss_dw", "pass", None),
                     ("ada", "dloss_dw", "invalid", None), ("bob", "dloss_ds", "error", None),
                     ("bob", "dloss_ds", "fail", "chain"), ("ada", "dloss_ds", "pass", None))
    report = classbook.attempts_report(bank, rows, seed=3, points=5, time_limit=1)
    assert [r.row for r in report.results] == [10, 11, 12, 13, 14, 15]
    assert report.counts["fail"] == 2 and report.questions[0].key == "linear-regression/dloss_ds"
    col = {c.key: i for i, c in enumerate(report.questions)}
    w, s = col["linear-regression/dloss_dw"], col["linear-regression/dloss_ds"]
    for policy, ada_w, bob_s in [("last", "invalid", "fail"), ("first", "fail", "error"),
                                 ("best", "pass", "fail")]:
        book = {g.student: g for g in report_gradebook(report, policy).students}
        assert book["ada"].cells[w].verdict == ada_w and book["ada"].cells[w].attempts == 3
        assert book["bob"].cells[s].verdict == bob_s and book["bob"].cells[w].attempts == 0
    counts = {c.column: c for c in classbook.question_counts(rows)}
    assert dict(counts["linear-regression/dloss_dw"].verdicts) == {
        "pass": 1, "fail": 1, "invalid": 1, "error": 0}
    ds = counts["linear-regression/dloss_ds"]
    assert ds.students == 2 and ds.attempts == 3 and ds.diagnoses == (("chain", 1),)


def test_tokens_and_links():
    assert token_matches("abc", "abc") and not token_matches("abd", "abc")
    assert not token_matches("", "") and not token_matches(None, "abc")
    assert bearer("Bearer  t0k ") == "t0k" and bearer("Basic t0k") is None and bearer(None) is None
    signer = link_signer("token-1")
    link = signer.dumps("ada")
    assert signer.loads(link) == "ada"
    from itsdangerous import BadSignature

    with pytest.raises(BadSignature):
        link_signer("token-2").loads(link)  # a new teacher token revokes every link


def test_rate_limiter_slides_its_window():
    now = [0.0]
    limiter = RateLimiter(2, window=60, clock=lambda: now[0])
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b")
    now[0] = 59.9
    assert not limiter.allow("a")
    now[0] = 60.0
    assert limiter.allow("a")


def _result(verdict="pass"):
    return GradeResult(problem="p", question="q", answer="2*x", verdict=verdict, feedback="ok",
                       understood_as="2*x", expected="2*x", seed=0)


def test_store_migrates_once_and_refuses_updates_and_deletes(tmp_path):
    from gradcheck.serve.migrations import current

    path = tmp_path / "c.db"
    store = open_store(database_url(str(path)))
    assert current(store.engine) == "0001"
    first = store.add("ada", _result(), source="api")
    store.close()
    store = open_store(database_url(str(path)))  # a second start-up migrates nothing, loses nothing
    assert [a.id for a in store.attempts()] == [first.id]
    assert first.row()["student"] == "ada" and first.row()["row"] == first.id
    store.close()
    with sqlite3.connect(path) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE attempts SET verdict = 'pass'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM attempts")


def test_store_reports_a_database_it_cannot_open(tmp_path):
    from gradcheck.errors import FileAccessError, UsageError

    with pytest.raises(FileAccessError, match="does not exist"):
        open_store(database_url(str(tmp_path / "missing" / "c.db")))
    with pytest.raises(UsageError, match="driver|not a database URL"):
        open_store("nosuchdialect://x")
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_graph_picture_with_dot_and_without(monkeypatch):
    from gradcheck.loader import load_problem
    from gradcheck.serve import graph
    from tests.helpers import SEEDS

    problem = load_problem(SEEDS / "linear-regression.toml")
    assert graph.edges(problem) == [("w", "y_hat"), ("x", "y_hat"), ("y", "s"), ("y_hat", "s"),
                                    ("s", "loss")]
    plain = graph.plain_svg(problem, ("s",))
    assert plain.startswith("<svg") and plain.count("<rect") == 6 and plain.count("<line") == 5
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    assert graph.graph_svg(problem) == graph.plain_svg(problem)
    monkeypatch.undo()
    if graph.shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed (apt-get install graphviz)")
    drawn = graph.graph_svg(problem)
    assert drawn.startswith("<svg") and "y_hat" in drawn and "<script" not in drawn


def test_serve_command_warns_when_listening_beyond_this_machine(monkeypatch, capsys, tmp_path):
    import uvicorn

    from gradcheck.cli import main
    from tests.helpers import SEEDS

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: seen.update(host=host, port=port))
    monkeypatch.delenv("GRADCHECK_TEACHER_TOKEN", raising=False)
    db = tmp_path / "c.db"

    def free() -> int:
        with socket.socket() as s:
            s.bind(("", 0))
            return int(s.getsockname()[1])

    port = free()
    assert main(["serve", str(SEEDS), "--db", str(db), "--host", "0.0.0.0", "--port", str(port)]) == 0
    err = capsys.readouterr().err
    assert "warning: listening on 0.0.0.0" in err and "teacher token (made up" in err
    assert seen == {"host": "0.0.0.0", "port": port} and db.exists()
    assert main(["serve", str(SEEDS), "--db", str(db), "--teacher-token", "t", "--port",
                 str(free())]) == 0
    err = capsys.readouterr().err
    assert "warning" not in err and "made up" not in err and seen["host"] == "127.0.0.1"
    assert main(["serve", str(SEEDS), "--db", str(tmp_path / "no" / "c.db")]) == 4
    assert main(["serve", str(SEEDS), "--db", "nosuchdialect://x"]) == 2
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = str(taken.getsockname()[1])
        assert main(["serve", str(SEEDS), "--db", str(db), "--port", busy]) == 4
    assert "cannot listen on 127.0.0.1 port" in capsys.readouterr().err
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0001"
    engine.dispose()


@pytest.mark.parametrize("answer", ["2x(wx - y)", "2·x·(w·x−y)", "x^2 w", "2*s*x", "σ(x)",
                                    "\\frac{1}{2} x", "2x(wx-", "9**9**9", "__import__('os')"])
def test_the_preview_reads_an_answer_exactly_as_the_grader_does(answer):
    from gradcheck.grading import grade
    from gradcheck.loader import load_problem
    from gradcheck.serve.grader import preview_text
    from tests.helpers import SEEDS

    problem = load_problem(SEEDS / "linear-regression.toml")
    shown, graded = preview_text(problem, answer), grade(problem, "dloss_dw", answer)
    assert shown.understood_as == graded.understood_as
    assert (shown.error is None) == (graded.understood_as is not None)
