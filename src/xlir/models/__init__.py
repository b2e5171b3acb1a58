"""Models: the embedded multilingual-e5-small, loading by name or path, fingerprints, tiny test model."""

from xlir.models.loading import DEFAULT_MODEL, SHORT_NAMES, fingerprint, load_model, resolve_model_path

__all__ = ["DEFAULT_MODEL", "SHORT_NAMES", "fingerprint", "load_model", "resolve_model_path"]
