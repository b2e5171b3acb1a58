"""Writing files safely: atomic replacement with unique temporary names, and output folders checked first.

Atomic writes (:func:`atomic_write`, :func:`write_json_atomic`, :func:`write_text_atomic`): the data goes
to a temporary file *in the target's folder* (a rename across filesystems would not be atomic), is
flushed and fsynced, then ``os.replace``-d onto the target. A reader sees the old file or the complete
new one, never half of one. The temporary name is unique per call (``tempfile.mkstemp``), not per
process or per target: two processes, or two threads of one, saving the same file at once each
rename their own complete file, and the last rename wins. (A fixed name such as ``results.json.tmp``
made concurrent savers rename each other's files away: issue 11, defect 9.) On any error the
temporary file is removed and the target is untouched.

Folders (:func:`atomic_dir`): a folder of several files (a model) is written into a unique temporary
folder beside the target and renamed into place only when complete, so a kill leaves the old folder
or the new one, never a half-written model.

Output folders (:func:`check_output_dir`): a command that will write a folder checks, before any
work, that the path is a folder or can become one and that it can be written, so a long evaluation
does not fail at its very end. The check creates nothing: it probes the nearest existing folder with
a temporary file and removes it.

This module is shared by every layer (see tests/test_architecture.py).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from xlir.errors import ConfigError


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8",
                 newline: str | None = None) -> Iterator[IO]:
    """``with atomic_write(path) as fh: ...``: ``fh`` writes a unique temporary file that replaces
    ``path`` when the block ends without an exception (``mode`` ``"w"`` or ``"wb"``).

    The parent folder is created if needed.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        if mode == "wb":
            fh = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import, before any thread runs
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextmanager
def atomic_dir(path: str | Path, *, overwrite: bool = False, what: str = "output folder") -> Iterator[Path]:
    """``with atomic_dir(path) as tmp: <write files into tmp>``: ``tmp`` becomes ``path`` when the block
    ends without an exception; on an exception it is removed and ``path`` is untouched.

    An existing non-empty ``path`` is refused (:class:`ConfigError`) unless ``overwrite``; then it is
    swapped out after the new folder is complete and removed.
    """
    path = Path(path)
    check_output_dir(path, what)
    here = Path.cwd().resolve()
    if path.resolve() == here or path.resolve() in here.parents:
        raise ConfigError(f"{what} {path} is the current folder or one of its parents: a folder cannot "
                          "replace the one it is written from; name a new folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ConfigError(f"{what} {path} already exists and is not empty: choose another path, or "
                          f"pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_write(path) as fh:
        fh.write(text)
    return Path(path)


def write_json_atomic(path: str | Path, obj: Any, *, indent: int | None = 1, trailing_newline: bool = False,
                      **dumps_options) -> Path:
    """Write ``obj`` as JSON atomically; ``dumps_options`` go to :func:`json.dumps`.

    Defaults: ``ensure_ascii=False`` and ``allow_nan=False`` (NaN/inf are refused: strict JSON
    readers reject them, and a non-finite figure in a result file is a bug to surface, not to store).
    ``indent=None`` writes the compact form.
    """
    text = _json_text(obj, indent, **dumps_options)
    return write_text_atomic(path, text + ("\n" if trailing_newline else ""))


def _json_text(obj: Any, indent: int | None, **dumps_options) -> str:
    """:func:`json.dumps` with the defaults of :func:`write_json_atomic` (strict, UTF-8, compact
    separators when ``indent`` is None)."""
    dumps_options.setdefault("ensure_ascii", False)
    dumps_options.setdefault("allow_nan", False)
    if indent is None:
        dumps_options.setdefault("separators", (",", ":"))
    return json.dumps(obj, indent=indent, **dumps_options)


def write_gzip_json_atomic(path: str | Path, obj: Any, **dumps_options) -> Path:
    """:func:`write_json_atomic`'s compact JSON, gzip-compressed (``mtime=0``: the same object gives
    the same bytes, so a committed file only changes when its content does)."""
    import gzip

    data = _json_text(obj, None, **dumps_options).encode("utf-8")
    with atomic_write(path, "wb") as fh:
        fh.write(gzip.compress(data, compresslevel=9, mtime=0))
    return Path(path)


def check_output_dir(path: str | Path, what: str = "output folder") -> Path:
    """Refuse, with a one-line :class:`ConfigError`, an output folder that cannot be written.

    ``path`` may exist (then it must be a folder) or not (then its nearest existing ancestor must
    be a folder where we may create entries). Nothing is created; returns ``Path(path)``.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is a file, not a folder: choose another path")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{what} {path} cannot be created: {probe} is a file, not a folder")
    try:
        fd, name = tempfile.mkstemp(prefix=".xlir-write-check-", dir=probe)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        where = "" if probe == path else f" (in {probe})"
        raise ConfigError(f"{what} {path} is not writable{where}: {why}") from None
    os.close(fd)
    os.unlink(name)
    return path
