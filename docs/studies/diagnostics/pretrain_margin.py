"""Diagnostic for study 2: is the pre-training stage itself harmful, and is LaBSE's additive margin why?

Pre-trains the languages of cell k16-inside-s0 (cpu preset: 256 pairs, batch 16) with margin 0.3 (the
study's setting) and 0.0, and evaluates the raw pre-trained model, before any fine-tuning, on the
study's evaluation slices beside the base model (mean AP of the rows with a target language).
One language set and one seed: an observation, not a study result.

    .venv/bin/python docs/studies/diagnostics/pretrain_margin.py   # ~4 min on 2 cores
"""
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from xlir.experiments.pipeline import evaluate_specs
from xlir.experiments.studies.pretrain_languages import TARGETS, build_cells
from xlir.training.pretrain import pretrain

cells = [c for c in build_cells("cpu") if c.k == 16 and c.arm == "inside" and c.seed == 0]
cell = cells[0]
print("languages", cell.languages, flush=True)

def summarize(rows):
    agg = defaultdict(list)
    for r in rows:
        if r["metric"] == "AP" and "/" in str(r["setting"]) and not str(r["setting"]).startswith("multi"):
            langs = {r.get("query_language"), r.get("doc_language")} - {None, ""}
            if langs & set(TARGETS):
                agg[r["collection"]].append(r["value"])
    return {k: round(sum(v) / len(v), 4) for k, v in sorted(agg.items())}

out = {}
for name, margin in (("base", None), ("margin0.3", 0.3), ("margin0.0", 0.0)):
    t = time.time()
    path = "e5-small"
    if margin is not None:
        cfg = cell.pretrain.model_copy(update={"objective_options": {"margin": margin}})
        path = str(pretrain(cell.model, cfg.objective, list(cell.languages), cfg.budget, 0,
                            Path(tempfile.mkdtemp()) / name, config=cfg))
        rec = json.loads((Path(path) / "pretrain.json").read_text())
        print(name, "loss", rec.get("first_loss"), "->", rec.get("last_loss"), flush=True)
    rows, _, _ = evaluate_specs(path, cell.evals, train_sources=[], max_length=64)
    out[name] = summarize(rows)
    print(name, out[name], f"{time.time() - t:.0f}s", flush=True)
Path(__file__).with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
