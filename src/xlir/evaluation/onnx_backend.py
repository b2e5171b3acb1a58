"""Encode through ONNX Runtime instead of torch: ``EvalConfig(runtime="onnx")`` / ``xlir eval --runtime``.

For people who only encode: ONNX Runtime's CPU kernels run e5-small's fp32 graph faster than eager
torch and its int8 kernels faster still (BENCHMARKS.md §4). The export
(:mod:`xlir.models.onnx_export`) is made once per model fingerprint and kept in the cache folder
(``$XLIR_CACHE_DIR/onnx/<fingerprint>/<export revision>/<variant>.onnx``), next to the embedding cache;
vectors of each variant are cached under the fingerprint plus ``+<variant>.<export revision>``, never
mixed with torch's nor with those of an older export.

Runtimes (the int8 ones quantize the fp32 export; what each keeps in fp32 is in :data:`VARIANTS`):

* ``onnx``: the fp32 export (cosine to torch's vectors >= 0.99999, tested on e5-small);
* ``onnx-int8-dynamic``: int8 per-channel weights, activations quantized per batch;
* ``onnx-int8-dynamic-ffn``: the same with every FFN output projection (``layer.N/output/dense``,
  whose input is the GELU output with the widest range) kept in fp32;
* ``onnx-int8-block64``: ORT's ``MatMulNBits``, int8 weights with one scale per block of 64 input
  rows and int8 products on activations quantized per block of 64 values of each row
  (``accuracy_level=4``), so an outlier hidden channel widens only its own block's scale;
* ``onnx-int4w-block32``: the same with 4-bit weights and blocks of 32 (the finer activation blocks
  make it the closest to fp32). There is no int8 block-32 variant: ORT 1.32's quantizer, asked for
  8 bits in blocks of 32, stores 16 levels (4-bit values shifted left by 4), whose vectors equal
  ``onnx-int4w-block32``'s exactly;
* ``onnx-int8-static``: int8 weights and activations, activation scales calibrated on MLQA
  (training-side) text; ``onnx-int8-static-ffn``: with the FFN output projections in fp32;
* ``onnx-int8``: the documented int8 choice (:data:`INT8_DEFAULT` = ``onnx-int8-block64``, chosen
  from the measured Pareto table in BENCHMARKS.md §4).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from xlir.errors import ConfigError
from xlir.models.onnx_export import EXPORT_REVISION

FFN_OUT = r"layer\.\d+/output/dense"
VARIANTS: dict[str, dict | None] = {
    "onnx": None,
    "onnx-int8-dynamic": {"method": "dynamic", "exclude": ()},
    "onnx-int8-dynamic-ffn": {"method": "dynamic", "exclude": (FFN_OUT,)},
    "onnx-int8-block64": {"method": "nbits", "bits": 8, "block_size": 64, "accuracy_level": 4},
    "onnx-int4w-block32": {"method": "nbits", "bits": 4, "block_size": 32, "accuracy_level": 4},
    "onnx-int8-static": {"method": "static", "exclude": ()},
    "onnx-int8-static-ffn": {"method": "static", "exclude": (FFN_OUT,)},
}
# the fastest variant whose mAP loss on the full XQuAD-R is <= 0.005 in every setting (BENCHMARKS.md
# §4, "int8: the Pareto table"); the dynamic ones are faster but lose 0.007-0.024
INT8_DEFAULT = "onnx-int8-block64"
RUNTIMES = ("torch", "onnx", "onnx-int8", *[v for v in VARIANTS if v != "onnx"])
CALIBRATION_TEXTS = 256
CALIBRATION_BATCH = 16


def resolve_runtime(name: str) -> str:
    if name == "onnx-int8":
        return INT8_DEFAULT
    if name not in VARIANTS:
        raise ConfigError(f"unknown runtime {name!r}; known: {', '.join(RUNTIMES)}")
    return name


class OnnxEncoder:
    """What :func:`xlir.evaluation.encode.encode_texts` needs from an encoder, on an ORT session."""

    def __init__(self, model, path: Path, variant: str, threads: int | None = None):
        import onnxruntime as ort
        import torch

        self.tokenizer = model.tokenizer
        self.max_seq_length = model.max_seq_length
        self.prompts = dict(getattr(model, "prompts", {}) or {})
        self.cache_suffix = variant  # the runtime's name, in results and (with the export) in cache keys
        self.cache_key_suffix = f"{variant}.{EXPORT_REVISION}"
        self.path = Path(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._dim = int(self.session.get_outputs()[0].shape[-1])

    def get_sentence_embedding_dimension(self) -> int:
        return self._dim

    def embed_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {"input_ids": input_ids.astype(np.int64),
                                      "attention_mask": attention_mask.astype(np.int64)})[0]
        return np.ascontiguousarray(out, dtype=np.float32)


def calibration_batches(model, n_texts: int = CALIBRATION_TEXTS, batch: int = CALIBRATION_BATCH) -> list:
    """Padded ``(input_ids, attention_mask)`` batches of MLQA questions and sentences (training
    side, with the model's prompts): what the static int8 scales are calibrated on."""
    from xlir.data.pairs import load_pairs

    pairs = load_pairs(["mlqa"], max_groups=max(8, n_texts // 8)).pairs
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(pairs))[: n_texts // 2]
    qp, pp = model.prompts.get("query", ""), model.prompts.get("passage", "")
    texts = [qp + pairs[i].query for i in pick] + [pp + pairs[i].positive for i in pick]
    out = []
    for start in range(0, len(texts), batch):
        tok = model.tokenizer(texts[start:start + batch], padding=True, truncation=True,
                              max_length=model.max_seq_length, return_tensors="np")
        out.append((tok["input_ids"].astype(np.int64), tok["attention_mask"].astype(np.int64)))
    return out


def onnx_dir(model) -> Path:
    """``$XLIR_CACHE_DIR/onnx/<fingerprint>/<export revision>`` (default ``~/.cache/xlir/onnx/...``)."""
    from xlir.models import fingerprint
    from xlir.models.assets import cache_dir

    return cache_dir() / "onnx" / fingerprint(model) / EXPORT_REVISION


def ensure_variant(model, variant: str) -> Path:
    """The ONNX file of ``variant`` for ``model``, exported / quantized on first use."""
    from xlir.models.onnx_export import export_onnx, quantize_onnx, require_onnx

    require_onnx()
    variant = resolve_runtime(variant)
    folder = onnx_dir(model)
    fp32 = folder / "onnx.onnx"
    if not fp32.is_file():
        export_onnx(model, fp32)
    spec = VARIANTS[variant]
    if spec is None:
        return fp32
    path = folder / f"{variant}.onnx"
    if not path.is_file():
        calib = calibration_batches(model) if spec["method"] == "static" else None
        info = quantize_onnx(fp32, path, calibration=calib, **spec)
        (folder / f"{variant}.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return path


def onnx_encoder(model, runtime: str, *, threads: int | None = None) -> OnnxEncoder:
    """An :class:`OnnxEncoder` of ``model`` for ``runtime`` (``onnx``, ``onnx-int8``, a variant)."""
    variant = resolve_runtime(runtime)
    return OnnxEncoder(model, ensure_variant(model, variant), variant, threads)
