"""Folders built once into the cache directory: complete or absent, never half-written.

`cached_folder(dest, stamp, build)` returns `dest` when it holds a complete build with the
same stamp (a JSON-able dict saying what it was built from), else runs `build(tmp)` in a
sibling temporary folder and renames it into place, so an interrupted build leaves nothing
and a concurrent build of the same thing is harmless. It knows nothing of what is built.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from rag.errors import ModelError

log = logging.getLogger(__name__)

STAMP = "build.json"  # written last: its presence means the folder is complete


def is_complete(dest: Path, stamp: Mapping[str, object]) -> bool:
    try:
        return bool(json.loads((dest / STAMP).read_text()) == stamp)
    except (OSError, ValueError):
        return False


def cached_folder(
    dest: Path, stamp: Mapping[str, object], build: Callable[[Path], None], what: str
) -> Path:
    """`dest`, built by `build(folder)` first unless it is complete for `stamp`.

    Errors from `build` propagate; a folder that cannot be written is a `ModelError`.
    """
    if is_complete(dest, stamp):
        return dest
    started = time.perf_counter()
    log.info("Building %s at %s (once)", what, dest)
    tmp = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)  # left by a killed build with our pid
        tmp.mkdir()
        build(tmp)
        (tmp / STAMP).write_text(json.dumps(stamp, indent=2))
        if dest.exists() and not is_complete(dest, stamp):
            shutil.rmtree(dest)  # stale: built from something else or by an older version
        try:
            os.replace(tmp, dest)
        except OSError:  # dest is not empty: fine if a concurrent build just completed it
            if not is_complete(dest, stamp):
                raise
    except OSError as exc:
        raise ModelError(
            f"Cannot write {what} to {dest} ({exc}). "
            "Free some disk space or point RAG_CACHE_DIR to a writable folder."
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("Built %s in %.1f s", what, time.perf_counter() - started)
    return dest
