"""The web application: student pages, the teacher view and the JSON API (Starlette).

A shell over the Python API like the CLI: answers are graded by ``gradcheck.grade_batch``
(through ``grader.Grading``), stored by ``store.Store``, shown by the templates. Routes
only check who is asking and what they sent.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gradcheck.batch import BatchReport
from gradcheck.executor import Grader
from gradcheck.problem import Problem
from gradcheck.serve import classbook
from gradcheck.serve.grader import Grading
from gradcheck.serve.mathml import answer_math, render_statement
from gradcheck.serve.security import (
    BodyLimit,
    RateLimiter,
    bearer,
    check_csrf,
    csrf_token,
    derive_key,
    link_signer,
    token_matches,
)
from gradcheck.serve.settings import ServeSettings, valid_student
from gradcheck.serve.store import Store
from gradcheck.verdict import GradeResult

__all__ = ["Identity", "SessionIdentity", "create_app"]

HERE = Path(__file__).resolve().parent
API_FIELDS = ("student", "problem", "question", "answer")
# Everything the pages load comes from this server; MathML and inline SVG need nothing else.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


class Identity(Protocol):
    """Who the student behind a request is (None: not known yet).

    The seam for other ways in: an LTI 1.3 launch handler would verify the platform's
    signed launch and then put the student's id where ``student`` finds it.
    """

    def student(self, request: Request) -> str | None: ...


class SessionIdentity:
    """The student id kept in the signed session cookie (set by the id form or a link)."""

    def student(self, request: Request) -> str | None:
        return valid_student(request.session.get("student"))


class _State:
    def __init__(self, settings: ServeSettings, store: Store, identity: Identity,
                 grader: Grader | None) -> None:
        self.settings = settings
        self.store = store
        self.identity = identity
        self.problems = {p.id: p for p in settings.bank}
        self.grading = Grading(settings.bank, slots=settings.slots, seed=settings.seed, points=settings.points,
                               time_limit=settings.time_limit, grader=grader)
        self.attempts = RateLimiter(settings.rate_limit)
        self.previews = RateLimiter(settings.rate_limit * 5)
        self.links = link_signer(settings.teacher_token)

    def names(self, problem: Problem) -> tuple[str, ...]:
        return tuple(problem.names())


def create_app(settings: ServeSettings, store: Store, *, identity: Identity | None = None,
               grader: Grader | None = None) -> Starlette:
    """The ASGI application (serve it with uvicorn, test it with Starlette's TestClient).

    ``store`` comes from ``gradcheck.serve.store.open_store`` (which ran the migrations);
    ``identity`` says who a student is (default: the session cookie); ``grader`` replaces
    ``gradcheck.grade`` inside the killable workers (tests use it to make a slow answer).
    """
    state = _State(settings, store, identity or SessionIdentity(), grader)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["settings"] = settings

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        state.grading.close()

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        context = {"student": state.identity.student(request),
                   "csrf": csrf_token(request.session), **context}
        return templates.TemplateResponse(request, name, context, status_code=status)

    # ---- student pages -----------------------------------------------------------------

    async def home(request: Request) -> Response:
        student = state.identity.student(request)
        status: dict[str, str] = {}
        if student is not None:
            attempts = await run_in_threadpool(state.store.attempts, student=student)
            status = {f"{a.problem}/{a.question}": a.verdict for a in attempts}  # the latest
        return page(request, "home.html", {"problems": settings.bank, "status": status})

    async def login(request: Request) -> Response:
        form = await request.form()
        if not check_csrf(request.session, form.get("csrf")):
            return _forbidden("the form expired; reload the page and try again")
        if settings.identity != "id":
            return _forbidden("this course uses the links your teacher sends you")
        student = valid_student(form.get("student"))
        if student is None:
            return page(request, "home.html", {"problems": settings.bank, "status": {},
                                               "login_error": "Enter an id of 1 to 100 characters."},
                        status=400)
        request.session["student"] = student
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        form = await request.form()
        if not check_csrf(request.session, form.get("csrf")):
            return _forbidden("the form expired; reload the page and try again")
        request.session.pop("student", None)
        return RedirectResponse("/", status_code=303)

    async def student_link(request: Request) -> Response:
        from itsdangerous import BadSignature

        try:
            student = valid_student(state.links.loads(request.path_params["token"]))
        except BadSignature:
            student = None
        if student is None:
            return _forbidden("this link is not valid; ask your teacher for a new one")
        request.session["student"] = student
        return RedirectResponse("/", status_code=303)

    async def problem_page(request: Request) -> Response:
        problem = state.problems.get(request.path_params["problem"])
        if problem is None:
            return _not_found("no such problem")
        student = state.identity.student(request)
        latest: dict[str, dict[str, Any]] = {}
        if student is not None:
            attempts = await run_in_threadpool(state.store.attempts, student=student,
                                               problem=problem.id)
            passed = {a.question for a in attempts if a.verdict == "pass"}
            for a in attempts:
                latest[a.question] = {"attempt": a, "tries": latest.get(a.question, {}).get("tries", 0) + 1}
            for qid, entry in latest.items():
                entry["shown"] = _shown(entry["attempt"].row(), state.names(problem))
                if _explain_allowed(settings.explain, qid in passed):
                    entry["explanation"] = await run_in_threadpool(_explanation, problem, qid)
        from gradcheck.serve.graph import graph_svg

        graph = await run_in_threadpool(graph_svg, problem) if problem.stages else ""
        return page(request, "problem.html", {
            "problem": problem, "statement": render_statement(problem.statement),
            "latest": latest, "graph": graph})

    async def submit(request: Request) -> Response:
        problem, question = _find(state, request.path_params["problem"],
                                  request.path_params["question"])
        if problem is None or question is None:
            return _not_found("no such problem or question")
        form = await request.form()
        if not check_csrf(request.session, form.get("csrf")):
            return _forbidden("the form expired; reload the page and try again")
        student = state.identity.student(request)
        if student is None:
            return RedirectResponse("/", status_code=303)
        answer = form.get("answer")
        if not isinstance(answer, str):
            return _bad_request("the form has no answer")
        if not state.attempts.allow(student):
            return _too_many(state.attempts.retry_after(student))
        await _grade_and_store(state, problem, question, answer, student, "page")
        return RedirectResponse(f"/p/{problem.id}#q-{question}", status_code=303)

    async def preview(request: Request) -> Response:
        problem = state.problems.get(request.path_params["problem"])
        if problem is None:
            return _not_found("no such problem")
        form = await request.form()
        if not check_csrf(request.session, form.get("csrf")):
            return _forbidden("the form expired; reload the page and try again")
        answer = form.get("answer")
        if not isinstance(answer, str):
            return _bad_request("the form has no answer")
        who = state.identity.student(request) or csrf_token(request.session)
        if not state.previews.allow(who):
            return HTMLResponse('<p class="preview-note">Too many previews; wait a moment.</p>',
                                status_code=429)
        context: dict[str, Any] = {"answer": answer, "result": None}
        if answer.strip():
            result = await state.grading.preview(problem, answer)
            context["result"] = result
            context["math"] = answer_math(result.understood_as, state.names(problem))
        return templates.TemplateResponse(request, "preview.html", context)

    # ---- teacher -------------------------------------------------------------------------

    def is_teacher(request: Request) -> bool:
        return request.session.get("teacher") == derive_key(settings.teacher_token, "session")

    async def teacher(request: Request) -> Response:
        if not is_teacher(request):
            return page(request, "teacher_login.html", {})
        return page(request, "teacher.html", await _teacher_context(state, request))

    async def teacher_table(request: Request) -> Response:
        if not is_teacher(request):
            return _unauthorized()
        return page(request, "teacher_table.html", await _teacher_context(state, request))

    async def teacher_login(request: Request) -> Response:
        form = await request.form()
        if not check_csrf(request.session, form.get("csrf")):
            return _forbidden("the form expired; reload the page and try again")
        token = form.get("token")
        if not token_matches(token if isinstance(token, str) else None, settings.teacher_token):
            return page(request, "teacher_login.html", {"error": "That is not the teacher token."},
                        status=401)
        request.session["teacher"] = derive_key(settings.teacher_token, "session")
        return RedirectResponse("/teacher", status_code=303)

    async def teacher_csv(request: Request) -> Response:
        if not is_teacher(request):
            return _unauthorized()
        return await _gradebook_csv(state, request)

    async def teacher_links(request: Request) -> Response:
        if not is_teacher(request):
            return _unauthorized()
        form = await request.form()
        if not check_csrf(request.session, form.get("csrf")):
            return _forbidden("the form expired; reload the page and try again")
        text = form.get("students")
        ids = [s for s in (valid_student(line) for line in str(text or "").splitlines()) if s]
        base = str(request.base_url).rstrip("/")
        links = [(s, f"{base}/s/{state.links.dumps(s)}") for s in dict.fromkeys(ids)]
        return page(request, "links.html", {"links": links})

    async def teacher_batch(request: Request) -> Response:
        if not is_teacher(request):
            return _unauthorized()
        form = await request.form()
        if not check_csrf(request.session, form.get("csrf")):
            return _forbidden("the form expired; reload the page and try again")
        upload = form.get("submissions")
        if not isinstance(upload, UploadFile):
            await form.close()
            return _bad_request("choose a submissions file (CSV or JSONL) to upload")
        data = await upload.read()
        name = upload.filename or "submissions.csv"
        await form.close()
        html = await run_in_threadpool(_batch_report, settings, data, name)
        if html is None:
            return _bad_request("that file is not a submissions file: it needs a header "
                                "student,problem,question,answer (CSV) or one JSON object per line")
        return HTMLResponse(html, headers={"Content-Security-Policy": _report_csp(html)})

    # ---- JSON API --------------------------------------------------------------------------

    async def api_attempts(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send the attempt as application/json"}, status_code=415)
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the body must be a JSON object with the fields "
                                          + ", ".join(API_FIELDS)}, status_code=422)
        wrong = [k for k in API_FIELDS if not isinstance(body.get(k), str)]
        if wrong:
            return JSONResponse({"error": "these fields are missing or not strings: "
                                          + ", ".join(wrong)}, status_code=422)
        student = valid_student(body["student"])
        if student is None:
            return JSONResponse({"error": "student must be 1 to 100 characters, no control "
                                          "characters"}, status_code=422)
        if settings.identity == "links" and not _api_may_act_for(state, request, student):
            return JSONResponse({"error": "this server takes attempts only with the student's "
                                          "link token or the teacher token as a Bearer token"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        problem, question = _find(state, body["problem"], body["question"])
        if problem is None or question is None:
            known = ", ".join(state.problems)
            return JSONResponse({"error": f"no problem {body['problem']!r} with a question "
                                          f"{body['question']!r}; problems: {known}"},
                                status_code=404)
        if not state.attempts.allow(student):
            retry = state.attempts.retry_after(student)
            return JSONResponse({"error": f"more than {settings.rate_limit} attempts in a minute; "
                                          f"try again in {retry} s"}, status_code=429,
                                headers={"Retry-After": str(retry)})
        attempt = await _grade_and_store(state, problem, question, body["answer"], student, "api")
        return JSONResponse(attempt.row())

    async def api_gradebook(request: Request) -> Response:
        if not token_matches(bearer(request.headers.get("authorization")), settings.teacher_token):
            return _unauthorized()
        return await _gradebook_csv(state, request)

    async def api_problems(request: Request) -> Response:
        return JSONResponse({"problems": [
            {"id": p.id, "title": p.title, "questions": [
                {"id": q.id, "kind": q.kind, "label": q.label, "prompt": q.prompt}
                for q in p.questions]} for p in settings.bank]})

    routes = [
        Route("/", home),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/s/{token}", student_link),
        Route("/p/{problem}", problem_page),
        Route("/p/{problem}/{question}", submit, methods=["POST"]),
        Route("/preview/{problem}", preview, methods=["POST"]),
        Route("/teacher", teacher),
        Route("/teacher/login", teacher_login, methods=["POST"]),
        Route("/teacher/table", teacher_table),
        Route("/teacher/gradebook.csv", teacher_csv),
        Route("/teacher/links", teacher_links, methods=["POST"]),
        Route("/teacher/batch", teacher_batch, methods=["POST"]),
        Route("/api/attempts", api_attempts, methods=["POST"]),
        Route("/api/gradebook.csv", api_gradebook),
        Route("/api/problems", api_problems),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(BodyLimit, default=settings.max_body,
                   larger={"/teacher/batch": settings.max_upload}),
        Middleware(_SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=derive_key(settings.teacher_token, "cookies"),
                   session_cookie="gradcheck_session", same_site="strict", https_only=False,
                   max_age=60 * 60 * 24 * 180),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.gradcheck = state
    return app


# ---- helpers --------------------------------------------------------------------------------


class _SecurityHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                         (b"content-security-policy", CSP.encode())]
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _find(state: _State, problem_id: str, question_id: str) -> tuple[Problem | None, str | None]:
    problem = state.problems.get(problem_id)
    if problem is None or question_id not in {q.id for q in problem.questions}:
        return problem, None
    return problem, question_id


async def _grade_and_store(state: _State, problem: Problem, question: str, answer: str,
                           student: str, source: str) -> Any:
    result: GradeResult = await state.grading.grade(problem, question, answer)
    return await run_in_threadpool(state.store.add, student, result, source=source)


def _api_may_act_for(state: _State, request: Request, student: str) -> bool:
    token = bearer(request.headers.get("authorization"))
    if token is None:
        return False
    if token_matches(token, state.settings.teacher_token):
        return True
    from itsdangerous import BadSignature

    try:
        return bool(state.links.loads(token) == student)
    except BadSignature:
        return False


def _explain_allowed(mode: str, passed: bool) -> bool:
    return mode == "always" or (mode == "after-pass" and passed)


def _explanation(problem: Problem, question: str) -> dict[str, Any] | None:
    from gradcheck.serve.explained import explanation_view

    return explanation_view(problem, question)


def _shown(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {"row": row, "understood": answer_math(row.get("understood_as"), names),
            "expected": answer_math(row.get("expected"), names)}


def _policy(state: _State, request: Request) -> str:
    return request.query_params.get("policy", state.settings.policy)


async def _class_report(state: _State) -> tuple[list[Any], BatchReport]:
    attempts = await run_in_threadpool(state.store.attempts)
    s = state.settings
    report = classbook.attempts_report(s.bank, attempts, seed=s.seed, points=s.points,
                                       time_limit=s.time_limit)
    return attempts, report


async def _teacher_context(state: _State, request: Request) -> dict[str, Any]:
    from gradcheck.gradebook import format_percent, format_points
    from gradcheck.report.grades import report_gradebook

    policy = _policy(state, request)
    if policy not in classbook.POLICIES:
        policy = state.settings.policy
    attempts, report = await _class_report(state)
    book = report_gradebook(report, policy)  # type: ignore[arg-type]
    # The page shows the questions someone tried, in bank order; the CSV has them all.
    keep = [i for i in range(len(book.columns)) if any(s.cells[i].attempts for s in book.students)]
    rows = [{"student": s.student, "cells": [s.cells[i] for i in keep],
             "total": format_points(s.total), "maximum": format_points(s.maximum),
             "percent": format_percent(s.percent)} for s in book.students]
    counts = classbook.question_counts(attempts, [book.columns[i].key for i in keep])
    return {"columns": [book.columns[i].key for i in keep], "rows": rows, "counts": counts,
            "policies": classbook.POLICIES, "policy": policy, "total": len(attempts)}


async def _gradebook_csv(state: _State, request: Request) -> Response:
    policy = _policy(state, request)
    if policy not in classbook.POLICIES:
        return Response(f"unknown policy {policy!r}; use one of {', '.join(classbook.POLICIES)}\n",
                        status_code=400, media_type="text/plain")
    _, report = await _class_report(state)
    return Response(classbook.render_gradebook_csv(report, policy),  # type: ignore[arg-type]
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="gradebook.csv"'})


def _batch_report(settings: ServeSettings, data: bytes, name: str) -> str | None:
    from gradcheck.batch import grade_batch
    from gradcheck.errors import UsageError
    from gradcheck.report.grades_html import render_html
    from gradcheck.submissions import parse_submissions

    fmt: Literal["csv", "jsonl"] = ("jsonl" if name.lower().endswith((".jsonl", ".ndjson"))
                                    else "csv")
    try:
        rows = parse_submissions(data.decode("utf-8-sig", errors="replace"), fmt)
    except UsageError:
        return None
    report = grade_batch(settings.bank, rows, seed=settings.seed, points=settings.points,
                         time_limit=settings.time_limit, workers=settings.batch_workers)
    return render_html(report)


def _report_csp(html: str) -> str:
    """The batch report is one self-contained file: its own inline style, and only its own
    inline scripts (allowed by their hashes), nothing from anywhere else."""
    import base64
    import hashlib
    import re

    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.S)) or "'none'"
    return (f"default-src 'none'; style-src 'unsafe-inline'; script-src {hashes}; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _forbidden(why: str) -> Response:
    return HTMLResponse(f"<!DOCTYPE html><title>Forbidden</title><p>{_esc(why)}</p>", status_code=403)


def _not_found(why: str) -> Response:
    return HTMLResponse(f"<!DOCTYPE html><title>Not found</title><p>{_esc(why)}</p>", status_code=404)


def _bad_request(why: str) -> Response:
    return HTMLResponse(f"<!DOCTYPE html><title>Bad request</title><p>{_esc(why)}</p>",
                        status_code=400)


def _too_many(retry: int) -> Response:
    return HTMLResponse(f"<!DOCTYPE html><title>Too many attempts</title><p>Too many attempts in a "
                        f"minute; try again in {retry} s.</p>", status_code=429,
                        headers={"Retry-After": str(retry)})


def _unauthorized() -> Response:
    return Response("teacher token required: Authorization: Bearer <token>\n", status_code=401,
                    media_type="text/plain", headers={"WWW-Authenticate": "Bearer"})


def _esc(text: str) -> str:
    from html import escape

    return escape(text)


def new_token() -> str:
    """A random teacher token (when none was given)."""
    return secrets.token_urlsafe(24)
