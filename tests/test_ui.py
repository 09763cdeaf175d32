"""The chat page through Streamlit's AppTest (real model, real Chroma in tmp), and the pure
escaping/highlighting helpers of ui/render.py it relies on."""

from __future__ import annotations

import re
import shutil
import string
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SEED_ID, SEEDS, damage_index, make_engine
from hypothesis import given
from hypothesis import strategies as st
from llm_stub import StubServer
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from rag.answer import Answer, Citation
from rag.config import Settings
from rag.embeddings import Embedder
from rag.engine import Engine
from rag.library import save_article
from rag.manifest import ArticleRecord
from rag.store import open_store
from ui import render

APP = str(ROOT / "ui" / "app.py")
TIMEOUT = 120
QUESTION = "When do SU7 Ultra deliveries start?"
SU7_ANSWER = "premier trimestre 2025"
HOSTILE = """\
Lyon museum [wing](http://evil.example/t) **news**
The Lyon museum of fine arts opens its new wing on 3 May 2026, says \
[the mayor](http://evil.example) next to ![pixel](http://evil.example/x.png), \
<script>alert(1)</script>, **bold**, _it_, `code`, $x^2$, :red[red], :smile:, \
www.evil.example, mail@evil.example and &amp; entities.
# Not a heading
    - not code, not a list
The wing cost 12 million euros.
"""
HOSTILE_QUESTION = "When does the Lyon museum open its new wing?"
HOSTILE_BITS = [
    "[the mayor](http://evil.example)",
    "![pixel](http://evil.example/x.png)",
    "<script>alert(1)</script>",
    "**bold**",
    "_it_",
    "`code`",
    "$x^2$",
    ":red[red]",
    ":smile:",
    "www.evil.example",
    "mail@evil.example",
    "&amp;",
]
# What CommonMark would turn into markup; GFM autolink literals as Streamlit finds them.
MARKUP = {
    "link_open",
    "image",
    "html_inline",
    "html_block",
    "strong_open",
    "em_open",
    "code_inline",
    "code_block",
    "fence",
    "heading_open",
    "bullet_list_open",
    "ordered_list_open",
    "blockquote_open",
    "hr",
    "table_open",
    "s_open",
}
AUTOLINK = re.compile(r"(https?://|www(?=\.))|[-.\w+]+@[-\w]+(\.[-\w]+)+", re.IGNORECASE)
COMMONMARK = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def literal(markdown: str) -> str:
    """What escaped Markdown shows: escapes resolved, word joiners dropped."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(render.WORD_JOINER, "")


def plain(markdown: str) -> str:
    """What escaped Markdown shows, without the page's highlight directives around it."""
    return literal(re.sub(r"(?<!\\):[a-z-]+\[|(?<!\\)\]", "", markdown))


def texts(node: object) -> list[str]:
    """Every Markdown source shown under an AppTest node (markdown, captions, alerts)."""
    found = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        found += [element.value for element in getattr(node, kind)]
    return found


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def app_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the page (which reads the environment) at a private articles dir and index."""
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(articles))
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    for var in (
        "RAG_EMBEDDING_MODEL",
        "RAG_CHROMA_URL",
        "RAG_LLM",
        "RAG_CACHE_DIR",
        "OPENAI_BASE_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    return Settings.from_env()


@pytest.fixture
def built(app_settings: Settings, embedder: Embedder) -> Settings:
    make_engine(app_settings, embedder).sync()
    return app_settings


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    return at


# -- the page ---------------------------------------------------------------------------------
def test_chat_answers_with_a_highlighted_citation(built: Settings) -> None:
    at = start()
    assert "1** article " in at.sidebar.markdown[0].value
    ask(at, QUESTION)
    user, assistant = at.chat_message
    assert literal(user.markdown[0].value) == QUESTION
    # The English question's short answer in bold, in English; the French quote as written.
    assert assistant.markdown[0].value.startswith("**in the first quarter of 2025** — «")
    assert SU7_ANSWER in literal(assistant.markdown[0].value)
    shown = texts(assistant)
    assert any(literal(s).startswith("**[1] ") for s in shown)
    assert any(SEED_ID in literal(s) for s in shown)  # the article, under the citation title
    quote = at.session_state["history"][0].citations[0].quote
    passage = next(s for s in shown if ":orange-background[" in s)
    assert f":orange-background[{render.escape_markdown(quote)}]" in passage
    (expander,) = assistant.expander
    assert expander.label == "Show the whole article"
    whole = expander.markdown[0].value
    assert f":orange-background[{render.escape_markdown(quote)}]" in whole
    assert ":gray-background[" in whole  # the rest of the passage, in place

    ask(at, "Who is the CEO of Xiaomi?")  # the history stays, in order
    assert len(at.chat_message) == 4
    assert literal(at.chat_message[2].markdown[0].value) == "Who is the CEO of Xiaomi?"
    assert SU7_ANSWER in literal(at.chat_message[1].markdown[0].value)


def test_unanswerable_question_shows_closest_passages(built: Settings) -> None:
    at = ask(start(), "Who won the 1998 football World Cup?")
    assistant = at.chat_message[1]
    assert "don't say" in literal(assistant.markdown[0].value)
    titles = [s for s in texts(assistant) if s.startswith("**")]
    assert titles and all("closest, not an answer" in t for t in titles)


def test_price_question_abstains(built: Settings) -> None:
    at = ask(start(), "How much does the Xiaomi SU7 cost?")
    assert at.session_state["history"][0].abstained
    assert any("closest, not an answer" in s for s in texts(at.chat_message[1]))


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer()
    yield server
    server.close()


def test_llm_mode_answers_and_summarizes_an_article(
    built: Settings, stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a chat model: its answer, marked as the model's (a translation, here), the quoted
    answer beside it; a Summarize button on each article puts a summary in the chat."""
    monkeypatch.setenv("RAG_LLM", "openai:stub-model")
    monkeypatch.setenv("OPENAI_BASE_URL", stub.url)

    def reply(msgs: list[dict[str, Any]]) -> str:
        passages = re.split(r"^\[(\d+)\]", msgs[-1]["content"], flags=re.M)
        at = {text: n for n, text in zip(passages[1::2], passages[2::2], strict=True)}
        n = next(n for text, n in at.items() if "120 000" in text or SU7_ANSWER in text)
        if "Summarize" in msgs[-1]["content"]:
            return f"Xiaomi raised its delivery target to 120,000 [{n}]."
        return f"SU7 Ultra deliveries start in the first quarter of 2025 [{n}]."

    stub.reply = reply
    at = ask(start(), QUESTION)
    assistant = at.chat_message[1]
    assert "first quarter of 2025" in literal(assistant.markdown[0].value)
    assert any("Machine translation" in s for s in texts(assistant))
    assert assistant.expander[0].label.startswith("The answer quoted from the articles")
    assert SU7_ANSWER in literal(assistant.expander[0].markdown[0].value)

    summarize = next(b for b in at.sidebar.button if b.key == f"summarize:{SEED_ID}")
    summarize.click().run()
    assert not at.exception and not at.error
    user, assistant = at.chat_message[2:]
    assert literal(user.markdown[0].value).startswith("Summarize: ")
    assert "120,000 [" in literal(assistant.markdown[0].value)
    assert any("120 000" in s for s in texts(assistant))  # its citation, quoted
    assert at.session_state["history"][1].verified


def test_missing_index_offers_to_build_it(app_settings: Settings) -> None:
    at = start()
    assert not at.chat_input
    assert "no index yet" in at.info[0].value
    button(at, "Build the index").click().run()
    assert not at.exception and not at.error
    assert "1 added" in at.sidebar.success[0].value
    assert at.chat_input  # the chat is there now
    assert open_store(app_settings, must_exist=True).count() > 0
    ask(at, QUESTION)
    assert SU7_ANSWER in literal(at.chat_message[1].markdown[0].value)


def test_errors_are_shown_without_traceback(app_settings: Settings, monkeypatch) -> None:
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(app_settings.articles_dir / "missing"))
    at = start()
    button(at, "Build the index").click().run()
    assert not at.exception
    assert "does not exist" in literal(at.error[0].value)


def test_a_damaged_index_is_told_and_rebuilt_from_the_page(built: Settings) -> None:
    """Chroma failing on the index under the open page: its message and a button that
    rebuilds it from the articles (the damaged one moved aside); the chat comes back."""
    at = ask(start(), QUESTION)
    damage_index(built.index_dir)
    at.chat_input[0].set_value("Who is the CEO of Xiaomi?").run()
    assert not at.exception
    assert "cannot be read" in literal(at.error[0].value)
    button(at, "Rebuild the index").click().run()
    assert not at.exception and not at.error
    assert "1 added" in at.sidebar.success[0].value
    assert list(built.index_dir.parent.glob("index.damaged-*"))
    ask(at, "Who is the CEO of Xiaomi?")
    assert len(at.chat_message) == 4  # the history kept
    assert "Lei Jun" in literal(at.chat_message[3].markdown[0].value)


def test_an_unexpected_error_is_one_line_and_the_chat_stays(
    built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (any exception but RagError) is not a traceback filling the page. No real input
    makes one on purpose, so the failure is injected where the page calls the library."""
    at = ask(start(), QUESTION)

    def broken(*args: Any, **kwargs: Any) -> Answer:
        raise KeyError("offset")

    monkeypatch.setattr(Engine, "ask", broken)
    at.chat_input[0].set_value("Who is the CEO of Xiaomi?").run()
    assert not at.exception
    assert "Something went wrong (KeyError: 'offset')" in literal(at.error[0].value)
    assert SU7_ANSWER in literal(at.chat_message[1].markdown[0].value)
    assert at.chat_input  # one can ask again


def test_upload_saves_the_file_and_syncs(built: Settings) -> None:
    at = start()
    at.file_uploader[0].set_value(("../Lyon museum.txt", HOSTILE.encode(), "text/plain"))
    button(at, "Add to the index").click().run()
    assert not at.exception and not at.error
    assert (built.articles_dir / "Lyon_museum.txt").read_text() == HOSTILE
    assert "1 added" in at.sidebar.success[0].value
    assert "2** articles " in at.sidebar.markdown[0].value
    assert any("Lyon museum" in literal(s) for s in texts(at.sidebar))
    at.run()  # the uploader was cleared: a rerun does not add it again
    assert len(list(built.articles_dir.iterdir())) == 2


def test_remove_button_deletes_the_article_and_syncs(built: Settings) -> None:
    at = start()
    at.button(key=f"remove:{SEED_ID}").click().run()
    assert not at.exception and not at.error
    assert not (built.articles_dir / SEED_ID).exists()
    assert "1 removed" in at.sidebar.success[0].value
    assert button(at, "Build the index")  # nothing left: back to the empty state


def test_the_article_list_is_paged_and_searchable(built: Settings, embedder: Embedder) -> None:
    for i in range(45):
        save_article(
            built.articles_dir,
            f"note-{i:02d}.txt",
            f"Note {i:02d}\nLe fait {i}.".encode(),
            max_bytes=2**20,
        )
    make_engine(built, embedder).sync()
    at = start()
    listed = [b for b in at.sidebar.button if (b.key or "").startswith("remove:")]
    assert len(listed) == 20  # one page of 46, not all of them
    assert "(of 3)" in at.sidebar.number_input[0].label
    at.sidebar.number_input[0].set_value(3).run()
    listed = [b.key for b in at.sidebar.button if (b.key or "").startswith("remove:")]
    assert len(listed) == 6
    at.sidebar.text_input(key="article_filter").set_value("note 07").run()
    listed = [b.key for b in at.sidebar.button if (b.key or "").startswith("remove:")]
    assert listed == ["remove:note-07.txt"]
    at.sidebar.text_input(key="article_filter").set_value("zzz").run()
    assert any("No article matches" in c.value for c in at.sidebar.caption)


def test_hostile_article_text_is_rendered_inert(built: Settings, embedder: Embedder) -> None:
    save_article(built.articles_dir, "hostile.txt", HOSTILE.encode(), max_bytes=2**20)
    make_engine(built, embedder).sync()
    at = ask(start(), HOSTILE_QUESTION)
    # Everything article text reaches: the answer, the citation, the sidebar's article list.
    shown = texts(at.chat_message[1]) + [m.value for m in at.sidebar.markdown[1:]]
    assert any("3 May 2026" in literal(s) for s in shown)
    for source in shown:
        # The page's own bold: the citation title, the short answer leading the reply.
        source = re.sub(r"^\*\*((?:[^*\\]|\\.)*)\*\*", r"\1", source)
        for token in COMMONMARK.parseInline(source) + COMMONMARK.parse(source):
            kinds = {token.type} | {child.type for child in token.children or []}
            assert not kinds & MARKUP, (kinds & MARKUP, source)
        # Streamlit directives: only the page's own, never one written in the article.
        assert set(re.findall(r"(?<!\\):([a-z-]+)\[", source)) <= render.STYLES | {"gray-badge"}
        assert not AUTOLINK.search(source.replace("\\", "")), source
    whole = plain(at.expander[0].markdown[0].value)
    for bit in HOSTILE_BITS:
        assert bit in whole, whole


# -- ui/render.py -----------------------------------------------------------------------------
@given(st.text(st.sampled_from(string.printable[:95] + "éàç«»’…")))
def test_escaped_line_renders_as_itself_in_commonmark(line: str) -> None:
    html = COMMONMARK.render(render.marked(line)).replace(render.WORD_JOINER, "")
    expected = line.strip(" ").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    expected = expected.replace('"', "&quot;")
    assert html == (f"<p>{expected}</p>\n" if expected else "")


def test_escape_breaks_autolinks_and_directives() -> None:
    escaped = render.escape_markdown("see www.a.fr, HTTPS://b.fr, c@d.fr, :red[x] :smile: $1$")
    assert not AUTOLINK.search(escaped.replace("\\", ""))
    assert not re.search(r"(?<!\\):[a-z]", escaped)
    assert literal(escaped) == "see www.a.fr, HTTPS://b.fr, c@d.fr, :red[x] :smile: $1$"


def test_marked_highlights_spans_line_by_line() -> None:
    text = "  Title\n\nFirst sentence. Second sentence\nends here. Third."
    start = text.index("Second")
    end = text.index(" Third")
    out = render.marked(text, [(start, end, render.QUOTE)])
    assert out == (
        "Title\n\nFirst sentence\\. :orange-background[Second sentence]\n\n"
        ":orange-background[ends here\\.] Third\\."
    )
    with pytest.raises(ValueError, match="valid: "):
        render.marked(text, [(0, 1, "javascript")])


def cite(text: str, quote: str, passage: str) -> Citation:
    start, p_start = text.index(quote), text.index(passage)
    return Citation(
        1, "a.txt", "T", start, start + len(quote), quote, 0.9, p_start, p_start + len(passage)
    )


def test_passage_and_whole_article_markdown() -> None:
    text = "Title\nBefore. The quote [x](y). After.\nOther paragraph."
    c = cite(text, "The quote [x](y).", "Before. The quote [x](y). After.")
    assert render.passage_markdown(text, c) == (
        ":gray[Before\\.] :orange-background[The quote \\[x\\]\\(y\\)\\.] :gray[After\\.]"
    )
    assert render.article_markdown(text, c) == (
        "Title\n\n:gray-background[Before\\.] :orange-background[The quote \\[x\\]\\(y\\)\\.] "
        ":gray-background[After\\.]\n\nOther paragraph\\."
    )
    # The article changed since the answer (or is gone): the quote alone, the text plain.
    changed = "Title\nSomething else entirely, now longer than before."
    assert render.passage_markdown(changed, c) == ":orange-background[The quote \\[x\\]\\(y\\)\\.]"
    assert render.passage_markdown(None, c) == render.passage_markdown(changed, c)
    assert render.article_markdown(changed, c) == render.marked(changed)


def test_links_only_for_http_urls() -> None:
    assert render.link("https://ex.fr/a b") is None
    assert render.link("javascript:alert(1)") is None
    assert render.link("data:text/html,x") is None
    assert render.link("https://ex.fr/a>(b)\\") == "[ex\\.fr ↗](<https://ex.fr/a%3E(b)%5C>)"
    record = ArticleRecord("w/a.md", "0", "T", 1, date="2024-10-29", url="ftp://x", source="*Le*")
    assert render.meta_line(record, "w/a.md") == (
        "2024\\-10\\-29 · \\*Le\\* · ftp\u2060\\:\\/\\/x · w\\/a\\.md"
    )


def test_when_and_titles() -> None:
    assert [render.duration(x) for x in (0.2, 44.6, 170, 4830)] == [
        "1 s",
        "45 s",
        "3 min",
        "1 h 20 min",
    ]
    assert render.when("2025-01-31T09:05:07+00:00") == "2025-01-31 09:05 UTC"
    assert render.when(None) == "never"
    c = Citation(2, "a.txt", "**T**\n[x](y)", 0, 1, "q", 0.5)
    assert render.citation_title(c, abstained=False) == "**\\[2\\] \\*\\*T\\*\\* \\[x\\]\\(y\\)**"
    assert "closest, not an answer" in render.citation_title(c, abstained=True)


def test_answer_markdown_bolds_a_leading_short_answer() -> None:
    reply = Answer("Q?", "mars 2025 — «Livraisons en mars 2025.» [1]", False, span="mars 2025")
    assert render.answer_markdown(reply) == "**mars 2025** — «Livraisons en mars 2025\\.» \\[1\\]"
    hostile = Answer("Q?", "*x* — «*x*» [1]", False, span="*x*")
    assert render.answer_markdown(hostile) == "**\\*x\\*** — «\\*x\\*» \\[1\\]"
    abstained = Answer("Q?", "mars 2025 — no", True, span="mars 2025")
    assert render.answer_markdown(abstained) == "mars 2025 — no"
    english = Answer(
        "When?", "March 2025 — «en mars 2025» [1]", False, span="mars 2025", span_shown="March 2025"
    )
    assert render.answer_markdown(english) == "**March 2025** — «en mars 2025» \\[1\\]"


def test_also_reported_names_the_copies_escaped() -> None:
    from rag.retrieval import Copy

    c = Citation(1, "a.md", "A", 0, 5, "quote", 0.9)
    assert render.also_reported(c) is None
    copies = (Copy("b.md", "B *wire*", "2023-12-23"), Copy("c.md", "C", None))
    shown = render.also_reported(replace(c, also_reported_by=copies))
    assert shown == "Also reported by 2 articles: B \\*wire\\* (2023\\-12\\-23), C."
