"""A tiny name -> object registry.

Loaders, samplers, metrics and pre-training objectives are registered by name so that configs and
the CLI can refer to them as strings, and a new one is one small file plus a decorator instead of
another branch in an if/elif chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from xlir.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        """Decorator: register the object under ``name`` (and ``aliases``), case-insensitively."""
        def decorator(obj: T) -> T:
            for n in (name, *aliases):
                key = n.lower()
                if key in self._items:
                    raise ValueError(f"{self.kind} {n!r} registered twice")
                self._items[key] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name.lower()]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
