"""The chat page served by `streamlit run ui/app.py` on a free loopback port, as the browser
tests and the page benchmark run it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION_BOX = "Ask a question about the articles"


class PageError(RuntimeError):
    """The page's server did not come up; the message holds its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_page(
    articles_dir: Path, index_dir: Path, log_path: Path, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """The page over `index_dir` (built already), its URL once healthy; killed afterwards.
    `env`: more variables for it (a chat model)."""
    port = free_port()
    full = {
        **os.environ,
        "RAG_ARTICLES_DIR": str(articles_dir),
        "RAG_INDEX_DIR": str(index_dir),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    for var in ("RAG_EMBEDDING_MODEL", "RAG_CHROMA_URL", "RAG_LLM"):
        full.pop(var, None)
    full.update(env or {})
    command = [
        *(sys.executable, "-m", "streamlit", "run", "ui/app.py"),
        *("--server.port", str(port), "--server.headless", "true"),
        *("--browser.gatherUsageStats", "false"),
        # No "File change. Rerun?" prompts while others edit the tree, a clean toolbar.
        *("--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"),
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=full,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while not _healthy(url):
            if proc.poll() is not None:
                raise PageError(f"streamlit exited with {proc.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                raise PageError(f"streamlit did not start in 120 s:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        _stop(proc)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server (its own process group), then kill it if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
