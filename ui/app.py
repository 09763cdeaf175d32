"""The chat page: ask the news articles a question, read the answer with its cited passages.

Thin by design: `rag.engine` is all it calls (status, articles, add, remove, sync, ask) and
`ui.render` turns what they return into escaped Markdown (article text is untrusted; nothing
here uses `unsafe_allow_html`). The engine (model + index) is built once per process and
shared by every browser session through `st.cache_resource`; a session keeps only its chat
history. Building the index is a button, never a side effect of opening the page.
Run it with `make app`, or `streamlit run ui/app.py`.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from rag.answer import Answer
from rag.articles import SUFFIXES
from rag.config import Settings
from rag.engine import Engine, IndexStatus, open_engine
from rag.errors import IndexDamagedError, RagError
from rag.indexer import SyncReport
from rag.manifest import ArticleRecord
from rag.vectors import Published

try:
    from ui import render
except ModuleNotFoundError:  # `streamlit run ui/app.py` puts ui/, not the project, on sys.path
    import render  # type: ignore[no-redef]

T = TypeVar("T")
UPLOAD_TYPES = sorted(suffix.lstrip(".") for suffix in SUFFIXES)  # what the loaders read
PAGE = 20  # articles listed per page in the sidebar: the page costs the same at any size
# The date fields' range (Streamlit's default is today +/- 10 years: too short for archives).
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
log = logging.getLogger("rag.page")


@st.cache_resource(show_spinner="Loading the models and opening the index…")
def get_engine(settings: Settings) -> Engine:
    engine = open_engine(settings)
    engine.searcher.warm()  # BM25 and the vector indexes load while the reader types
    _ = engine.reader  # load it now, under the spinner, not on the first question
    if settings.llm:
        _ = engine.llm  # the local model too: its file is joined into the cache on first run
    return long_lived(engine)


def long_lived(value: T) -> T:
    """`value`, once everything alive now is out of the garbage collector's scans: Streamlit
    runs a full collection after every rerun, and the libraries, the models and a manifest of
    36,000 articles are half a million objects (0.3-0.5 s a rerun, growing with the archive).
    They live as long as the process, or until refcounting frees a replaced manifest."""
    gc.freeze()
    return value


@st.cache_resource(max_entries=2, show_spinner=False)
def get_manifest(settings: Settings, generation: int) -> dict[str, ArticleRecord]:
    """The manifest in the sidebar's order (by title), read and sorted once per index
    generation (every sync moves it) for all sessions."""
    records = get_engine(settings).articles()
    return long_lived(dict(sorted(records.items(), key=lambda kv: (kv[1].title.casefold(), kv[0]))))


@st.cache_resource(max_entries=256, show_spinner=False)
def get_article_text(settings: Settings, generation: int, article_id: str) -> str | None:
    """An article's text, read once per generation: the chat history re-renders its citations
    on every rerun."""
    return get_engine(settings).article_text(article_id)


@contextmanager
def shown_errors() -> Iterator[None]:
    """A RagError is the user's to fix: show its message, not a traceback. Anything else is a
    bug: one line in the page (the chat and its history stay), the traceback in the terminal
    that runs it. (Streamlit's rerun and stop are BaseExceptions: they pass.)"""
    try:
        yield
    except RagError as exc:
        st.error(render.marked(str(exc)), icon=":material/error:")
    except Exception as exc:
        log.exception("Unexpected error in the page")
        st.error(
            render.marked(
                f"Something went wrong ({type(exc).__name__}: {exc}). This is a bug: the "
                "details are in the terminal that runs the page."
            ),
            icon=":material/bug_report:",
        )


def run_sync(engine: Engine, *, rebuild: bool = False) -> None:
    """Sync with a progress bar, then rerun so every part of the page shows the new index."""
    bar = st.progress(0.0, text="Reading the articles…")
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        left = ""
        if 0 < done < total:
            seconds = (time.monotonic() - started) / done * (total - done)
            left = f", about {render.duration(seconds)} left"
        bar.progress(
            done / total if total else 1.0,
            text=f"Embedding articles: {done}/{total}{left}",
        )

    try:
        report: SyncReport = engine.sync(rebuild=rebuild, progress=progress)
        engine.searcher.warm()  # the new index ready before the next question
    finally:
        bar.empty()
    st.session_state["notice"] = (render.sync_summary(report), render.skipped_lines(report))
    st.rerun()


def add_uploads(engine: Engine, files: list) -> None:
    saved = 0
    for upload in files:
        with shown_errors():
            engine.add_file(upload.name, upload.getvalue())
            saved += 1
    if saved:
        run_sync(engine)


def sidebar(engine: Engine, manifest: dict[str, ArticleRecord], status: IndexStatus) -> None:
    if notice := st.session_state.pop("notice", None):
        summary, skipped = notice
        st.success(summary, icon=":material/check_circle:")
        for line in skipped:
            st.warning(line)
    st.subheader("Index")
    st.markdown(render.index_status(len(manifest), status.chunks, status.model, status.synced_at))
    if st.button("Rebuild index", icon=":material/refresh:", disabled=not manifest):
        with shown_errors():
            run_sync(engine, rebuild=True)

    st.subheader("Dates")
    since, until = st.columns(2)
    bounds = {"min_value": EARLIEST, "max_value": LATEST, "format": "YYYY-MM-DD"}
    first = since.date_input("Published since", value=None, key="since", **bounds)
    last = until.date_input("until", value=None, key="until", **bounds)
    st.session_state["published"] = None  # no window while the fields say something invalid
    with shown_errors():
        st.session_state["published"] = Published.parse(
            first.isoformat() if first else None, last.isoformat() if last else None
        )

    st.subheader("Add articles")
    with st.form("upload", clear_on_submit=True, border=False):
        files = st.file_uploader(
            "Article files",
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
            label_visibility="collapsed",
        )
        if st.form_submit_button("Add to the index", icon=":material/upload:") and files:
            add_uploads(engine, files)
    with st.form("url", clear_on_submit=True, border=False):
        url = st.text_input("Article address", placeholder="https://…", key="add_url")
        if st.form_submit_button("Fetch and add", icon=":material/link:") and url.strip():
            with shown_errors():
                with st.spinner("Fetching the page…"):
                    engine.add_url(url.strip())
                run_sync(engine)

    st.subheader(f"Articles ({len(manifest)})")
    for record in article_page(manifest):
        text, *buttons = st.columns([5, 1, 1] if engine.settings.llm else [6, 1])
        text.markdown(render.article_entry(record))
        if engine.settings.llm and buttons[0].button(
            "",
            icon=":material/summarize:",
            key=f"summarize:{record.id}",
            help=f"Summarize {render.escape_inline(record.title)} with the chat model",
        ):
            st.session_state["summarize"] = record.id
        if buttons[-1].button(
            "",
            icon=":material/delete:",
            key=f"remove:{record.id}",
            help=f"Remove {render.escape_inline(record.id)} from the articles and the index",
        ):
            with shown_errors():
                engine.remove(record.id)
                run_sync(engine)


def article_page(manifest: dict[str, ArticleRecord]) -> list[ArticleRecord]:
    """The sidebar's articles: those whose title or file name holds the search box's words,
    by title, PAGE at a time."""
    wanted = st.text_input(
        "Find an article", placeholder="Title or file name", key="article_filter"
    ).casefold()
    found = [
        r for r in manifest.values() if not wanted or wanted in f"{r.title}\n{r.id}".casefold()
    ]
    pages = max(1, -(-len(found) // PAGE))
    page = 1
    if pages > 1:
        page = int(st.number_input(f"Page (of {pages})", 1, pages, 1, key=f"article_page:{wanted}"))
    if wanted and not found:
        st.caption("No article matches.")
    return found[(page - 1) * PAGE : page * PAGE]


def show_answer(
    engine: Engine, answer: Answer, manifest: dict[str, ArticleRecord], generation: int
) -> None:
    if answer.resolved_question and answer.resolved_question != answer.question:
        st.caption(f"Searched for: {render.escape_inline(answer.resolved_question)}")
    st.markdown(render.answer_markdown(answer))
    if answer.mode == "llm" and not answer.abstained:
        st.caption(render.written_by(answer))
    if not answer.verified:
        problems = "; ".join(answer.problems) or "unknown reason"
        st.warning(f"Not verified against the passages: {render.escape_inline(problems)}")
    if answer.extractive is not None:
        with st.expander("The answer quoted from the articles, without the chat model"):
            st.markdown(render.answer_markdown(answer.extractive))
    for c in answer.citations:
        text = get_article_text(engine.settings, generation, c.article_id)
        with st.container(border=True):
            st.markdown(render.citation_title(c, abstained=answer.abstained))
            st.caption(render.meta_line(manifest.get(c.article_id), c.article_id))
            if also := render.also_reported(c):
                st.caption(also)
            st.markdown(render.passage_markdown(text, c))
            if text is not None:
                with st.expander("Show the whole article", icon=":material/article:"):
                    st.markdown(render.article_markdown(text, c))


def chat(engine: Engine, manifest: dict[str, ArticleRecord], generation: int) -> None:
    history: list[Answer] = st.session_state.setdefault("history", [])
    for past in history:
        with st.chat_message("user"):
            st.markdown(render.marked(past.question))
        with st.chat_message("assistant"):
            show_answer(engine, past, manifest, generation)
    question = st.chat_input("Ask a question about the articles")
    record = manifest.get(st.session_state.pop("summarize", None) or "")
    if record is not None:
        question = f"Summarize: {record.title}"
    if not question:
        return
    with st.chat_message("user"):
        st.markdown(render.marked(question))
    with st.chat_message("assistant"), shown_errors():
        early = st.empty()  # LLM mode: the extractive answer, shown while the model writes
        streamed = st.empty()  # LLM mode: the reply as it is generated, before verification
        tokens: list[str] = []

        def on_token(token: str) -> None:
            tokens.append(token)
            streamed.markdown(render.marked("".join(tokens)) + " ▌")

        def on_extractive(extractive: Answer) -> None:
            with early.container():
                st.markdown(render.answer_markdown(extractive))
                st.caption("Quoted from the articles. The chat model is writing its answer…")

        if record is not None:
            with st.spinner("The chat model is reading the article…"):
                answer = engine.summarize(record, history=history, on_token=on_token)
        else:
            with st.spinner("Searching the articles…"):
                answer = engine.ask(
                    question,
                    history=history,
                    on_token=on_token,
                    on_extractive=on_extractive,
                    published=st.session_state.get("published"),
                )
        early.empty()
        streamed.empty()
        show_answer(engine, answer, manifest, generation)
        history.append(answer)


def main() -> None:
    st.set_page_config(page_title="Ask the news", page_icon=":material/newspaper:")
    st.title("Ask the news")
    with shown_errors():
        settings = Settings.from_env()
        engine = get_engine(settings)
        try:
            status = engine.status()
        except IndexDamagedError as exc:  # the page can rebuild it: the articles are intact
            st.error(render.marked(str(exc)), icon=":material/error:")
            if st.button("Rebuild the index", type="primary", icon=":material/build:"):
                run_sync(engine, rebuild=True)
            return
        generation = status.generation
        manifest = get_manifest(settings, generation)
        with st.sidebar:
            sidebar(engine, manifest, status)
        if not manifest and status.chunks == 0:
            st.info(
                f"There is no index yet for the articles in "
                f"{render.escape_inline(str(engine.settings.articles_dir))}/. "
                "Build it to start asking questions.",
                icon=":material/info:",
            )
            if st.button("Build the index", type="primary", icon=":material/build:"):
                run_sync(engine)
            return
        st.caption(
            "Answers are written by the chat model from the passages they cite, then checked "
            "against them."
            if settings.llm
            else "Answers are sentences quoted from the articles, with their sources."
        )
        chat(engine, manifest, generation)


main()
