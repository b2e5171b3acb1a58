"""One way to read any xlir config from TOML: ``Config.from_toml(path, overrides)``.

Every config (training, evaluation, quickstart, a study's pre-training stage or cell) is a pydantic
model; :class:`TomlConfig` gives each the same reading rules, so a file means the same thing
everywhere: the file's ``[<table>]`` table if it has one (``[train]``, ``[eval]``, ``[quickstart]``),
else its top level; then ``overrides`` (the options given on the command line; ``None`` values are
not given) win over the file, and the file over the field defaults; an override that is a table (a
dict, e.g. ``{"train": {"steps": 10}}``) is merged into the file's table of that name. Every
problem is a
:class:`~xlir.errors.ConfigError` naming the file and the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from xlir.errors import ConfigError


def read_toml(path: str | Path, table: str = "", siblings: tuple[str, ...] = ()) -> dict:
    """The ``table`` of TOML file ``path`` if it has one, else the whole file. ``siblings``: tables the
    config also reads as its own fields when they stand beside ``table`` (a quickstart file's
    ``[train]`` beside ``[quickstart]``); one given in both places is an error."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    found = data.get(table, data) if table else data
    if table and table in data and isinstance(found, dict):
        found = dict(found)
        for name in siblings:
            if name in data:
                if name in found:
                    raise ConfigError(f"{path}: [{name}] is given both inside [{table}] and beside it: "
                                      "keep one")
                found[name] = data[name]
    if table and table in data:
        # other tables may serve other configs (a quickstart file holds [quickstart] and [train]), but a
        # bare key beside the table would be read by nobody: say so rather than train without it
        loose = [k for k, v in data.items() if k != table and k not in siblings and not isinstance(v, dict)]
        if loose:
            verb, it = ("is", "it") if len(loose) == 1 else ("are", "they")
            raise ConfigError(f"{path}: {', '.join(loose)} {verb} outside the [{table}] table, where {it} "
                              "would be ignored: move them into the table")
    if not isinstance(found, dict):
        raise ConfigError(f"{path}: '{table}' must be a table of settings, not {type(found).__name__}")
    return dict(found)


def validation_problems(exc: ValidationError) -> str:
    """pydantic's errors as ``field: message; ...`` (nested fields dotted: ``train.steps``)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg'].removeprefix('Value error, ')}"
                     for e in exc.errors())


class TomlConfig(BaseModel):
    """Base class of the configs: :meth:`from_toml` and :meth:`build` with errors that name the field.
    No float setting may be NaN or infinite (``--lr inf`` passed validation and failed at step 2)."""

    model_config = ConfigDict(allow_inf_nan=False)

    toml_table: ClassVar[str] = ""
    """The TOML table this config reads when the file has one (``train`` for TrainConfig)."""
    toml_siblings: ClassVar[tuple[str, ...]] = ()
    """Tables beside ``toml_table`` that are this config's own fields (:func:`read_toml`)."""

    @classmethod
    def from_toml(cls, path: str | Path | None, overrides: dict | None = None, /, **more) -> Self:
        """Read ``path`` (None: no file), then apply ``overrides`` and ``more`` (None values ignored)."""
        data = {}
        if path is not None:
            try:
                data = cls.from_file(read_toml(path, cls.toml_table, cls.toml_siblings))
            except ValueError as exc:
                raise ConfigError(f"{path}: {exc}") from None
        for key, value in {**(overrides or {}), **more}.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **{k: v for k, v in value.items() if v is not None}}
            elif value is not None:
                data[key] = value
        return cls.build(str(path) if path is not None else "command line", **data)

    @classmethod
    def from_file(cls, data: dict) -> dict:
        """The file's values in this config's current schema (override to read an older schema)."""
        return data

    @classmethod
    def build(cls, _where: str = "", /, **values) -> Self:
        """Validate ``values``, turning pydantic's error into a :class:`ConfigError` naming the field."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(f"{_where or cls.__name__}: {validation_problems(exc)}") from None
