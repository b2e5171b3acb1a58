"""Checking the data directory against its ``MANIFEST.json`` (path, bytes, sha256 per file).

The shared data folder is assembled from many upstream repositories (see its PROVENANCE.md);
a manifest check is how a user knows a copy is complete and unmodified before trusting counts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from xlir.data.io import read_json
from xlir.errors import DataError, MissingDataError

MANIFEST = "MANIFEST.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Entry:
    path: str
    bytes: int
    sha256: str


@dataclass
class Report:
    checked: int = 0
    ok: int = 0
    missing: list[str] | None = None
    mismatched: list[tuple[str, str]] | None = None  # (path, what differs)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.mismatched


def read_manifest(root: Path) -> list[Entry]:
    path = root / MANIFEST
    if not path.is_file():
        raise MissingDataError(f"no {MANIFEST} in {root}: nothing to verify against")
    doc = read_json(path)
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, list):
        raise DataError(path, "no 'files' list", expected='{"files": [{"path", "bytes", "sha256"}]}')
    entries = []
    for i, rec in enumerate(files):
        if not isinstance(rec, dict) or not all(k in rec for k in ("path", "bytes", "sha256")):
            raise DataError(path, "file entry without path/bytes/sha256", record=f"files[{i}]",
                            expected='{"path", "bytes", "sha256"}')
        where = f"files[{i}]"
        if not isinstance(rec["path"], str) or not rec["path"].strip():
            raise DataError(path, f"'path' is {rec['path']!r}", record=where, expected="a relative file path")
        size = rec["bytes"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise DataError(path, f"'bytes' is {size!r}", record=f"{where} ({rec['path']})",
                            expected="the file size as a non-negative integer")
        digest = rec["sha256"]
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
            raise DataError(path, f"'sha256' is {digest!r}", record=f"{where} ({rec['path']})",
                            expected="64 hexadecimal digits")
        entries.append(Entry(rec["path"], size, digest.lower()))
    return entries


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def inside(root: Path, rel: str) -> Path:
    """``root / rel``, refusing a manifest path that leads outside the data folder.

    An absolute path, a ``..`` component, or a symlink that resolves outside ``root`` is a
    :class:`DataError` naming the manifest: verification must never hash (and so reveal the
    existence, size and digest of) files elsewhere on the machine.
    """
    p = Path(rel)
    if not rel or p.is_absolute() or ".." in p.parts or (p.drive or p.root):
        raise DataError(Path(root) / MANIFEST, f"path {rel!r} points outside the data folder",
                        expected="a relative path inside the data folder, without '..'")
    full = Path(root) / p
    if not full.resolve().is_relative_to(Path(root).resolve()):
        raise DataError(Path(root) / MANIFEST, f"path {rel!r} resolves outside the data folder "
                        f"({full.resolve()})", expected="a path inside the data folder")
    return full


def verify(root: Path, entries: list[Entry], *, progress: Callable[[int], None] | None = None) -> Report:
    """Hash every listed file; ``progress(bytes_done)`` is called after each file. Every path is
    checked to stay inside ``root`` before anything is read (:func:`inside`)."""
    report = Report(missing=[], mismatched=[])
    paths = [inside(root, e.path) for e in entries]
    for e, path in zip(entries, paths, strict=True):
        report.checked += 1
        if not path.is_file():
            report.missing.append(e.path)
        else:
            size = path.stat().st_size
            if size != e.bytes:
                report.mismatched.append((e.path, f"{size} bytes, manifest says {e.bytes}"))
            elif sha256(path) != e.sha256:
                report.mismatched.append((e.path, "sha256 differs"))
            else:
                report.ok += 1
        if progress:
            progress(e.bytes)
    return report


def folder_sizes(root: Path) -> Iterator[tuple[str, int, int]]:
    """(top-level folder, files, bytes) from the manifest: cheap, no hashing."""
    sizes: dict[str, list[int]] = {}
    for e in read_manifest(root):
        top = e.path.split("/", 1)[0]
        s = sizes.setdefault(top, [0, 0])
        s[0] += 1
        s[1] += e.bytes
    for top, (n, b) in sorted(sizes.items()):
        yield top, n, b
