"""The ``evs rag`` click group. Standard library, click and evs-core only: runs import lazily."""

from __future__ import annotations

import click

_CTX = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _print_reports(paths, failures, run_dir) -> None:
    import json

    if paths:
        rows = []
        for p in paths:
            d = json.loads(p.read_text(encoding="utf-8"))
            rows.append((d["model"], d["dataset"], d["metric"], f"{d['score']:.4f}", str(d["num"])))
        head = ("model", "task", "metric", "score", "num")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
        for r in [head, *rows]:
            click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    for f in failures:
        click.echo(f"failed: {f}", err=True)
    click.echo(f"results: {run_dir}")


def _finish(failures) -> None:
    if failures:
        raise SystemExit(1)


@click.group("rag", context_settings=_CTX, invoke_without_command=True)
@click.option("--config", "config_path", default=None,
              help="A YAML/JSON config: evs's or EvalScope's RAGEval eval_config (tool MTEB or RAGAS).")
@click.option("--work-dir", default="outputs/rag", show_default=True, help="Where run folders are written.")
@click.pass_context
def rag(ctx, config_path, work_dir):
    """Embedding, reranker and RAG evaluation: MTEB tasks, custom retrieval data, RAGAS, CLIP retrieval, captioning.

    \b
    evs rag mteb  --model ./bge-small --tasks T2Retrieval
    evs rag mteb  --api-url http://127.0.0.1:8000/v1 --api-model emb --custom-retrieval ./data
    evs rag ragas --testset testset.json --critic-url http://127.0.0.1:8001/v1 --critic-model qwen
    evs rag clip  --model ./clip --dataset ./pairs.jsonl --task zeroshot_retrieval
    evs rag caption --dataset ./pairs.jsonl --captioner-url http://127.0.0.1:8002/v1 --captioner-model vl --output ./cap
    evs rag --config rag.yaml
    """
    if ctx.invoked_subcommand is not None:
        ctx.ensure_object(dict)["work_dir"] = work_dir
        return
    if not config_path:
        click.echo(ctx.get_help())
        return
    from evs_rag.config import MTEBConfig, load_config_file

    cfg, ignored, top = load_config_file(config_path)
    work_dir = top.get("work_dir") or work_dir
    for k in ignored:
        click.echo(f"note: EvalScope key '{k}' has no effect in evs and is ignored", err=True)
    if isinstance(cfg, MTEBConfig):
        from evs_rag.mteb_run import run_mteb

        run_dir, paths, failures = run_mteb(cfg, work_dir, ignored=ignored)
        _print_reports(paths, failures, run_dir)
        _finish(failures)
    else:
        from evs_rag.ragas_run import run_ragas_config

        run_dir, paths, failures = run_ragas_config(cfg, work_dir, ignored=ignored)
        _print_reports(paths, failures, run_dir)
        _finish(failures)


@rag.command("mteb", context_settings=_CTX)
@click.option("--model", "model_path", default=None, help="Embedding model: a local sentence-transformers folder or a hub id.")
@click.option("--api-url", default=None, help="OpenAI-compatible embeddings endpoint (…/v1 or …/v1/embeddings).")
@click.option("--api-model", default=None, help="Model name sent to --api-url.")
@click.option("--api-key", envvar="OPENAI_API_KEY", default=None, help="Bearer token (env OPENAI_API_KEY); never written.")
@click.option("--dimensions", type=int, default=None, help="API embeddings: requested dimensions.")
@click.option("--encoding-format", type=click.Choice(["float", "base64"]), default="float", show_default=True,
              help="API embeddings: JSON floats, or base64 float32 (less client CPU; OpenAI and vLLM support it).")
@click.option("--reranker", default=None, help="Cross-encoder: a local folder or hub id (second stage or Reranking tasks).")
@click.option("--reranker-url", default=None, help="A /v1/rerank endpoint as the reranker.")
@click.option("--reranker-model", default=None, help="Model name sent to --reranker-url.")
@click.option("--tasks", default=None, help="MTEB / C-MTEB task names, comma separated (data from the hub).")
@click.option("--languages", default=None, help="Restrict multilingual tasks to these languages (e.g. eng,zho).")
@click.option("--custom-retrieval", multiple=True, help="Folder with corpus.jsonl, queries.jsonl, qrels (repeatable).")
@click.option("--custom-reranking", multiple=True, help="JSONL of {query, positive, negative} (repeatable).")
@click.option("--custom-sts", multiple=True, help="JSONL of {sentence1, sentence2, score} (repeatable).")
@click.option("--split", "splits", default="test", show_default=True, help="Splits of custom data, comma separated.")
@click.option("--batch-size", type=int, default=32, show_default=True, help="Texts per encode call / API request.")
@click.option("--concurrency", type=int, default=4, show_default=True, help="API requests in flight.")
@click.option("--max-retries", type=int, default=3, show_default=True, help="Retries of a failed API request.")
@click.option("--top-k", type=int, default=10, show_default=True, help="Candidates the first stage passes to the reranker.")
@click.option("--limits", type=int, default=None, help="Use only the first N queries (rows) of each task.")
@click.option("--max-seq-length", type=int, default=512, show_default=True)
@click.option("--device", default=None, help="torch device of local models (default: auto).")
@click.pass_context
def mteb_cmd(ctx, model_path, api_url, api_model, api_key, dimensions, encoding_format, reranker, reranker_url, reranker_model,
             tasks, languages, custom_retrieval, custom_reranking, custom_sts, splits, batch_size, concurrency,
             max_retries, top_k, limits, max_seq_length, device):
    """Evaluate an embedding model (and optionally a reranker) with MTEB."""
    from evs_core.errors import ConfigError

    from evs_rag.config import MTEBConfig
    from evs_rag.config import _error as config_error

    models = []
    common = {"encode_kwargs": {"batch_size": batch_size}, "concurrency": concurrency, "max_retries": max_retries,
              "max_seq_length": max_seq_length, "device": device}
    if model_path and api_url:
        raise ConfigError("give --model or --api-url for the embedding model, not both")
    if model_path:
        models.append({"model_name_or_path": model_path, **common})
    elif api_url:
        if not api_model:
            raise ConfigError("--api-url needs --api-model (the model name sent in requests)")
        models.append({"model_name": api_model, "api_base": api_url, "api_key": api_key, "dimensions": dimensions,
                       "encoding_format": encoding_format, **common})
    if reranker and reranker_url:
        raise ConfigError("give --reranker or --reranker-url, not both")
    if reranker:
        models.append({"model_name_or_path": reranker, "is_cross_encoder": True, **common})
    elif reranker_url:
        if not reranker_model:
            raise ConfigError("--reranker-url needs --reranker-model")
        models.append({"model_name": reranker_model, "api_base": reranker_url, "api_key": api_key,
                       "is_cross_encoder": True, **common})
    if not models:
        raise ConfigError("no model: give --model, --api-url, --reranker or --reranker-url")
    custom = []
    split_list = _csv(splits) or ["test"]
    for kind, paths in (("Retrieval", custom_retrieval), ("Reranking", custom_reranking), ("STS", custom_sts)):
        for p in paths:
            from pathlib import Path

            custom.append({"name": Path(p.rstrip("/")).stem or f"Custom{kind}", "type": kind, "data_path": p,
                           "eval_splits": split_list})
    raw = {"models": models, "eval": {"task_names": _csv(tasks), "languages": _csv(languages) or None,
                                      "custom_tasks": custom, "top_k": top_k, "limits": limits}}
    from pydantic import ValidationError

    try:
        cfg = MTEBConfig.model_validate(raw)
    except ValidationError as exc:
        raise config_error(exc, "", MTEBConfig) from None
    from evs_rag.mteb_run import run_mteb

    run_dir, paths, failures = run_mteb(cfg, ctx.obj["work_dir"])
    _print_reports(paths, failures, run_dir)
    _finish(failures)


def _llm_opts(fn):
    for opt in reversed([
        click.option("--critic-url", default=None, help="OpenAI-compatible critic endpoint (…/v1)."),
        click.option("--critic-model", default=None, help="Model name sent to --critic-url."),
        click.option("--critic-path", default=None, help="A local critic model folder (served by evs's transformers adapter)."),
        click.option("--critic-key", envvar="EVS_CRITIC_API_KEY", default=None, help="Critic API key (env EVS_CRITIC_API_KEY)."),
        click.option("--embeddings", "emb_path", default=None, help="Embedding model folder or hub id (answer relevancy, correctness)."),
        click.option("--embeddings-url", default=None, help="A /v1/embeddings endpoint instead of --embeddings."),
        click.option("--embeddings-model", default=None, help="Model name sent to --embeddings-url."),
        click.option("--concurrency", type=int, default=4, show_default=True, help="Critic requests in flight."),
    ]):
        fn = opt(fn)
    return fn


def _llm_spec(critic_url, critic_model, critic_path, critic_key, concurrency):
    spec = {"concurrency": concurrency}
    if critic_url:
        spec.update(model_name=critic_model, api_base=critic_url, api_key=critic_key)
    elif critic_path:
        spec.update(model_name_or_path=critic_path)
    else:
        from evs_core.errors import ConfigError

        raise ConfigError("give the critic: --critic-url with --critic-model, or --critic-path")
    return spec


def _emb_spec(emb_path, embeddings_url, embeddings_model):
    if emb_path:
        return {"model_name_or_path": emb_path}
    if embeddings_url:
        return {"model_name": embeddings_model, "api_base": embeddings_url}
    return None


def _validate(model, raw):
    from pydantic import ValidationError

    from evs_rag.config import _error

    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _error(exc, "", model) from None


@rag.command("ragas", context_settings=_CTX)
@click.option("--testset", required=True, help="JSON/JSONL: user_input, retrieved_contexts, response, reference.")
@click.option("--metrics", default="Faithfulness,AnswerRelevancy,ContextPrecision,ContextRecall,AnswerCorrectness",
              show_default=True, help="RAGAS metrics, comma separated.")
@click.option("--name", default=None, help="Name of the RAG system in reports (default: the test set's file name).")
@click.option("--limits", type=int, default=None, help="Score only the first N samples.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds per sample and metric.")
@_llm_opts
@click.pass_context
def ragas_cmd(ctx, testset, metrics, name, limits, timeout, critic_url, critic_model, critic_path, critic_key,
              emb_path, embeddings_url, embeddings_model, concurrency):
    """Score a RAG test set with RAGAS metrics and an LLM critic."""
    from evs_rag.config import RagasEval
    from evs_rag.ragas_run import run_ragas_eval

    ev = _validate(RagasEval, {"testset_file": testset, "metrics": _csv(metrics), "limits": limits,
                               "critic_llm": _llm_spec(critic_url, critic_model, critic_path, critic_key, concurrency),
                               "embeddings": _emb_spec(emb_path, embeddings_url, embeddings_model)})
    run_dir, paths, failures = run_ragas_eval(ev, ctx.obj["work_dir"], name=name, concurrency=concurrency,
                                              timeout=timeout)
    _print_reports(paths, failures, run_dir)
    _finish(failures)


@rag.command("testset", context_settings=_CTX)
@click.option("--docs", multiple=True, required=True, help="Document files or folders (.txt, .md), repeatable.")
@click.option("--size", "test_size", type=int, default=10, show_default=True, help="Questions to generate.")
@click.option("--output", default="outputs/testset.json", show_default=True, help="Where the test set is written.")
@_llm_opts
def testset_cmd(docs, test_size, output, critic_url, critic_model, critic_path, critic_key, emb_path,
                embeddings_url, embeddings_model, concurrency):
    """Generate a RAG test set from documents with RAGAS (the critic options name the generator LLM)."""
    from evs_rag.config import TestsetGeneration
    from evs_rag.testset import generate_testset

    emb = _emb_spec(emb_path, embeddings_url, embeddings_model)
    if emb is None:
        from evs_core.errors import ConfigError

        raise ConfigError("test-set generation needs --embeddings or --embeddings-url")
    cfg = _validate(TestsetGeneration, {"docs": list(docs), "test_size": test_size, "output_file": output,
                                        "generator_llm": _llm_spec(critic_url, critic_model, critic_path, critic_key,
                                                                   concurrency),
                                        "embeddings": emb})
    out = generate_testset(cfg)
    click.echo(f"test set: {out}")


@rag.command("caption", context_settings=_CTX)
@click.option("--dataset", required=True, help="JSONL of {image_path, query}: images and their reference captions.")
@click.option("--captioner-url", required=True, help="OpenAI-compatible vision-language chat endpoint (…/v1).")
@click.option("--captioner-model", required=True, help="Model name sent to --captioner-url.")
@click.option("--captioner-key", envvar="EVS_CAPTIONER_API_KEY", default=None,
              help="API key (env EVS_CAPTIONER_API_KEY); never written.")
@click.option("--prompt", default=None, help="The captioning instruction (default: one-sentence description).")
@click.option("--max-tokens", type=int, default=64, show_default=True)
@click.option("--concurrency", type=int, default=4, show_default=True, help="Requests in flight.")
@click.option("--output", required=True, help="Folder for the retrieval data (corpus, queries, qrels).")
def caption_cmd(dataset, captioner_url, captioner_model, captioner_key, prompt, max_tokens, concurrency, output):
    """Caption images with a VLM and write retrieval data (EvalScope's CLIP_Benchmark image_caption task).

    \b
    evs rag caption --dataset pairs.jsonl --captioner-url http://127.0.0.1:8000/v1 --captioner-model qwen-vl \\
                    --output ./caption_retrieval
    evs rag mteb --model ./bge-small --custom-retrieval ./caption_retrieval
    """
    from evs_rag.caption import DEFAULT_PROMPT, run_caption
    from evs_rag.config import LLMSpec

    spec = _validate(LLMSpec, {"model_name": captioner_model, "api_base": captioner_url, "api_key": captioner_key,
                               "concurrency": concurrency})
    out, failures = run_caption(dataset, spec, output, prompt if prompt is not None else DEFAULT_PROMPT, max_tokens)
    for f in failures:
        click.echo(f"failed: {f}", err=True)
    click.echo(f"retrieval data: {out} (evaluate: evs rag mteb --model EMBEDDER --custom-retrieval {out})")
    _finish(failures)


@rag.command("clip", context_settings=_CTX)
@click.option("--model", "model_path", required=True, help="A CLIP-style model: local folder or hub id.")
@click.option("--dataset", required=True, help="JSONL of {image_path, query} (retrieval) or {image_path, label}.")
@click.option("--task", type=click.Choice(["zeroshot_retrieval", "zeroshot_classification"]),
              default="zeroshot_retrieval", show_default=True)
@click.option("--template", default="a photo of a {}.", show_default=True, help="Classification prompt.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--device", default=None)
@click.pass_context
def clip_cmd(ctx, model_path, dataset, task, template, batch_size, device):
    """Zero-shot image classification and image-text retrieval with a CLIP-style model."""
    from evs_rag.clip import run_clip

    run_dir, paths, failures = run_clip(model_path, dataset, task, ctx.obj["work_dir"], batch_size=batch_size,
                                        template=template, device=device)
    _print_reports(paths, failures, run_dir)
    _finish(failures)
