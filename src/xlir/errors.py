"""Errors that speak to the user.

Every failure a user can cause (a bad file, a missing dataset, a wrong option) raises an
:class:`XlirError` subclass. The CLI prints its message and exits with status 2 instead of
showing a traceback; library users catch it like any exception.
"""

from __future__ import annotations

from pathlib import Path


class XlirError(Exception):
    """Base class of every error that is the user's to fix."""


class DataError(XlirError):
    """A data file is malformed or inconsistent.

    The message always says which file, which record (line number for JSONL/TSV, index or id for
    JSON) and what was expected, so a user can open the file at the right place.
    """

    def __init__(self, path: str | Path | None, problem: str, *, line: int | None = None,
                 record: str | None = None, expected: str | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        self.record = record
        self.problem = problem
        self.expected = expected
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        parts = [f"{where}: {problem}"]
        if record is not None:
            parts.append(f"(record {record})")
        msg = " ".join(parts)
        if expected:
            msg += f"; expected {expected}"
        super().__init__(msg)


class MissingDataError(XlirError):
    """A dataset's files are not where xlir looks for them; the message says where to put them."""


class ConfigError(XlirError):
    """A configuration value or command-line option is invalid."""


class ModelError(XlirError):
    """A model cannot be found, converted or loaded."""
