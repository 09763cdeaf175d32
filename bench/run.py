"""`make bench`: our pipeline against BM25 alone, dense alone and the LangChain tutorial
pipeline, in one process on one machine, on the data in ../shared/data; writes its section of
docs/benchmarks.md (one per mode), its ingestion plot and bench/out/run/results.json.

    python -m bench.run --data ../shared/data            # small samples, about 6 min
    python -m bench.run --data ../shared/data --full     # the whole sets, about 45 min

Retrieval corpora are cached under bench/out/run/corpora/, keyed by a hash of their files, so
re-runs only embed what changed (our index through `rag`'s own sync). Ingestion is always
timed on a fresh build; on a cold cache the build at the OrangeSum retrieval size becomes that
corpus's index instead of being thrown away.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench import analysis, report
from bench.data import Corpus, Task, load_tasks, orangesum, orangesum_doc
from bench.pipelines import Ours, Tutorial, tutorial_embeddings, write_docs
from rag.config import DEFAULT_MODEL, Settings
from rag.embeddings import load_embedder, resolve_model
from rag.evaluate import evaluate

log = logging.getLogger("bench")
ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {
    "paragraphs": 120,
    "orangesum": 300,
    "ingest": "100,1000",
    "queries": 300,
    "answers": 30,
}
FULL = {
    "paragraphs": None,
    "orangesum": 2000,
    "ingest": "1000,2000,5000",
    "queries": None,
    "answers": 200,
}


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="the shared data dir")
    p.add_argument("--out", type=Path, help="work dir (default: bench/out/run, --full: full)")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--full", action="store_true", help="whole data sets (sizes of the issue)")
    p.add_argument("--paragraphs", type=int, help="PIAF/SQuAD paragraphs sampled (0: all)")
    p.add_argument("--orangesum", type=int, help="OrangeSum articles in the retrieval corpus")
    p.add_argument("--ingest", help="comma-separated OrangeSum sizes for the ingestion timing")
    p.add_argument("--queries", type=int, help="queries per task at most (0: all)")
    p.add_argument("--answers", type=int, help="questions per set for the answer metrics")
    p.add_argument(
        "--no-tutorial-ingest",
        action="store_true",
        help="time only our ingestion (the tutorial still indexes the corpora)",
    )
    p.add_argument(
        "--from-results",
        type=Path,
        help="measure nothing: write the doc and plot from a saved results.json",
    )
    args = p.parse_args(argv)
    for key, value in (FULL if args.full else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.out = args.out or ROOT / "bench" / "out" / ("full" if args.full else "run")
    args.paragraphs = args.paragraphs or None
    args.queries = args.queries or None
    args.ingest = sorted({int(s) for s in str(args.ingest).split(",") if s.strip()})
    return args


def _machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    import torch

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
        platform.processor(),
    )
    mem = next(
        (int(line.split()[1]) // 1024 // 1024 for line in meminfo if line.startswith("MemTotal")), 0
    )
    versions = {}
    for pkg in (
        "torch",
        "sentence-transformers",
        "transformers",
        "chromadb",
        "langchain-core",
        "langchain-chroma",
        "langchain-text-splitters",
        "langchain-huggingface",
    ):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": mem,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _corpus_dir(out: Path, corpus: Corpus) -> Path:
    digest = hashlib.sha256()
    for name in sorted(corpus.docs):
        digest.update(name.encode() + b"\0" + corpus.docs[name].encode() + b"\0")
    return out / "corpora" / f"{corpus.name}-{digest.hexdigest()[:12]}"


def ingestion(
    args: argparse.Namespace, embedder: Any, tut_embeddings: Any, news_dir: Path
) -> list[dict[str, Any]]:
    """Fresh builds of the first N OrangeSum articles, then a sync after adding one more."""
    source = args.data / "orangesum" / "orangesum.jsonl.gz"
    articles = orangesum(source, 0, max(args.ingest) + 1)
    rows = []
    for size in args.ingest:
        docs = dict(orangesum_doc(a) for a in articles[:size])
        extra = dict([orangesum_doc(articles[size])])
        row: dict[str, Any] = {"articles": size, "load_before": _load()}
        promote = size == args.orangesum and not (news_dir / "tutorial.json").exists()
        root = news_dir if promote else args.out / "tmp" / f"ingest-{size}-{uuid.uuid4().hex[:8]}"
        if promote:  # a cold cache: build the corpus index itself (a fresh build all the same)
            shutil.rmtree(news_dir, ignore_errors=True)
        write_docs(root / "articles", docs)
        ours = Ours(root, embedder)
        rep, seconds, encode = ours.sync()
        writes = ours.write_seconds
        write_docs(root / "articles", docs | extra)
        upd, upd_seconds, _ = ours.sync()
        row["ours"] = {
            "writes": writes,
            "seconds": seconds,
            "encode": encode,
            "chunks": rep.embedded,
            "update_seconds": upd_seconds,
            "update_embedded": upd.embedded,
        }
        log.info("ingest %d ours: %s", size, row["ours"])
        if not args.no_tutorial_ingest:
            tut = Tutorial(root, tut_embeddings)
            t_seconds, t_encode, t_chunks = tut.build(sorted(docs))
            t_update = tut.add(sorted(extra))
            row["tutorial"] = {
                "seconds": t_seconds,
                "encode": t_encode,
                "chunks": t_chunks,
                "update_seconds": t_update,
            }
            log.info("ingest %d tutorial: %s", size, row["tutorial"])
        row["load_after"] = _load()
        rows.append(row)
    return rows


def retrieval(
    args: argparse.Namespace,
    corpora: dict[str, Corpus],
    tasks: list[Task],
    embedder: Any,
    tut_embeddings: Any,
) -> tuple[list[dict[str, Any]], dict[str, Ours]]:
    results, engines = [], {}
    for name, corpus in corpora.items():
        root = _corpus_dir(args.out, corpus)
        write_docs(root / "articles", corpus.docs)
        ours = Ours(root, embedder)
        rep, seconds, _ = ours.sync()
        tut = Tutorial(root, tut_embeddings)
        status = tut.ensure(sorted(corpus.docs))
        log.info(
            "corpus %s: ours embedded %d chunks (%.0f s); tutorial %s",
            name,
            rep.embedded,
            seconds,
            status,
        )
        engines[name] = ours
        for task in (t for t in tasks if t.corpus == name):
            started = time.perf_counter()
            results.append(analysis.run_task(task, ours, tut, embedder))
            log.info("task %s: %.0f s", task.name, time.perf_counter() - started)
    order = [t.name for t in tasks]
    return sorted(results, key=lambda r: order.index(r["name"])), engines


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if args.from_results:
        return _publish(json.loads(args.from_results.read_text()), args.doc)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    for noisy in ("httpx", "chromadb", "sentence_transformers", "rag"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started, load_start = time.perf_counter(), _load()
    command = "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv)
    settings = Settings()
    embedder = load_embedder(DEFAULT_MODEL, settings.cache_dir)
    tut_embeddings, tut_kind = tutorial_embeddings(resolve_model(DEFAULT_MODEL, settings.cache_dir))
    corpora, tasks, answer_sets = load_tasks(
        args.data,
        paragraphs=args.paragraphs,
        orangesum_n=args.orangesum,
        max_queries=args.queries,
        answer_questions=args.answers,
    )
    shutil.rmtree(args.out / "tmp", ignore_errors=True)
    ingest = ingestion(args, embedder, tut_embeddings, _corpus_dir(args.out, corpora["news-fr"]))
    tasks_out, engines = retrieval(args, corpora, tasks, embedder, tut_embeddings)
    answers = {}
    for name, items in answer_sets.items():
        ans_started = time.perf_counter()
        answers[name] = evaluate(engines[name].open(), items).to_json()
        log.info("answers %s: %.0f s", name, time.perf_counter() - ans_started)
    shutil.rmtree(args.out / "tmp", ignore_errors=True)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "mode": "full" if args.full else "default",
        "sentence_vectors": Settings.from_env().sentence_vectors,
        "machine": _machine(),
        "load_start": load_start,
        "load_end": _load(),
        "minutes": (time.perf_counter() - started) / 60,
        "tutorial_embeddings": tut_kind,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "corpora": {n: len(c.docs) for n, c in corpora.items()},
        "ingestion": ingest,
        "tasks": tasks_out,
        "answers": answers,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return _publish(results, args.doc)


SECTIONS = {  # mode -> (marked section of the doc, plot file next to it)
    "default": ("run", "ingestion.png"),
    "full": ("full", "ingestion-full.png"),
}


def _publish(results: dict[str, Any], doc: Path) -> int:
    """Write the run's section of `doc` (one per mode) and its ingestion plot."""
    section, image = SECTIONS[results["mode"]]
    report.plot(results["ingestion"], doc.parent / image)
    body = analysis.render(results, image)
    report.write_section(doc, body, section)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
