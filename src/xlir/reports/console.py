"""Plain-text tables the commands print: the layout lives here, the commands only echo the lines."""

from __future__ import annotations

from pathlib import Path


def fmt_bytes(n: int) -> str:
    """``1536`` -> ``"1.5 KB"`` (B, KB, MB, GB)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def dataset_table(rows: list[dict], root: Path) -> list[str]:
    """``xlir data list``: one line per row of :func:`xlir.data.registry.dataset_listing`."""
    header = (f"{'dataset':<11} {'kind':<10} {'status':<27} {'on disk':>8} {'items':<42} "
              f"{'langs':>5}  languages")
    lines = [f"data directory: {root}", header, "-" * len(header)]
    for r in rows:
        langs = r["languages"]
        shown = ",".join(langs[:10]) + (f",... (+{len(langs) - 10})" if len(langs) > 10 else "")
        lines.append(f"{r['name']:<11} {r['kind']:<10} {r['status'][:27]:<27} "
                     f"{fmt_bytes(r['size']) if r['size'] else '-':>8} {r['items'][:42]:<42} "
                     f"{len(langs):>5}  {shown}")
    lines.append(f"{len(rows)} datasets; load one with xlir.data.load_collection(name) "
                 "or `xlir data show NAME`")
    return lines


def collection_lines(col) -> list[str]:
    """``xlir data show``: counts of a collection, then queries, documents, judgments per language."""
    s = col.summary()
    lines = [f"{s['name']}: {s['queries']} queries, {s['documents']} documents, "
             f"{s['judgments']} judgments (parallel={s['parallel']}, source={col.source})"]
    judg: dict[str, int] = {}
    lang_of = {q.id: q.language for q in col.queries}
    for qid, rel in col.qrels.items():
        judg[lang_of[qid]] = judg.get(lang_of[qid], 0) + len(rel)
    for lang in sorted(set(s["query_languages"]) | set(s["document_languages"])):
        lines.append(f"  {lang:<8} queries {s['query_languages'].get(lang, 0):>6}  "
                     f"documents {s['document_languages'].get(lang, 0):>7}  judgments {judg.get(lang, 0):>7}")
    return lines


def result_lines(result) -> list[str]:
    """``xlir eval``: the compact aggregate table, then the language-bias lines; absent figures "n/a"."""
    from xlir.reports.summary import aggregate_rows, bias_lines

    header, rows = aggregate_rows(result, missing="n/a")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return lines + bias_lines(result)


def study_run_lines(out: dict) -> list[str]:
    """``xlir study``: what :func:`xlir.experiments.run_study.run_study` did (cells, table, failures)."""
    if out["summary"] is None:
        return [f"dry run: {out['pending']} of {out['cells']} cells to run; nothing started"]
    s = out["summary"]
    lines = [f"{s.done_before + len(s.ran)}/{s.total} cells done; table: {s.table}"]
    if s.failed:
        lines.append(f"{len(s.failed)} cell(s) failed (see their error.json); rerun to retry")
    if s.stopped:
        lines.append(f"stopped by --max-minutes with {len(s.stopped)} cell(s) not started; "
                     "rerun the same command to resume")
    return lines

