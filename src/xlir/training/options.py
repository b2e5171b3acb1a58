"""Typed options of a registered part (a sampler, an objective): declared once, checked once.

A part declares its options as a pydantic model (``Options``), with types, defaults and ranges.
:func:`parse_options` validates values against it and turns pydantic's error into a
:class:`~xlir.errors.ConfigError` naming the part and the option, so a range lives in one place:
the part that uses the value. :func:`options_from` picks from a config the fields that a part's
``Options`` declares by the same name, so the trainer never names a part's options.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from xlir.errors import ConfigError


class Options(BaseModel):
    """Base class of a part's options: frozen, and an unknown option is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_options(cls: type[Options], values: dict, what: str) -> Options:
    """``cls(**values)`` (None values dropped: the default applies), or a ConfigError naming ``what``."""
    try:
        return cls(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{what}: {problems}") from None


def options_from(config: BaseModel, cls: type[Options], extra: dict | None = None) -> dict:
    """The fields of ``cls`` that ``config`` has under the same name, overridden by ``extra``."""
    own = type(config).model_fields
    return {**{k: getattr(config, k) for k in cls.model_fields if k in own}, **(extra or {})}
