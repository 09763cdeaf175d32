"""The articles dir as a user manages it: save an uploaded file, replace a fetched one, remove one.

Uploaded names are untrusted: `save_article` keeps only a sanitised base name with a known
suffix, writes the bytes to a hidden temporary file (which `list_article_files` skips) and
moves it into place in one step, so a concurrent sync never reads half a file, and it never
replaces a different article that already has that name. `remove_article` deletes one file
named by its article id and nothing outside the articles dir.

This module only touches files: it does not parse articles, and syncing the index afterwards
is the caller's job (`Engine.sync`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from rag.articles import SUFFIXES
from rag.errors import RagError

log = logging.getLogger(__name__)

_MAX_STEM_CHARS = 100  # a saved file's name stays far under file systems' 255-byte limit
_MAX_COPIES = 1000  # "name-2.txt", "name-3.txt"… tried before saying no free name is left
_ODD = re.compile(r"[^\w.-]+")  # \w keeps accented letters: "élection.txt" stays readable


def safe_filename(filename: str) -> str:
    """`filename` reduced to a harmless base name: no directories, no leading dots, no odd
    characters, a suffix from `SUFFIXES` (lower-cased). Raises RagError if the suffix is not
    one of them."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", filename))[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES:
        raise RagError(
            f"{_printable(base)!r} is not a supported article file; "
            f"use one of {', '.join(sorted(SUFFIXES))}."
        )
    stem = _ODD.sub("_", stem).strip("._-")[:_MAX_STEM_CHARS].rstrip("._-") or "article"
    return f"{stem}.{suffix.lower()}"


def save_article(root: Path, filename: str, data: bytes, *, max_bytes: int) -> Path:
    """Write `data` into `root` under a sanitised `filename` and return its path.

    If that name holds a different article, the file becomes `name-2.txt` (`-3`, ...); if it
    holds the same bytes, nothing is written and the existing path is returned.
    """
    name = safe_filename(filename)
    if len(data) > max_bytes:
        raise RagError(
            f"{name} is {len(data):,} bytes, over the limit of {max_bytes:,} bytes; "
            "raise RAG_MAX_ARTICLE_BYTES to accept it."
        )
    with _written(root, data) as tmp:
        for target in _candidates(root, name):
            if target.exists():
                if target.is_file() and target.read_bytes() == data:
                    return target
                continue
            if _place(tmp, target):
                log.info("Saved %s (%d bytes)", target, len(data))
                return target
    raise RagError(f"Too many articles named like {name} in {root}/; rename the file.")


def replace_article(root: Path, name: str, data: bytes) -> Path:
    """Write `data` as `root/name` (an already safe name) in one step, replacing the file
    there: the same article, updated (an article fetched again from its URL)."""
    with _written(root, data) as tmp:
        os.replace(tmp, root / name)  # a sync sees the old file or the new, never half
    log.info("Saved %s (%d bytes)", root / name, len(data))
    return root / name


@contextmanager
def _written(root: Path, data: bytes) -> Iterator[Path]:
    """`data` in a hidden temporary file in `root` (which `list_article_files` skips), synced
    to disk, removed afterwards unless the caller moved it into place."""
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=".upload-", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o644)  # mkstemp makes it private; an article is an ordinary file
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def remove_article(root: Path, article_id: str) -> None:
    """Delete the file of article `article_id` (its path relative to `root`).

    Refuses ids that leave `root` (absolute, `..`, through a link) or name no article file.
    A file that is already gone is not an error: the next sync drops it from the index.
    """
    rel = PurePosixPath(article_id)
    path = root / rel
    if (
        not article_id
        or "\\" in article_id
        or rel.is_absolute()
        or ".." in rel.parts
        or rel.suffix.lower() not in SUFFIXES
        or not path.parent.resolve().is_relative_to(root.resolve())
    ):
        raise RagError(f"{_printable(article_id)!r} is not an article file in {root}/.")
    path.unlink(missing_ok=True)
    log.info("Removed %s", path)


def _candidates(root: Path, name: str) -> Iterator[Path]:
    stem, suffix = name.rsplit(".", 1)
    yield root / name
    for i in range(2, _MAX_COPIES + 1):
        yield root / f"{stem}-{i}.{suffix}"


def _place(tmp: Path, target: Path) -> bool:
    """Move the finished temporary file to `target` unless `target` exists. False if it does."""
    try:
        # A hard link is atomic and fails if the name is taken, even by an upload from
        # another session in the same instant; `tmp` is unlinked by the caller.
        os.link(tmp, target)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links on this filesystem: a plain atomic rename
        if target.exists():
            return False
        os.replace(tmp, target)
        return True


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:200]
