"""The chat page's own cost at scale, in Chromium: opening it and a question's round trip,
against the answer's own time.

    python -m bench.page_latency --articles DIR --index DIR [--questions 10] [--opens 5]

The index must be built (`rag index --articles DIR --index DIR`). Starts the page on a free
port (bench.page), opens it in Debian's Chromium: the first open (the engine loads under a
spinner), then warm opens in fresh sessions, each until the question box shows; then asks
`--questions` article headings in one session, each until its answer is drawn, and times the
same questions with `Engine.ask` in this process. Prints a markdown table for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from bench.page import CHROMIUM, CHROMIUM_ARGS, QUESTION_BOX, serve_page
from rag.config import Settings
from rag.engine import open_engine


def _p50_p95(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.2f} / {p95:.2f}"


def _open(page: Page, url: str) -> float:
    started = time.monotonic()
    page.goto(url)
    expect(page.get_by_placeholder(QUESTION_BOX)).to_be_visible(timeout=300_000)
    return time.monotonic() - started


def _ask(page: Page, question: str, n: int) -> float:
    started = time.monotonic()
    box = page.get_by_placeholder(QUESTION_BOX)
    box.fill(question)
    box.press("Enter")
    # An answer is drawn when its last part is: the "Show the whole article" expander of an
    # answer, or the closest passages' of an abstention.
    answer = page.get_by_test_id("stChatMessage").nth(2 * n + 1)
    expect(answer.get_by_test_id("stExpander").first).to_be_visible(timeout=120_000)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--opens", type=int, default=5)
    args = parser.parse_args(argv)

    engine = open_engine(
        Settings.from_env(articles_dir=args.articles, index_dir=args.index), must_exist=True
    )
    records = engine.articles()
    titles = [r.title for r in sorted(records.values(), key=lambda r: r.id)]
    questions = [titles[i % len(titles)] for i in range(args.questions)]  # a small index repeats
    own = []
    for q in questions:
        started = time.monotonic()
        engine.ask(q)
        own.append(time.monotonic() - started)

    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_page(args.articles, args.index, Path(tmp) / "streamlit.log") as url,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        first = _open(browser.new_page(), url)
        opens = [_open(browser.new_context().new_page(), url) for _ in range(args.opens)]
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        _open(page, url)
        trips = [_ask(page, q, n) for n, q in enumerate(questions)]
        browser.close()

    print(f"{len(records):,} articles, {engine.status().chunks:,} chunks; seconds, p50 / p95\n")
    print("| step | seconds |")
    print("|---|---|")
    print(f"| first open (the engine loads) | {first:.2f} |")
    print(f"| open, warm (a new session) | {_p50_p95(opens)} |")
    print(f"| question round trip in the page | {_p50_p95(trips)} |")
    print(f"| the answer itself (`Engine.ask`) | {_p50_p95(own)} |")
    overhead = [t - o for t, o in zip(trips, own, strict=True)]
    print(f"| the page's own share of a question | {_p50_p95(overhead)} |")
    print("\nRound trips in order (the chat grows):", " ".join(f"{t:.2f}" for t in trips))


if __name__ == "__main__":
    main()
