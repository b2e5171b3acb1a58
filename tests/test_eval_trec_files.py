"""TREC run/qrels files: round trip through our writers, and bad lines named by file and line."""

import pytest

from xlir.errors import DataError
from xlir.evaluation.results import read_qrels, read_run, write_qrels


def test_qrels_round_trip(tmp_path):
    qrels = {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}
    write_qrels(tmp_path / "q.txt.gz", qrels)
    assert read_qrels(tmp_path / "q.txt.gz") == qrels


def test_run_reads_scores_and_skips_blank_lines(tmp_path):
    path = tmp_path / "run.txt"
    path.write_text("q1 Q0 d1 1 0.75 x\n\nq1 Q0 d2 2 0.5 x\nq2 Q0 d1 1 -1e-3 x\n")
    assert read_run(path) == {"q1": {"d1": 0.75, "d2": 0.5}, "q2": {"d1": -0.001}}


@pytest.mark.parametrize(
    ("reader", "text", "bad_line"),
    [
        (read_run, "q1 Q0 d1 1 0.5 x\nq1 Q0 d2 2 high x\n", 2),  # score not a number
        (read_run, "q1 Q0 d1 1 0.5\n", 1),  # tag missing
        (read_qrels, "q1 0 d1 1\nq1 0 d2 1.5\n", 2),  # fractional grade
        (read_qrels, "q1 0 d1 1\nq2 d2 1\n", 2),  # iteration column missing
    ],
)
def test_bad_line_is_named(tmp_path, reader, text, bad_line):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        reader(path)
    assert err.value.line == bad_line
    assert f"bad.txt:{bad_line}" in str(err.value)


# ---- issue 11, defect 8: ids with whitespace, raw errors, NaN scores, silent duplicates ------------

def _run(qids, docs, scores):
    import numpy as np

    from xlir.evaluation.results import RunData

    return RunData(list(qids), [list(d) for d in docs], np.asarray(scores, dtype=np.float32))


@pytest.mark.parametrize("suffix", ["trec", "trec.gz"])
def test_ids_with_whitespace_are_encoded_and_read_back(tmp_path, suffix):
    """xlir wrote ``q 1 Q0 d 1 ...`` (8 fields) and then refused its own file."""
    from xlir.evaluation.trec_io import decode_id, encode_id, write_run

    qids, docs = ["q 1", "50%", "tab\tq"], [["d 1", "d\u00a02"], ["x%20y", "plain"], ["α β", "z"]]
    write_run(tmp_path / f"r.{suffix}", _run(qids, docs, [[0.5, 0.25]] * 3))
    qrels = {"q 1": {"d 1": 1}, "50%": {"x%20y": 2}, "tab\tq": {"α β": 1}}
    write_qrels(tmp_path / f"q.{suffix}", qrels)
    raw = read_run(tmp_path / f"r.{suffix}")
    assert set(raw) == {"q%201", "50%25", "tab%09q"} and raw["q%201"] == {"d%201": 0.5, "d%C2%A02": 0.25}
    back = read_run(tmp_path / f"r.{suffix}", decode_ids=True)
    assert back == {q: dict(zip(d, [0.5, 0.25], strict=True)) for q, d in zip(qids, docs, strict=True)}
    assert read_qrels(tmp_path / f"q.{suffix}", decode_ids=True) == qrels
    assert all(decode_id(encode_id(s)) == s for s in ["", "a", "%", "%%20", " ", "x\ny", "\u2028"] if s)
    with pytest.raises(ValueError):
        encode_id("")


def test_encoded_files_score_like_the_original_ids(tmp_path):
    """trec_eval-style tools see the same pairs: pytrec_eval on the encoded files equals the dicts."""
    import pytrec_eval

    qrels = {"q 1": {"d 1": 1, "d2": 0}, "q2": {"d%3": 1}}
    run = {"q 1": {"d 1": 0.2, "d2": 0.9}, "q2": {"d%3": 0.5, "d 1": 0.7}}
    from xlir.evaluation.trec_io import write_run

    write_qrels(tmp_path / "q.txt", qrels)
    write_run(tmp_path / "r.trec", _run(run, [list(d) for d in run.values()],
                                        [list(d.values()) for d in run.values()]))
    measures = {"map", "ndcg"}
    want = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    got = pytrec_eval.RelevanceEvaluator(read_qrels(tmp_path / "q.txt"), measures).evaluate(
        read_run(tmp_path / "r.trec"))
    assert sorted(v for q in want.values() for v in q.values()) == sorted(
        v for q in got.values() for v in q.values())


def test_writers_refuse_empty_ids_and_non_finite_scores(tmp_path):
    from xlir.evaluation.trec_io import write_run

    with pytest.raises(DataError, match="cannot write document id ''"):
        write_run(tmp_path / "r.trec", _run(["q"], [["", "d"]], [[0.1, 0.2]]))
    with pytest.raises(DataError, match="1 non-finite score"):
        write_run(tmp_path / "r.trec", _run(["q"], [["a", "d"]], [[float("nan"), 0.2]]))


@pytest.mark.parametrize(("text", "message"), [
    ("q1 Q0 d1 1 nan x\n", "score 'nan' is not finite"),
    ("q1 Q0 d1 1 0.5 x\nq1 Q0 d2 2 -inf x\n", "score '-inf' is not finite"),
    ("q1 Q0 d1 1 0.5 x\nq2 Q0 d1 1 0.5 x\nq1 Q0 d1 2 0.9 x\n",
     r"lists document 'd1' twice \(first on line 1\)"),
    ("q1 Q0 d1 one 0.5 x\n", "rank 'one' is not an integer"),
    ("q1 Q0 d 1 1 0.5 x\n", "7 fields"),
])
def test_strict_run_reader(tmp_path, text, message):
    path = tmp_path / "run.trec"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as err:
        read_run(path)
    assert err.value.line == text.count("\n")


def test_duplicate_judgment_and_raw_errors(tmp_path):
    import gzip

    path = tmp_path / "q.txt"
    path.write_text("q1 0 d1 1\nq1 0 d1 0\n")
    with pytest.raises(DataError, match="twice") as err:  # was: the second grade silently won
        read_qrels(path)
    assert err.value.line == 2
    bad = tmp_path / "u.trec"
    bad.write_bytes(b"q1 Q0 d1 1 0.5 x\nq1 Q0 d\xff 2 0.4 x\n")
    with pytest.raises(DataError, match="not UTF-8") as err:  # was UnicodeDecodeError
        read_run(bad)
    assert err.value.line == 2
    cut = tmp_path / "c.trec.gz"
    cut.write_bytes(gzip.compress("".join(f"q1 Q0 d{i} {i} 0.5 x\n" for i in range(1, 3000)).encode())[:-30])
    with pytest.raises(DataError, match="truncated or corrupt gzip"):  # was EOFError
        read_run(cut)
