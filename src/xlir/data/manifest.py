"""Checking the data directory against its ``MANIFEST.json`` (path, bytes, sha256 per file).

The shared data folder is assembled from many upstream repositories (see its PROVENANCE.md);
a manifest check is how a user knows a copy is complete and unmodified before trusting counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from xlir.data.io import read_json
from xlir.errors import DataError, MissingDataError

MANIFEST = "MANIFEST.json"


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
        entries.append(Entry(str(rec["path"]), int(rec["bytes"]), str(rec["sha256"]).lower()))
    return entries


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify(root: Path, entries: list[Entry], *, progress: Callable[[int], None] | None = None) -> Report:
    """Hash every listed file; ``progress(bytes_done)`` is called after each file."""
    report = Report(missing=[], mismatched=[])
    for e in entries:
        report.checked += 1
        path = root / e.path
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
