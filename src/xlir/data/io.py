"""Reading helpers shared by every loader: JSON, JSONL and TSV, gzip-compressed or not.

Why one module: every loader must turn a bad file into a :class:`~xlir.errors.DataError` that names
the file, the line (JSONL/TSV) or record (JSON) and what was expected, instead of a bare
``JSONDecodeError`` or ``KeyError`` traceback. Doing that once here keeps the loaders short.

Compressed files are read transparently: a name ending in ``.gz`` or a file starting with the gzip
magic bytes is decompressed on the fly, and :func:`find_file` accepts ``x.json`` when only
``x.json.gz`` exists (the shared data folder stores large files gzip-compressed).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from xlir.errors import DataError, MissingDataError

_GZIP_MAGIC = b"\x1f\x8b"


def find_file(path: str | Path, *, hint: str | None = None) -> Path:
    """``path`` or ``path.gz`` (or ``path`` without ``.gz``), whichever exists.

    Raises :class:`MissingDataError` naming the file, plus ``hint`` (where to get it).
    """
    path = Path(path)
    candidates = [path]
    if path.suffix == ".gz":
        candidates.append(path.with_suffix(""))
    else:
        candidates.append(path.with_name(path.name + ".gz"))
    for cand in candidates:
        if cand.is_file():
            return cand
    msg = f"missing data file {path} (or {candidates[1].name})"
    raise MissingDataError(msg + (f": {hint}" if hint else ""))


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a UTF-8 text file, decompressing gzip transparently (by name or magic bytes)."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if path.suffix == ".gz" or magic == _GZIP_MAGIC:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def read_text(path: str | Path) -> str:
    try:
        with open_text(path) as fh:
            return fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(path, f"cannot read file: {exc}", expected="a readable (optionally gzip) file") \
            from exc
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                        expected="UTF-8 text") from exc


def read_json(path: str | Path) -> Any:
    """Parse a whole JSON file; a syntax error names its line and column."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"malformed JSON: {exc.msg} (column {exc.colno})", line=exc.lineno,
                        expected="valid JSON") from None


def read_lines(path: str | Path) -> list[str]:
    """All lines of a text file without their line endings (one sentence per line formats)."""
    return read_text(path).splitlines()


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSON-lines file."""
    try:
        fh = open_text(path)
    except OSError as exc:
        raise DataError(path, f"cannot read file: {exc}", expected="a readable file") from exc
    with fh:
        lineno = 0
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(path, f"malformed JSON: {exc.msg} (column {exc.colno})",
                                    line=lineno, expected="one JSON object per line") from None
                if not isinstance(obj, dict):
                    raise DataError(path, f"a JSON {type(obj).__name__} instead of an object",
                                    line=lineno, expected="one JSON object per line")
                yield lineno, obj
        except UnicodeDecodeError as exc:
            raise DataError(path, f"not UTF-8 text ({exc.reason})", line=lineno + 1,
                            expected="UTF-8 text") from exc
        except (OSError, EOFError) as exc:
            raise DataError(path, f"cannot read file: {exc}", line=lineno + 1,
                            expected="a complete (gzip) file") from exc


def iter_tsv(path: str | Path, *, min_fields: int = 1, sep: str = "\t",
             skip_header: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for each non-blank line; short lines raise DataError."""
    text = read_text(path)
    for lineno, line in enumerate(text.splitlines(), 1):
        if skip_header and lineno == 1:
            continue
        if not line.strip():
            continue
        fields = line.split(sep) if sep else line.split()
        if len(fields) < min_fields:
            raise DataError(path, f"{len(fields)} field(s) on the line", line=lineno,
                            expected=f"at least {min_fields} {'tab-' if sep == chr(9) else ''}separated "
                                     "fields")
        yield lineno, fields


def require(record: Mapping, fields: Iterable[str], path: str | Path, *, line: int | None = None,
            record_id: str | None = None, what: str = "record") -> None:
    """Raise DataError unless every field is present (and not null) in ``record``."""
    if not isinstance(record, Mapping):
        raise DataError(path, f"a {type(record).__name__} instead of an object", line=line,
                        record=record_id, expected=f"a {what} object")
    for name in fields:
        if record.get(name) is None:
            raise DataError(path, f"missing field {name!r}", line=line, record=record_id,
                            expected=f"a {what} with fields {', '.join(fields)}")


def text_field(record: Mapping, name: str, path: str | Path, *, line: int | None = None,
               record_id: str | None = None, allow_empty: bool = False) -> str:
    """A string field, present and (unless ``allow_empty``) not blank."""
    value = record.get(name) if isinstance(record, Mapping) else None
    if value is None:
        raise DataError(path, f"missing field {name!r}", line=line, record=record_id,
                        expected=f"a string field {name!r}")
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            raise DataError(path, f"field {name!r} is a {type(value).__name__}", line=line,
                            record=record_id, expected=f"a string field {name!r}")
    if not allow_empty and not value.strip():
        raise DataError(path, f"empty {name!r}", line=line, record=record_id,
                        expected=f"a non-empty {name!r}")
    return value
