"""Training state as plain JSON plus raw tensors, so loading a checkpoint can never run code.

``torch.load(weights_only=False)`` unpickles, and unpickling a crafted file runs whatever it names;
a run folder is something users copy around and hand over. So a checkpoint holds only data:
:func:`encode` turns the nested state (optimizer and scheduler state dicts, sampler positions,
Python/NumPy/torch generator states) into JSON, moving every tensor into a flat ``{key: tensor}``
dict that is written with safetensors (a length-prefixed header and raw bytes) or, for the few small
RNG tensors, inlined as base64. :func:`decode` rebuilds the exact objects (bit for bit: floats
through ``repr``, tensors and arrays byte for byte) and accepts nothing but the markers below, so a
malformed file ends in :class:`CodecError`, never in code.

Markers (a dict with one of these keys): ``__tensor__`` (a key into the tensor dict, or an inline
``{dtype, shape, b64}``), ``__ndarray__`` (inline NumPy array), ``__tuple__`` (a list),
``__items__`` (a dict whose keys are not all plain strings, e.g. optimizer state keyed by int),
``__float__`` (nan/inf, which plain JSON cannot hold).
"""

from __future__ import annotations

import base64
import math

import numpy as np
import torch

TENSOR, NDARRAY, TUPLE, ITEMS, FLOAT = "__tensor__", "__ndarray__", "__tuple__", "__items__", "__float__"
_MARKERS = (TENSOR, NDARRAY, TUPLE, ITEMS, FLOAT)
_TORCH_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16,
    torch.int8, torch.uint8, torch.bool)}
_NUMPY_DTYPES = {"uint32", "uint64", "int64", "int32", "float64", "float32", "uint8"}


class CodecError(ValueError):
    """The stored state is not something :func:`encode` writes (the caller names the file)."""


def _inline_tensor(t: torch.Tensor) -> dict:
    t = t.detach().cpu().contiguous()
    raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
            "b64": base64.b64encode(raw).decode("ascii")}


def encode(obj, tensors: dict[str, torch.Tensor] | None, path: str = "") -> object:
    """JSON-able form of ``obj``; tensors go into ``tensors`` under their path (inline when None)."""
    if isinstance(obj, torch.Tensor):
        if tensors is None:
            return {TENSOR: _inline_tensor(obj)}
        key = path or "."
        if key in tensors:
            raise CodecError(f"two tensors at {key}")
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {TENSOR: key}
    if isinstance(obj, np.ndarray):
        if obj.dtype.name not in _NUMPY_DTYPES:
            raise CodecError(f"cannot store a NumPy array of {obj.dtype} at {path}")
        return {NDARRAY: {"dtype": obj.dtype.name, "shape": list(obj.shape),
                          "b64": base64.b64encode(np.ascontiguousarray(obj).tobytes()).decode("ascii")}}
    if isinstance(obj, np.generic):
        return encode(obj.item(), tensors, path)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {FLOAT: repr(obj)}
    if isinstance(obj, tuple):
        return {TUPLE: [encode(v, tensors, f"{path}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode(v, tensors, f"{path}/{i}") for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: encode(v, tensors, f"{path}/{k}") for k, v in obj.items()}
        for k in obj:
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise CodecError(f"cannot store a dict key of type {type(k).__name__} at {path}")
        return {ITEMS: [[k, encode(v, tensors, f"{path}/{k}")] for k, v in obj.items()]}
    raise CodecError(f"cannot store a {type(obj).__name__} at {path or 'the top level'}")


def _inline_bytes(spec, kind: str, itemsizes: dict[str, int]) -> tuple[bytes, list[int]]:
    """The checked raw bytes and shape of an inline ``kind`` ("tensor" or "array") of a known dtype."""
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "b64"}:
        raise CodecError(f"an inline {kind} needs exactly dtype, shape and b64")
    itemsize = itemsizes.get(spec["dtype"]) if isinstance(spec["dtype"], str) else None
    shape = spec["shape"]
    if itemsize is None:
        raise CodecError(f"unknown {kind} dtype {spec['dtype']!r}")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise CodecError(f"bad {kind} shape {shape!r}")
    try:
        raw = base64.b64decode(spec["b64"], validate=True)
    except (ValueError, TypeError) as e:
        raise CodecError(f"bad base64 {kind} data: {e}") from None
    if len(raw) != math.prod(shape) * itemsize:
        raise CodecError(f"{kind} data has {len(raw)} bytes, shape {shape} of {spec['dtype']} needs "
                         f"{math.prod(shape) * itemsize}")
    return raw, shape


_TORCH_ITEMSIZES = {name: torch.empty((), dtype=d).element_size() for name, d in _TORCH_DTYPES.items()}
_NUMPY_ITEMSIZES = {name: np.dtype(name).itemsize for name in _NUMPY_DTYPES}


def _decode_inline_tensor(spec) -> torch.Tensor:
    raw, shape = _inline_bytes(spec, "tensor", _TORCH_ITEMSIZES)
    dtype = _TORCH_DTYPES[spec["dtype"]]
    flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
    return flat.view(dtype).reshape(shape).clone() if raw else torch.empty(shape, dtype=dtype)


def _decode_ndarray(spec) -> np.ndarray:
    raw, shape = _inline_bytes(spec, "array", _NUMPY_ITEMSIZES)
    return np.frombuffer(raw, dtype=np.dtype(spec["dtype"])).reshape(shape).copy()


def decode(obj, tensors: dict[str, torch.Tensor] | None = None):
    """The object :func:`encode` was given; raises :class:`CodecError` on anything else."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, list):
        return [decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        raise CodecError(f"unexpected JSON value of type {type(obj).__name__}")
    marked = [m for m in _MARKERS if m in obj]
    if not marked:
        return {k: decode(v, tensors) for k, v in obj.items()}
    if len(obj) != 1:
        raise CodecError(f"a {marked[0]} marker must be the only key, got {sorted(obj)[:4]}")
    tag, value = marked[0], obj[marked[0]]
    if tag == TENSOR:
        if isinstance(value, str):
            if tensors is None or value not in tensors:
                raise CodecError(f"tensor {value!r} is missing from the tensor file")
            return tensors[value]
        return _decode_inline_tensor(value)
    if tag == NDARRAY:
        return _decode_ndarray(value)
    if tag == FLOAT:
        if value not in ("nan", "inf", "-inf"):
            raise CodecError(f"__float__ must be nan, inf or -inf, got {value!r}")
        return float(value)
    if not isinstance(value, list):
        raise CodecError(f"{tag} needs a list")
    if tag == TUPLE:
        return tuple(decode(v, tensors) for v in value)
    out = {}
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))
                and not isinstance(item[0], bool)):
            raise CodecError("an __items__ entry must be a [key, value] pair with a str or int key")
        out[item[0]] = decode(item[1], tensors)
    return out
