"""Dataset loaders by name: ``load_collection("xquad-r")`` and friends.

Each loader is one small module in :mod:`xlir.data.loaders` that registers itself with
:func:`register_collection` (or :func:`register_bitext`); this module imports them all on first
use, so adding a dataset is adding one file. A loader is called as
``load(root, **options)`` where ``root`` is the resolved data directory and returns a
:class:`~xlir.data.schema.Collection`, which :func:`load_collection` validates (unique ids,
non-empty texts, judgments naming known ids) before handing it out.

:data:`DATASETS` keeps what ``xlir data list`` shows about each dataset without loading it: the
folder it reads, its languages and a one-line description.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from xlir.data.schema import Collection
from xlir.errors import ConfigError
from xlir.registry import Registry

LoaderFn = Callable[..., Collection]


@dataclass(frozen=True)
class DatasetInfo:
    """What ``xlir data list`` shows: where the files are and what is in them."""

    name: str
    folder: str
    description: str
    languages: Callable[[Path], list[str]] | tuple[str, ...] = ()
    kind: str = "collection"  # or "bitext"
    sizes: str = ""
    """What it holds, as loaded (asserted by the loader tests), e.g. "1,190 q x 11 langs"."""
    user_status: Callable[[Path], str] | None = None
    """For data the user supplies (MIRACL passages, MLDR, BEIR folders): what is there, for
    ``xlir data list``; ``None`` for data that ships complete (present or missing)."""
    paragraphs: bool = False
    """Whether the collection is in the -R form, its candidates grouped in paragraphs that several
    questions share (:mod:`xlir.data.clusters`): known without loading it."""

    def language_list(self, root: Path) -> list[str]:
        if callable(self.languages):
            return self.languages(root)
        return list(self.languages)


def user_supplied(root: Path) -> str:
    """The ``user_status`` of a set whose files the user supplies and that we do not inspect."""
    return "user-supplied"


COLLECTIONS: Registry[LoaderFn] = Registry("collection")
"""name -> ``load(root: Path, **options) -> Collection``."""

BITEXTS: Registry[Callable[..., list[tuple[str, str]]]] = Registry("bitext")
"""name -> ``load(root: Path, src: str, tgt: str, **options) -> [(src_text, tgt_text)]``."""

DATASETS: Registry[DatasetInfo] = Registry("dataset")


def register_collection(name: str, *, folder: str, description: str,
                        languages: Callable[[Path], list[str]] | Iterable[str] = (),
                        sizes: str = "",
                        user_status: Callable[[Path], str] | None = None,
                        paragraphs: bool = False) -> Callable[[LoaderFn], LoaderFn]:
    def decorator(fn: LoaderFn) -> LoaderFn:
        COLLECTIONS.register(name)(fn)
        langs = languages if callable(languages) else tuple(languages)
        if name not in DATASETS:  # a bitext set registers its info with register_bitext
            DATASETS.register(name)(DatasetInfo(name, folder, description, langs, "collection", sizes,
                                                user_status, paragraphs))
        return fn

    return decorator


def register_bitext(name: str, *, folder: str, description: str,
                    languages: Callable[[Path], list[str]], sizes: str = ""):
    def decorator(fn):
        BITEXTS.register(name)(fn)
        DATASETS.register(name)(DatasetInfo(name, folder, description, languages, "bitext", sizes))
        return fn

    return decorator


_discovered = False


def discover() -> None:
    """Import every module in :mod:`xlir.data.loaders` so that each registers itself."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import xlir.data.loaders as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")


def _root(data_dir: str | Path | None) -> Path:
    from xlir.data.datadir import data_dir as resolve

    return resolve(data_dir)


def _normalize_languages(langs) -> list[str]:
    """``"de,en"``, ``"de en"`` or ``["deu", "en-GB"]`` -> normalised codes."""
    from xlir.data.languages import normalize

    if isinstance(langs, str):
        langs = [x for x in langs.replace(",", " ").split() if x]
    return [normalize(x) for x in langs]


def _check_options(name: str, fn: Callable, options: dict) -> dict:
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    known = [p for p in list(params)[1:] if params[p].kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(f"{name}: unknown option(s) {', '.join(unknown)}; "
                          f"known: {', '.join(known) or 'none'}")
    if options.get("languages") is not None:
        options = {**options, "languages": _normalize_languages(options["languages"])}
    return options


def load_collection(name: str, *, data_dir: str | Path | None = None, **options) -> Collection:
    """Load a registered collection by name (see ``xlir data list``), validated.

    ``data_dir`` defaults to :func:`xlir.data.datadir.data_dir` (``--data-dir``, ``XLIR_DATA_DIR``,
    ``../shared/data`` or ``./data``). ``options`` go to the loader, e.g. ``languages=["de", "en"]``
    (codes in any scheme :mod:`xlir.data.languages` knows). A loader that reads every language at
    once has no ``languages`` option; there the collection is loaded whole and cut with
    :meth:`Collection.subset`.
    """
    discover()
    fn = COLLECTIONS.get(name)
    languages = None
    if "languages" in options and "languages" not in inspect.signature(fn).parameters:
        languages = options.pop("languages")
        languages = _normalize_languages(languages) if languages is not None else None
    options = _check_options(name, fn, options)
    collection = fn(_root(data_dir), **options)
    if languages is not None:  # a loader without its own language filter: load all, then slice
        collection = collection.subset(languages=languages)
    return collection.validate()


# The command line's --path / --corpus name these loader options (the first one a loader takes).
_USER_PATHS = {"path": ("path", "mldr_dir"), "corpus": ("corpus_dir",), "split": ("split",),
               "data_language": ("language",)}


def user_data_options(name: str, **given) -> dict:
    """Loader options for ``xlir eval --dataset NAME --path DIR --corpus DIR --split S``.

    ``--path`` is the folder of a user's collection (BEIR: ``path=``, MLDR: ``mldr_dir=``),
    ``--corpus`` the passages of a collection whose topics ship with xlir (MIRACL: ``corpus_dir=``),
    ``--data-language`` the language of records that carry none (BEIR: ``language=``).
    An option the loader has no use for is a :class:`ConfigError` naming the ones it takes.
    """
    discover()
    params = inspect.signature(COLLECTIONS.get(name)).parameters
    out = {}
    for option, value in given.items():
        if value is None:
            continue
        target = next((k for k in _USER_PATHS[option] if k in params), None)
        if target is None:
            takes = [f"--{o.replace('_', '-')}" for o, keys in _USER_PATHS.items()
                     if any(k in params for k in keys)]
            raise ConfigError(f"--{option.replace('_', '-')} does not apply to dataset {name!r}; it takes "
                              f"{', '.join(takes) or 'no path option (its files are in the data folder)'}")
        out[target] = str(value) if isinstance(value, Path) else value
    return out


def load_bitext(name: str, src: str, tgt: str, *, data_dir: str | Path | None = None,
                **options) -> list[tuple[str, str]]:
    """Aligned ``(src_text, tgt_text)`` pairs of a bitext set between two languages.

    ``src`` / ``tgt`` are codes in any scheme (``"deu"``, ``"zho_Hant"``, ``"en-GB"``); see
    :func:`bitext_languages` for what a set has.
    """
    discover()
    fn = BITEXTS.get(name)
    options = _check_options(name, fn, options)
    return fn(_root(data_dir), src, tgt, **options)


def bitext_languages(name: str, *, data_dir: str | Path | None = None) -> list[str]:
    """The (normalised) languages a bitext set has files for."""
    discover()
    BITEXTS.get(name)
    return DATASETS.get(name).language_list(_root(data_dir))


def collection_names() -> list[str]:
    discover()
    return COLLECTIONS.names()


def dataset_infos() -> list[DatasetInfo]:
    discover()
    return [DATASETS.get(n) for n in DATASETS.names()]


def _folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def dataset_listing(data_dir: str | Path | None = None) -> list[dict]:
    """What ``xlir data list`` shows per dataset, without parsing a file: kind, folder, status
    (present / missing, or what a user-supplied set holds), languages, bytes on disk, sizes."""
    root = _root(data_dir)
    rows = []
    for info in dataset_infos():
        folder = root / info.folder
        present = folder.is_dir()
        try:
            langs = info.language_list(root) if present or not callable(info.languages) else []
        except Exception:  # a broken folder should not break the listing
            langs = []
        status = "present" if present else "missing"
        if info.user_status is not None:
            status = info.user_status(root) if present else "user-supplied"
        rows.append({"name": info.name, "kind": info.kind, "folder": info.folder, "status": status,
                     "languages": langs, "size": _folder_bytes(folder) if present else 0,
                     "items": info.sizes, "description": info.description})
    return rows

