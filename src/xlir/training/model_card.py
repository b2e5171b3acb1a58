"""The model card (``README.md``) of a trained model folder, so the folder can be published as is.

sentence-transformers writes a stock card ("Base model: Unknown") when it saves; a reader of a
published model needs what xlir knows: the base model and the licence of its weights, the training
data and how batches were drawn (sampler, alpha), the steps and precision, the evaluation if one
was run, how to load it with the right prompts, and what to cite. Everything comes from the training
record (``xlir_training.json``) written next to it, so the card never disagrees with the record.
The front matter uses the Hugging Face Hub's model-card metadata keys.
"""

from __future__ import annotations

import json
from pathlib import Path

from xlir.data.provenance import MERGE_FILE

CARD = "README.md"
BOOKKEEPING = {"output", "progress", "resume", "num_threads", "checkpoint_every", "keep_checkpoints",
               "log_every"}
"""Config fields that do not change the model: the card leaves them out of a recipe's changes."""
EVAL_START, EVAL_END = "<!-- xlir:evaluation -->", "<!-- /xlir:evaluation -->"

CITATIONS = """```bibtex
@article{elmahdy2024synergistic,
  title   = {Synergistic Approach for Simultaneous Optimization of Monolingual, Cross-lingual, and
             Multilingual Information Retrieval},
  author  = {Elmahdy, Adel and Lin, Sheng-Chieh and Ahmad, Amin},
  journal = {arXiv preprint arXiv:2408.10536},
  year    = {2024}
}

@inproceedings{roy2020lareqa,
  title     = {{LAReQA}: Language-Agnostic Answer Retrieval from a Multilingual Pool},
  author    = {Roy, Uma and Constant, Noah and Al-Rfou, Rami and Barua, Aditya and Phillips, Aaron
               and Yang, Yinfei},
  booktitle = {Proceedings of EMNLP 2020},
  year      = {2020},
  note      = {arXiv:2004.05484}
}
```"""


def _base(record: dict) -> tuple[str, str]:
    """(base model id for the Hub metadata, licence of its weights) from the training record."""
    upstream = (record.get("base_model_record") or {}).get("upstream", "")
    if upstream:  # "intfloat/multilingual-e5-small (MIT)"
        name, _, rest = upstream.partition(" (")
        return name.strip(), rest.rstrip(")").strip() or "see the base model"
    return str(record.get("model", "unknown")), "see the base model's licence"


def _languages(record: dict) -> list[str]:
    langs = set()
    for pair in (record.get("pairs") or {}).get("language_pairs", {}):
        langs.update(pair.split("-"))
    return sorted(langs)



def _compute(precision: dict) -> str:
    """The training's matrix products as the record has them (``compute_precision``)."""
    used = precision.get("used", "fp32")
    if used == "bf16":
        return "matrix products in bf16 (autocast; fp32 master weights, optimizer state and loss)"
    return "training in fp32"

def _training_lines(record: dict) -> list[str]:
    cfg, sampler, pairs = record.get("config", {}), record.get("sampler", {}), record.get("pairs", {})
    how = str(sampler.get("name", cfg.get("sampler")))
    if how == "hybrid":
        how += (f" (alpha = {cfg.get('alpha')}: a batch is monolingual with probability alpha, else "
                f"cross-lingual; language weighting {cfg.get('weighting', 'uniform')})")
    lines = [
        f"- **Base model**: `{record.get('model')}`",
        f"- **Training data**: {', '.join(record.get('sources', []))} — {pairs.get('count')} query–passage "
        f"pairs from {pairs.get('groups')} questions, language pairs "
        f"{', '.join(f'{k} ({v})' for k, v in sorted((pairs.get('language_pairs') or {}).items()))}",
        f"- **Batch sampler**: {how}",
        f"- **Steps**: {record.get('steps')} of {cfg.get('batch_size')} pairs (global batch, "
        f"{record.get('world_size', 1)} process(es)); InfoNCE with in-batch negatives, temperature "
        f"{cfg.get('temperature')}{', symmetric' if cfg.get('symmetric') else ''}; "
        f"AdamW, lr {cfg.get('lr')}, "
        f"max length {cfg.get('max_length')} tokens, word embeddings "
        f"{'frozen' if cfg.get('freeze_word_embeddings') else 'trained'}, seed {cfg.get('seed')}",
        f"- **Precision**: {record.get('precision', 'float32')} weights; "
        f"{_compute(record.get('compute_precision') or {})}, on "
        f"`{record.get('device', 'cpu')}`; {record.get('wall_time_s', 0):.0f} s of training",
    ]
    if record.get("final_loss") is not None:
        lines.append(f"- **Final loss**: {record['final_loss']:.4f}")
    recipe = record.get("recipe")
    if recipe:
        changed = {k: v for k, v in (recipe.get("changed") or {}).items() if k not in BOOKKEEPING}
        lines.append(
            f"- **Recipe**: `{recipe['name']}` (`xlir train --recipe {recipe['name']}`; recipe file "
            f"sha256 `{str(recipe.get('sha256'))[:16]}`, its full text in `xlir_training.json`)"
            + (", with " + ", ".join(f"{k} = {v}" for k, v in changed.items()) if changed else ""))
    return lines


def _evaluation_block(evaluation: list[dict] | None) -> str:
    """The evaluation section between markers, so a later evaluation replaces it."""
    if not evaluation:
        body = ("No evaluation was run with the training. Evaluate with `xlir eval --model <this folder> "
                "--dataset xquad-r` (zero-shot: not on a collection built from a training source).")
    else:
        rows = ["| collection | queries | mono mAP | cross mAP | multi mAP | rank distance |",
                "|---|---:|---:|---:|---:|---:|"]
        for e in evaluation:
            cells = [f"{e[k]:.3f}" if isinstance(e.get(k), float) else "–"
                     for k in ("mono", "cross", "multi")]
            rd = e.get("rank_distance")
            rows.append(f"| {e['collection']} | {e.get('queries', '')} | {' | '.join(cells)} | "
                        f"{'–' if rd is None else f'{rd:.1f}'} |")
        body = ("Zero-shot, LAReQA-style (mAP over the whole candidate pool, macro-averaged over language "
                "pairs; rank distance: multilingual pool, lower is better):\n\n" + "\n".join(rows))
    return f"{EVAL_START}\n## Evaluation\n\n{body}\n{EVAL_END}"


def _merge_lines(merge: dict) -> list[str]:
    """The card section of a merged model (``xlir_merge.json``, :mod:`xlir.models.merge`)."""
    w = merge.get("weight")
    base, trained = merge.get("base", {}), merge.get("trained", {})
    return [
        "## Weight-space interpolation (WiSE-FT)", "",
        f"These weights are not the fine-tuned ones: they are θ = (1 − λ)·θ_base + λ·θ_trained with "
        f"λ = {w} (Wortsman et al., [arXiv 2109.01903](https://arxiv.org/abs/2109.01903)), every "
        "floating tensor mixed in fp32. The training section describes the trained parent.", "",
        f"- **Base parent**: `{base.get('name')}` (fingerprint {base.get('fingerprint')}; lineage "
        f"{merge.get('lineage', 'not recorded')})",
        f"- **Trained parent**: `{trained.get('name')}` (fingerprint {trained.get('fingerprint')})",
        f"- **Training sources of either parent** (the zero-shot guard uses all of them): "
        f"{', '.join(merge.get('sources', [])) or 'none'}", "",
        "Both parents' weight files' sha256 are in `xlir_merge.json` beside this card.", "",
    ]


def _merge_partner(merge: dict | None) -> str:
    """'its base model', or the other model's name where the merge was not with the recorded base."""
    if merge and merge.get("lineage", "checked") != "checked":
        return f"`{(merge.get('base') or {}).get('name')}` ({merge.get('lineage')})"
    return "its base model"


def _training_merge_lines(merge: dict) -> list[str]:
    """The card section of a model merged when its training ended (``TrainConfig.merge_weight``)."""
    return [
        "## Weight-space interpolation (WiSE-FT)", "",
        f"Training ended with a merge: these weights are θ = (1 − λ)·θ_base + λ·θ_trained with "
        f"λ = {merge.get('weight')} and θ_base = `{merge.get('base')}` (Wortsman et al., "
        "[arXiv 2109.01903](https://arxiv.org/abs/2109.01903)), every floating tensor mixed in fp32. "
        f"The trained weights before the merge are in `{merge.get('unmerged')}/` "
        f"(`xlir merge {merge.get('base')} <this folder>/{merge.get('unmerged')} --weight λ -o OUT` gives "
        "other points of the λ curve).", "",
    ]


def model_card(record: dict, evaluation: list[dict] | None = None, merge: dict | None = None) -> str:
    """The card's Markdown text for a training ``record``; ``evaluation`` rows as in
    :func:`add_evaluation`; ``merge``: the ``xlir_merge.json`` of a merged model."""
    base_id, licence = _base(record)
    langs = _languages(record)
    meta = ["---", "library_name: sentence-transformers", "pipeline_tag: sentence-similarity",
            f"base_model: {base_id}", f"license: {licence.lower() if licence.isupper() else 'other'}",
            "tags:", "  - sentence-transformers", "  - feature-extraction", "  - multilingual",
            "  - cross-lingual-retrieval", "  - xlir"]
    if langs:
        meta += ["language:", *(f"  - {x}" for x in langs)]
    meta.append("---")
    prompts = record.get("config", {})
    text = [
        *meta, "",
        f"# {base_id} fine-tuned for multilingual retrieval with hybrid batches"
        + (f", interpolated with {_merge_partner(merge)} (λ = {(merge or record['merge']).get('weight')})"
           if merge or record.get("merge") else ""),
        "",
        "A sentence-transformers bi-encoder fine-tuned with xlir using hybrid batch sampling "
        "([Elmahdy, Lin & Ahmad, arXiv 2408.10536](https://arxiv.org/abs/2408.10536)): every training "
        "batch is "
        "monolingual (queries and passages in one language) or cross-lingual, so the model learns to "
        "rank answers in the query's language and across languages alike, the property LAReQA "
        "([Roy et al., arXiv 2004.05484](https://arxiv.org/abs/2004.05484)) measures.",
        "",
        *(_merge_lines(merge) if merge else []),
        *(_training_merge_lines(record["merge"]) if record.get("merge") and not merge else []),
        "## Training", "", *_training_lines(record), "",
        "The full record (configuration, data fingerprint, loss curve, package versions) is "
        "`xlir_training.json` beside this card.", "",
        _evaluation_block(evaluation), "",
        "## Use", "",
        "```python",
        "from sentence_transformers import SentenceTransformer",
        "",
        'model = SentenceTransformer("path/to/this/folder")',
        'q = model.encode_query(["Wo steht der Eiffelturm?"])        # adds the query prompt',
        'd = model.encode_document(["The Eiffel Tower is in Paris."])  # adds the passage prompt',
        "print(model.similarity(q, d))",
        "```",
        "",
        "The prompts the model was trained with are saved in `config_sentence_transformers.json`; "
        f"training truncated texts to {prompts.get('max_length')} tokens.",
        "",
        "## Licence", "",
        f"The weights derive from `{base_id}`, whose licence ({licence}) applies to them; its licence "
        "files are copied into this folder (`LICENSE`, `NOTICE` where the base model has them). Check "
        "the licences of the training data before redistributing.",
        "",
        "## Citation", "",
        "The training method and the evaluation:", "", CITATIONS, "",
    ]
    return "\n".join(text)


def write_model_card(model_dir: str | Path, record: dict, *, base_dir: Path | None = None,
                     evaluation: list[dict] | None = None) -> Path:
    """Write ``README.md`` into ``model_dir`` (replacing sentence-transformers' stock card); a merged
    model's ``xlir_merge.json`` there adds its interpolation section."""
    path = Path(model_dir) / CARD
    merge_file = Path(model_dir) / MERGE_FILE
    merge = json.loads(merge_file.read_text(encoding="utf-8")) if merge_file.is_file() else None
    path.write_text(model_card(record, evaluation, merge), encoding="utf-8")
    return path


def write_merged_card(model_dir: str | Path) -> Path | None:
    """The card of a merged model folder, from the trained parent's record copied into it and its
    ``xlir_merge.json``; None (sentence-transformers' stock card stays) when the trained parent was
    not trained by xlir."""
    record_file = Path(model_dir) / "xlir_training.json"
    if not record_file.is_file():
        return None
    return write_model_card(model_dir, json.loads(record_file.read_text(encoding="utf-8")))


def add_evaluation(model_dir: str | Path, evaluation: list[dict]) -> Path:
    """Put an evaluation table into the card: rows ``{"collection", "queries", "mono", "cross",
    "multi", "rank_distance"}`` (mAP means; ``None`` where a setting was not run)."""
    model_dir = Path(model_dir)
    record = json.loads((model_dir / "xlir_training.json").read_text(encoding="utf-8"))
    return write_model_card(model_dir, record, evaluation=evaluation)
