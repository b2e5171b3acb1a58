"""`xlir data` commands: list the datasets, verify the data directory, show a collection."""

from __future__ import annotations

import json
from pathlib import Path

import typer

_DATA_DIR_HELP = "Dataset folder (overrides the global --data-dir)."
data_app = typer.Typer(help="Datasets: what is there, whether it is intact, what a loader gives.",
                       no_args_is_help=True)


def _root(data_dir: Path | None) -> Path:
    from xlir.data.datadir import data_dir as resolve

    return resolve(data_dir)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _user_corpus_status(root: Path, name: str) -> str:
    if name == "miracl":
        base = root / "miracl" / "corpus"
        langs = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        return f"topics+qrels; corpus: {','.join(langs) if langs else 'none'}"
    return "user-supplied"


@data_app.command("list")
def list_datasets(
    data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show each dataset: its languages, size on disk, and whether its files are present.

    Fast: nothing is parsed, only folders are looked at (sizes come from the files' stat).
    """
    from xlir.data.registry import dataset_infos

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
        if info.name in ("miracl", "mldr", "beir"):
            status = _user_corpus_status(root, info.name) if present else "user-supplied"
        rows.append({"name": info.name, "kind": info.kind, "folder": info.folder, "status": status,
                     "languages": langs, "size": _size(folder) if present else 0,
                     "items": info.sizes, "description": info.description})
    if as_json:
        typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    typer.echo(f"data directory: {root}")
    header = (f"{'dataset':<9} {'kind':<10} {'status':<27} {'on disk':>8} {'items':<42} "
              f"{'langs':>5}  languages")
    typer.echo(header)
    typer.echo("-" * len(header))
    for r in rows:
        langs = r["languages"]
        shown = ",".join(langs[:10]) + (f",... (+{len(langs) - 10})" if len(langs) > 10 else "")
        typer.echo(f"{r['name']:<9} {r['kind']:<10} {r['status'][:27]:<27} "
                   f"{_fmt_bytes(r['size']) if r['size'] else '-':>8} {r['items'][:42]:<42} "
                   f"{len(langs):>5}  {shown}")
    typer.echo(f"{len(rows)} datasets; load one with xlir.data.load_collection(name) "
               "or `xlir data show NAME`")


@data_app.command("verify")
def verify_data(
    data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
    only: str | None = typer.Option(None, "--only", help="Check only files under this folder (xquad-r)."),
) -> None:
    """Check every file listed in MANIFEST.json (sha256 and size); exit 1 if any is missing or differs."""
    from xlir.data.manifest import read_manifest, verify

    root = _root(data_dir)
    entries = read_manifest(root)
    if only:
        entries = [e for e in entries if e.path == only or e.path.startswith(only.rstrip("/") + "/")]
        if not entries:
            raise typer.BadParameter(f"no manifest entry under {only!r}", param_hint="--only")
    total = sum(e.bytes for e in entries)
    with typer.progressbar(length=total, label=f"verifying {len(entries)} files", file=None) as bar:
        report = verify(root, entries, progress=bar.update)
    for path in report.missing:
        typer.secho(f"MISSING   {path}", fg=typer.colors.RED)
    for path, why in report.mismatched:
        typer.secho(f"MISMATCH  {path}: {why}", fg=typer.colors.RED)
    typer.echo(f"{report.ok}/{report.checked} files ok, {len(report.missing)} missing, "
               f"{len(report.mismatched)} mismatched ({_fmt_bytes(total)} checked in {root})")
    if not report.passed:
        raise typer.Exit(1)


@data_app.command("show")
def show_collection(
    name: str = typer.Argument(..., help="Collection name (see `xlir data list`)."),
    languages: str | None = typer.Option(None, "--languages", "-l", help="Comma-separated codes."),
    option: list[str] = typer.Option([], "--option", "-o", help="Loader option KEY=VALUE (repeatable)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
) -> None:
    """Load a collection and print its counts per language (queries, documents, judgments)."""
    from xlir.data.registry import load_collection

    opts: dict = {}
    for item in option:
        key, _, value = item.partition("=")
        opts[key.strip()] = {"true": True, "false": False}.get(value.lower(), value)
    if languages is not None:
        from xlir.data.languages import parse_language_list

        opts["languages"] = parse_language_list(languages)
    col = load_collection(name, data_dir=_root(data_dir), **opts)
    s = col.summary()
    typer.echo(f"{s['name']}: {s['queries']} queries, {s['documents']} documents, "
               f"{s['judgments']} judgments (parallel={s['parallel']}, source={col.source})")
    judg: dict[str, int] = {}
    lang_of = {q.id: q.language for q in col.queries}
    for qid, rel in col.qrels.items():
        judg[lang_of[qid]] = judg.get(lang_of[qid], 0) + len(rel)
    for lang in sorted(set(s["query_languages"]) | set(s["document_languages"])):
        typer.echo(f"  {lang:<8} queries {s['query_languages'].get(lang, 0):>6}  "
                   f"documents {s['document_languages'].get(lang, 0):>7}  judgments {judg.get(lang, 0):>7}")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
