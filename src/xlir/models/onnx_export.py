"""Export a SentenceTransformer to ONNX (the whole pipeline: transformer, pooling, normalisation) and
quantize the export to int8 with ONNX Runtime's tools.

The exported graph takes ``input_ids`` and ``attention_mask`` ``[batch, length]`` (both dynamic) and
returns the unit-norm ``sentence_embedding`` ``[batch, dim]``, so a runtime needs nothing but the
tokenizer. The sentence-transformers modules are traced as they are (no second implementation of
the model), masked mean pooling included.

Why the whole pipeline and an explicit mask: an export of the bare transformer with pooling done
outside, or one traced without ``attention_mask``, does not break on a test batch without padding
but drifts on real length-mixed batches. Measured on 48 XQuAD-R sentences padded to one length
(e5-small, vs the torch pipeline): mean over padded positions too 0.962 mean cosine, transformer
run without its mask 0.969-0.976, CLS instead of mean 0.889; this export 0.9999999 (both of
torch's exporters, traced with or without padding in the example). The test checks e5-small itself
on real sentences of varied lengths (``tests/test_onnx_backend.py``, slow).

int8 (Jacob et al. 2018, "Quantization and training of neural networks for efficient integer-
arithmetic-only inference"; per-channel weight scales: Krishnamoorthi 2018, arXiv 1806.08342):

* ``dynamic``: int8 weights with one scale per output channel, activations quantized at run time
  with one scale for the whole batch tensor (``onnxruntime.quantization.quantize_dynamic``); no
  calibration data. Fast, but the one activation scale is set by the few outlier hidden channels
  of a transformer (Dettmers et al. 2022, LLM.int8()), which costs e5-small 0.02 cross-lingual mAP;
* ``nbits``: ORT's ``MatMulNBits`` (``MatMulNBitsQuantizer``): symmetric int8 (or int4) weights with
  one scale per ``block_size`` input rows, and with ``accuracy_level=4`` the activations quantized
  to int8 per block of ``block_size`` values of each row at run time, so an outlier channel only
  widens the scale of its own block; the products run in int8 (VNNI). No calibration data;
* ``static``: int8 weights per channel and int8 activations with scales fixed from a calibration
  set (QDQ format, ``quantize_static``): xlir calibrates on *training-side* text (MLQA sentences and
  questions, never the evaluation collection), ``calibration_texts`` of them;
* ``exclude``: node-name patterns left in fp32 (the sensitive layers; BENCHMARKS.md §4 measures
  which ones matter).
"""

from __future__ import annotations

import copy
import logging
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from xlir.errors import ConfigError

ONNX_PACKAGES = "onnxruntime==1.32.0 onnx==1.23.2 onnx-ir==1.1.0"
OPSET = 17
# bumped whenever the exported graph changes, so files and cached vectors of an older export are not
# reused: "e2" = eager attention (the first export traced torch's SDPA)
EXPORT_REVISION = "e2"


def require_onnx():
    """``(onnxruntime, onnx)`` modules, or a ConfigError that says how to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ConfigError(f"the ONNX runtime is not installed ({exc.name} missing): install the extra with "
                          f"`pip install 'xlir[onnx]'` (or `pip install {ONNX_PACKAGES}`), or use "
                          "--runtime torch") from None
    return onnxruntime, onnx


def _pipeline(model):
    import torch

    class Pipeline(torch.nn.Module):
        """The SentenceTransformer's modules in order, then L2 normalisation, on two tensors."""

        def __init__(self, st):
            super().__init__()
            self.st = st

        def forward(self, input_ids, attention_mask):
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            for module in self.st:
                features = module(features)
            return torch.nn.functional.normalize(features["sentence_embedding"].float(), p=2, dim=-1)

    return Pipeline(model).eval()


def _eager_attention(model):
    """``model`` with its transformer on the plain (eager) attention instead of torch's SDPA.

    Same arithmetic, but SDPA's traced graph guards its softmax with ``IsNaN``/``Where`` over every
    ``[batch, heads, length, length]`` score tensor, which took 9-13% of ORT's kernel time (profile
    of 300 XQuAD-R texts); the eager graph adds the mask and runs a plain ``Softmax``. Measured:
    ORT fp32 1.18x and block int8 ~1.5x faster than the SDPA export, cosine to torch unchanged
    (1.000000 on 300 texts)."""
    for module in model:
        auto = getattr(module, "auto_model", None)
        if auto is not None and hasattr(auto, "set_attn_implementation"):
            auto.set_attn_implementation("eager")
    return model


def export_onnx(model, path: str | Path) -> Path:
    """Write ``model`` (a SentenceTransformer, on CPU, fp32) as one ONNX file at ``path``."""
    import torch

    require_onnx()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tok = model.tokenizer(["passage: a short example", "passage: a somewhat longer example sentence, "
                           "so the batch holds padding"], padding=True, return_tensors="pt")
    example = (tok["input_ids"], tok["attention_mask"])
    axes = {0: "batch", 1: "length"}
    tmp = path.with_name(f".{path.name}.tmp")
    # tracing flips settings in the Hugging Face config (and so the model's fingerprint): trace a copy
    twin = _eager_attention(copy.deepcopy(model).to("cpu"))
    with torch.no_grad():
        torch.onnx.export(_pipeline(twin), example, str(tmp), dynamo=False,
                          opset_version=OPSET,
                          input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "sentence_embedding": {0: "batch"}})
    tmp.replace(path)
    return path


def _matmul_nodes(onnx_path: Path, exclude: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(names of MatMul/Gemm nodes to keep in fp32, all of them)`` by regex on node names."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    names = [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm")]
    keep = [n for n in names if any(re.search(p, n) for p in exclude)]
    return keep, names


def quantize_onnx(fp32_path: str | Path, out_path: str | Path, *, method: str = "dynamic",
                  exclude: Sequence[str] = (), calibration: Sequence[tuple] | None = None,
                  bits: int = 8, block_size: int = 32, accuracy_level: int = 4,
                  reduce_range: bool = False) -> dict:
    """Quantize an fp32 export to int8 at ``out_path``; returns what was done (for the record).

    ``calibration``: ``(input_ids, attention_mask)`` int64 arrays, one pair per batch (``static``).
    ``bits``, ``block_size``, ``accuracy_level``: of ``nbits`` (``accuracy_level`` 4 = int8 compute
    with activations quantized per block of ``block_size``, 0 = fp32 compute on dequantized weights).
    ``reduce_range``: 7-bit weights for ``dynamic`` (what non-VNNI CPUs need to avoid overflow).
    """
    _, _ = require_onnx()
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out_path = Path(out_path)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        excluded, all_matmuls = _matmul_nodes(pre, exclude)
        tmp_out = Path(tmp) / "q.onnx"
        if method == "dynamic":
            quantize_dynamic(str(pre), str(tmp_out), per_channel=True, weight_type=QuantType.QInt8,
                             reduce_range=reduce_range,
                             op_types_to_quantize=["MatMul", "Gemm"], nodes_to_exclude=excluded)
        elif method == "nbits":
            _quantize_nbits(pre, tmp_out, bits=bits, block_size=block_size, accuracy_level=accuracy_level,
                            exclude=excluded)
        elif method == "static":
            if not calibration:
                raise ConfigError("static int8 quantization needs calibration batches")

            class Reader(CalibrationDataReader):
                def __init__(self):
                    self._it = iter(calibration)

                def get_next(self):
                    b = next(self._it, None)
                    return None if b is None else {"input_ids": b[0], "attention_mask": b[1]}

            quantize_static(str(pre), str(tmp_out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=["MatMul", "Gemm"], nodes_to_exclude=excluded,
                            calibrate_method=CalibrationMethod.MinMax,
                            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True})
        else:
            raise ConfigError(f"int8 method must be dynamic, nbits or static, not {method!r}")
        tmp_out.replace(out_path)
    info = {"method": method, "per_channel": True, "matmuls": len(all_matmuls), "kept_fp32": len(excluded),
            "exclude_patterns": list(exclude), "calibration_batches": len(calibration or [])}
    if method == "nbits":
        info.update(per_channel=False, bits=bits, block_size=block_size, accuracy_level=accuracy_level)
    if reduce_range:
        info["reduce_range"] = True
    return info


def _quantize_nbits(src: Path, dst: Path, *, bits: int, block_size: int, accuracy_level: int,
                    exclude: Sequence[str]) -> None:
    """Weight-only block quantization of every MatMul with a constant weight into ORT's
    ``MatMulNBits`` (symmetric, one scale per ``block_size`` input rows of each output column)."""
    import onnx

    try:
        import onnx_ir  # noqa: F401  (ORT's quantizer imports it; onnxruntime does not declare it)
    except ImportError:
        raise ConfigError("block-quantized int8 (MatMulNBits) needs onnx-ir, which onnxruntime does not "
                          f"install: `pip install 'xlir[onnx]'` (or `pip install {ONNX_PACKAGES}`), or use "
                          "--runtime onnx-int8-dynamic") from None
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    quant = MatMulNBitsQuantizer(onnx.load(str(src)), bits=bits, block_size=block_size, is_symmetric=True,
                                 accuracy_level=accuracy_level or None, nodes_to_exclude=list(exclude),
                                 op_types_to_quantize=("MatMul",))
    quant.process()
    quant.model.save_model_to_file(str(dst), use_external_data_format=False)
