"""The quickstart report: base vs trained table with significance, heatmaps and training curve."""

from __future__ import annotations

from pathlib import Path

from xlir.evaluation import quick_summary
from xlir.evaluation.significance import p_equals, to_markdown
from xlir.reports.heatmap import save_heatmap
from xlir.reports.html import markdown_to_html
from xlir.reports.run_report import write_run_reports

ROWS = [("mono", "monolingual mAP"), ("cross", "cross-lingual mAP"), ("multi", "multilingual mAP"),
        ("rank_distance", "rank distance (lower is better)"),
        ("own_language_top", "top relevant in own language")]


def comparison_rows(base, trained, tests) -> list[tuple[str, str, str, str, str]]:
    """(label, base, trained, diff, significance) per headline figure."""
    a, b = quick_summary(base), quick_summary(trained)
    agg = {t.setting: t for t in tests if t.setting.endswith("/*") and t.metric == "AP"}
    rows = []
    for key, label in ROWS:
        va, vb = a.get(key), b.get(key)
        if va is None or vb is None:
            continue
        digits = 1 if key == "rank_distance" else 3
        sig = ""
        if (t := agg.get(f"{key}/*")) is not None:
            ci = ("CI not given (few paragraphs)" if t.ci_low != t.ci_low
                  else f"CI [{t.ci_low:+.3f}, {t.ci_high:+.3f}]")
            sig = f"{p_equals(t.p_holm, sep='')}{' *' if t.significant else ''}, {ci}"
        rows.append((label, f"{va:.{digits}f}", f"{vb:.{digits}f}", f"{vb - va:+.{digits}f}", sig))
    return rows


def table_markdown(rows) -> str:
    lines = ["| figure | base | trained | diff | paired test (Holm) |", "|---|---:|---:|---:|---|"]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    return "\n".join(lines)


def plot_training_curve(log: list[dict], path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(r["step"], r["loss"]) for r in log if "step" in r and "loss" in r]
    if not pts:
        return None
    steps, losses = zip(*pts, strict=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, losses, lw=0.8, alpha=0.5, label="loss per step")
    w = max(1, len(losses) // 15)
    if w > 1:
        smooth = [sum(losses[max(0, i - w + 1): i + 1]) / len(losses[max(0, i - w + 1): i + 1])
                  for i in range(len(losses))]
        ax.plot(steps, smooth, lw=2, label=f"moving mean ({w} steps)")
    ax.set_xlabel("step")
    ax.set_ylabel("InfoNCE loss")
    ax.set_title("Hybrid-batch training")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_quickstart_report(res: dict) -> Path:
    out: Path = res["report_dir"]
    base, trained = res["base"], res["trained"]
    for name, result in (("base", base), ("trained", trained)):
        write_run_reports(result, out / f"eval-{name}")
        save_heatmap(result, out / f"heatmap-{name}.png")
    curve = plot_training_curve(res["training_log"], out / "training_curve.png")
    rows = comparison_rows(base, trained, res["tests"])
    cfg = res["config"]
    tc = cfg["train"]
    coll = res["collection"]
    rec = res["training_record"]
    n_q = coll["queries"]
    lines = [
        "# xlir quickstart",
        "",
        f"Model `{cfg['model']}` fine-tuned with `{tc['sampler']}` batches (alpha {tc['alpha']}) on "
        f"{', '.join(tc['sources'])} pairs for {tc['steps']} steps of {tc['batch_size']} "
        f"(lr {tc['lr']}, temperature {tc['temperature']}, max length {tc['max_length']}, "
        f"word embeddings {'frozen' if tc['freeze_word_embeddings'] else 'trained'}, "
        f"{(rec.compute_precision or {}).get('used', tc.get('precision', 'fp32'))}); "
        f"training took {rec.wall_time_s:.0f} s."
        + (f" The evaluated model is its WiSE-FT merge with the base model, (1 − λ)·base + λ·trained "
           f"at λ = {rec.merge['weight']:g} ([arXiv 2109.01903](https://arxiv.org/abs/2109.01903); "
           f"on the recipe search's dev slice it raised monolingual and cross-lingual mAP over the unmerged "
           f"model with no multilingual loss beyond 0.01, though not back to the base model's monolingual "
           f"level, `docs/recipes.md`); the unmerged weights are in "
           f"`model/{rec.merge['unmerged']}/`." if rec.merge else ""),
        "",
        f"Evaluated zero-shot on `{coll['name']}`: {n_q} queries "
        f"({'first ' + str(cfg['eval_limit']) + ' questions per language' if cfg['eval_limit'] else 'all'}) "
        f"against {coll['documents']} candidates in {len(coll['document_languages'])} languages.",
        "",
        table_markdown(rows),
        "",
        "Significance: paired randomization test over questions (macro over language pairs), "
        f"{res.get('resampling_unit', 'questions as the resampling unit')}, "
        "Holm-corrected; `*` holds at p < 0.05.",
        "",
        "![base](heatmap-base.png) ![trained](heatmap-trained.png)",
        "",
        "Every table of each evaluation: [base model](eval-base/summary.md) · "
        "[trained model](eval-trained/summary.md).",
        "",
    ]
    if curve:
        lines += ["![training curve](training_curve.png)", ""]
    lines += ["## Per language pair (AP): trained vs base", "", to_markdown(
        [t for t in res["tests"] if not t.setting.endswith("/*")], name_a="base", name_b="trained",
        heading_level=0)]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    markdown_to_html(path)
    return path
