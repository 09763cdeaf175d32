"""rag.library: saving uploaded articles under safe names, removing them, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.articles import SUFFIXES, list_article_files
from rag.errors import RagError
from rag.library import remove_article, safe_filename, save_article

MB = 2**20


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("article.txt", "article.txt"),
        ("Report.PDF", "Report.pdf"),
        ("../../etc/evil.txt", "evil.txt"),
        ("/etc/passwd.md", "passwd.md"),
        ("C:\\Users\\me\\Desktop\\news.html", "news.html"),
        ("..hidden.txt", "hidden.txt"),
        (".txt", "article.txt"),
        ("my news; rm -rf *.md", "my_news_rm_-rf.md"),
        ("élection présidentielle.txt", "élection_présidentielle.txt"),
        ("a\x00b\nc.htm", "a_b_c.htm"),
        ("x" * 300 + ".txt", "x" * 100 + ".txt"),
    ],
)
def test_safe_filename(given: str, expected: str) -> None:
    assert safe_filename(given) == expected


@pytest.mark.parametrize("name", ["notes.exe", "archive.tar.gz", "README", "..", "article.txt/"])
def test_unsupported_suffix_lists_the_valid_ones(name: str) -> None:
    with pytest.raises(RagError) as info:
        safe_filename(name)
    for suffix in SUFFIXES:
        assert suffix in str(info.value)


def test_save_writes_inside_root_and_is_listed(tmp_path: Path) -> None:
    root = tmp_path / "articles"
    path = save_article(root, "../../outside.txt", b"Titre\nDu texte.", max_bytes=MB)
    assert path == root / "outside.txt"
    assert path.read_bytes() == b"Titre\nDu texte."
    assert not (tmp_path / "outside.txt").exists()
    assert list_article_files(root) == [path]
    assert sorted(os.listdir(root)) == ["outside.txt"]  # no temporary file left behind


def test_save_refuses_files_over_the_limit(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="over the limit of 1,000 bytes"):
        save_article(tmp_path, "big.txt", b"x" * 1001, max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


def test_save_never_overwrites_a_different_article(tmp_path: Path) -> None:
    first = save_article(tmp_path, "news.txt", b"one", max_bytes=MB)
    second = save_article(tmp_path, "news.txt", b"two", max_bytes=MB)
    third = save_article(tmp_path, "sub/news.txt", b"three", max_bytes=MB)
    assert [first.name, second.name, third.name] == ["news.txt", "news-2.txt", "news-3.txt"]
    assert [p.read_bytes() for p in (first, second, third)] == [b"one", b"two", b"three"]


def test_saving_the_same_bytes_again_is_a_no_op(tmp_path: Path) -> None:
    first = save_article(tmp_path, "news.txt", b"same", max_bytes=MB)
    assert save_article(tmp_path, "news.txt", b"same", max_bytes=MB) == first
    assert [p.name for p in tmp_path.iterdir()] == ["news.txt"]


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save_article(tmp_path, "news.txt", b"text", max_bytes=MB)
    assert list(tmp_path.iterdir()) == []


def test_remove_article(tmp_path: Path) -> None:
    (tmp_path / "world").mkdir()
    path = tmp_path / "world" / "a.md"
    path.write_text("# A\ntext")
    remove_article(tmp_path, "world/a.md")
    assert not path.exists()
    remove_article(tmp_path, "world/a.md")  # already gone: the next sync drops it


@pytest.mark.parametrize(
    "article_id",
    [
        "../victim.txt",
        "/tmp/victim.txt",
        "world/../../victim.txt",
        "",
        "link/x.txt",
        "world\\..\\..\\victim.txt",
        "notes.py",
    ],
)
def test_remove_refuses_ids_outside_root(tmp_path: Path, article_id: str) -> None:
    root = tmp_path / "articles"
    (root / "world").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.txt").write_text("keep me")
    (root / "link").symlink_to(outside)
    (tmp_path / "victim.txt").write_text("keep me")
    (root / "notes.py").write_text("keep me")
    with pytest.raises(RagError, match="is not an article file"):
        remove_article(root, article_id)
    assert (tmp_path / "victim.txt").exists()
    assert (outside / "x.txt").exists()
    assert (root / "notes.py").exists()
