"""Add an article by its URL: fetch the page safely, extract the article, save it as Markdown.

`add_url(root, url, ...)` fetches an http(s) page (a timeout, a size limit, at most
MAX_REDIRECTS redirects, each checked like the first URL), extracts the article with the HTML
loader (`rag.articles`: trafilatura's text, title, date, site name) and writes it into `root`
as `.md` with front matter (`title`, `date`, `url`, `source`), in one atomic step. The file's
name comes from the URL, so the same URL added twice is one article (updated in place).

A URL whose host resolves to a private, loopback, link-local or otherwise non-public address
is refused (a server-side request forgery guard: the page may run on a machine that sees an
intranet) unless `allow_private` (RAG_ALLOW_PRIVATE_URLS=1). The name is resolved once per
request, checked, and the connection made to the address checked (the Host header and the
TLS certificate check keep the name): a DNS answer that changes in between (DNS rebinding)
cannot send the request elsewhere. Nothing is written unless the page was fetched and an
article found in it.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import logging
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import yaml

from rag.articles import parse_html
from rag.errors import ArticleError, RagError
from rag.library import replace_article

log = logging.getLogger(__name__)

TIMEOUT = 15.0  # seconds for the whole of each request
MAX_REDIRECTS = 5  # enough for http -> https -> the canonical address; more is a loop
HTML_TYPES = ("text/html", "application/xhtml+xml")
USER_AGENT = "rag-news/0.1 (+local article reader)"
_SLUG = re.compile(r"[^\w]+")


def canonical(url: str) -> str:
    """The URL as one article is known by: scheme and host in lower case, no fragment, no
    default port. A RagError unless it is an absolute http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise RagError(f"{url!r} is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise RagError(
            f"{url!r} is not an http:// or https:// address; only web pages are fetched."
        )
    host = parts.hostname.lower()
    if "%" in host or any(ch.isspace() for ch in host):  # the client would decode "%31" to "1"
        raise RagError(f"{url!r} has an invalid host name.")
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    netloc = host if port in (None, default) else f"{host}:{port}"
    if ":" in host:  # an IPv6 literal keeps its brackets
        netloc = f"[{host}]" if port in (None, default) else f"[{host}]:{port}"
    # Non-ASCII and spaces percent-encoded (what http.client can send); escapes kept as they are.
    path, query = (quote(p, safe="/%:@!$&'()*+,;=-._~?") for p in (parts.path or "/", parts.query))
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


def check_host(url: str, *, allow_private: bool) -> str:
    """The address to connect to for `url`'s host: a RagError if it cannot be resolved, or
    resolves to an address that is not public and `allow_private` is off."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise RagError(f"Cannot find the server {host!r} ({exc}). Check the address.") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses if not allow_private else ():
        if not address.is_global or address.is_multicast:
            raise RagError(
                f"{host} is a private, loopback or link-local address ({address}): such pages "
                "are not fetched, so that this tool cannot be made to reach inside your "
                "network. Set RAG_ALLOW_PRIVATE_URLS=1 to allow it."
            )
    return str(addresses[0])


def _pinned(cls: type[http.client.HTTPConnection], address: str) -> Callable[..., Any]:
    """`cls` connecting to `address` whatever its host name resolves to by then."""

    def connection(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        conn = cls(host, **kwargs)
        connect = conn._create_connection  # type: ignore[attr-defined]
        conn._create_connection = (  # type: ignore[attr-defined]
            lambda where, *args: connect((address, where[1]), *args)
        )
        return conn

    return connection


class _PinnedHTTP(urllib.request.HTTPHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_pinned(http.client.HTTPConnection, self.address), req)


class _PinnedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        context = ssl.create_default_context()
        return self.do_open(
            _pinned(http.client.HTTPSConnection, self.address), req, context=context
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by `fetch`, which checks each new address first."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener(address: str) -> urllib.request.OpenerDirector:
    """Connects to `address` only: no proxy, no redirect followed."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _NoRedirects, _PinnedHTTP(address), _PinnedHTTPS(address)
    )


def fetch(
    url: str, *, allow_private: bool, max_bytes: int, timeout: float = TIMEOUT
) -> tuple[str, bytes]:
    """The final URL and the bytes of the HTML page at `url`; a RagError saying what went
    wrong otherwise (refused address, HTTP error, timeout, too big, not HTML)."""
    current = canonical(url)
    for _ in range(MAX_REDIRECTS + 1):
        address = check_host(current, allow_private=allow_private)
        request = urllib.request.Request(current, headers={"User-Agent": USER_AGENT})
        try:
            with _opener(address).open(request, timeout=timeout) as response:
                kind = response.headers.get_content_type()
                if kind not in HTML_TYPES:
                    raise RagError(
                        f"{current} is not a web page ({kind}); add files other than HTML "
                        "with `rag add FILE` or the upload."
                    )
                declared = response.headers.get("Content-Length") or "0"
                too_big = declared.isdigit() and int(declared) > max_bytes
                data = b"" if too_big else _read(response, max_bytes + 1, timeout)
                if too_big or len(data) > max_bytes:
                    raise RagError(
                        f"{current} is over the limit of {max_bytes:,} bytes; raise "
                        "RAG_MAX_ARTICLE_BYTES to accept it."
                    )
                return current, data
        except urllib.error.HTTPError as exc:
            location = exc.headers.get("Location") if 300 <= exc.code < 400 else None
            if not location:
                raise RagError(
                    f"{current} answered {exc.code} {exc.reason}: nothing was added."
                ) from None
            current = canonical(urljoin(current, location))
        except TimeoutError:
            raise RagError(
                f"{current} did not answer within {timeout:.0f} s: nothing was added."
            ) from None
        except (http.client.HTTPException, ConnectionError, UnicodeError, ValueError) as exc:
            raise RagError(
                f"Cannot fetch {current} ({type(exc).__name__}: {exc}): nothing was added."
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise RagError(
                    f"{current} did not answer within {timeout:.0f} s: nothing was added."
                ) from None
            raise RagError(f"Cannot fetch {current} ({reason}): nothing was added.") from None
    raise RagError(f"{url} redirects more than {MAX_REDIRECTS} times: nothing was added.")


def _read(response: http.client.HTTPResponse, limit: int, timeout: float) -> bytes:
    """At most `limit` bytes, within `timeout` seconds in all (a server trickling bytes would
    otherwise hold the socket timeout off forever)."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read(min(1 << 16, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def file_name(url: str) -> str:
    """The article's file name, from its URL alone (the same URL, the same file): a slug of
    the URL's last path segment and a hash of the whole URL."""
    parts = urlsplit(url)
    base = parts.path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or parts.hostname or ""
    slug = _SLUG.sub("-", base.lower()).strip("-")[:60].rstrip("-") or "article"
    return f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:10]}.md"


def add_url(root: Path, url: str, *, allow_private: bool, max_bytes: int) -> Path:
    """Fetch the article at `url` and save it into `root` as Markdown with front matter; the
    path written. The article is known by the address it was finally served from (after
    redirects): the same page again replaces its own file, never another article."""
    address, data = fetch(url, allow_private=allow_private, max_bytes=max_bytes)
    try:
        text, meta = parse_html(data, address)
    except ArticleError as exc:
        raise RagError(f"{exc} Nothing was added.") from None
    front = {
        "title": meta.get("title") or address,
        "date": meta.get("date"),
        "url": address,
        "source": meta.get("source") or urlsplit(address).hostname,
        "lang": meta.get("lang"),
    }
    header = yaml.safe_dump(
        {k: v for k, v in front.items() if v}, allow_unicode=True, sort_keys=False
    )
    body = f"---\n{header}---\n{text.strip()}\n".encode()
    try:
        target = replace_article(root, file_name(address), body)
    except OSError as exc:
        raise RagError(f"Cannot save the article to {root}/ ({exc}): nothing was added.") from None
    log.info("Fetched %s from %s", target.name, address)
    return target
