"""The user's own data from the command line: BEIR folders (JSON lines, Parquet, datasets
save_to_disk), MLDR and MIRACL passages, languages discovered from the files; every bad path or
file ends in a one-line xlir error."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest
from typer.testing import CliRunner

from xlir.cli import app
from xlir.data import load_collection
from xlir.errors import ConfigError, DataError, MissingDataError, XlirError

CORPUS = [{"_id": f"d{i}", "title": f"T{i}", "text": f"Das ist Dokument Nummer {i}."} for i in range(6)]
QUERIES = [{"_id": f"q{i}", "text": f"Welches Dokument hat die Nummer {i}?"} for i in range(4)]
QRELS = [{"query-id": f"q{i}", "corpus-id": f"d{i}", "score": 1} for i in range(3)]


def _jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _beir_jsonl(folder):
    _jsonl(folder / "corpus.jsonl", CORPUS)
    _jsonl(folder / "queries.jsonl", QUERIES)
    (folder / "qrels").mkdir(parents=True)
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{r['query-id']}\t{r['corpus-id']}\t1\n" for r in QRELS))
    return folder


def _beir_parquet(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (folder / "qrels").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(CORPUS), folder / "corpus.parquet")
    pq.write_table(pa.Table.from_pylist(QUERIES), folder / "queries.parquet")
    pq.write_table(pa.Table.from_pylist(QRELS), folder / "qrels" / "test.parquet")
    return folder


def _beir_saved(folder):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list(CORPUS).save_to_disk(str(folder / "corpus"))
    datasets.Dataset.from_list(QUERIES).save_to_disk(str(folder / "queries"))
    datasets.Dataset.from_list(QRELS).save_to_disk(str(folder / "qrels" / "test"))
    return folder


def _summary(col):
    return ([(q.id, q.text, q.language) for q in col.queries],
            [(d.id, d.text, d.title) for d in col.documents], col.qrels)


@pytest.mark.parametrize("make", [_beir_parquet, _beir_saved])
def test_beir_tables_from_the_hugging_face_world_load_like_json_lines(tmp_path, make):
    plain = load_collection("beir", path=_beir_jsonl(tmp_path / "jsonl"), language="de")
    other = load_collection("beir", path=make(tmp_path / "other"), language="de")
    assert _summary(other) == _summary(plain)
    assert len(plain.queries) == 3 and len(plain.documents) == 6 and plain.query_languages == ["de"]


def _eval(data_dir, tmp_path, *args):
    return CliRunner().invoke(app, ["--data-dir", str(data_dir), "eval", "--model", "tiny", "--quiet",
                                    "--no-runs", "--cache-dir", str(tmp_path / "cache"),
                                    "--output", str(tmp_path / "run"), *args])


def test_eval_a_beir_parquet_folder_from_the_command_line(data_dir, tmp_path):
    folder = _beir_parquet(tmp_path / "mine")
    res = _eval(data_dir, tmp_path, "--dataset", "beir", "--path", str(folder), "--settings", "mono",
                "--metrics", "nDCG@10,R@100", "--data-language", "deu")
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "run" / "results.json").read_text())
    assert meta["collection"]["name"] == "mine" and meta["collection"]["queries"] == 3
    assert list(meta["setting_info"]) == ["mono/de-de"]  # the records' language, given on the CLI
    assert 0.0 < meta["aggregates"]["mono"]["R@100"]["mean"] <= 1.0


def _mldr(base, langs=("de",)):
    for lang in langs:
        _jsonl(base / lang / "corpus.jsonl", [{"docid": f"doc-{i}", "text": f"{lang} Dokument {i}"}
                                              for i in range(5)])
        _jsonl(base / lang / "test.jsonl", [{"query_id": f"q{i}", "query": f"{lang} Frage {i}",
                                             "positive_passages": [{"docid": f"doc-{i}"}]}
                                            for i in range(3)])
    return base


def test_mldr_path_and_discovered_languages(data_dir, tmp_path):
    base = _mldr(tmp_path / "my-mldr", ("de", "sw"))
    col = load_collection("mldr", mldr_dir=base)  # no language list: the folders there
    assert col.query_counts() == {"de": 3, "sw": 3}
    res = _eval(data_dir, tmp_path, "--dataset", "mldr", "--path", str(base), "-l", "sw",
                "--settings", "mono")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "run" / "results.json").read_text())["collection"]["queries"] == 3


def test_miracl_corpus_from_the_command_line(data_dir, tmp_path):
    from xlir.data.loaders.miracl import read_qrels

    qrels = read_qrels(data_dir / "miracl/qrels/qrels.miracl-v1.0-yo-dev.tsv.gz", "yo")
    docids = sorted({d.split("/", 1)[1] for judged in qrels.values() for d in judged})
    folder = tmp_path / "passages" / "yo"
    folder.mkdir(parents=True)
    with gzip.open(folder / "docs-0.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"docid": d, "title": "", "text": f"passage {d}"}) + "\n" for d in docids)
    # without a language list, MIRACL loads the languages whose passages are there: yo only
    col = load_collection("miracl", data_dir=data_dir, corpus_dir=tmp_path / "passages")
    assert col.query_languages == ["yo"] and len(col.queries) == 119
    res = _eval(data_dir, tmp_path, "--dataset", "miracl", "--corpus", str(tmp_path / "passages"),
                "--limit", "5", "--settings", "mono", "--metrics", "nDCG@10")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "run" / "results.json").read_text())["collection"]["queries"] == 5


def test_tydiqa_languages_come_from_the_files(data_dir, tmp_path):
    """TyDi GoldP also has bn and te: a user who adds their files evaluates them."""
    src = data_dir / "tydiqa-goldp" / "tydiqa-goldp-v1.1-dev"
    dst = tmp_path / "tydiqa-goldp" / "tydiqa-goldp-v1.1-dev"
    dst.mkdir(parents=True)
    shutil.copy(src / "tydiqa.goldp.sw.dev.json.gz", dst / "tydiqa.goldp.sw.dev.json.gz")
    shutil.copy(src / "tydiqa.goldp.sw.dev.json.gz", dst / "tydiqa.goldp.bn.dev.json.gz")  # stand-in file
    col = load_collection("tydiqa", data_dir=tmp_path)
    assert col.query_languages == ["bn", "sw"]
    only = load_collection("tydiqa", data_dir=tmp_path, languages=["bn"])
    assert only.query_languages == ["bn"] and len(only.queries) == len(col.queries) // 2
    with pytest.raises(ConfigError, match="has no language fi"):
        load_collection("tydiqa", data_dir=tmp_path, languages=["fi"])
    shutil.rmtree(dst)
    dst.mkdir()
    with pytest.raises(MissingDataError, match="no TyDi QA GoldP dev file"):
        load_collection("tydiqa", data_dir=tmp_path)


def _broken(kind, tmp_path):
    """(extra eval arguments, expected error type, message part) for one kind of bad input."""
    if kind == "path-on-xquad":
        return ["--dataset", "xquad-r", "--path", str(tmp_path)], ConfigError, "--path does not apply"
    if kind == "language-on-mldr":
        return (["--dataset", "mldr", "--data-language", "de"], ConfigError,
                "--data-language does not apply")
    if kind == "corpus-on-beir":
        return ["--dataset", "beir", "--corpus", str(tmp_path)], ConfigError, "--corpus does not apply"
    if kind == "beir-missing-folder":
        return ["--dataset", "beir", "--path", str(tmp_path / "nope")], MissingDataError, "not found"
    if kind == "beir-path-is-file":
        (tmp_path / "f.txt").write_text("x")
        return ["--dataset", "beir", "--path", str(tmp_path / "f.txt")], ConfigError, "is a file"
    if kind == "beir-no-queries":
        folder = _beir_jsonl(tmp_path / "b")
        (folder / "queries.jsonl").unlink()
        return ["--dataset", "beir", "--path", str(folder)], MissingDataError, "queries.parquet"
    if kind == "beir-bad-parquet":
        folder = _beir_parquet(tmp_path / "b")
        (folder / "corpus.parquet").write_bytes(b"PAR1 this is not parquet")
        return ["--dataset", "beir", "--path", str(folder)], DataError, "not a readable Parquet file"
    if kind == "beir-qrels-columns":
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = _beir_parquet(tmp_path / "b")
        pq.write_table(pa.Table.from_pylist([{"q": "q0", "d": "d0"}]), folder / "qrels" / "test.parquet")
        return ["--dataset", "beir", "--path", str(folder)], DataError, "columns query-id, corpus-id, score"
    if kind == "beir-bad-split":
        folder = _beir_jsonl(tmp_path / "b")
        return ["--dataset", "beir", "--path", str(folder), "--split", "dev"], MissingDataError, "dev"
    if kind == "mldr-empty":
        (tmp_path / "m").mkdir()
        return ["--dataset", "mldr", "--path", str(tmp_path / "m")], MissingDataError, "no MLDR language"
    if kind == "miracl-empty-corpus":
        (tmp_path / "c").mkdir()
        return ["--dataset", "miracl", "--corpus", str(tmp_path / "c")], MissingDataError, "--corpus"
    if kind == "miracl-unknown-language":
        return (["--dataset", "miracl", "--corpus", str(tmp_path), "-l", "nl"], ConfigError,
                "topic files")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["path-on-xquad", "language-on-mldr", "corpus-on-beir",
                                  "beir-missing-folder",
                                  "beir-path-is-file", "beir-no-queries", "beir-bad-parquet",
                                  "beir-qrels-columns", "beir-bad-split", "mldr-empty",
                                  "miracl-empty-corpus", "miracl-unknown-language"])
def test_bad_paths_and_files_are_one_line_errors(data_dir, tmp_path, kind):
    args, error, message = _broken(kind, tmp_path)
    res = _eval(data_dir, tmp_path, *args)
    assert res.exit_code != 0
    assert isinstance(res.exception, XlirError), repr(res.exception)
    assert isinstance(res.exception, error), repr(res.exception)
    assert message in str(res.exception)
