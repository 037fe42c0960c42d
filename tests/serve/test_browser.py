"""End to end in headless Chromium: a real ``gradcheck serve`` process, a student and a teacher.

Needs Debian's ``chromium`` (``apt-get install chromium``) and the ``playwright`` package,
which drives that browser (never a browser of its own); skips with the reason without them.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers import ROOT, SEEDS
from tests.serve.conftest import require_serve

require_serve()
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="browser tests need playwright: pip install playwright")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("browser tests need Debian's chromium: apt-get install chromium",
                allow_module_level=True)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "browser-teacher-token"
LR = "linear-regression"


# Generous: on a loaded 2-core CI machine the first page (the grading pool warming up)
# took over 30 s once; a slow page is not what this test is about.
TIMEOUT_MS = 120_000

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``gradcheck serve`` on a free port of 127.0.0.1, over a fresh SQLite file."""
    db = tmp_path_factory.mktemp("serve") / "course.db"
    port = _free_port()
    env = {**os.environ, "GRADCHECK_TEACHER_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "gradcheck", "serve", str(SEEDS / "linear-regression.toml"),
         "--db", str(db), "--port", str(port), "--points", "8", "--explain", "after-pass"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/api/problems", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                out = process.stdout.read() if process.stdout else ""
                pytest.fail(f"gradcheck serve did not start:\n{out}")
            time.sleep(0.2)
    yield {"base": base, "db": db}
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout:
        process.stdout.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def _db_attempts(db: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT student, problem, question, verdict FROM attempts "
                            "ORDER BY id").fetchall()


def test_student_and_teacher_in_a_browser(server, browser):
    base = server["base"]
    requests: list[str] = []
    dialogs: list[str] = []
    student = browser.new_context()
    student.on("request", lambda r: requests.append(r.url))
    page = student.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(base + "/", wait_until="domcontentloaded")
    page.fill("#student", "ada")
    page.click("form.login button")
    page.wait_for_selector("text=signed in as")
    page.goto(f"{base}/p/{LR}", wait_until="domcontentloaded")
    assert page.locator(".statement math").count() > 0  # the statement's LaTeX as MathML

    box = page.locator("#answer-dloss_dw")
    preview = page.locator("#preview-dloss_dw")
    box.press_sequentially("2x(wx - ", delay=20)
    preview.locator(".unreadable").wait_for()
    assert "Cannot read this yet" in preview.inner_text()
    box.press_sequentially("y)", delay=20)
    preview.locator(".understood math").wait_for()
    assert preview.locator("mi").all_text_contents() == ["x", "w", "x", "y"]

    def submit(question: str, answer: str) -> tuple[str, Any]:
        page.fill(f"#answer-{question}", answer)
        page.click(f"#q-{question} form.answer button")
        page.wait_for_load_state()
        result = page.locator(f"#q-{question} .result")
        return result.get_attribute("data-verdict") or "", result

    verdict, result = submit("dloss_dw", "-2x(wx - y)")
    assert verdict == "fail" and "(sign)" in result.inner_text()
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    verdict, result = submit("dloss_dw", hostile)
    assert verdict == "invalid" and hostile in result.locator(".answer-text").inner_text()
    verdict, result = submit("dloss_dw", "2x(wx - y)")
    assert verdict == "pass"
    assert result.locator(".explanation h3").all_inner_texts()[:1] == ["Forward pass"]
    assert result.locator(".explanation svg").count() == 1

    teacher = browser.new_context()
    teacher.on("request", lambda r: requests.append(r.url))
    tpage = teacher.new_page()
    tpage.set_default_timeout(TIMEOUT_MS)
    tpage.goto(base + "/teacher", wait_until="domcontentloaded")
    tpage.fill("#token", TOKEN)
    tpage.click("form.login button")
    tpage.wait_for_selector("table.classbook")
    assert tpage.locator("table.classbook td.student").all_inner_texts() == ["ada"]
    assert tpage.locator("span.total").inner_text() == "3 attempts"

    # a new student answers while the teacher watches: the table updates by itself
    page.goto(base + "/", wait_until="domcontentloaded")
    page.click("header form button")  # change id
    page.fill("#student", "bob")
    page.click("form.login button")
    page.goto(f"{base}/p/{LR}", wait_until="domcontentloaded")
    assert submit("dloss_dw_value", "-2")[0] == "pass"
    tpage.locator("table.classbook td.student", has_text="bob").wait_for(timeout=TIMEOUT_MS)
    assert tpage.locator("span.total").inner_text() == "4 attempts"

    # the exported CSV (best attempt) matches the database, read without gradcheck's code
    response = teacher.request.get(base + "/teacher/gradebook.csv?policy=best")
    assert response.ok
    rows = list(csv.reader(io.StringIO(response.text())))
    header, body = rows[0], {r[0]: r for r in rows[1:]}
    attempts = _db_attempts(server["db"])
    assert [a[3] for a in attempts] == ["fail", "invalid", "pass", "pass"]
    assert set(body) == {a[0] for a in attempts}
    for name, row in body.items():
        for column, cell in zip(header[1:-3], row[1:-3], strict=True):
            mine = [a[3] for a in attempts if a[0] == name and f"{a[1]}/{a[2]}" == column]
            assert cell == ("" if not mine else "1" if "pass" in mine else "0"), (name, column)
        assert row[-3] == str(sum("pass" in [a[3] for a in attempts if a[0] == name
                                              and f"{a[1]}/{a[2]}" == c] for c in header[1:-3]))

    assert dialogs == [], "an answer ran script in the page"
    off_host = [u for u in requests if urlsplit(u).hostname != "127.0.0.1"]
    assert requests and off_host == []
    student.close()
    teacher.close()
