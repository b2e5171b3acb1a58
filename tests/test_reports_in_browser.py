"""The HTML reports as a person sees them: rendered by headless Chromium, every image loaded, every
link landing on a file that exists, and a screenshot of each page kept as an artefact.

Pages: a real quickstart on the tiny model (its report and the two evaluation reports it links),
the index ``xlir report`` builds over that folder, and the committed study reports. Chromium is
Debian's ``chromium`` package (``.ci/run`` installs it before the tests); where it is missing the
tests skip with a warning that says so. Screenshots go to ``$XLIR_TEST_ARTIFACTS`` (default
``test-artifacts/`` in the repository) under ``screenshots/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "docs" / "studies"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--allow-file-access-from-files", "--hide-scrollbars"]

# Loads the report in a same-origin frame, waits for every image, then prints what the page shows.
PROBE = """<!doctype html><html><body><pre id="out">pending</pre>
<iframe id="page" src="{url}" style="width:1280px;height:2000px"></iframe>
<script>
document.getElementById('page').onload = async function () {{
  const d = this.contentDocument;
  await Promise.all(Array.from(d.images).map(i => i.complete ? null : new Promise(r => {{
    i.onload = r; i.onerror = r; }})));
  const images = Array.from(d.images).map(i => ({{src: i.src, loaded: i.complete && i.naturalWidth > 0,
                                                  width: i.naturalWidth}}));
  const links = Array.from(d.querySelectorAll('a[href]')).map(a => a.href);
  document.getElementById('out').textContent = 'PROBE ' + JSON.stringify(
    {{title: d.title, images: images, links: links, text: d.body.innerText.length}});
}};
</script></body></html>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    reason = ("CHROMIUM NOT INSTALLED: the HTML reports were NOT checked in a browser "
              "(apt-get install -y chromium; .ci/run does this)")
    warnings.warn(reason, stacklevel=2)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    return _chromium()


@pytest.fixture(scope="module")
def artefacts() -> Path:
    out = Path(os.environ.get("XLIR_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def runs(tiny_model_path, tmp_path_factory) -> Path:
    """A real quickstart (tiny model, 2 steps, 6 questions in de/en) and the index over it."""
    from xlir.cli import app
    from xlir.experiments.quickstart import QuickstartConfig, run_quickstart
    from xlir.reports.quickstart_report import write_quickstart_report

    root = tmp_path_factory.mktemp("runs")
    os.environ.setdefault("XLIR_CACHE_DIR", str(root / "cache"))
    cfg = QuickstartConfig(model=str(tiny_model_path), output=root / "quickstart", steps=2, batch_size=8,
                           max_length=32, eval_limit=6, eval_languages=["de", "en"], progress=False)
    write_quickstart_report(run_quickstart(cfg))
    res = CliRunner().invoke(app, ["report", str(root)])
    assert res.exit_code == 0, res.output
    return root


def _probe(chromium: str, page: Path, tmp: Path) -> dict:
    probe = tmp / "probe.html"
    probe.write_text(PROBE.format(url=page.resolve().as_uri()), encoding="utf-8")
    out = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp / 'profile'}",
                          "--virtual-time-budget=8000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    line = next((x for x in out.stdout.splitlines() if "PROBE {" in x), None)
    assert line is not None, f"Chromium did not render {page}: {out.stderr[-2000:]}"
    payload = line[line.index("PROBE ") + 6:]
    return json.loads(payload[: payload.rindex("}") + 1].replace("&quot;", '"').replace("&amp;", "&"))


def _screenshot(chromium: str, page: Path, dest: Path, tmp: Path) -> Path:
    subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp / 'profile-shot'}", "--window-size=1280,1800",
                    f"--screenshot={dest}", page.resolve().as_uri()], capture_output=True, timeout=120)
    assert dest.is_file() and dest.stat().st_size > 10_000, f"no screenshot of {page}"
    return dest


def _check_page(chromium: str, page: Path, tmp: Path, artefacts: Path, name: str) -> dict:
    seen = _probe(chromium, page, tmp)
    assert seen["text"] > 200, f"{page} renders almost no text"
    broken = [i["src"] for i in seen["images"] if not i["loaded"]]
    assert not broken, f"{page}: images that do not load: {broken}"
    for link in seen["links"]:
        url = urlparse(link)
        if url.scheme == "file":
            target = Path(unquote(url.path))
            assert target.exists(), f"{page}: broken link to {target}"
        else:
            assert url.scheme in ("http", "https", "mailto") and (url.netloc or url.path), link
    _screenshot(chromium, page, artefacts / f"{name}.png", tmp)
    return seen


def test_quickstart_page(chromium, runs, artefacts, tmp_path):
    (page,) = runs.glob("quickstart/*/report.html")
    seen = _check_page(chromium, page, tmp_path, artefacts, "quickstart")
    names = sorted(Path(urlparse(i["src"]).path).name for i in seen["images"])
    assert names == ["heatmap-base.png", "heatmap-trained.png", "training_curve.png"]
    assert all(i["width"] > 300 for i in seen["images"])
    targets = {Path(urlparse(x).path).relative_to(page.parent).as_posix() for x in seen["links"]
               if urlparse(x).scheme == "file"}  # the page also cites the WiSE-FT paper (https)
    assert {"eval-base/report.html", "eval-trained/report.html"} <= targets


@pytest.mark.parametrize("which", ["eval-base", "eval-trained"])
def test_eval_page(chromium, runs, artefacts, tmp_path, which):
    (page,) = runs.glob(f"quickstart/*/{which}/report.html")
    seen = _check_page(chromium, page, tmp_path, artefacts, which)
    assert [Path(urlparse(i["src"]).path).name for i in seen["images"]] == ["heatmap.png"]


def test_index_page(chromium, runs, artefacts, tmp_path):
    seen = _check_page(chromium, runs / "index.html", tmp_path, artefacts, "index")
    targets = sorted(Path(urlparse(x).path).relative_to(runs).as_posix() for x in seen["links"])
    assert targets == ["quickstart/xquad-r-de-en-n6/eval-base/report.html",
                       "quickstart/xquad-r-de-en-n6/eval-trained/report.html",
                       "quickstart/xquad-r-de-en-n6/report.html"]


@pytest.mark.parametrize(("folder", "n_images", "n_figure_links"),
                         [("batching", 3, 0), ("pretrain-languages-run", 5, 33)])
def test_committed_study_page(chromium, artefacts, tmp_path, folder, n_images, n_figure_links):
    page = STUDIES / folder / "report.html"
    seen = _check_page(chromium, page, tmp_path, artefacts, f"study-{folder}")
    assert len(seen["images"]) == n_images
    figures = {Path(urlparse(x).path).name for x in seen["links"] if x.endswith(".png")}
    assert len(figures) == n_figure_links
    # every figure the study wrote is shown or linked from its page
    shown = {Path(urlparse(i["src"]).path).name for i in seen["images"]}
    assert shown | figures == {p.name for p in (STUDIES / folder / "figures").glob("*.png")}
