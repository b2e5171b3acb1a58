"""Training recipes: named, packaged TOML configs (``xlir train --recipe NAME``, ``--list-recipes``).

A recipe is a :class:`~xlir.training.config.TrainConfig` somebody measured and wants rerun as is: the
quickstart's ``quick`` (~15 min on 2 CPU cores), ``best-cpu`` (~90 min). Each is one file in this
folder, shipped as package data::

    # header comment: what it is for, its wall time on 2 cores, the collections it is zero-shot for
    [recipe]
    description = "one line for --list-recipes"
    minutes = 15                        # expected training wall time on 2 free CPU cores
    zero_shot = ["xquad-r", "miracl"]   # evaluation collections it never trains on
    provisional = false                 # true: the values still wait for the search that sets them

    [train]
    ...                                 # TrainConfig fields

``zero_shot`` is checked against the leakage guard evaluation applies
(:func:`xlir.data.provenance.shared_sources`): a recipe that declares a collection built from one of
its training sources does not load. Precedence when a recipe is combined with a file and options
(:func:`resolve_config`): command-line options > ``--config`` file > ``--recipe`` > TrainConfig
defaults. A model trained from a recipe records its name, the file's sha256 and full text, and the
settings that differ from it (:func:`recipe_provenance`), beside the whole resolved config.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xlir.config import read_toml, validation_problems
from xlir.errors import ConfigError
from xlir.training.config import TrainConfig

RECIPES_DIR = Path(__file__).parent
ALIASES = {"quick-hybrid": "quick"}
"""Old recipe names, still accepted with a warning (``quick-hybrid`` became ``quick``)."""


class RecipeInfo(BaseModel):
    """The ``[recipe]`` table: what ``--list-recipes`` shows and the zero-shot claim."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1)
    minutes: float = Field(gt=0, description="expected training wall time on 2 free CPU cores")
    zero_shot: list[str] = Field(min_length=1, description="evaluation collections it is zero-shot for")
    provisional: bool = False


@dataclass(frozen=True)
class Recipe:
    """One recipe file, read and checked."""

    name: str
    path: Path
    text: str
    info: RecipeInfo
    values: dict  # the [train] table as written

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def packaged(self) -> bool:
        """One of xlir's recipes (``--recipe`` names it), not a file elsewhere read to check it."""
        return self.path.parent.resolve() == RECIPES_DIR.resolve()

    def config(self, overrides: dict | None = None, /, **more) -> TrainConfig:
        """The recipe's TrainConfig (``recipe`` set to its name when packaged), with ``overrides``
        (None values: not given)."""
        given = {k: v for k, v in {**(overrides or {}), **more}.items() if v is not None}
        label = {"recipe": self.name} if self.packaged else {}
        return TrainConfig.build(str(self.path), **{**self.values, **given, **label})

    @classmethod
    def read(cls, path: str | Path) -> Recipe:
        """Read and check a recipe file: its tables, its TrainConfig, its zero-shot claim."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read recipe {path}: {exc}") from None
        if not text.startswith("#"):
            raise ConfigError(f"{path}: a recipe starts with a comment saying what it is for, its wall "
                              "time on 2 cores and the collections it is zero-shot for")
        tables = read_toml(path)
        if sorted(tables) != ["recipe", "train"] or not all(isinstance(t, dict) for t in tables.values()):
            raise ConfigError(f"{path}: a recipe has exactly two tables, [recipe] (description, minutes, "
                              f"zero_shot) and [train] (TrainConfig fields); found {', '.join(tables)}")
        try:
            info = RecipeInfo(**tables["recipe"])
        except ValidationError as exc:
            raise ConfigError(f"{path}: [recipe] {validation_problems(exc)}") from None
        recipe = cls(path.stem, path, text, info, tables["train"])
        config = recipe.config()  # a bad [train] value is a ConfigError naming the file
        try:
            clashes = zero_shot_clashes(config.sources, info.zero_shot)
        except ConfigError as exc:
            raise ConfigError(f"{path}: [recipe] zero_shot: {exc}") from None
        if clashes:
            raise ConfigError(f"{path}: declared zero-shot for {', '.join(clashes)} but trains on "
                              f"{', '.join(sorted({s for v in clashes.values() for s in v}))}, which the "
                              "evaluation's leakage guard refuses for those collections")
        return recipe


def zero_shot_clashes(sources: list[str], collections: list[str]) -> dict[str, list[str]]:
    """Collection -> the training sources the leakage guard finds it shares (empty: all zero-shot).

    A name that is not a registered collection is a :class:`ConfigError`: a misspelt claim would
    otherwise pass unchecked.
    """
    from xlir.data.provenance import shared_sources
    from xlir.data.registry import collection_names

    known = set(collection_names())
    unknown = [c for c in collections if c not in known]
    if unknown:
        raise ConfigError(f"unknown collection(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return {c: clash for c in collections if (clash := shared_sources(sources, c))}


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))


def canonical_name(name: str) -> str:
    """A recipe's current name (an old one warns); an unknown name is a ConfigError listing the known."""
    if name in ALIASES:
        warnings.warn(f"recipe {name!r} is now called {ALIASES[name]!r}; the old name will go",
                      FutureWarning, stacklevel=3)
        name = ALIASES[name]
    if name not in recipe_names():
        raise ConfigError(f"unknown training recipe {name!r}; known: {', '.join(recipe_names())} "
                          "(xlir train --list-recipes)")
    return name


def load_recipe(name: str) -> Recipe:
    """A packaged recipe by name (``quick``, ``best-cpu``)."""
    return Recipe.read(RECIPES_DIR / f"{canonical_name(name)}.toml")


def resolve_config(recipe: str | None = None, config_file: str | Path | None = None,
                   overrides: dict | None = None) -> TrainConfig:
    """What ``xlir train`` trains: options (``overrides``, None = not given) > the ``--config`` file's
    values > the recipe (``recipe``, else a ``recipe = "..."`` in the file) > TrainConfig defaults."""
    file_values = TrainConfig.from_file(read_toml(config_file, TrainConfig.toml_table)) if config_file else {}
    if recipe is not None and not recipe.strip():
        raise ConfigError("--recipe is empty: name a recipe (xlir train --list-recipes) or leave the "
                          "option out")
    in_file = file_values.get("recipe")
    if recipe and in_file and canonical_name(recipe) != canonical_name(in_file):
        # the option wins, as every option does over the file; but say so: the file's recipe would
        # otherwise vanish without a trace (the record names only the recipe used)
        warnings.warn(f"--recipe {recipe} replaces the recipe {in_file!r} that {config_file} names; the "
                      "file's other settings still apply", UserWarning, stacklevel=2)
    name = recipe or in_file
    base = load_recipe(name) if name else None
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    values = {**(base.values if base else {}), **file_values, **given}
    if base:
        values["recipe"] = base.name
    return TrainConfig.build(str(config_file) if config_file else "command line", **values)


def recipe_provenance(config: TrainConfig) -> dict | None:
    """For the training record: the recipe ``config`` came from (name, file, sha256, full text) and
    the fields that differ from it; None when it came from no recipe."""
    if config.recipe is None:
        return None
    recipe = load_recipe(config.recipe)
    base, now = recipe.config().model_dump(mode="json"), config.model_dump(mode="json")
    return {"name": recipe.name, "file": f"xlir/training/recipes/{recipe.path.name}",
            "sha256": recipe.sha256, "changed": {k: v for k, v in now.items() if base.get(k) != v},
            "text": recipe.text}


def recipe_table() -> str:
    """``xlir train --list-recipes``: one aligned row per recipe, then the old names."""
    header = ("recipe", "steps x batch", "sources", "~min (2 cores)", "zero-shot for", "what it is")
    rows = [header]
    for name in recipe_names():
        r = load_recipe(name)
        cfg = r.config()
        rows.append((name, f"{cfg.steps} x {cfg.batch_size}", ", ".join(cfg.sources), f"{r.info.minutes:g}",
                     ", ".join(r.info.zero_shot),
                     ("(provisional) " if r.info.provisional else "") + r.info.description))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
             for row in rows]
    lines += [f"({old}: old name of {new})" for old, new in sorted(ALIASES.items())]
    return "\n".join(lines)
