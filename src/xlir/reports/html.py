"""An HTML twin of a Markdown report, for people who open reports in a browser.

The Markdown file stays the source of truth (it diffs well in git and renders on code hosts); the
HTML is rendered from it with markdown-it-py (CommonMark plus GitHub-style tables), next to it, with
the same relative image links, so the folder can be opened or shared as it is.
"""

from __future__ import annotations

import html
from pathlib import Path

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; }
th { background: #f3f3f3; }
td { font-variant-numeric: tabular-nums; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 0.2rem; }
"""


def html_twin(md_path: Path) -> Path | None:
    """The HTML page written for a Markdown report, if there is one: ``x.html`` beside ``x.md``, or
    the folder's ``report.html`` (an eval run folder's ``summary.md`` renders to ``report.html``)."""
    for cand in (md_path.with_suffix(".html"), md_path.with_name("report.html")):
        if cand.is_file():
            return cand
    return None


def _link_twins(tokens, base: Path) -> None:
    """In the HTML, a relative link to a Markdown report points at that report's HTML twin."""
    for tok in tokens:
        for child in tok.children or []:
            href = child.attrGet("href") if child.type == "link_open" else None
            if not href or "://" in href or href.startswith(("#", "/", "mailto:")):
                continue
            path, _, anchor = href.partition("#")
            if path.endswith(".md") and (twin := html_twin(base / path)) is not None:
                rel = Path(path).parent / twin.name
                child.attrSet("href", rel.as_posix() + (f"#{anchor}" if anchor else ""))


def markdown_to_html(md_path: str | Path, out: str | Path | None = None) -> Path:
    """Write ``out`` (default ``<name>.html`` beside ``md_path``) and return its path."""
    from markdown_it import MarkdownIt

    md_path = Path(md_path)
    text = md_path.read_text(encoding="utf-8")
    parser = MarkdownIt("commonmark").enable("table")
    tokens = parser.parse(text)
    _link_twins(tokens, md_path.parent)
    body = parser.renderer.render(tokens, parser.options, {})
    headings = [line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")]
    title = headings[0] if headings else md_path.stem
    out = Path(out) if out is not None else md_path.with_suffix(".html")
    out.write_text(
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        encoding="utf-8",
    )
    return out
