"""Rows of a BEIR-style table in any of the forms the Hugging Face world writes it.

A BEIR table (corpus, queries, qrels) arrives as JSON lines (BEIR's own zip), as Parquet (the Hub's
``refs/convert/parquet`` export, MTEB's dataset repos, ``Dataset.to_parquet``), or as a folder
written by ``datasets.Dataset.save_to_disk`` (read back with ``datasets.load_from_disk``). The
loaders read rows as plain dicts, numbered from 1 so that an error can say which row is wrong, and do
not care which form they came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from xlir.data.io import iter_jsonl
from xlir.errors import ConfigError, DataError

FORMS = ("{name}.jsonl", "{name}.jsonl.gz", "{name}.parquet", "{name}/")


def find_table(folder: Path, name: str) -> Path | None:
    """``name.jsonl(.gz)``, ``name.parquet`` or a folder ``name/`` (save_to_disk or Parquet shards)."""
    for cand in (folder / f"{name}.jsonl", folder / f"{name}.jsonl.gz", folder / f"{name}.parquet"):
        if cand.is_file():
            return cand
    if (folder / name).is_dir():
        return folder / name
    return None


def _parquet_rows(paths: list[Path]) -> Iterator[tuple[int, dict]]:
    import pyarrow.parquet as pq

    row = 0
    for path in paths:
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...: all mean "not readable"
            raise DataError(path, f"not a readable Parquet file ({type(exc).__name__}: {exc})",
                            expected="a Parquet file (e.g. Dataset.to_parquet)") from None
        for rec in table.to_pylist():
            row += 1
            yield row, rec


def _saved_dataset_rows(folder: Path) -> Iterator[tuple[int, dict]]:
    try:
        import datasets
    except ImportError:
        raise ConfigError(f"{folder} is a datasets.save_to_disk folder; reading it needs the datasets "
                          "package (pip install datasets), or export it with .to_parquet()") from None
    try:
        ds = datasets.load_from_disk(str(folder))
    except Exception as exc:  # FileNotFoundError, ValueError, ArrowInvalid... from a damaged folder
        raise DataError(folder, f"datasets.load_from_disk failed ({type(exc).__name__}: {exc})",
                        expected="a folder written by Dataset.save_to_disk") from None
    if isinstance(ds, datasets.DatasetDict):
        if len(ds) != 1:
            raise DataError(folder, f"a DatasetDict with splits {', '.join(ds)}",
                            expected="one table per folder (save each split with its own save_to_disk)")
        ds = next(iter(ds.values()))
    for row, rec in enumerate(ds, 1):
        yield row, dict(rec)


def iter_table(path: Path) -> Iterator[tuple[int, dict]]:
    """``(row, record)`` of a JSON-lines file, a Parquet file, or a folder of either kind."""
    path = Path(path)
    if path.is_dir():
        if (path / "state.json").is_file() or (path / "dataset_info.json").is_file():
            return _saved_dataset_rows(path)
        shards = sorted(path.rglob("*.parquet"))
        if not shards:
            raise DataError(path, "neither a save_to_disk folder nor a folder of Parquet files",
                            expected="state.json + *.arrow (Dataset.save_to_disk) or *.parquet")
        return _parquet_rows(shards)
    if path.name.endswith(".parquet"):
        return _parquet_rows([path])
    return iter_jsonl(path)
