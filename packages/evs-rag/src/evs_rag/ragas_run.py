"""End-to-end RAG evaluation with RAGAS, written as evs reviews and reports.

Each sample is scored metric by metric with the real RAGAS metrics (``single_turn_ascore``), so
one failure (critic error, unparsable verdict, timeout) is recorded for that sample and metric
and never aborts the run. Every prompt RAGAS sends and every raw critic answer are kept in the
sample's review. The critic is an evs model adapter: ``openai_api`` for any OpenAI-compatible
endpoint, or a registered local adapter (evs-native's ``transformers``) for a local folder.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import yaml
from evs_core.errors import ConfigError, suggest
from evs_core.outputs import JsonlAppender, atomic_write_jsonl, atomic_write_text, new_run_dir, safe_name
from evs_core.schema import Report, Review, Stat

from evs_rag.config import LLMSpec, ModelSpec, RagasConfig, RagasEval
from evs_rag.offline import is_local, offline, quiet_libraries, ragas_offline_tokenizer
from evs_rag.reports import package_versions, write_report

#: metric name (EvalScope CamelCase or RAGAS snake_case) -> (module, class, needs)
METRICS: dict[str, tuple[str, str, tuple[str, ...], bool, bool]] = {
    # name: (module, class, required fields, needs llm, needs embeddings)
    "faithfulness": ("ragas.metrics._faithfulness", "Faithfulness", ("user_input", "response", "retrieved_contexts"), True, False),
    "answer_relevancy": ("ragas.metrics._answer_relevance", "AnswerRelevancy", ("user_input", "response"), True, True),
    "context_precision": ("ragas.metrics._context_precision", "ContextPrecision",
                          ("user_input", "retrieved_contexts", "reference"), True, False),
    "context_recall": ("ragas.metrics._context_recall", "ContextRecall", ("user_input", "retrieved_contexts", "reference"),
                       True, False),
    "answer_correctness": ("ragas.metrics._answer_correctness", "AnswerCorrectness", ("user_input", "response", "reference"),
                           True, True),
    "answer_similarity": ("ragas.metrics._answer_similarity", "SemanticSimilarity", ("response", "reference"), False, True),
    "context_entity_recall": ("ragas.metrics._context_entities_recall", "ContextEntityRecall",
                              ("retrieved_contexts", "reference"), True, False),
}
ALIASES = {"response_relevancy": "answer_relevancy", "semantic_similarity": "answer_similarity",
           "context_entities_recall": "context_entity_recall"}
#: testset field aliases (RAGAS 0.1 / EvalScope older names)
FIELD_ALIASES = {"question": "user_input", "answer": "response", "contexts": "retrieved_contexts",
                 "ground_truth": "reference", "ground_truths": "reference"}

_current: contextvars.ContextVar[list | None] = contextvars.ContextVar("evs_rag_calls", default=None)


def metric_key(name: str) -> str:
    import re

    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", str(name).strip()).lower().replace("-", "_").replace(" ", "_")
    snake = ALIASES.get(snake, snake)
    if snake not in METRICS:
        raise ConfigError(f"unknown RAGAS metric '{name}'{suggest(snake, list(METRICS))}; "
                          f"known: {', '.join(METRICS)}")
    return snake


def load_testset(path: str, limits: int | None = None) -> list[dict[str, Any]]:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"test set file '{path}' does not exist")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix == ".jsonl":
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            rows = json.loads(text)
    except ValueError:
        raise ConfigError(f"test set '{path}' is not valid JSON{' lines' if p.suffix == '.jsonl' else ''}") from None
    if isinstance(rows, dict):  # {"user_input": [...], ...} column form
        keys = list(rows)
        n = len(rows[keys[0]]) if keys and isinstance(rows[keys[0]], list) else 0
        rows = [{k: rows[k][i] for k in keys} for i in range(n)]
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"test set '{path}' must be a non-empty list of objects")
    out = []
    for i, r in enumerate(rows):
        row = {FIELD_ALIASES.get(k, k): v for k, v in r.items()}
        if isinstance(row.get("reference"), list):
            row["reference"] = " ".join(str(x) for x in row["reference"])
        if "retrieved_contexts" in row:
            ctx = row["retrieved_contexts"]
            if isinstance(ctx, str):
                ctx = [ctx]
            if not isinstance(ctx, list) or not all(isinstance(c, str) for c in ctx):
                raise ConfigError(f"test set '{path}' sample {i}: retrieved_contexts must be a list of strings")
            row["retrieved_contexts"] = ctx
        row.setdefault("id", str(r.get("id", i)))
        out.append(row)
    return out[:limits] if limits else out


def _check_fields(rows, metrics, path) -> None:
    for key in metrics:
        for f in METRICS[key][2]:
            for i, r in enumerate(rows):
                v = r.get(f)
                if v is None or (isinstance(v, (str, list)) and not v):
                    raise ConfigError(f"test set '{path}' sample {i} has no '{f}', which metric {key} needs")


# --- critic and embeddings in RAGAS's interfaces -----------------------------------------------

class APIChat:
    """An OpenAI-compatible chat endpoint in evs's model-adapter shape (``agenerate`` → ModelOutput).

    Requests run on the thread pool with keep-alive connections, not on one event loop's
    session: RAGAS's test-set generation runs each step on a new event loop.
    """

    def __init__(self, spec: LLMSpec):
        from evs_rag.http_api import JSONClient, endpoint_url

        self.spec = spec
        self.client = JSONClient(endpoint_url(spec.api_base, "chat/completions"), api_key=spec.api_key,
                                 timeout=spec.timeout, max_retries=spec.max_retries)

    async def agenerate(self, request):
        from evs_core.models import split_reasoning
        from evs_core.schema import ModelOutput

        from evs_rag.http_api import APIRequestError

        body = {"model": self.spec.model_name, "messages": request.messages,
                **self.spec.generation_config, **request.generation}
        start = time.perf_counter()
        try:
            data = await asyncio.to_thread(self.client.post, body)
            msg = data["choices"][0]["message"]
            text, _ = split_reasoning(msg.get("content") or "")
            return ModelOutput(text=text, latency_s=time.perf_counter() - start,
                               finish_reason=data["choices"][0].get("finish_reason"))
        except APIRequestError as exc:
            return ModelOutput(error=str(exc).split(": ", 1)[-1], latency_s=time.perf_counter() - start)
        except (KeyError, IndexError, TypeError) as exc:
            return ModelOutput(error=f"MalformedResponse: {type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        self.client.close()


def _adapter(spec: LLMSpec):
    from evs_core.config import TaskConfig

    if spec.api_base:
        return APIChat(spec)
    from evs_core.registry import get_registries

    models = get_registries().models
    if "transformers" not in models:
        raise ConfigError("a local critic needs a local model adapter (install evs-native), or serve the model "
                          "with an OpenAI-compatible server and give api_base")
    if not is_local(spec.model_name_or_path):
        raise ConfigError(f"critic model_name_or_path '{spec.model_name_or_path}' is not a local folder")
    cfg = TaskConfig(model=spec.model_name_or_path, model_type="transformers", datasets=["ragas"],
                     concurrency=1, generation_config=dict(spec.generation_config))
    return models.load("transformers")(cfg)


def make_critic(spec: LLMSpec):
    from langchain_core.outputs import Generation, LLMResult
    from ragas.llms.base import BaseRagasLLM
    from ragas.run_config import RunConfig

    from evs_core.models import Request

    class EvsCritic(BaseRagasLLM):
        """RAGAS's LLM interface over an evs model adapter; records each prompt and raw answer."""

        def __init__(self, adapter, spec: LLMSpec):
            self.adapter = adapter
            self.spec = spec
            self.run_config = RunConfig(max_retries=0, timeout=spec.timeout)
            self.multiple_completion_supported = False
            self.cache = None
            self.sem = None
            self.asked = 0
            self.failed = 0

        def is_finished(self, response) -> bool:
            return True

        def generate_text(self, prompt, n=1, temperature=0.01, stop=None, callbacks=None):
            raise NotImplementedError("evs scores RAGAS metrics asynchronously")

        async def agenerate_text(self, prompt, n=1, temperature=0.01, stop=None, callbacks=None):
            if self.sem is None:
                self.sem = asyncio.Semaphore(self.spec.concurrency)
            text = prompt.to_string()
            gens = []
            for _ in range(max(1, n)):
                gen = {"temperature": temperature if temperature is not None else 0.01}
                if stop:
                    gen["stop"] = stop
                async with self.sem:
                    self.asked += 1
                    out = await self.adapter.agenerate(Request(messages=[{"role": "user", "content": text}],
                                                               generation=gen))
                calls = _current.get()
                if calls is not None:
                    calls.append({"prompt": text, "output": out.text, "error": out.error})
                if out.error:
                    self.failed += 1
                    raise RuntimeError(f"critic request failed: {out.error}")
                gens.append(Generation(text=out.text))
            return LLMResult(generations=[gens])

    return EvsCritic(_adapter(spec), spec)


def make_embeddings(spec: ModelSpec):
    from ragas.embeddings.base import BaseRagasEmbeddings
    from ragas.run_config import RunConfig

    if spec.is_api:
        from evs_rag.http_api import EmbeddingsAPI

        api = EmbeddingsAPI(spec.api_base, spec.model_name, api_key=spec.api_key, batch_size=spec.batch_size,
                            concurrency=spec.concurrency, dimensions=spec.dimensions, encoding_format=spec.encoding_format, timeout=spec.timeout,
                            max_retries=spec.max_retries)

        def encode(texts):
            return api.embed(texts).tolist()
        closer = api.close
    else:
        from evs_rag.models import load_local_encoder

        model = load_local_encoder(spec)

        def encode(texts):
            return model.encode(list(texts), batch_size=spec.batch_size, show_progress_bar=False).tolist()
        closer = None

    class EvsEmbeddings(BaseRagasEmbeddings):
        def __init__(self):
            super().__init__()
            self.run_config = RunConfig(max_retries=0)

        def close(self) -> None:
            """The API client's connections and threads (nothing for a local model)."""
            if closer is not None:
                closer()

        def embed_query(self, text: str) -> list[float]:
            return encode([text])[0]

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return encode(texts)

        async def aembed_query(self, text: str) -> list[float]:
            return await asyncio.to_thread(self.embed_query, text)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return await asyncio.to_thread(self.embed_documents, texts)

    return EvsEmbeddings()


def build_metrics(keys, critic, embeddings):
    import importlib

    from ragas.run_config import RunConfig

    out = {}
    for key in keys:
        mod, cls, _, needs_llm, needs_emb = METRICS[key]
        m = getattr(importlib.import_module(mod), cls)()
        if needs_llm:
            m.llm = critic
        if needs_emb or hasattr(m, "embeddings"):
            m.embeddings = embeddings
        m.init(RunConfig(max_retries=0))
        out[key] = m
    return out


# --- the run ---------------------------------------------------------------------------------

async def _score_all(rows, metrics, *, concurrency: int, timeout: float, appender: JsonlAppender):
    from ragas.dataset_schema import SingleTurnSample

    sem = asyncio.Semaphore(concurrency)
    fields = ("user_input", "retrieved_contexts", "response", "reference")

    async def one(row) -> Review:
        sample = SingleTurnSample(**{k: row[k] for k in fields if row.get(k) is not None})
        scores: dict[str, float] = {}
        errors: dict[str, str] = {}
        critic: dict[str, list] = {}
        async with sem:
            for key, metric in metrics.items():
                calls: list = []
                token = _current.set(calls)
                try:
                    v = await metric.single_turn_ascore(sample, timeout=timeout)
                    v = float(v)
                    if math.isnan(v):
                        errors[key] = "Unparsable: the critic's answers gave no score"
                    else:
                        scores[key] = v
                except TimeoutError:
                    errors[key] = f"Timeout: no score within {timeout:g}s"
                except Exception as exc:  # noqa: BLE001 - recorded per sample and metric
                    errors[key] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                finally:
                    _current.reset(token)
                critic[key] = calls
        review = Review(
            sample_id=str(row["id"]), target=row.get("reference"), prediction=str(row.get("response") or ""),
            scores=scores, error="; ".join(f"{k}: {v}" for k, v in errors.items()) or None,
            metadata={"user_input": row.get("user_input"), "retrieved_contexts": row.get("retrieved_contexts"),
                      "metric_errors": errors, "critic_calls": critic},
        )
        appender.write(review)
        return review

    return await asyncio.gather(*(one(r) for r in rows))


def _stat(values: list[float]) -> Stat:
    n = len(values)
    mean = sum(values) / n
    se = statistics.stdev(values) / math.sqrt(n) if n > 1 else None
    return Stat(score=mean, num=n, stderr=se)


def run_ragas_eval(ev: RagasEval, work_dir: str, *, name: str | None = None, ignored: list[str] | None = None,
                   concurrency: int = 4, timeout: float = 300.0):
    """Score a test set; returns (run folder, report paths, failures)."""
    quiet_libraries()
    os.environ["RAGAS_DO_NOT_TRACK"] = "true"
    keys = list(dict.fromkeys(metric_key(m) for m in ev.metrics))
    if not keys:
        raise ConfigError("no RAGAS metric given")
    if ev.language.lower() not in ("english", "en"):
        raise ConfigError(f"language '{ev.language}': evs rag scores with RAGAS's English prompts only")
    rows = load_testset(ev.testset_file, ev.limits)
    _check_fields(rows, keys, ev.testset_file)
    if any(METRICS[k][4] for k in keys) and ev.embeddings is None:
        need = [k for k in keys if METRICS[k][4]]
        raise ConfigError(f"metrics {', '.join(need)} need embeddings (a local folder or an API model)")
    local = ev.embeddings is None or ev.embeddings.is_api or is_local(ev.embeddings.model_name_or_path)
    with offline(local):
        import ragas  # noqa: F401
        import ragas.metrics  # noqa: F401

        ragas_offline_tokenizer()
        critic = make_critic(ev.critic_llm)
        embeddings = make_embeddings(ev.embeddings) if ev.embeddings is not None else None
        metrics = build_metrics(keys, critic, embeddings)

    model = name or Path(ev.testset_file).stem
    critic_name = ev.critic_llm.model_name or ev.critic_llm.model_name_or_path
    run_dir = new_run_dir(work_dir)
    cfg = {"tool": "ragas", "eval": ev.model_dump(mode="json", exclude_none=True)}
    if cfg["eval"]["critic_llm"].get("api_key"):
        cfg["eval"]["critic_llm"]["api_key"] = "***"
    if (cfg["eval"].get("embeddings") or {}).get("api_key"):
        cfg["eval"]["embeddings"]["api_key"] = "***"
    if ignored:
        cfg["ignored_keys"] = ignored
    atomic_write_text(run_dir / "configs" / "task_config.yaml", yaml.safe_dump(cfg, sort_keys=False))
    dataset = "ragas"
    review_path = run_dir / "reviews" / safe_name(model) / f"{dataset}.jsonl"
    appender = JsonlAppender(review_path.with_suffix(".partial.jsonl"))

    async def main():
        try:
            with offline(local):
                return await _score_all(rows, metrics, concurrency=concurrency, timeout=timeout, appender=appender)
        finally:
            await critic.adapter.aclose()
            if embeddings is not None:
                embeddings.close()

    start = time.perf_counter()
    try:
        reviews = asyncio.run(main())
    finally:
        appender.close()
    elapsed = time.perf_counter() - start
    atomic_write_jsonl(review_path, reviews)
    review_path.with_suffix(".partial.jsonl").unlink(missing_ok=True)

    errors: dict[str, int] = {}
    for r in reviews:
        for v in r.metadata["metric_errors"].values():
            kind = v.split(":")[0]
            errors[kind] = errors.get(kind, 0) + 1
    metrics_out = {k: _stat([r.scores[k] for r in reviews if k in r.scores]) for k in keys
                   if any(k in r.scores for r in reviews)}
    main_key = keys[0]
    scored = [r for r in reviews if r.scores]
    failed = [r for r in reviews if r.error]
    report = Report(
        model=model, dataset=dataset, benchmark_version=f"ragas {package_versions('ragas').get('ragas', '?')}",
        metric=main_key, score=metrics_out[main_key].score if main_key in metrics_out else 0.0,
        num=len(scored), num_samples=len(reviews), num_errors=len(failed),
        stderr=metrics_out[main_key].stderr if main_key in metrics_out else None,
        metrics=metrics_out, errors=errors, usage={"critic_requests": float(critic.asked), "elapsed_s": elapsed},
        judge={"model": critic_name, "asked": critic.asked, "failed_requests": critic.failed,
               "errors": sum(errors.values())},
        config=cfg, packages=package_versions("ragas", "langchain-core", "sentence-transformers"),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    path = write_report(run_dir, report)
    failures = [f"sample {r.sample_id}: {r.error}" for r in failed]
    return run_dir, [path], failures


def run_ragas_config(cfg: RagasConfig, work_dir: str, *, ignored: list[str] | None = None):
    """Test-set generation (when configured) and then evaluation (when configured)."""
    paths, failures, run_dir = [], [], None
    if cfg.testset_generation is not None:
        from evs_rag.testset import generate_testset

        out = generate_testset(cfg.testset_generation)
        print(f"test set: {out}")
    if cfg.eval is not None:
        run_dir, paths, failures = run_ragas_eval(cfg.eval, work_dir, ignored=ignored,
                                                  concurrency=cfg.eval.critic_llm.concurrency)
    return run_dir, paths, failures
