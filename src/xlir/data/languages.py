"""Language codes, normalised to one scheme so that datasets labelled differently meet.

The datasets disagree: XQuAD and MIRACL say ``sw`` and ``zh``, AfriQA ``swa``, FLORES-200 / SIB-200
``swh_Latn`` and ``zho_Hans``, Tatoeba ``swh`` and ``cmn``, MKQA ``zh_cn``. xlir uses the ISO 639-1
code where one exists, else the ISO 639-3 code, and keeps a script subtag only when it is not the
language's default script (BCP 47 "suppress-script", as in CLDR): ``zho_Hans`` -> ``zh`` but
``zho_Hant`` -> ``zh-Hant``; ``arb_Latn`` -> ``ar-Latn``. Individual languages that datasets use
for the macrolanguage's standard variety fold into it (``swh`` -> ``sw``, ``cmn`` -> ``zh``,
``arb`` -> ``ar``, ``pes`` -> ``fa``, ``zsm`` -> ``ms``), following CLDR's language-alias data.

The table is ``languages.tsv`` beside this file (documented in ``docs/languages.md``); a code it
does not know raises :class:`UnknownLanguageError` rather than passing through silently, since a
typo'd language would otherwise become an empty evaluation slice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from xlir.errors import ConfigError

TABLE = Path(__file__).with_name("languages.tsv")

# Chinese regions imply a script (MKQA zh_cn / zh_tw / zh_hk, NTREX zho-CN / zho-TW).
_REGION_SCRIPT = {"zh": {"CN": "Hans", "SG": "Hans", "TW": "Hant", "HK": "Hant", "MO": "Hant"}}
_SUBTAG = re.compile(r"[-_]")


class UnknownLanguageError(ConfigError):
    """A language code xlir's table does not know (or that is not a language code at all)."""


@dataclass(frozen=True)
class Language:
    code: str
    iso639_3: str
    name: str
    script: str
    aliases: tuple[str, ...]


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, Language], dict[str, str]]:
    by_code: dict[str, Language] = {}
    alias: dict[str, str] = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("code\t"):
            continue
        code, iso3, name, script, aliases = (line.split("\t") + [""] * 5)[:5]
        lang = Language(code, iso3, name, script, tuple(a for a in aliases.split(",") if a))
        by_code[code] = lang
        for key in (code, iso3, *lang.aliases):
            if alias.get(key, code) != code:
                raise ValueError(f"languages.tsv: code {key!r} maps to {alias[key]!r} and {code!r}")
            alias[key] = code
    return by_code, alias


def _unknown(code: str, why: str = "unknown language code") -> UnknownLanguageError:
    return UnknownLanguageError(
        f"{why} {code!r}: expected an ISO 639-1/639-3 code, optionally with a script or region "
        f"(e.g. sw, swa, swh_Latn, zho_Hant, pt-BR); known codes are listed in {TABLE.name} "
        "(docs/languages.md) — add a row there for a new language"
    )


def normalize(code: str, *, keep_region: bool = False) -> str:
    """The xlir code for ``code`` (``"swh_Latn"`` -> ``"sw"``, ``"zh_tw"`` -> ``"zh-Hant"``).

    Regions are dropped unless ``keep_region`` (``"por-BR"`` -> ``"pt"`` or ``"pt-BR"``), except
    that a Chinese region selects the script. Raises :class:`UnknownLanguageError`.
    """
    if not isinstance(code, str) or not code.strip():
        raise _unknown(str(code), "empty or non-string language code")
    parts = _SUBTAG.split(code.strip())
    primary = parts[0].lower()
    if not re.fullmatch(r"[a-z]{2,3}", primary):
        raise _unknown(code, "malformed language code")
    by_code, alias = _table()
    base = alias.get(primary)
    if base is None:
        raise _unknown(code)
    script = region = None
    for sub in parts[1:]:
        if re.fullmatch(r"[A-Za-z]{4}", sub) and script is None:
            script = sub.title()
        elif re.fullmatch(r"[A-Za-z]{2}|[0-9]{3}", sub) and region is None:
            region = sub.upper()
        else:
            raise _unknown(code, f"unexpected subtag {sub!r} in language code")
    if script is None and region is not None:
        script = _REGION_SCRIPT.get(base, {}).get(region)
    out = base
    if script and script != by_code[base].script:
        out += f"-{script}"
    if keep_region and region:
        out += f"-{region}"
    return out


def is_known(code: str) -> bool:
    try:
        normalize(code)
    except UnknownLanguageError:
        return False
    return True


def language(code: str) -> Language:
    """Table row of a code in any scheme (script/region suffixes ignored)."""
    return _table()[0][normalize(code).split("-")[0]]


def language_name(code: str) -> str:
    """English name, with a non-default script in brackets: ``zh-Hant`` -> ``Chinese (Hant)``."""
    norm = normalize(code, keep_region=True)
    name = language(norm).name
    rest = norm.split("-")[1:]
    return f"{name} ({', '.join(rest)})" if rest else name


def known_languages() -> list[Language]:
    return list(_table()[0].values())


def same_language(a: str, b: str) -> bool:
    return normalize(a) == normalize(b)


def parse_language_list(text: str | None, option: str = "--languages") -> list[str] | None:
    """The codes of a comma- or space-separated option value; ``None`` when the option was not given.

    A value that names no language (``-l ,``) is a :class:`~xlir.errors.ConfigError`: it once meant
    "all languages" silently. Codes are returned as typed (loaders normalise them).
    """
    if text is None:
        return None
    codes = [x for x in re.split(r"[,\s]+", text) if x]
    if not codes:
        raise ConfigError(f"{option} {text!r} names no language: give codes such as de,en (or leave "
                          "the option out for all languages)")
    return codes


def unknown_codes(codes: Sequence[str]) -> list[str]:
    """The codes of ``codes`` that :func:`normalize` does not know, in order."""
    return [c for c in codes if not is_known(c)]
