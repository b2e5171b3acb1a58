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
