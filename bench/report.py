"""Turn a bench run's results into markdown tables, the ingestion plot, and the section of
docs/benchmarks.md between `<!-- bench:run -->` and `<!-- /bench:run -->` (other sections of
that file, written by other scripts, are kept). It computes nothing but ratios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SYSTEMS = {
    "ours": "ours (hybrid)",
    "bm25": "BM25 alone",
    "dense": "dense alone",
    "tutorial": "LangChain tutorial",
}


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.0f}"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def retrieval_table(tasks: list[dict[str, Any]]) -> str:
    rows = []
    for t in tasks:
        best = {
            m: max(s[m] for k, s in t["systems"].items() if k != "ours")
            for m in ("recall@1", "recall@5", "mrr@10")
        }
        for key, s in t["systems"].items():
            cells = []
            for m in ("recall@1", "recall@5", "mrr@10"):
                text = _f(s[m])
                cells.append(f"**{text}**" if key == "ours" and s[m] >= best[m] else text)
            first = key == "ours"
            embed = f"{_ms(t['embed_p50'])} / {_ms(t['embed_p95'])}" if first else ""
            rows.append(
                [
                    t["name"] if first else "",
                    str(t["n"]) if first else "",
                    SYSTEMS[key],
                    *cells,
                    _ms(s["p50"]),
                    _ms(s["p95"]),
                    embed,
                ]
            )
    return table(
        [
            "task",
            "queries",
            "system",
            "R@1",
            "R@5",
            "MRR@10",
            "search p50 ms",
            "search p95 ms",
            "embed p50 / p95 ms",
        ],
        rows,
    )


def ratio_table(tasks: list[dict[str, Any]]) -> str:
    rows = []
    for t in tasks:
        ours = t["systems"]["ours"]
        cells = []
        for key in ("bm25", "dense", "tutorial"):
            other = t["systems"][key]
            cells.append(" / ".join(f"{ours[m] - other[m]:+.3f}" for m in ("recall@1", "recall@5")))
        rows.append([t["name"], *cells])
    return table(["task", "vs BM25", "vs dense", "vs tutorial"], rows)


def ingestion_table(rows_in: list[dict[str, Any]]) -> str:
    rows = []
    for r in rows_in:
        o, t = r["ours"], r.get("tutorial")
        rows.append(
            [
                str(r["articles"]),
                f"{o['seconds']:.1f}",
                str(o["chunks"]),
                f"{o['chunks'] / o['seconds']:.1f}",
                f"{o['encode']:.1f}",
                f"{100 * (o['seconds'] - o['encode']) / o['encode']:.1f}%",
                f"{o['writes']:.1f}" if "writes" in o else "–",
                f"{o['update_seconds']:.2f} ({100 * o['update_seconds'] / o['seconds']:.2f}%)",
                f"{t['seconds']:.1f}" if t else "–",
                str(t["chunks"]) if t else "–",
                f"{t['encode']:.1f}" if t else "–",
                f"**{t['seconds'] / o['seconds']:.2f}x**" if t else "–",
                f"{t['update_seconds']:.2f}" if t else "–",
                f"{t['seconds'] / o['update_seconds']:.0f}x" if t else "–",
            ]
        )
    return table(
        [
            "articles",
            "ours s",
            "ours chunks",
            "chunks/s",
            "encode s",
            "overhead",
            "of which Chroma writes s",
            "+1 article sync s (% of build)",
            "tutorial s",
            "tutorial chunks",
            "tutorial encode s",
            "tutorial / ours",
            "tutorial +1 (add_documents) s",
            "tutorial re-run / ours +1 sync",
        ],
        rows,
    )


def answers_table(sets: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, r in sets.items():
        m, c = r["metrics"], r["counts"]
        rows.append(
            [
                name,
                str(c["questions"]),
                f"{_f(m['recall@1'])} / {_f(m['recall@5'])}",
                f"{_f(m['answer_accuracy'])} ({c['answer_scored']})",
                f"{_f(m.get('sentence_accuracy'))} / {_f(m.get('short_answer_accuracy'))}",
                f"{_f(m['citation_accuracy'])} ({c['citations_scored']})",
                f"{_f(m['abstention_precision'])} ({c['abstained']})",
                f"{_f(m['abstention_recall'])} ({c['unanswerable']})",
                _ms(m["latency_p50"]),
                _ms(m["latency_p95"]),
            ]
        )
    return table(
        [
            "set",
            "questions",
            "R@1 / R@5",
            "answer acc, strict (n)",
            "sentence / short answer right",
            "citation acc (n)",
            "abstention precision (n abstained)",
            "abstention recall (n unanswerable)",
            "ask p50 ms",
            "ask p95 ms",
        ],
        rows,
    )


def fusion_table(tasks: list[dict[str, Any]]) -> str:
    variants = list(tasks[0]["fusion"])
    rows = [
        [
            t["name"],
            *(
                f"{_f(t['fusion'][v]['recall@1'])} / {_f(t['fusion'][v]['recall@5'])}"
                for v in variants
            ),
        ]
        for t in tasks
    ]
    return table(["task", *variants], rows)


def targets_table(targets: list[dict[str, Any]]) -> str:
    rows = [
        [t["what"], t["target"], t["got"], "met" if t["met"] else "**missed**", t["note"]]
        for t in targets
    ]
    return table(["target", "wanted", "got", "", "conditions"], rows)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    sizes = [r["articles"] for r in rows]
    ax.plot(sizes, [r["ours"]["seconds"] for r in rows], "o-", label="ours (rag index)")
    ax.plot(sizes, [r["ours"]["encode"] for r in rows], ":", color="C0", label="ours: encode only")
    tut = [r for r in rows if r.get("tutorial")]
    if tut:
        ax.plot(
            [r["articles"] for r in tut],
            [r["tutorial"]["encode"] for r in tut],
            ":",
            color="C3",
            label="tutorial: encode only",
        )
        ax.plot(
            [r["articles"] for r in tut],
            [r["tutorial"]["seconds"] for r in tut],
            "s-",
            color="C3",
            label="LangChain tutorial (from_documents)",
        )
    ax.set_xlabel("OrangeSum articles")
    ax.set_ylabel("build time (s)")
    ax.set_title("Ingestion time, same model (multilingual-e5-small), same machine")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def write_section(doc: Path, body: str, name: str) -> None:
    """Replace the section marked `name` in `doc`, keeping everything else; add it if needed."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = f"{begin}\n{body.strip()}\n{end}"
    old = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if begin in old and end in old:
        new = old[: old.index(begin)] + section + old[old.index(end) + len(end) :]
    elif old.strip():
        new = old.rstrip() + "\n\n" + section + "\n"
    else:
        new = "# Benchmarks\n\n" + section + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(new, encoding="utf-8")
