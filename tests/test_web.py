"""Adding an article by its URL, against a real HTTP server on 127.0.0.1: the page fetched,
extracted and indexed; private addresses refused unless allowed; failures change nothing."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import make_engine

from rag.cli import main
from rag.config import Settings
from rag.embeddings import Embedder
from rag.errors import RagError
from rag.web import add_url, canonical, fetch, file_name

ARTICLE = """<!doctype html>
<html lang="fr"><head>
<title>Brest : le nouveau terminal ferry ouvre en septembre | Le Télégramme</title>
<meta property="og:title" content="Brest : le nouveau terminal ferry ouvre en septembre">
<meta property="og:site_name" content="Le Télégramme">
<meta property="article:published_time" content="2026-03-14T08:30:00+01:00">
</head><body>
<nav>Accueil · Régions · Sport</nav>
<article>
<h1>Brest : le nouveau terminal ferry ouvre en septembre</h1>
<p>Le nouveau terminal ferry du port de Brest ouvrira le 14 septembre 2026, a annoncé mardi
l'autorité portuaire. Il accueillera les traversées vers l'Irlande et vers Plymouth.</p>
<p>Le terminal a coûté 48 millions d'euros, financés par la région et par le port. Les
premiers navires de la compagnie Brittany Ferries y accosteront dès l'ouverture.</p>
<p>Les travaux, commencés en 2024, ont duré deux ans et ont mobilisé plus de 300 ouvriers
sur le chantier du port de commerce.</p>
</article>
<footer>© Le Télégramme — mentions légales</footer>
</body></html>
"""


class Site:
    """Pages by path: /article.html, /moved (a redirect to it), /missing (404), /slow (answers
    after 3 s), /data.json (not HTML), /huge.html (2 MB)."""

    def __init__(self) -> None:
        self.paths: list[str] = []  # every path asked for
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.paths.append(self.path)
                if self.path == "/article.html":
                    self._send(200, "text/html; charset=utf-8", ARTICLE.encode())
                elif self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "/article.html")
                    self.end_headers()
                elif self.path == "/slow":
                    time.sleep(3)
                    self._send(200, "text/html", ARTICLE.encode())
                elif self.path == "/data.json":
                    self._send(200, "application/json", json.dumps({"a": 1}).encode())
                elif self.path == "/huge.html":
                    self._send(200, "text/html", b"<p>" + b"x" * 2_000_000 + b"</p>")
                else:
                    self.send_error(404)

            def _send(self, code: int, kind: str, body: bytes) -> None:
                # The timeout test's client hangs up before /slow answers: not an error here.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(code)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


def test_a_page_is_saved_as_markdown_with_its_metadata_once(site: Site, tmp_path: Path) -> None:
    url = f"{site.url}/article.html"
    path = add_url(tmp_path, url, allow_private=True, max_bytes=1_000_000)
    text = path.read_text(encoding="utf-8")
    assert path.suffix == ".md" and text.startswith("---\n")
    assert f"url: {url}\n" in text and "date: '2026-03-14'" in text
    assert "title: 'Brest : le nouveau terminal ferry ouvre en septembre'" in text
    assert "48 millions d'euros" in text and "mentions légales" not in text
    # The same URL (even spelled differently) is one article; a redirect lands on it too.
    again = add_url(
        tmp_path,
        url.replace("http://", "HTTP://") + "#top",
        allow_private=True,
        max_bytes=1_000_000,
    )
    assert again == path and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_private_addresses_are_refused_unless_allowed(site: Site, tmp_path: Path) -> None:
    with pytest.raises(RagError, match="RAG_ALLOW_PRIVATE_URLS=1"):
        add_url(tmp_path, f"{site.url}/article.html", allow_private=False, max_bytes=10**6)
    for url in (
        "http://localhost/",
        "http://[::1]/",
        "http://169.254.169.254/latest/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
    ):
        with pytest.raises(RagError, match="private, loopback or link-local"):
            fetch(url, allow_private=False, max_bytes=10**6)
    assert not list(tmp_path.iterdir())


def test_the_connection_goes_to_the_address_checked(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name that resolves to a public address when checked, then to this
    machine, must not reach this machine's server."""
    real, lookups = socket.getaddrinfo, []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "news.example":
            return real(host, *args, **kwargs)
        lookups.append(host)
        return real("8.8.8.8" if len(lookups) == 1 else "127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    before = len(site.paths)
    port = site.url.rsplit(":", 1)[1]
    with pytest.raises(RagError, match="nothing was added"):
        fetch(f"http://news.example:{port}/article.html", allow_private=False, max_bytes=10**6,
              timeout=1)  # fmt: skip
    assert lookups == ["news.example"] and len(site.paths) == before


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "answered 404"),
        ("/slow", "did not answer within 1 s"),
        ("/data.json", "is not a web page (application/json)"),
        ("/huge.html", "over the limit of 1,000,000 bytes"),
    ],
)
def test_a_failed_fetch_says_why_and_writes_nothing(
    site: Site, tmp_path: Path, path: str, message: str
) -> None:
    with pytest.raises(RagError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        if path == "/slow":
            fetch(f"{site.url}{path}", allow_private=True, max_bytes=10**6, timeout=1)
        else:
            add_url(tmp_path, f"{site.url}{path}", allow_private=True, max_bytes=1_000_000)
    assert (
        "nothing was added" in str(err.value)
        or "limit" in str(err.value)
        or "web page" in str(err.value)
    )
    assert not list(tmp_path.iterdir())


def test_only_web_addresses(tmp_path: Path) -> None:
    for url in ("file:///etc/passwd", "ftp://example.com/a.html", "javascript:alert(1)", "/x"):
        with pytest.raises(RagError, match="not an http:// or https:// address"):
            canonical(url)
    assert canonical("HTTPS://Example.COM:443/a?b=1#c") == "https://example.com/a?b=1"
    assert file_name("https://example.com/news/brest-ferry.html").startswith("brest-ferry-")


def test_rag_add_url_then_ask_cites_the_url(
    site: Site,
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    articles, index = tmp_path / "articles", tmp_path / "index"
    articles.mkdir()
    args = ["--articles", str(articles), "--index", str(index), "--json"]
    url = f"{site.url}/moved"  # redirects to /article.html
    monkeypatch.delenv("RAG_ALLOW_PRIVATE_URLS", raising=False)
    assert main(["add", url, *args]) == 2
    assert "RAG_ALLOW_PRIVATE_URLS=1" in capsys.readouterr().err and not list(articles.iterdir())

    monkeypatch.setenv("RAG_ALLOW_PRIVATE_URLS", "1")
    make_engine(Settings(articles_dir=articles, index_dir=index), embedder)  # the model, once
    assert main(["add", url, *args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == 1
    assert main(["ask", "When does the new Brest ferry terminal open?", *args]) == 0
    ans = json.loads(capsys.readouterr().out)
    [cite] = ans["citations"][:1]
    assert not ans["abstained"] and "14 septembre 2026" in cite["quote"]
    assert cite["url"] == f"{site.url}/article.html" and cite["date"] == "2026-03-14"


def test_odd_addresses_are_refused_or_encoded() -> None:
    with pytest.raises(RagError, match="invalid host name"):
        canonical("http://%31%32%37.0.0.1/")  # the client would connect to 127.0.0.1
    assert canonical("https://example.com/actualité/voiture électrique.html") == (
        "https://example.com/actualit%C3%A9/voiture%20%C3%A9lectrique.html"
    )
