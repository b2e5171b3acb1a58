"""Reading helpers shared by every loader: JSON, JSONL and TSV, gzip-compressed or not.

Why one module: every loader must turn a bad file into a :class:`~xlir.errors.DataError` that names
the file, the line (JSONL/TSV) or record (JSON) and what was expected, instead of a bare
``JSONDecodeError`` or ``KeyError`` traceback. Doing that once here keeps the loaders short.

Compressed files are read transparently: a name ending in ``.gz`` or a file starting with the gzip
magic bytes is decompressed on the fly, and :func:`find_file` accepts ``x.json`` when only
``x.json.gz`` exists (the shared data folder stores large files gzip-compressed).
"""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
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


def _open_binary(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if path.suffix == ".gz" or magic == _GZIP_MAGIC else open(path, "rb")


def read_bytes(path: str | Path) -> bytes:
    """The (gzip-decompressed) bytes of a file; DataError for an unreadable or truncated file."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, "is a folder", expected="a file")
    try:
        with _open_binary(path) as fh:
            return fh.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(path, f"truncated or corrupt gzip file ({exc})",
                        expected="a complete gzip file") from None
    except OSError as exc:
        raise DataError(path, f"cannot read file: {exc.strerror or exc}",
                        expected="a readable (optionally gzip) file") from None


def decode_utf8(raw: bytes, path: str | Path, *, line: int | None = None) -> str:
    """``raw`` as text (a leading BOM dropped); a bad byte is reported on its own line and column.

    ``line`` is the line number of ``raw`` when it is one line of a larger file; otherwise the line
    is counted from the newlines before the bad byte.
    """
    if raw.startswith(codecs.BOM_UTF8) and line in (None, 1):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = line if line is not None else raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte {col} of the line: "
                              f"{exc.reason})", line=at, expected="UTF-8 text") from None


def read_text(path: str | Path) -> str:
    return decode_utf8(read_bytes(path), path)


def _loads(text: str, path: str | Path, *, line: int | None, expected: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"malformed JSON: {exc.msg} (column {exc.colno})",
                        line=exc.lineno if line is None else line, expected=expected) from None
    except RecursionError:
        raise DataError(path, "JSON nested too deeply", line=line, expected=expected) from None


def read_json(path: str | Path) -> Any:
    """Parse a whole JSON file; a syntax error names its line and column."""
    return _loads(read_text(path), path, line=None, expected="valid JSON")


def read_lines(path: str | Path) -> list[str]:
    """All lines of a text file without their line endings (one sentence per line formats).

    Lines end at ``\\n`` only (a trailing ``\\r`` is dropped): ``str.splitlines`` would also cut at
    U+2028, form feeds and other separators inside a sentence and shift a line-aligned file.
    """
    text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [x[:-1] if x.endswith("\r") else x for x in lines]


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` of a plain or gzip text file, streamed; a non-UTF-8 byte, a cut
    gzip stream or a read error is a DataError naming the file and the line it happened on."""
    path = Path(path)
    try:
        fh = _open_binary(path)
    except OSError as exc:
        raise DataError(path, f"cannot read file: {exc.strerror or exc}",
                        expected="a readable file") from None
    with fh:
        lineno = 0
        try:
            for lineno, raw in enumerate(fh, 1):
                yield lineno, decode_utf8(raw, path, line=lineno)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DataError(path, f"truncated or corrupt gzip file ({exc})", line=lineno + 1,
                            expected="a complete gzip file") from None
        except OSError as exc:
            raise DataError(path, f"cannot read file: {exc.strerror or exc}", line=lineno + 1,
                            expected="a readable file") from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSON-lines file (streamed)."""
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        obj = _loads(line, path, line=lineno, expected="one JSON object per line")
        if not isinstance(obj, dict):
            raise DataError(path, f"a JSON {type(obj).__name__} instead of an object",
                            line=lineno, expected="one JSON object per line")
        yield lineno, obj


def iter_tsv(path: str | Path, *, min_fields: int = 1, sep: str = "\t",
             skip_header: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for each non-blank line; short lines raise DataError."""
    for lineno, line in enumerate(read_lines(path), 1):
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
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # JSON integer ids (``"_id": 308``) are common and unambiguous
        else:
            raise DataError(path, f"field {name!r} is a {type(value).__name__}", line=line,
                            record=record_id, expected=f"a string field {name!r}")
    if not allow_empty and not value.strip():
        raise DataError(path, f"empty {name!r}", line=line, record=record_id,
                        expected=f"a non-empty {name!r}")
    return value
