"""End to end: the real `streamlit run ui/app.py` server driven by Debian's Chromium.

The index is built first through the library; the test asks the seed question, checks the
answer and its highlighted quote, saves docs/screenshot.png, then uploads a hostile article
through the page and checks that Streamlit's own Markdown renderer shows it as plain text
(GFM autolinks, which only the browser's renderer applies, included). A second test opens
three sessions on one server: two ask at the same time while the third uploads articles and
re-indexes, and each must get what it asked for, with no error and no half-built index. A
third lists an archive of 500 articles in the sidebar a page at a time, finds one by title,
and still answers the seed question.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SEEDS, TEST_ARTICLES, make_engine
from llm_stub import StubServer
from playwright.sync_api import Browser, Page, expect, sync_playwright
from test_local_llm import local

from bench.page import CHROMIUM, CHROMIUM_ARGS, PageError, serve_page
from rag.config import Settings
from rag.embeddings import Embedder

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = ROOT / "docs" / "screenshot.png"
QUESTION = "When do SU7 Ultra deliveries start?"
HOSTILE = (
    "Lyon museum [wing](http://evil.example/t) **news**\n"
    "The Lyon museum of fine arts opens its new wing on 3 May 2026, says [the mayor]"
    "(http://evil.example) next to ![pixel](http://evil.example/x.png), <b>bold</b> "
    "<script>alert(1)</script>, **strong**, _it_, `code`, $x^2$, ~~gone~~, :red[red], :smile:, "
    "www.evil.example, mail@evil.example and &amp; entities.\n"
    "The wing cost 12 million euros.\n"
)
INERT = [
    "[the mayor](http://evil.example)",
    "![pixel](http://evil.example/x.png)",
    "<b>bold</b>",
    "<script>alert(1)</script>",
    "**strong**",
    "_it_",
    "`code`",
    "$x^2$",
    "~~gone~~",
    ":red[red]",
    ":smile:",
    "www.evil.example",
    "mail@evil.example",
    "&amp;",
]
MARKUP = "a, img, script, b, em, code, del, h1, h2, h3, ul, ol, blockquote, table, .katex"


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install it with `apt-get install chromium`"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: browser tests must run)")
        pytest.skip(reason)
    return CHROMIUM


@contextmanager
def serve(
    tmp_path: Path, embedder: Embedder, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """The page on a free port, over a fresh index of a copy of seeds/; killed afterwards.
    `extra_env`: more variables for the page (a chat model)."""
    settings = Settings(articles_dir=tmp_path / "articles", index_dir=tmp_path / "index")
    shutil.copytree(SEEDS, settings.articles_dir)
    make_engine(settings, embedder).sync()
    try:
        with serve_page(
            settings.articles_dir, settings.index_dir, tmp_path / "streamlit.log", extra_env
        ) as url:
            yield url
    except PageError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def server(tmp_path: Path, embedder: Embedder, chromium: Path) -> Iterator[str]:
    with serve(tmp_path, embedder) as url:
        yield url


def ask(page: Page, question: str, n: int) -> None:
    box = page.get_by_placeholder("Ask a question about the articles")
    box.fill(question)
    box.press("Enter")
    wait_for_answer(page, n)


def wait_for_answer(page: Page, n: int, timeout: float = 60_000) -> None:
    """Wait for the answer to finish: its "Show the whole article" expander is drawn last."""
    expect(
        page.get_by_test_id("stChatMessage").nth(n).get_by_test_id("stExpander").first
    ).to_be_visible(timeout=timeout)


def full_page_screenshot(page: Page, path: Path) -> None:
    """Streamlit scrolls inside its main block, not the page: grow the viewport to fit it."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    # The bottom of the last message, in the scrolled block's coordinates, plus the chat input.
    height = page.evaluate(
        """() => {
            const last = [...document.querySelectorAll('[data-testid="stChatMessage"]')].pop();
            const block = last.closest('main') || document.scrollingElement;
            return Math.ceil(last.getBoundingClientRect().bottom + block.scrollTop + 140);
        }"""
    )
    page.set_viewport_size({"width": 1280, "height": min(max(height, 800), 4000)})
    page.wait_for_timeout(500)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def test_ask_in_the_browser(server: str, chromium: Path, tmp_path: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(server)
            expect(page.get_by_placeholder("Ask a question about the articles")).to_be_visible(
                timeout=120_000
            )
            ask(page, QUESTION, 1)
            answer = page.get_by_test_id("stChatMessage").nth(1)
            expect(answer).to_contain_text("premier trimestre 2025")
            quote = answer.locator(".stMarkdownColoredBackground", has_text="premier trimestre")
            expect(quote.first).to_be_visible()
            assert "rgba(0, 0, 0, 0)" not in quote.first.evaluate(
                "e => getComputedStyle(e).backgroundColor"
            )
            expect(page.get_by_test_id("stException")).to_have_count(0)
            full_page_screenshot(page, SCREENSHOT)

            # A hostile article, uploaded through the page, is shown as the text it is.
            page.set_viewport_size({"width": 1280, "height": 800})
            hostile = tmp_path / "lyon.txt"
            hostile.write_text(HOSTILE)
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(hostile)
            page.get_by_role("button", name="Add to the index").click()
            expect(page.get_by_test_id("stSidebar")).to_contain_text("1 added", timeout=60_000)
            ask(page, "When does the Lyon museum open its new wing?", 3)
            reply = page.get_by_test_id("stChatMessage").nth(3)
            reply.get_by_text("Show the whole article").click()
            shown = reply.inner_text().replace("\u2060", "")  # the invisible word joiners
            for text in INERT:
                assert text in shown
            articles = (
                page.get_by_test_id("stSidebar")
                .get_by_test_id("stHorizontalBlock")
                .filter(has=page.get_by_role("button", name="delete"))
            )
            expect(articles).to_have_count(2)
            for where in (reply, articles):
                assert where.locator(MARKUP).count() == 0, where.locator(MARKUP).evaluate_all(
                    "els => els.map(e => e.outerHTML)"
                )
            # The only bold text is the page's own: the short answer, the citation title.
            bold = [t.replace("\u2060", "") for t in reply.locator("strong").all_inner_texts()]
            assert "[1] Lyon museum [wing](http://evil.example/t) **news**" in bold
            assert set(bold) <= {
                "3 May 2026",
                "[1] Lyon museum [wing](http://evil.example/t) **news**",
            }
        finally:
            browser.close()


NEW_ARTICLE = (
    "Brest ferry terminal\n"
    "The new ferry terminal of the port of Brest opens on 14 September 2026, the harbour "
    "authority said on Tuesday. It will handle the crossings to Ireland and to Plymouth.\n"
    "The terminal cost 48 million euros, paid by the region and the port.\n"
)
NEW_QUESTION = "When does the new Brest ferry terminal open?"


def open_session(browser: Browser, server: str) -> Page:
    """A session of its own: a fresh browser context (cookies, storage, websocket)."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(server)
    expect(page.get_by_placeholder("Ask a question about the articles")).to_be_visible(
        timeout=120_000
    )
    return page


def assert_no_error(page: Page) -> None:
    """No traceback (`stException`) and none of the page's own `st.error` messages."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def test_two_sessions_ask_while_a_third_uploads_and_syncs(
    server: str, chromium: Path, tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for path in sorted(p for p in TEST_ARTICLES.rglob("*") if p.is_file()):
        shutil.copy(path, uploads / path.name)
    (uploads / "brest-ferry.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    files = sorted(uploads.iterdir())

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            asking = [open_session(browser, server) for _ in range(2)]
            syncing = open_session(browser, server)
            # The files reach the server when chosen; the form sends them on "Add to the index".
            syncing.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(files)
            uploader = syncing.get_by_test_id("stFileUploader")
            expect(uploader.get_by_test_id("stFileChipName")).to_have_count(len(files))
            expect(uploader.get_by_test_id("stFileChipIconSpinner")).to_have_count(0)
            expect(uploader.get_by_test_id("stFileChipIconError")).to_have_count(0)
            boxes = [
                page.get_by_placeholder("Ask a question about the articles") for page in asking
            ]
            for box in boxes:
                box.fill(QUESTION)
            # All three fired before any is awaited: the scripts run at once on the server
            # (measured: the answers are drawn ~1.2 s in, the sync's progress bar stays ~2.5 s).
            for box in boxes:
                box.press("Enter")
            syncing.get_by_role("button", name="Add to the index").click()

            for page in asking:
                wait_for_answer(page, 1, timeout=120_000)
                answer = page.get_by_test_id("stChatMessage").nth(1)
                expect(answer).to_contain_text("premier trimestre 2025")
                quote = answer.locator(".stMarkdownColoredBackground", has_text="premier trimestre")
                expect(quote.first).to_be_visible()
                assert_no_error(page)

            sidebar = syncing.get_by_test_id("stSidebar")
            expect(sidebar.get_by_test_id("stAlertContentSuccess")).to_contain_text(
                f"Index synced: {len(files)} added, 0 updated, 0 removed, 1 unchanged",
                timeout=120_000,
            )
            assert_no_error(syncing)
            expect(sidebar.get_by_test_id("stAlertContentWarning")).to_have_count(0)  # no skips
            expect(sidebar).to_contain_text(f"Articles ({len(files) + 1})")

            # The index is whole: a question about the uploaded article is answered from it.
            ask(syncing, NEW_QUESTION, 1)
            reply = syncing.get_by_test_id("stChatMessage").nth(1)
            expect(reply).to_contain_text("14 September 2026")
            expect(reply).to_contain_text("[1] Brest ferry terminal")
            expect(reply).to_contain_text("brest-ferry.txt")
            assert_no_error(syncing)
            for page in asking:  # a later question in the first sessions sees it too
                ask(page, NEW_QUESTION, 3)
                expect(page.get_by_test_id("stChatMessage").nth(3)).to_contain_text(
                    "14 September 2026"
                )
                assert_no_error(page)
        finally:
            browser.close()


def _stub_reply(msgs: list[dict[str, Any]]) -> str:
    passages = re.split(r"^\[(\d+)\]", msgs[-1]["content"], flags=re.M)
    at = {text: n for n, text in zip(passages[1::2], passages[2::2], strict=True)}
    n = next(n for text, n in at.items() if "2025" in text)
    if "Summarize" in msgs[-1]["content"]:
        return f"Xiaomi plans a second model and the SU7 Ultra for 2025 [{n}]."
    return f"SU7 Ultra deliveries start in the first quarter of 2025 [{n}]."


@contextmanager
def chat_model(kind: str) -> Iterator[dict[str, str]]:
    """The page's environment for a chat model: the stub server (slowed down, to see what
    comes first), or the real local model."""
    if kind == "local":
        yield {"RAG_LLM": "local"}
        return
    stub = StubServer()
    stub.reply, stub.delay = _stub_reply, 3.0
    try:
        yield {"RAG_LLM": "openai:stub-model", "OPENAI_BASE_URL": stub.url}
    finally:
        stub.close()


@pytest.mark.parametrize(
    "kind",
    ["stub", pytest.param("local", marks=[local, pytest.mark.local_llm, pytest.mark.slow])],
)
def test_llm_mode_in_the_browser(
    kind: str, tmp_path: Path, embedder: Embedder, chromium: Path
) -> None:
    """The quoted answer at once, the model's English answer after it; Summarize an article."""
    with chat_model(kind) as env, serve(tmp_path, embedder, env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            box = page.get_by_placeholder("Ask a question about the articles")
            expect(box).to_be_visible(timeout=120_000)
            box.fill(QUESTION)
            box.press("Enter")
            reply = page.get_by_test_id("stChatMessage").nth(1)
            expect(reply).to_contain_text("The chat model is writing its answer", timeout=30_000)
            expect(reply).to_contain_text("premier trimestre 2025")  # quoted, before the model
            expect(reply).to_contain_text("first quarter of 2025", timeout=120_000)
            expect(reply).to_contain_text("Machine translation", timeout=30_000)
            expect(reply).not_to_contain_text("writing its answer")
            expect(reply.get_by_text("The answer quoted from the articles")).to_be_visible()

            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_role("button", name="summarize").first.click()
            summary = page.get_by_test_id("stChatMessage").nth(3)
            expect(page.get_by_test_id("stChatMessage").nth(2)).to_contain_text("Summarize: ")
            expect(summary.get_by_test_id("stExpander").first).to_be_visible(timeout=120_000)
            expect(summary).to_contain_text("for 2025 [" if kind == "stub" else "[")
            expect(page.get_by_test_id("stException")).to_have_count(0)
            if kind == "local":
                full_page_screenshot(page, SCREENSHOT.with_name("chat-page-local-llm.png"))
        finally:
            browser.close()


ARCHIVE = 500  # articles besides the seed: 26 pages of the sidebar's list


def test_a_large_archive_is_listed_a_page_at_a_time_and_searchable(
    tmp_path: Path, embedder: Embedder, chromium: Path
) -> None:
    settings = Settings(articles_dir=tmp_path / "articles", index_dir=tmp_path / "index")
    shutil.copytree(SEEDS, settings.articles_dir)
    for i in range(ARCHIVE):
        (settings.articles_dir / f"brief-{i:04d}.md").write_text(
            f"# Brief {i:04d} on the budget of town {i}\n\n"
            f"The council of town {i} voted a budget of {i + 3} million euros.\n",
            encoding="utf-8",
        )
    make_engine(settings, embedder).sync()
    with (
        serve_page(settings.articles_dir, settings.index_dir, tmp_path / "streamlit.log") as url,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = open_session(browser, url)
            sidebar = page.get_by_test_id("stSidebar")
            rows = sidebar.get_by_test_id("stHorizontalBlock").filter(
                has=page.get_by_role("button", name="delete")
            )
            expect(sidebar).to_contain_text(f"Articles ({ARCHIVE + 1})")
            expect(rows).to_have_count(20)  # by title: Brief 0000 to Brief 0019
            expect(rows.first).to_contain_text("Brief 0000")
            pages = sidebar.get_by_label("Page (of 26)")
            pages.fill("2")
            pages.press("Enter")
            expect(rows.first).to_contain_text("Brief 0020")
            expect(rows).to_have_count(20)

            find = sidebar.get_by_placeholder("Title or file name")
            find.fill("xiaomi")
            find.press("Enter")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("Xiaomi")
            expect(sidebar.get_by_label("Page (of 26)")).to_have_count(0)

            ask(page, QUESTION, 1)  # 500 other articles do not bury the answer
            expect(page.get_by_test_id("stChatMessage").nth(1)).to_contain_text(
                "premier trimestre 2025"
            )
            assert_no_error(page)
        finally:
            browser.close()
