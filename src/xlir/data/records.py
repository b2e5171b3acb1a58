"""Turning JSON-lines records into queries and documents, with errors that point at the line.

Shared by the loaders of user-supplied layouts (BEIR, MLDR, the MIRACL corpus), where duplicate
ids, empty texts, unknown language codes and judgments naming unknown ids are the user's to fix
and so must name the file and line, not just the collection.
"""

from __future__ import annotations

from pathlib import Path

from xlir.data.io import iter_jsonl, text_field
from xlir.data.languages import UnknownLanguageError, normalize
from xlir.data.schema import Document, Query
from xlir.errors import DataError


def record_language(rec: dict, default: str | None, path: Path, line: int, rid: str) -> str:
    """The record's own ``language``/``lang`` field (normalised), else ``default``."""
    code = rec.get("language", rec.get("lang", default))
    if code is None:
        raise DataError(path, "no language", line=line, record=rid,
                        expected="a 'language' field, or the loader's language= option")
    try:
        return normalize(str(code))
    except UnknownLanguageError as exc:
        raise DataError(path, f"unknown language code {code!r}", line=line, record=rid,
                        expected="an ISO 639-1/639-3 code (see docs/languages.md)") from exc


def read_documents(path: Path, *, language: str | None, id_field: str = "_id",
                   prefix: str = "", seen: dict[str, tuple[Path, int]] | None = None,
                   rows=None) -> list[Document]:
    """Documents from ``{id_field, text, title?, language?}`` lines (or ``rows``, ``(number,
    record)`` pairs from :func:`xlir.data.tables.iter_table`); ids must be unique."""
    seen = {} if seen is None else seen
    docs = []
    for line, rec in iter_jsonl(path) if rows is None else rows:
        rid = text_field(rec, id_field, path, line=line)
        text = text_field(rec, "text", path, line=line, record_id=rid)
        did = prefix + rid
        if did in seen:
            first = seen[did]
            raise DataError(path, f"duplicate document id {rid!r} (first at {first[0].name}:{first[1]})",
                            line=line, record=rid, expected="unique document ids")
        seen[did] = (path, line)
        lang = record_language(rec, language, path, line, rid)
        title = rec.get("title")
        docs.append(Document(did, text, lang, title if isinstance(title, str) and title else None))
    return docs


def read_queries(path: Path, *, language: str | None, id_field: str = "_id",
                 text_name: str = "text", prefix: str = "", rows=None) -> list[tuple[int, dict, Query]]:
    """``(line, record, Query)`` for each line (or each of ``rows``); ids must be unique."""
    out = []
    seen: dict[str, int] = {}
    for line, rec in iter_jsonl(path) if rows is None else rows:
        rid = text_field(rec, id_field, path, line=line)
        text = text_field(rec, text_name, path, line=line, record_id=rid)
        if rid in seen:
            raise DataError(path, f"duplicate query id {rid!r} (first on line {seen[rid]})", line=line,
                            record=rid, expected="unique query ids")
        seen[rid] = line
        lang = record_language(rec, language, path, line, rid)
        out.append((line, rec, Query(prefix + rid, text, lang)))
    return out
