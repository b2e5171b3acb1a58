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

* ``dynamic``: int8 weights with one scale per output channel, activations quantized per batch at
  run time (``onnxruntime.quantization.quantize_dynamic``); no calibration data;
* ``static``: int8 weights per channel and int8 activations with scales fixed from a calibration
  set (QDQ format, ``quantize_static``): xlir calibrates on *training-side* text (MLQA sentences and
  questions, never the evaluation collection), ``calibration_texts`` of them;
* ``exclude``: node-name patterns left in fp32 (the sensitive layers; BENCHMARKS.md §5 measures
  which ones matter).
"""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from xlir.errors import ConfigError

ONNX_PACKAGES = "onnxruntime==1.32.0 onnx==1.23.2"
OPSET = 17


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
    with torch.no_grad():
        torch.onnx.export(_pipeline(copy.deepcopy(model).to("cpu")), example, str(tmp), dynamo=False,
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
                  exclude: Sequence[str] = (), calibration: Sequence[tuple] | None = None) -> dict:
    """Quantize an fp32 export to int8 at ``out_path``; returns what was done (for the record).

    ``calibration``: ``(input_ids, attention_mask)`` int64 arrays, one pair per batch (``static``).
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
                             op_types_to_quantize=["MatMul", "Gemm"], nodes_to_exclude=excluded)
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
            raise ConfigError(f"int8 method must be dynamic or static, not {method!r}")
        tmp_out.replace(out_path)
    return {"method": method, "per_channel": True, "matmuls": len(all_matmuls), "kept_fp32": len(excluded),
            "exclude_patterns": list(exclude), "calibration_batches": len(calibration or [])}
