"""The `rag` command: the library from a terminal. Turns RagError into a message and exit 2."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.answer import Answer
from rag.config import Settings
from rag.engine import Engine, open_engine
from rag.errors import RagError
from rag.evaluate import evaluate, load_qa, write_corpus
from rag.indexer import SyncReport
from rag.retrieval import Hit
from rag.vectors import Published


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--articles", type=Path, help="articles dir (env RAG_ARTICLES_DIR)")
    common.add_argument("--index", type=Path, help="index dir (env RAG_INDEX_DIR)")
    common.add_argument("--model", help="embedding model (env RAG_EMBEDDING_MODEL)")
    common.add_argument("--chroma-url", help="Chroma server URL (env RAG_CHROMA_URL)")
    common.add_argument("--json", action="store_true", help="print JSON")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress details")

    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("index", parents=[common], help="sync the index with the articles dir")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    for name, what in (("ask", "QUESTION"), ("search", "QUERY")):
        p = sub.add_parser(name, parents=[common], help=f"{name} ({what} '-' reads stdin lines)")
        p.add_argument("text", metavar=what)
        p.add_argument("--k", type=int, default=5, help="passages to retrieve (default 5)")
        p.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published since")
        p.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published until")
        if name == "ask":
            p.add_argument("--llm", help="chat model, ollama:MODEL or openai:MODEL (env RAG_LLM)")
    p = sub.add_parser(
        "add",
        parents=[common],
        help="copy article files, or fetch web pages, into the articles dir; sync",
    )
    p.add_argument("paths", nargs="+", metavar="FILE_OR_URL", help="a file, or an http(s) URL")
    p = sub.add_parser("eval", parents=[common], help="metrics on a QA file (JSON lines or SQuAD)")
    p.add_argument("qa_file", type=Path, metavar="QA_FILE")
    p.add_argument(
        "--corpus-from-file",
        action="store_true",
        help="index the file's own paragraphs in a temporary index instead of the current one",
    )
    p.add_argument("--k", type=int, default=5, help="passages the answers use (default 5)")
    p.add_argument("--limit", type=int, help="evaluate the first N questions only")
    p.add_argument("--no-answers", action="store_true", help="score retrieval only (faster)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        articles_dir=args.articles,
        index_dir=args.index,
        embedding_model=args.model,
        chroma_url=args.chroma_url,
        llm=getattr(args, "llm", None),
    )


def _progress(unit: str = "article", desc: str = "embedding") -> Any:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit=unit, desc=desc)
        bar.total = total
        bar.n = done
        bar.refresh()

    return update


def _report(report: SyncReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return
    if report.rebuilt:
        print(f"Rebuilt the index: {report.rebuilt}.")
    if report.resplit:
        print(f"Sentence splitting changed: {report.resplit} chunks split and embedded anew.")
    print(
        f"{report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.embedded} chunks embedded, "
        f"{report.chunks} in the index ({report.seconds:.1f} s)."
    )
    for aid, reason in report.skipped.items():
        print(f"skipped {aid}: {reason}")


def _inputs(text: str) -> Iterator[str]:
    if text != "-":
        yield text
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def answer_json(ans: Answer) -> dict[str, Any]:
    out: dict[str, Any] = {
        "question": ans.question,
        "answer": ans.text,
        "abstained": ans.abstained,
        "mode": ans.mode,
        "citations": [
            {
                "n": c.n,
                "article": c.article_id,
                "title": c.title,
                "start": c.start,
                "end": c.end,
                "quote": c.quote,
                "score": c.score,
                "date": c.date,
                "url": c.url,
                "also_reported_by": [
                    {"article": o.article_id, "title": o.title, "date": o.date, "url": o.url}
                    for o in c.also_reported_by
                ],
            }
            for c in ans.citations
        ],
    }
    if ans.mode == "llm":  # LLM mode adds its verification and the extractive answer
        out["verified"] = ans.verified
        out["problems"] = ans.problems
        out["translated"] = ans.translated
        out["extractive"] = answer_json(ans.extractive) if ans.extractive else None
    return out


def hits_json(query: str, hits: list[Hit]) -> dict[str, Any]:
    return {
        "query": query,
        "hits": [
            {
                "article": h.article_id,
                "title": h.title,
                "start": h.start,
                "end": h.end,
                "text": h.text,
                "score": round(h.score, 6),
                "date": h.date,
                "url": h.url,
            }
            for h in hits
        ],
    }


def _print_answer(ans: Answer, *, streamed: str | None = None) -> None:
    """`streamed`: what was already printed token by token (LLM mode)."""
    if streamed is None or ans.abstained:
        print(ans.text)
    elif streamed.strip() != ans.text:  # re-cited: show the citations as checked
        print(f"\nAs cited: {ans.text}")
    else:
        print()
    if ans.translated:
        print("(Machine translation by the chat model: the passages cited are the originals.)")
    label = " (closest, not an answer)" if ans.abstained else ""
    for c in ans.citations:
        print(f"  [{c.n}] {c.title} ({_where(c.article_id, c.date, c.start, c.end)}){label}")
        if c.also_reported_by:
            also = "; ".join(f"{o.title} ({o.date or 'undated'})" for o in c.also_reported_by)
            print(f"      also reported by {len(c.also_reported_by)}: {also}")
    if not ans.verified:
        print("Not verified: " + "; ".join(ans.problems) + ".")
    if ans.extractive and (not ans.verified or ans.abstained != ans.extractive.abstained):
        print("Extractive answer:")
        _print_answer(ans.extractive)


def _where(article_id: str, date: str | None, start: int, end: int) -> str:
    """ "xiaomi.md, 2024-07-19, 0-124": the article, its date when it has one, the offsets."""
    return ", ".join([article_id, *([date] if date else []), f"{start}-{end}"])


def _token_printer(shown: list[str]) -> Callable[[str], None]:
    def show(token: str) -> None:
        shown.append(token)
        print(token, end="", flush=True)

    return show


def _print_hits(hits: list[Hit]) -> None:
    for i, h in enumerate(hits, 1):
        where = _where(h.article_id, h.date, h.start, h.end)
        print(f"{i}. {h.title} ({where}) score {h.score:.4f}")
        print(f"   {h.text[:300]}")


def _add(engine: Engine, sources: list[str]) -> list[Path]:
    """Copy files into the articles dir the way the page's upload does (safe names, size limit,
    never overwriting a different article); fetch http(s) URLs (rag.web)."""
    added = []
    for source in sources:
        if re.match(r"(?i)https?://", source):
            added.append(engine.add_url(source))
            continue
        path = Path(source)
        if not path.is_file():
            raise RagError(f"{path} is not a file (nor an http:// or https:// address).")
        added.append(engine.add_file(path.name, path.read_bytes()))
    return added


def _eval(args: argparse.Namespace) -> None:
    items = load_qa(args.qa_file)[: args.limit]
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        settings = _settings(args)
        if args.corpus_from_file:
            root = Path(tmp)
            items = write_corpus(items, root / "articles")
            settings = replace(
                settings,
                articles_dir=root / "articles",
                index_dir=root / "index",
                chroma_url=None,
                collection="eval",
            )
            engine = open_engine(settings)
            engine.sync(progress=_progress())
        else:
            engine = open_engine(settings, must_exist=True)
        progress = _progress("question", "evaluating")
        report = evaluate(engine, items, k=args.k, answers=not args.no_answers, progress=progress)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return
    m, c = report.metrics, report.counts
    rows = [
        ("recall@1", m["recall@1"], c["retrieval_judged"]),
        ("recall@5", m["recall@5"], c["retrieval_judged"]),
        ("MRR@10", m["mrr@10"], c["retrieval_judged"]),
        ("answer accuracy", m["answer_accuracy"], c["answer_scored"]),
        ("sentence accuracy", m["sentence_accuracy"], c["answer_scored"]),
        ("short answer right", m["short_answer_accuracy"], c["answer_scored"]),
        ("short answer shown", m["short_answer_shown"], c["answer_scored"]),
        ("short answer EM", m["short_answer_em"], c["short_answers"]),
        ("short answer F1", m["short_answer_f1"], c["short_answers"]),
        ("citation accuracy", m["citation_accuracy"], c["citations_scored"]),
        ("abstention precision", m["abstention_precision"], c["abstained"]),
        ("abstention recall", m["abstention_recall"], c["unanswerable"]),
    ]
    print(f"{c['questions']} questions from {args.qa_file}")
    print(f"{'metric':<22}{'value':>8}{'over':>7}")
    for name, value, over in rows:
        shown = "-" if value is None else f"{value:.3f}"
        print(f"{name:<22}{shown:>8}{over:>7}")
    for name in ("latency_p50", "latency_p95"):
        value = m[name]
        shown = "-" if value is None else f"{value * 1000:.0f} ms"
        print(f"{name.replace('_', ' '):<22}{shown:>8}")


def run(args: argparse.Namespace) -> None:
    if args.command == "eval":
        _eval(args)
        return
    querying = args.command in ("ask", "search")
    published = Published.parse(args.since, args.until) if querying else None  # before loading
    rebuild = getattr(args, "rebuild", False)
    engine = open_engine(_settings(args), must_exist=querying, rebuilding=rebuild)
    if args.command in ("index", "add"):
        if args.command == "add":
            _add(engine, args.paths)
        _report(engine.sync(rebuild=rebuild, progress=_progress()), args.json)
    elif querying:
        _ask_or_search(engine, args, published)


def _ask_or_search(engine: Engine, args: argparse.Namespace, published: Published | None) -> None:
    if args.command == "search":
        for query in _inputs(args.text):
            hits = engine.search(query, k=args.k, published=published)
            if args.json:
                print(json.dumps(hits_json(query, hits), ensure_ascii=False), flush=True)
            else:
                _print_hits(hits)
        return
    stream = not args.json and bool(engine.settings.llm)
    for question in _inputs(args.text):
        shown: list[str] = []
        ans = engine.ask(
            question,
            k=args.k,
            on_token=_token_printer(shown) if stream else None,
            published=published,
        )
        if args.json:
            print(json.dumps(answer_json(ans), ensure_ascii=False), flush=True)
        else:
            _print_answer(ans, streamed="".join(shown) if stream else None)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="rag: %(levelname)s: %(message)s",
    )
    try:
        run(args)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback
        kept = ""
        if args.command in ("index", "add"):
            kept = " The articles indexed so far are kept: run `rag index` again to finish."
        print(f"rag: interrupted.{kept}", file=sys.stderr)
        return 130  # 128 + SIGINT, as shells report it
    return 0
