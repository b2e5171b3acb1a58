"""`xlir eval`: evaluate a model in the monolingual, cross-lingual and multilingual settings.

Prints the macro averages (mono / cross / multi for every metric, with pair and query counts) and
the language-bias measures, and writes the run folder (``results.json``, ``per_query.json``, TREC
runs, ``summary.md``, ``heatmap.png``; see :mod:`xlir.evaluation.results`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import typer


def _default_output(model: str, dataset: str) -> Path:
    short = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name or model)
    return Path("runs") / f"{dataset}-{short}-{time.strftime('%Y%m%d-%H%M%S')}"


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        ctx: typer.Context,
        model: str = typer.Option("e5-small", "--model", "-m",
                                  help="Short name (e5-small, tiny), model folder or Hugging Face id."),
        dataset: str = typer.Option("xquad-r", "--dataset", "-d", help="Collection name (xlir data list)."),
        languages: str | None = typer.Option(None, "--languages", "-l",
                                             help="Comma-separated language codes to keep."),
        path: Path | None = typer.Option(
            None, "--path", help="Your own collection's folder: BEIR layout for --dataset beir (JSON "
                                 "lines, Parquet or datasets.save_to_disk tables), MLDR layout for mldr."),
        corpus: Path | None = typer.Option(None, "--corpus",
                                           help="Passages of a collection whose topics ship with xlir "
                                                "(--dataset miracl: the miracl-corpus files)."),
        data_language: str | None = typer.Option(
            None, "--data-language", help="Language of the records of your own BEIR folder when they "
                                          "carry no 'language' field (default en)."),
        split: str | None = typer.Option(None, "--split", help="Split to evaluate (default: the "
                                                               "loader's, e.g. test for beir, dev for "
                                                               "miracl)."),
        limit: int | None = typer.Option(
            None, "--limit", "-n", min=1,
            help="Keep the first N questions (groups) per language. Only the query side shrinks: the "
                 "candidate pool stays whole, so all of it is still encoded and ranked (XQuAD-R: "
                 "13,014 sentences, ~570k tokens, about 11 min with e5-small on 2 CPU cores the first "
                 "time, then read from the embedding cache) and the figures are full-pool figures."),
        questions: str = typer.Option(
            "all", "--questions",
            help="all; dev: the fixed dev slice of the questions (XQuAD-R: 120 of 1,190, the same ids in "
                 "every language; rule in xlir.data.dev_split) that the recipe search decides on; test: "
                 "every question but those (report a searched recipe here). The pool stays whole."),
        output: Path | None = typer.Option(None, "--output", "-o",
                                           help="Run folder (default runs/<dataset>-<model>-<time>)."),
        batch_size: int = typer.Option(64, "--batch-size", min=1),
        max_length: int | None = typer.Option(None, "--max-length", min=8,
                                              help="Override the model's max sequence length."),
        int8: bool = typer.Option(False, "--int8",
                                  help="Encode with torch's int8 dynamic quantization (CPU)."),
        precision: str = typer.Option(
            "auto", "--precision",
            help="auto, fp32 or bf16: the encoder's matrix products (auto = bf16 where the CPU has "
                 "avx512_bf16/AMX or the GPU has bf16, else fp32; bf16 changed e5-small's XQuAD-R "
                 "mAP by <= 0.0005 at 1.9x the speed)."),
        runtime: str = typer.Option(
            "torch", "--runtime",
            help="Encoder runtime: torch, onnx (ONNX Runtime, fp32 export), onnx-int8 (the documented "
                 "int8 variant) or a named one: onnx-int8-dynamic, onnx-int8-dynamic-ffn, "
                 "onnx-int8-block64, onnx-int4w-block32, "
                 "onnx-int8-static, onnx-int8-static-ffn (speed and mAP of each: BENCHMARKS.md §4). "
                 "Needs `pip install 'xlir[onnx]'`. (--backend is the search backend.)"),
        batch_tokens: int = typer.Option(8192, "--batch-tokens", min=8,
                                         help="Most padded tokens per encoding batch."),
        no_cache: bool = typer.Option(False, "--no-cache",
                                      help="Neither read nor write the embedding cache."),
        cache_dir: Path | None = typer.Option(None, "--cache-dir",
                                              help="Embedding cache folder (default: XLIR_CACHE_DIR/"
                                                   "embeddings or ~/.cache/xlir/embeddings)."),
        metrics: str | None = typer.Option(None, "--metrics",
                                           help="Comma-separated, e.g. AP,nDCG@10,R@100,RR@10,P@1."),
        settings: str = typer.Option("mono,cross,multi", "--settings", help="Setting kinds to run."),
        depth: int | None = typer.Option(None, "--depth", min=1,
                                         help="Rank depth for metrics (default: the whole pool)."),
        run_depth: int = typer.Option(100, "--run-depth", min=0, help="Candidates per query in run files."),
        backend: str = typer.Option("exact", "--backend", help="exact, faiss, faiss-ivf or faiss-hnsw."),
        no_runs: bool = typer.Option(False, "--no-runs", help="Do not write TREC run files."),
        run_format: str = typer.Option(
            "trec", "--run-format",
            help="trec: plain TREC run/qrels text that ranx, ir_measures and trec_eval read as is; "
                 "trec.gz: gzip-compressed, about 6x smaller (whole XQuAD-R at depth 100: ~0.7 GB plain)."),
        gzip: bool = typer.Option(
            False, "--gzip",
            help="Gzip the large files: per_query.json.gz (about 8x smaller) and, unless --run-format "
                 "says otherwise, the TREC files; for run folders that are committed or shipped."),
        doc_windows: str = typer.Option(
            "none", "--doc-windows",
            help="Long documents: none (one truncated text each), or split into overlapping windows of "
                 "the model's length and score by the best window (maxp), the first (firstp) or the mean."),
        window_stride: int | None = typer.Option(None, "--window-stride", min=1,
                                                 help="Tokens between window starts (default: half)."),
        config: Path | None = typer.Option(None, "--config", help="TOML file of EvalConfig fields "
                                                                  "(command-line options given win)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
        overwrite: bool = typer.Option(False, "--overwrite",
                                       help="Clear an --output run folder that holds another evaluation."),
        allow_seen_source: bool = typer.Option(
            False, "--allow-seen-source",
            help="Evaluate a trained model on a collection from its own training source (not zero-shot; "
                 "recorded in results.json)."),
    ) -> None:
        """Evaluate MODEL on DATASET: mono-, cross- and multilingual retrieval plus language bias."""
        from xlir.data import load_collection
        from xlir.data.dev_split import split_questions
        from xlir.data.registry import user_data_options
        from xlir.errors import ConfigError
        from xlir.evaluation import EvalConfig, evaluate
        from xlir.evaluation.evaluator import collection_info
        from xlir.evaluation.run_folder import check_cache_dir, prepare_run_folder, run_identity
        from xlir.files import check_output_dir
        from xlir.models import load_model

        if doc_windows not in ("none", "maxp", "firstp", "mean"):
            raise ConfigError(f"--doc-windows must be none, maxp, firstp or mean, not {doc_windows!r}")
        if run_format not in ("trec", "trec.gz"):
            raise ConfigError(f"--run-format must be trec or trec.gz, not {run_format!r}")
        out_dir = check_output_dir(output or _default_output(model, dataset), "run folder")
        from xlir.data.languages import parse_language_list

        langs = parse_language_list(languages)
        data_options = user_data_options(dataset, path=path, corpus=corpus, split=split,
                                         data_language=data_language)
        collection = split_questions(load_collection(dataset, languages=langs, **data_options), questions)
        if langs or limit:
            collection = collection.subset(query_languages=collection.query_languages if langs else None,
                                           limit=limit)
        given = {n for n in ctx.params
                 if getattr(ctx.get_parameter_source(n), "name", "DEFAULT") != "DEFAULT"}
        cli = {  # option -> (EvalConfig field, value); only the options given override the --config file
            "batch_size": ("batch_size", batch_size), "max_length": ("max_length", max_length),
            "int8": ("quantize_int8", int8), "no_cache": ("cache", not no_cache),
            "settings": ("settings", settings), "depth": ("depth", depth),
            "run_depth": ("run_depth", run_depth), "backend": ("backend", backend),
            "quiet": ("show_progress", not quiet), "doc_windows": ("doc_windows", doc_windows),
            "window_stride": ("window_stride", window_stride), "metrics": ("metrics", metrics or None),
            "cache_dir": ("cache_dir", str(cache_dir) if cache_dir else None),
            "run_format": ("run_format", run_format), "precision": ("precision", precision),
            "gzip": ("gzip", gzip),
            "batch_tokens": ("batch_tokens", batch_tokens), "runtime": ("runtime", runtime)}
        cfg = EvalConfig.from_toml(config, **{field: value for opt, (field, value) in cli.items()
                                              if opt in given})
        if cfg.gzip and not no_runs and "run_format" not in cfg.model_fields_set:  # neither CLI nor file
            cfg = cfg.model_copy(update={"run_format": "trec.gz"})
        check_cache_dir(cfg)
        prepare_run_folder(out_dir, run_identity(model, collection_info(collection), cfg.model_dump()),
                           overwrite=overwrite)

        typer.echo(f"{collection.name}: {len(collection.queries)} queries, {len(collection.documents)} "
                   f"candidates, languages {', '.join(collection.query_languages)}", err=True)
        from xlir.data.provenance import training_sources
        from xlir.reports.console import result_lines
        from xlir.reports.run_report import write_run_reports

        st_model = load_model(model)
        result = evaluate(st_model, collection, cfg, model_name=model,
                          train_sources=training_sources(model), allow_seen_source=allow_seen_source)
        out = result.save(out_dir, runs=not no_runs)
        write_run_reports(result, out)
        typer.echo("\n".join(result_lines(result)))
        enc = result.encoding
        typer.echo(f"encoded {enc['encoded']} texts ({enc['cache_hits']} from cache) in "
                   f"{result.timings['encode_s']:.1f}s; total {result.timings['total_s']:.1f}s", err=True)
        typer.echo(f"run folder: {out}")
