"""The HTML report in a real browser: Debian's chromium, driven by Playwright.

Skips (with the reason) where playwright or chromium is missing; .ci/run installs
chromium. Playwright never downloads a browser here: it launches the system's.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is not installed (pip install -e '.[test]')")
CHROMIUM = shutil.which("chromium")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(apt-get install -y chromium; .ci/run does it)")]

from gradcheck.batch import BatchReport, grade_batch  # noqa: E402
from gradcheck.loader import load_bank  # noqa: E402
from gradcheck.report.grades_html import render_html  # noqa: E402
from gradcheck.submissions import read_submissions  # noqa: E402
from tests.helpers import PROBLEMS, ROOT  # noqa: E402

CLASS = ROOT / "docs" / "examples" / "class.csv"  # 50 rows: mistakes, a long formula, hostile text
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
HEIGHT_BOUND = 12_000  # px at 1280 for 50 rows (the old table layout made 85,600)

# Text-bearing boxes that must hold at least their first word on one line. Formula boxes
# are not among them: a long formula scrolls inside its own box, by design.
FIRST_WORD = """
(selector) => {
  const bad = [];
  for (const el of document.querySelectorAll(selector)) {
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let node = walk.nextNode();
    while (node && !node.textContent.trim()) { node = walk.nextNode(); }
    if (!node) { continue; }
    const start = node.textContent.search(/\\S/);
    const word = node.textContent.slice(start).match(/^\\S+/)[0];
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, start + word.length);
    const lines = range.getClientRects().length;
    const width = range.getBoundingClientRect().width;
    const box = el.getBoundingClientRect().width;
    if (lines > 1 || width > box + 0.5) {
      bad.push({element: el.tagName + '.' + el.className, word: word, width: width, box: box});
    }
  }
  return bad;
}
"""
CELLS = "td, th, .head > span, .label, .feedback, figcaption, h3, .summary .badge"


@pytest.fixture(scope="module")
def report() -> BatchReport:
    return grade_batch(load_bank([PROBLEMS]), read_submissions(CLASS))


@pytest.fixture(scope="module")
def page_file(report: BatchReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def open_page(browser: Any, path: Path, width: int) -> tuple[Any, list[str]]:
    requests: list[str] = []
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    assert errors == []
    return page, requests


def test_fifty_rows(report: BatchReport) -> None:
    assert len(report.results) == 50
    assert {r.verdict for r in report.results} >= {"pass", "fail", "invalid"}


@pytest.mark.parametrize("width", [1280, 1920])
def test_no_cell_narrower_than_its_first_word(browser: Any, page_file: Path, width: int) -> None:
    page, _ = open_page(browser, page_file, width)
    assert page.evaluate(FIRST_WORD, CELLS) == []
    # nothing widens the page past the window: wide tables and formulas scroll in their box
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.close()


@pytest.mark.parametrize("width", [1280, 1920])
def test_formulas_stay_in_their_boxes(browser: Any, page_file: Path, width: int) -> None:
    page, _ = open_page(browser, page_file, width)
    overlaps = page.evaluate("""() => {
      const bad = [];
      for (const box of document.querySelectorAll('.formula')) {
        const outer = box.getBoundingClientRect();
        const inner = box.firstElementChild.getBoundingClientRect();
        const scrolls = getComputedStyle(box).overflowX === 'auto';
        if (inner.width > outer.width + 1 && !(scrolls && box.scrollWidth > box.clientWidth)) {
          bad.push(box.textContent.slice(0, 40));
        }
        if (outer.width < 150) { bad.push('narrow box ' + outer.width); }
      }
      return bad;
    }""")
    assert overlaps == []
    page.close()


def test_page_height_for_fifty_rows_at_1280(browser: Any, page_file: Path) -> None:
    page, _ = open_page(browser, page_file, 1280)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert 50 * 60 < height < HEIGHT_BOUND  # every row is there, and compact
    page.close()


def test_mathml_renders(browser: Any, page_file: Path) -> None:
    page, _ = open_page(browser, page_file, 1280)
    sizes = page.evaluate("""() => {
      const frac = document.querySelector('mfrac');
      const mi = document.querySelector('mi');
      return [frac.getBoundingClientRect().height, mi.getBoundingClientRect().height];
    }""")
    frac, letter = sizes
    assert frac > 0 and frac > 1.4 * letter  # a fraction is stacked, not a line of text
    page.close()


def test_no_request_leaves_the_file(browser: Any, page_file: Path) -> None:
    page, requests = open_page(browser, page_file, 1280)
    page.select_option("#f-verdict", "fail")  # using the filters loads nothing either
    assert requests and all(url.startswith("file://") for url in requests), requests
    page.close()


def test_filters(browser: Any, page_file: Path, report: BatchReport) -> None:
    page, _ = open_page(browser, page_file, 1280)
    visible = "() => [...document.querySelectorAll('#answers .row')].filter(r => !r.hidden).length"
    assert page.evaluate(visible) == 50
    page.select_option("#f-verdict", "fail")
    assert page.evaluate(visible) == report.counts["fail"]
    page.select_option("#f-student", "ada")
    assert page.evaluate(visible) == sum(r.verdict == "fail" and r.student == "ada"
                                         for r in report.results)
    page.select_option("#f-verdict", "")
    page.select_option("#f-student", "")
    question = f"{report.results[0].problem}/{report.results[0].question}"
    page.select_option("#f-question", question)
    assert page.evaluate(visible) == sum(f"{r.problem}/{r.question}" == question
                                         for r in report.results)
    assert page.inner_text("#shown") == f"{page.evaluate(visible)} of 50 rows shown"
    page.close()


def test_summary_stays_in_view(browser: Any, page_file: Path) -> None:
    page, _ = open_page(browser, page_file, 1280)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert page.evaluate("document.querySelector('header.summary').getBoundingClientRect().top") == 0
    page.close()
