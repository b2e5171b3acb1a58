"""Which languages a folder holds, read from its file names, instead of a list fixed in the code.

Datasets grow: TyDi QA GoldP ships bn and te besides the seven languages XTREME's copy has, MIRACL
added languages after its first release, MLDR users download the languages they need. A loader
that asks the folder (``tydiqa.goldp.<lang>.dev.json``, ``topics.miracl-v1.0-<lang>-dev.tsv``,
``mldr/<lang>/``) evaluates whatever the user put there, and its error names what it found.
"""

from __future__ import annotations

import re
from pathlib import Path


def languages_in_files(folder: Path, pattern: str) -> list[str]:
    """Sorted ``lang`` values of the files in ``folder`` whose name (``.gz`` dropped) fully matches
    ``pattern``, a regular expression with a named group ``lang``."""
    regex = re.compile(pattern)
    if not folder.is_dir():
        return []
    found = set()
    for path in folder.iterdir():
        name = path.name[:-3] if path.name.endswith(".gz") else path.name
        if path.is_file() and (m := regex.fullmatch(name)):
            found.add(m.group("lang"))
    return sorted(found)


def languages_in_folders(base: Path, pattern: str = r"(?P<lang>[a-z]{2,3}(?:[-_][A-Za-z]+)?)") -> list[str]:
    """Sorted ``lang`` values of the sub-folders of ``base`` whose name fully matches ``pattern``."""
    regex = re.compile(pattern)
    if not base.is_dir():
        return []
    return sorted({m.group("lang") for p in base.iterdir() if p.is_dir() and (m := regex.fullmatch(p.name))})
