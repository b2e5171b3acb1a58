"""One model, XQuAD measured both ways: MTEB's XQuADRetrieval definition and xlir's LAReQA XQuAD-R.

    PYTHONPATH=src python docs/mteb/both_ways.py [--model e5-small] [--languages de,en,th]

MTEB's XQuADRetrieval data is on the Hugging Face Hub only, so its corpus is rebuilt here from the local
XQuAD files the way the task defines it (per language: the questions against that language's 240
paragraphs) and run by MTEB itself (``xlir.evaluation.mteb_run``); xlir's evaluator scores the same
corpus for comparison. Then xlir's own evaluation: XQuAD-R (LAReQA), sentence candidates, mono /
cross / multilingual pools. Writes docs/mteb/both_ways.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from xlir.data import load_collection
from xlir.data.mteb_layout import write_retrieval_dataset
from xlir.evaluation import EvalConfig, evaluate
from xlir.evaluation.mteb_run import run_task
from xlir.models import load_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--languages", default="de,en,th")
    ap.add_argument("--limit", type=int, default=None, help="first N questions per language (pools whole)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("both_ways.json")))
    args = ap.parse_args()
    langs = args.languages.split(",")
    model = load_model(args.model)
    t0 = time.perf_counter()
    paragraphs = load_collection("xquad", unit="passage", languages=langs).subset(limit=args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        write_retrieval_dataset(paragraphs, Path(tmp) / "XQuADRetrieval", split="validation")
        mteb_scores = run_task(model, "XQuADRetrieval", Path(tmp) / "XQuADRetrieval", subsets=langs)
    print(json.dumps({x: r["ndcg_at_10"] for x, r in mteb_scores.items()}), flush=True)
    xlir_paragraphs = evaluate(model, paragraphs, EvalConfig(settings=["mono"], metrics=["nDCG@10", "AP"]),
                               model_name=args.model).setting_means()
    lareqa = evaluate(model, load_collection("xquad-r", languages=langs).subset(limit=args.limit),
                      EvalConfig(metrics=["AP", "nDCG@10"]), model_name=args.model)
    out = {
        "model": args.model, "languages": langs,
        "command": f"PYTHONPATH=src python docs/mteb/both_ways.py --model {args.model} "
                   f"--languages {args.languages}" + (f" --limit {args.limit}" if args.limit else ""),
        "mteb_xquadretrieval_local": {x: {"ndcg_at_10": r["ndcg_at_10"], "map_at_1000": r["map_at_1000"],
                                          "queries": len(paragraphs.queries) // len(langs)}
                                      for x, r in mteb_scores.items()},
        "xlir_on_the_same_paragraph_corpora": {k: v for k, v in xlir_paragraphs.items()},
        "xlir_lareqa_xquad_r": {"settings": lareqa.setting_means(), "aggregates": lareqa.aggregates(),
                                "bias": lareqa.bias()},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("mteb_xquadretrieval_local", "seconds")}, indent=1))


if __name__ == "__main__":
    main()
