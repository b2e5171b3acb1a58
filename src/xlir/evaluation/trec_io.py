"""TREC run and qrels files: the one place xlir writes and reads them, strictly.

Formats (whitespace-separated, one judgment or ranked document per line; plain or ``.gz``):

* run:   ``qid Q0 docid rank score tag`` (rank an integer, score a finite number);
* qrels: ``qid 0 docid grade`` (grade an integer).

Identifiers. TREC columns are split at whitespace, so an id holding a space or tab cannot be
written as is (a BEIR folder may well have ``"_id": "doc 7"``). The writers percent-encode every
whitespace character, U+FEFF (read as a byte-order mark at the start of a file) and ``%`` itself
as ``%XX`` (its UTF-8 bytes): ``"doc 7"`` -> ``"doc%207"``,
``"50%"`` -> ``"50%25"``; every other id is written unchanged. Run and qrels files get the same
encoding, so trec_eval, ranx and ir_measures pair them as they are; :func:`decode_id` (or
``decode_ids=True`` on the readers) gives the original ids back. Encoding ``%`` as well keeps the
mapping one-to-one. An empty id cannot be written at all and is refused.

Readers are strict, because a run file that loads wrongly gives a wrong number that looks right:
each line must have exactly the format's fields, a score must be finite, a grade and a rank integers,
and a (query, document) pair may appear only once (a second line used to replace the first
silently). Non-UTF-8 bytes, and a gzip file cut short, are :class:`~xlir.errors.DataError` s naming
the file and line.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from xlir.data.io import iter_lines
from xlir.errors import DataError

_ENCODE = re.compile("[\\s%\ufeff]")  # whitespace splits columns; a leading U+FEFF reads as a BOM
RUN_LINE = "qid Q0 docid rank score tag"
QRELS_LINE = "qid 0 docid grade"


def encode_id(value: str) -> str:
    """``value`` with whitespace and ``%`` percent-encoded (see the module docstring)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"a TREC id must be a non-empty string, not {value!r}")
    return _ENCODE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), value)


def decode_id(value: str) -> str:
    """The original id of one written by :func:`encode_id`."""
    return unquote(value, errors="strict")


class _Encoder(dict):
    """Memoised :func:`encode_id` (the same document ids recur in every query's list)."""

    def __missing__(self, key: str) -> str:
        self[key] = encode_id(key)
        return self[key]


def _open_write(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        return gzip.open(path, "wt", compresslevel=3, encoding="utf-8")
    return open(path, "w", encoding="utf-8")


def _refuse_empty(path: Path, ids: Sequence[str], what: str) -> None:
    for i in ids:
        if not isinstance(i, str) or not i:
            raise DataError(path, f"cannot write {what} id {i!r}", expected="non-empty string ids")


def write_run(path: str | Path, run, tag: str = "xlir") -> None:
    """TREC run ``qid Q0 docid rank score tag`` of a ``RunData`` (query_ids, doc_ids, scores).

    Scores are the exact decimal of the float32 value; ids are encoded (module docstring).
    Gzip-compressed when ``path`` ends in ``.gz``, plain text otherwise."""
    path = Path(path)
    scores = np.asarray(run.scores)
    if scores.size and not np.isfinite(scores).all():
        bad = int((~np.isfinite(scores)).sum())
        raise DataError(path, f"{bad} non-finite score(s) in the run", expected="finite scores")
    _refuse_empty(path, run.query_ids, "query")
    tag = encode_id(tag)
    enc = _Encoder()
    with _open_write(path) as fh:
        for qid, docs, row in zip(run.query_ids, run.doc_ids, scores.tolist(), strict=True):
            _refuse_empty(path, docs, "document")
            q = enc[qid]
            fh.write("".join(f"{q} Q0 {enc[d]} {r} {s!r} {tag}\n"
                             for r, (d, s) in enumerate(zip(docs, row, strict=False), start=1)))


def write_qrels(path: str | Path, qrels: dict[str, dict[str, int]]) -> None:
    """TREC qrels ``qid 0 docid grade`` (ids encoded; gzip-compressed when ``path`` ends in ``.gz``)."""
    path = Path(path)
    enc = _Encoder()
    for qid, docs in qrels.items():
        _refuse_empty(path, [qid], "query")
        _refuse_empty(path, list(docs), "document")
    with _open_write(path) as fh:
        for qid, docs in qrels.items():
            q = enc[qid]
            fh.write("".join(f"{q} 0 {enc[d]} {int(g)}\n" for d, g in docs.items()))


def _int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(text)
    return int(text)


def _read(path: str | Path, what: str, expected: str, parse: Callable[[list[str]], float | int],
          decode_ids: bool) -> dict[str, dict]:
    path = Path(path)
    n_fields = len(expected.split())
    ids = decode_id if decode_ids else str
    out: dict[str, dict] = {}
    for n, line in iter_lines(path):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != n_fields:
            raise DataError(path, f"not a TREC {what} line: {len(parts)} fields", line=n,
                            expected=f"{n_fields} fields: {expected}")
        try:
            value = parse(parts)
        except ValueError as exc:
            raise DataError(path, f"not a TREC {what} line: {exc}", line=n, expected=expected) from None
        qid, did = ids(parts[0]), ids(parts[2])
        docs = out.setdefault(qid, {})
        if did in docs:
            first = next(k for k, other in iter_lines(path)
                         if len(f := other.split()) == n_fields and (ids(f[0]), ids(f[2])) == (qid, did))
            raise DataError(path, f"query {parts[0]!r} lists document {parts[2]!r} twice (first on "
                                  f"line {first})", line=n,
                            expected=f"each (query, document) once per {what}")
        docs[did] = value
    return out


def _run_value(parts: list[str]) -> float:
    try:
        _int(parts[3])
    except ValueError:
        raise ValueError(f"rank {parts[3]!r} is not an integer") from None
    try:
        score = float(parts[4])
    except ValueError:
        raise ValueError(f"score {parts[4]!r} is not a number") from None
    if not math.isfinite(score):
        raise ValueError(f"score {parts[4]!r} is not finite")
    return score


def _qrels_value(parts: list[str]) -> int:
    try:
        return _int(parts[3])
    except ValueError:
        raise ValueError(f"grade {parts[3]!r} is not an integer") from None


def read_run(path: str | Path, *, decode_ids: bool = False) -> dict[str, dict[str, float]]:
    """A TREC run file (plain or .gz) as ``{qid: {docid: score}}``, pytrec_eval's run format."""
    return _read(path, "run", RUN_LINE, _run_value, decode_ids)


def read_qrels(path: str | Path, *, decode_ids: bool = False) -> dict[str, dict[str, int]]:
    """A TREC qrels file (plain or .gz) as ``{qid: {docid: grade}}``."""
    return _read(path, "qrels", QRELS_LINE, _qrels_value, decode_ids)
