"""Routes of gradcheck serve through Starlette's TestClient.

Truths are derived by hand from the seed notes: for linear regression,
loss = (w*x - y)**2, so d loss / d w = 2*x*(w*x - y), which is -2 at x=1, y=2, w=1;
for exercise 4.2, loss = (w*x + b - y)**2, so d loss / d b = 2*(w*x + b - y).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
import time
from typing import Any

import pytest

from tests.serve.conftest import require_serve

require_serve()

from gradcheck.serve.store import Store  # noqa: E402
from tests.serve.conftest import TOKEN, csrf_of, sign_in, teacher_sign_in  # noqa: E402

LR = "linear-regression"


def submit(client: Any, csrf: str, answer: str, problem: str = LR, question: str = "dloss_dw") -> Any:
    return client.post(f"/p/{problem}/{question}", data={"csrf": csrf, "answer": answer})


def api(client: Any, answer: str, student: str = "ada", question: str = "dloss_dw",
        problem: str = LR, **kw: Any) -> Any:
    return client.post("/api/attempts", json={"student": student, "problem": problem,
                                              "question": question, "answer": answer}, **kw)


def db_rows(store: Store) -> list[tuple[Any, ...]]:
    """The attempts as SQLite holds them, read without gradcheck's code."""
    path = store.engine.url.database
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, student, problem, question, answer, verdict, diagnosis "
                            "FROM attempts ORDER BY id").fetchall()


# ---- students ---------------------------------------------------------------------------


def test_right_wrong_and_hostile_answers_from_the_page_are_graded_and_stored(make_client, store):
    client = make_client()
    csrf = sign_in(client, "ada")
    page = submit(client, csrf, "2x(wx - y)")
    assert page.status_code == 200 and 'data-verdict="pass"' in page.text
    page = submit(client, csrf, "-2*x*(w*x - y)")
    assert 'data-verdict="fail"' in page.text and "(sign)" in page.text
    page = submit(client, csrf, "__import__('os').system('echo hacked')")
    assert 'data-verdict="invalid"' in page.text
    assert "<script" not in page.text.split("<main>")[1]
    assert [r[1:] for r in db_rows(store)] == [
        ("ada", LR, "dloss_dw", "2x(wx - y)", "pass", None),
        ("ada", LR, "dloss_dw", "-2*x*(w*x - y)", "fail", "sign"),
        ("ada", LR, "dloss_dw", "__import__('os').system('echo hacked')", "invalid", None)]


def test_what_the_student_typed_is_escaped_everywhere(make_client):
    client = make_client()
    csrf = sign_in(client, "<b>eve</b>")
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    page = submit(client, csrf, hostile)
    assert hostile not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<b>eve</b>" not in page.text and "&lt;b&gt;eve&lt;/b&gt;" in page.text
    preview = client.post(f"/preview/{LR}", data={"csrf": csrf, "answer": hostile})
    assert "<script" not in preview.text and "<img" not in preview.text
    teacher_sign_in(client)
    table = client.get("/teacher").text
    assert "<b>eve</b>" not in table and "&lt;b&gt;eve&lt;/b&gt;" in table


def test_preview_shows_the_reading_of_the_grader_or_where_it_stops(make_client):
    client = make_client()
    csrf = sign_in(client, "ada")
    good = client.post(f"/preview/{LR}", data={"csrf": csrf, "answer": "2x(wx-y)"})
    assert "understood as" in good.text and "<math" in good.text
    assert "<mi>w</mi>" in good.text and "<mi>y</mi>" in good.text
    bad = client.post(f"/preview/{LR}", data={"csrf": csrf, "answer": "2x(wx - )"})
    assert "Cannot read this yet" in bad.text
    # the caret sits under the character the parser stopped at (0-based position 8: ")")
    caret = bad.text.split('<pre class="caret">')[1].split("</pre>")[0].split("\n")
    assert caret[0] == "2x(wx - )" and caret[1] == " " * 8 + "^"
    unknown = client.post(f"/preview/{LR}", data={"csrf": csrf, "answer": "2*z"})
    assert "z" in unknown.text and "Cannot read" in unknown.text


def test_explanation_is_shown_when_the_teacher_allows_it(make_client):
    client = make_client(explain="after-pass")
    csrf = sign_in(client, "ada")
    assert "<h3>Forward pass</h3>" not in submit(client, csrf, "2*(w*x - y)").text  # a fail: not yet
    page = submit(client, csrf, "2*x*(w*x - y)").text
    assert "<h3>Forward pass</h3>" in page and "<h3>Backward pass" in page and "<svg" in page
    never = make_client(explain="never")
    csrf = sign_in(never, "bob")
    assert "<h3>Forward pass</h3>" not in submit(never, csrf, "2*x*(w*x - y)").text


def test_forms_need_the_csrf_token_of_their_own_session(make_client, store):
    client = make_client()
    sign_in(client, "ada")
    assert submit(client, "forged", "2x(wx-y)").status_code == 403
    other = make_client()
    other_csrf = csrf_of(other.get("/").text)
    assert submit(client, other_csrf, "2x(wx-y)").status_code == 403
    assert client.post("/login", data={"student": "mallory"}).status_code == 403
    assert db_rows(store) == []


def test_attempts_per_student_per_minute_are_limited(make_client, store):
    client = make_client(rate_limit=2)
    assert api(client, "1").status_code == 200
    assert api(client, "2").status_code == 200
    limited = api(client, "3")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert api(client, "3", student="bob").status_code == 200  # another student is not held up
    assert len(db_rows(store)) == 3


def test_request_size_is_limited(make_client, store):
    client = make_client(max_body=4096)
    response = api(client, "x" * 10_000)
    assert response.status_code == 413
    assert db_rows(store) == []


def test_a_slow_answer_is_stopped_and_does_not_hold_up_another_student(make_client, store):
    from gradcheck.grading import grade

    def grader(problem, question, answer, **kw):
        if answer == "slow":
            time.sleep(30)
        return grade(problem, question, answer, **kw)

    client = make_client(grader=grader, time_limit=0.5, slots=2)
    api(client, "2*x*(w*x - y)", student="warm")  # build the question's reference first
    slow: dict[str, Any] = {}
    started = time.monotonic()
    thread = threading.Thread(target=lambda: slow.update(r=api(client, "slow", student="sam")))
    thread.start()
    time.sleep(0.1)
    quick = api(client, "2*x*(w*x - y)", student="ada")
    quick_done = time.monotonic() - started
    thread.join(timeout=20)
    assert quick.json()["verdict"] == "pass"
    assert quick_done < 1.0, "the quick answer waited for the slow one"
    assert slow["r"].json()["verdict"] == "error"
    assert "longer than 0.5 s" in slow["r"].json()["feedback"]
    assert time.monotonic() - started < 10
    assert [r[1] for r in db_rows(store)] == ["warm", "ada", "sam"]


# ---- JSON API -----------------------------------------------------------------------------


def test_api_returns_the_fields_of_a_grade_json_row(make_client, store, bank):
    from gradcheck.batch import grade_batch
    from gradcheck.report.grades import render_json
    from gradcheck.submissions import Submission

    client = make_client()
    response = api(client, "2(wx + b - y)x", problem="exercise-4-2", question="dloss_db")
    assert response.status_code == 200
    got = response.json()
    cli = json.loads(render_json(grade_batch(bank, [Submission(
        1, "ada", "exercise-4-2", "dloss_db", "2(wx + b - y)x")], points=8)))["results"][0]
    assert list(got) == list(cli)
    assert got["verdict"] == "fail" and got["diagnosis"] == "wrt"  # it is d loss / d w
    assert {k: v for k, v in got.items() if k != "row"} == {k: v for k, v in cli.items()
                                                             if k != "row"}
    assert got["row"] == db_rows(store)[0][0]
    right = api(client, "2(wx + b - y)", problem="exercise-4-2", question="dloss_db").json()
    assert right["verdict"] == "pass"
    value = api(client, "-2", question="dloss_dw_value").json()
    assert value["verdict"] == "pass"


@pytest.mark.parametrize(("body", "headers", "status"), [
    ("{not json", {"content-type": "application/json"}, 400),
    ('["a"]', {"content-type": "application/json"}, 422),
    ('{"student": "a", "problem": "linear-regression", "question": "dloss_dw"}',
     {"content-type": "application/json"}, 422),
    ('{"student": "", "problem": "linear-regression", "question": "dloss_dw", "answer": "1"}',
     {"content-type": "application/json"}, 422),
    ('{"student": "a", "problem": "nope", "question": "dloss_dw", "answer": "1"}',
     {"content-type": "application/json"}, 404),
    ('{"student": "a", "problem": "linear-regression", "question": "nope", "answer": "1"}',
     {"content-type": "application/json"}, 404),
    ('{"student": "a", "problem": "linear-regression", "question": "dloss_dw", "answer": "1"}',
     {"content-type": "text/plain"}, 415),
], ids=["not-json", "not-object", "missing-answer", "empty-student", "unknown-problem",
        "unknown-question", "form-content-type"])
def test_api_rejects_bad_requests_and_stores_nothing(make_client, store, body, headers, status):
    client = make_client()
    response = client.post("/api/attempts", content=body.encode(), headers=headers)
    assert response.status_code == status
    assert "error" in response.json()
    assert db_rows(store) == []


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_gradebook_csv_needs_the_teacher_token_and_applies_the_policy(make_client, bank):
    client = make_client()
    for student, answer in [("ada", "2*(w*x - y)"), ("ada", "2*x*(w*x - y)"), ("ada", "0"),
                            ("bob", "@@"), ("=cmd", "2x(wx-y)")]:
        api(client, answer, student=student)
    assert client.get("/api/gradebook.csv").status_code == 401
    wrong = client.get("/api/gradebook.csv", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    column = f"{LR}/dloss_dw"
    n_questions = sum(len(p.questions) for p in bank)  # 1 point each, attempted or not
    # ada: fail, pass, fail; bob: invalid; =cmd (quoted so no spreadsheet runs it): pass
    expected = {"last": {"ada": "0", "bob": "0", "'=cmd": "1"},
                "best": {"ada": "1", "bob": "0", "'=cmd": "1"},
                "first": {"ada": "0", "bob": "0", "'=cmd": "1"}}
    for policy, cells in expected.items():
        response = client.get(f"/api/gradebook.csv?policy={policy}",
                              headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = _csv(response.text)
        assert rows[0][-3:] == ["total", "maximum", "percent"] and len(rows[0]) == n_questions + 4
        at = rows[0].index(column)
        assert {r[0]: r[at] for r in rows[1:]} == cells
        assert {r[0]: r[-3] for r in rows[1:]} == cells  # only this question was attempted
        assert {r[-2] for r in rows[1:]} == {str(n_questions)}
    bad = client.get("/api/gradebook.csv?policy=worst", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bad.status_code == 400


def test_problems_are_listed_for_other_front_ends(make_client, bank):
    listing = make_client().get("/api/problems").json()["problems"]
    assert [p["id"] for p in listing] == [p.id for p in bank]
    assert "dloss_dw" in [q["id"] for q in listing[0]["questions"]]


# ---- teacher ------------------------------------------------------------------------------


def test_teacher_view_needs_the_token_and_shows_the_class(make_client):
    client = make_client()
    csrf = csrf_of(client.get("/teacher").text)
    assert client.post("/teacher/login", data={"csrf": csrf, "token": "guess"}).status_code == 401
    assert client.get("/teacher/table").status_code == 401
    assert client.get("/teacher/gradebook.csv").status_code == 401
    for student, answer in [("ada", "2x(wx-y)"), ("bob", "-2x(wx-y)"), ("cy", "2(wx-y)")]:
        api(client, answer, student=student)
    teacher_sign_in(client)
    table = client.get("/teacher/table").text
    for student in ("ada", "bob", "cy"):
        assert f'<td class="student">{student}</td>' in table
    # dloss_dw: 3 attempts by 3 students, 1 pass, 2 fail; diagnoses sign (bob) and chain (cy)
    row = table.split(f"<td>{LR}/dloss_dw</td>")[1].split("</tr>")[0]
    numbers = [c.split("</td>")[0] for c in row.split('<td class="n">')[1:]]
    assert numbers == ["3", "3", "1", "2", "0", "0"]
    assert "sign 1" in row


def test_teacher_links_sign_students_in_and_forged_links_do_not(make_client, store):
    client = make_client(identity="links")
    assert "personal link" in client.get("/").text
    csrf = csrf_of(client.get("/teacher").text)  # the same session's token
    assert client.post("/login", data={"csrf": csrf, "student": "ada"}).status_code == 403
    csrf = teacher_sign_in(client)
    links = client.post("/teacher/links", data={"csrf": csrf, "students": "ada\nbob\n"}).text
    link = links.split("<code>")[1].split("</code>")[0]
    student = make_client(identity="links")
    path = link.split("testserver", 1)[1]
    assert "signed in as <strong>ada</strong>" in student.get(path).text
    assert student.get(path[:-2] + "xx").status_code == 403
    token = path.rsplit("/", 1)[1]
    # the API needs the student's own link token (or the teacher's) in links mode
    assert api(student, "1").status_code == 401
    assert api(student, "1", student="bob", headers={"Authorization": f"Bearer {token}"}
               ).status_code == 401
    assert api(student, "1", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert [r[1] for r in db_rows(store)] == ["ada"]


def test_teacher_uploads_a_submissions_file_and_gets_the_batch_report(make_client):
    client = make_client()
    csrf = teacher_sign_in(client)
    data = (f"student,problem,question,answer\nada,{LR},dloss_dw,2x(wx-y)\n"
            f"bob,{LR},dloss_dw,-2x(wx-y)\ncy,{LR},nope,1\n")
    report = client.post("/teacher/batch", data={"csrf": csrf},
                         files={"submissions": ("answers.csv", data.encode(), "text/csv")})
    assert report.status_code == 200
    for count in ("1 pass", "1 fail", "0 invalid", "1 error"):
        assert f'">{count}</span>' in report.text
    policy = report.headers["content-security-policy"]
    assert "script-src 'sha256-" in policy and "unsafe-inline'; base-uri" not in policy


def test_pages_load_nothing_from_other_hosts(make_client):
    client = make_client()
    csrf = sign_in(client, "ada")
    submit(client, csrf, "2x(wx-y)")
    page = client.get(f"/p/{LR}")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http://" not in page.text.replace("http://www.w3.org/", "")
    assert "https://" not in page.text
    assert client.get("/static/htmx.min.js").status_code == 200


def test_statement_is_rendered_as_mathml(make_client):
    page = make_client().get(f"/p/{LR}").text
    statement = page.split('<section class="statement">')[1].split("</section>")[0]
    assert "<math" in statement and "$" not in statement
