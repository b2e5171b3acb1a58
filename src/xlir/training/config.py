"""``TrainConfig``: every setting of a training run, loadable from TOML.

Defaults follow arXiv 2408.10536 where it is explicit (hybrid batching, alpha 0.5, InfoNCE with
temperature 0.05, AdamW) and the issue's quick CPU recipe otherwise (lr 3e-5, batch 32, max length
96, frozen word embeddings for cheap CPU steps). The whole config is written into the model's
``xlir_training.json``, so a trained model says how it was made. ``TrainConfig.from_toml(path,
overrides)`` reads a file (top level or a ``[train]`` table) like every xlir config
(:class:`xlir.config.TomlConfig`). Packaged, measured configs are recipes
(:mod:`xlir.training.recipes`; ``recipe("quick")``).

TOML example::

    model = "e5-small"
    sources = ["mlqa"]
    sampler = "hybrid"
    alpha = 0.5
    steps = 120
    batch_size = 32
    output = "runs/hybrid"
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field, create_model, field_validator, model_validator

from xlir.config import TomlConfig
from xlir.data.languages import normalize, unknown_codes
from xlir.errors import ConfigError


class TrainConfig(TomlConfig):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    toml_table: ClassVar[str] = "train"

    # what to train, on what
    model: str = Field("e5-small", description="short name (e5-small, tiny), folder or Hub id")
    sources: list[str] = Field(default_factory=lambda: ["mlqa"], description="pair sources (load_pairs)")
    languages: list[str] | None = Field(None, description="keep pairs whose languages are all in this list")
    unit: Literal["sentence", "paragraph"] = "sentence"
    bitext_languages: list[str] | None = Field(None, description='bitext sources: ["de-en", ...]')
    max_groups: int | None = Field(None, ge=1, description="first N questions per source (quick runs)")
    output: Path = Path("runs/train")

    # batching (arXiv 2408.10536, section 3.1); a sampler reads the options its ``Options`` declares
    # (``alpha`` for hybrid, ``weighting`` for xx-mono/xy/hybrid) and checks their ranges
    sampler: str = "hybrid"
    alpha: float = Field(0.5, description="share of monolingual batches (hybrid)")
    weighting: str = Field("uniform", description="uniform or proportional: how batch languages are drawn")
    batch_size: int = Field(32, ge=2, description="global batch: pairs per step over all processes")
    chunk_size: int | None = Field(None, ge=1, description="gradient-cache chunk (None: plain backward)")
    bucket_tokens: int | None = Field(
        None, ge=0, description="encode each batch as length-sorted micro-chunks of at most this many "
                                "padded tokens (same batch and loss, less padding); 0: whole batches; "
                                "None: 256 on CPU, whole batches on GPU (xlir.models.batching)")

    # loss: a registered objective (xlir.training.objectives) reads the fields its ``Options``
    # declares by name (temperature, symmetric, hard_negatives for info-nce; max_length and seed for
    # mlm) plus ``objective_options`` (translation-ranking's margin, mlm's mask_prob), and checks them
    objective: str = Field("info-nce", description="info-nce (fine-tuning), translation-ranking, mlm")
    objective_options: dict = Field(default_factory=dict, description="options beyond the fields here")
    temperature: float = 0.05
    symmetric: bool = False
    hard_negatives: int = Field(0, description="hard negatives per pair (other gold-paragraph sentences)")

    # optimisation
    steps: int = Field(100, ge=1)
    lr: float = Field(3e-5, gt=0.0)
    weight_decay: float = Field(0.01, ge=0.0)
    warmup_steps: int | None = Field(None, ge=0, description="default: 10% of steps")
    max_grad_norm: float | None = Field(1.0, gt=0.0)
    freeze_word_embeddings: bool = True
    max_length: int = Field(96, ge=8)
    dropout: float | None = Field(None, ge=0.0, lt=1.0,
                                  description="override the model's dropout (None: keep)")
    seed: int = 0
    merge_weight: float | None = Field(
        None, ge=0.0, le=1.0,
        description="WiSE-FT when training ends: the saved model is (1 - w)·base + w·trained "
                    "(arXiv 2109.01903; the trained weights stay in <output>/unmerged); None: no merge")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="bf16: autocast on the transformer's forward and backward (fp32 master "
                            "weights, optimizer state, loss); auto (default): bf16 where native, "
                            "else fp32 (xlir.models.precision; why: BENCHMARKS.md, 'Default precision')")
    num_threads: int | None = Field(None, ge=1,
                                     description="torch CPU threads (None: $XLIR_THREADS, else torch's)")

    # bookkeeping
    recipe: str | None = Field(None, description="the packaged recipe these settings started from "
                               "(xlir train --recipe; xlir.training.recipes): a label the record "
                               "resolves to the recipe file, not a source of values")
    checkpoint_every: int = Field(50, ge=1)
    # two by default: a newest checkpoint found cut or damaged on resume falls back to the one before
    keep_checkpoints: int = Field(2, ge=1)
    log_every: int = Field(1, ge=1)
    progress: bool = True
    resume: bool = False

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str] | None) -> list[str] | None:
        """Known codes only, normalised (``swh`` -> ``sw``): an unknown code once only gave "no
        training pairs"; an empty list (``--languages ,``) once silently filtered everything out."""
        if v is None:
            return None
        if not v:
            raise ValueError("names no language (leave it out to keep every language)")
        unknown = unknown_codes(v)
        if unknown:
            raise ValueError(f"unknown language code(s) {', '.join(map(repr, unknown))}: expected ISO 639 "
                             "codes such as de, en, sw (see docs/languages.md)")
        return [normalize(c) for c in v]

    @field_validator("recipe")
    @classmethod
    def _recipe(cls, v: str | None) -> str | None:
        """A known recipe, by its current name (``quick-hybrid`` reads as ``quick``, with a warning)."""
        if v is None:
            return None
        from xlir.training.recipes import canonical_name

        try:
            return canonical_name(v)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.hard_negatives and self.unit != "sentence":
            raise ValueError("hard_negatives needs unit = 'sentence'")
        from xlir.training.objectives import OBJECTIVES
        from xlir.training.options import parse_options
        from xlir.training.samplers import SAMPLERS

        try:  # a ValueError, so that pydantic (and TomlConfig.build) name the file and the field
            parse_options(SAMPLERS.get(self.sampler).Options, self.sampler_settings(),
                          f"sampler {self.sampler!r}")
            parse_options(OBJECTIVES.get(self.objective).Options, self.objective_settings(),
                          f"objective {self.objective!r}")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def sampler_settings(self) -> dict:
        """The options of ``sampler`` that this config holds (by the names its ``Options`` declares)."""
        from xlir.training.options import options_from
        from xlir.training.samplers import SAMPLERS

        return options_from(self, SAMPLERS.get(self.sampler).Options)

    def objective_settings(self) -> dict:
        """The options of ``objective``: same-named fields of this config, then ``objective_options``."""
        from xlir.training.objectives import OBJECTIVES
        from xlir.training.options import options_from

        return options_from(self, OBJECTIVES.get(self.objective).Options, self.objective_options)

    @property
    def warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps is not None else max(0, self.steps // 10)


def train_overrides(name: str, fields: Sequence[str], *, module: str, doc: str) -> type[TomlConfig]:
    """A frozen config holding only ``fields`` of :class:`TrainConfig`, with its types, defaults and
    checks: for a config that fixes or varies a few training settings (a study cell's fine-tuning)
    and leaves the rest to TrainConfig. ``TrainConfig(**overrides.model_dump(), ...)`` completes it.

    Assign the result to ``name`` in ``module`` (it must be importable by name: cells are pickled to
    worker processes).
    """
    unknown = [f for f in fields if f not in TrainConfig.model_fields]
    if unknown:
        raise ValueError(f"TrainConfig has no field {', '.join(unknown)}")
    spec = {f: (TrainConfig.model_fields[f].annotation, copy.copy(TrainConfig.model_fields[f]))
            for f in fields}
    return create_model(name, __base__=TomlConfig, __module__=module, __doc__=doc,
                        __cls_kwargs__={"frozen": True, "extra": "forbid"}, **spec)


def help_defaults() -> dict[str, str]:
    """Each field's default as ``xlir train --help`` shows it. The command's options default to None
    (only the options given override a --config file), so typer cannot show these by itself."""
    out = {}
    for name, field in TrainConfig.model_fields.items():
        value = None if field.is_required() else field.get_default(call_default_factory=True)
        if isinstance(value, list | tuple):
            value = ",".join(map(str, value)) or "all"
        out[name] = "none" if value is None else str(value)
    return out


def recipe(name: str, overrides: dict | None = None, /, **more) -> TrainConfig:
    """A packaged recipe's config by name (``quick``, ``best-cpu``), with ``overrides`` applied
    (:mod:`xlir.training.recipes`)."""
    from xlir.training.recipes import load_recipe

    return load_recipe(name).config(overrides, **more)
