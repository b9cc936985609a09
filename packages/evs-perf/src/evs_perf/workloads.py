"""Workloads: what a run sends, and how the points of a run are laid out.

* ``single`` — independent requests from a dataset (or one ``--prompt``), closed or open loop;
* ``trace`` — ``--dataset workload_trace``: each request at its trace timestamp with its trace
  lengths (open loop, :mod:`evs_perf.trace`);
* ``multi_turn`` — ``--multi-turn``: conversations whose turns are sent one after another with
  the whole history (:mod:`evs_perf.multiturn`);
* ``speed_benchmark`` — ``--dataset speed_benchmark[_long]``: a grid of input lengths, one
  request at a time, prefill and decode speed per length.

:func:`plan` picks the workload from the configuration and checks it before any request;
``Workload.build`` serialises every request body; ``Built.spec`` makes the
:class:`~evs_perf.config.PointSpec` of a point.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from evs_core.errors import ConfigError

from evs_perf.config import PerfConfig, PointSpec


@dataclass
class Built:
    payloads: list[bytes]
    planned: list
    exact: bool | None
    probe_payload: bytes
    api: Any
    stream: bool
    workload: Workload

    def spec(self, point, *, endpoint_url: str, cfg: PerfConfig, warmup: int) -> PointSpec:
        spec = PointSpec(url=endpoint_url, api=self.api, stream=self.stream, payloads=self.payloads,
                         planned=self.planned, timeout=cfg.timeout, read_timeout=cfg.read_timeout,
                         connect_timeout=cfg.connect_timeout, concurrency=point.concurrency,
                         requests=point.requests, duration=cfg.duration, ramp_up=cfg.ramp_up, rate=point.rate,
                         loop=cfg.loop, warmup=warmup)
        return self.workload.finish_spec(spec, point, cfg)


class Workload:
    kind = "single"
    warmup: int | None = None  # None: the run's --warmup rule
    single_worker = False
    slo_search = True

    def __init__(self, cfg: PerfConfig, api_cls, ds_cls, tokenizer, points):
        self.cfg = cfg
        self.api_cls = api_cls
        self.tokenizer = tokenizer
        self.points = points
        self.dataset = ds_cls(dataset_config(cfg), tokenizer)
        self.check()

    def check(self):
        cfg = self.cfg
        if cfg.apply_chat_template and not self.api_cls.chat:
            self.cfg._chat_template = chat_template(self.tokenizer)
        elif cfg.apply_chat_template is False and self.api_cls.chat:
            raise ConfigError("--no-apply-chat-template with a chat API: the server applies its template to "
                              "messages; use --api completions to send raw text")
        if cfg.query_template:
            from evs_perf.shaping import parse_query_template

            parse_query_template(cfg.query_template)

    def n_prompts(self) -> int:
        max_req = max((p.requests or 0) for p in self.points) or 2000
        return self.cfg.num_prompts or min(max(max_req, 1), 2000)

    def prompts(self, rng):
        cfg = self.cfg
        if cfg.prompt is not None:
            from evs_perf.datasets import Prompt

            lo, hi = self.dataset.out_range
            return [Prompt(text=cfg.prompt, max_tokens=rng.randint(lo, hi)) for _ in range(self.n_prompts())]
        prompts = self.dataset.prompts(self.n_prompts(), rng)
        return filter_lengths(prompts, cfg, self.tokenizer)

    def prepare(self, seed: int) -> None:
        """Read or generate every prompt (before any request: a bad file stops the run here)."""
        self._prompts = self.prompts(random.Random(seed))

    def build(self, api, endpoint, headers, stream, seed) -> Built:
        from evs_perf.run import build_payloads

        prompts = self._prompts
        payloads, planned, exact = build_payloads(self.cfg, api, prompts, endpoint, headers, stream)
        return Built(payloads, planned, exact, payloads[0], api, stream, self)

    def finish_spec(self, spec: PointSpec, point, cfg: PerfConfig) -> PointSpec:
        if point.rate is not None:
            from evs_perf.workers import arrivals

            n = point.requests if point.requests is not None else int(
                (point.rate if point.rate != float("inf") else 1000) * (cfg.duration or 10) * 2 + 10)
            spec.arrivals = arrivals(n, point.rate, cfg.arrival, cfg.seed)
        return spec

    def arrival_name(self, cfg, point) -> str:
        return cfg.arrival if point.rate is not None else "closed-loop"

    def annotate(self, summary, measured, reports):
        pass

    def html(self, summaries) -> str:
        return ""


RANDOM_DATASETS = ("random", "random_vl", "embeddings", "rerank", "random_embedding", "random_embedding_batch")


def dataset_config(cfg: PerfConfig) -> dict[str, Any]:
    input_tokens = cfg.input_tokens
    if cfg.dataset in RANDOM_DATASETS and input_tokens == "128" and (
            cfg.min_prompt_length is not None or cfg.max_prompt_length is not None):
        # EvalScope's random dataset draws input lengths between these two
        lo = cfg.min_prompt_length or 1
        hi = cfg.max_prompt_length or max(lo, 128)
        input_tokens = f"{lo}-{hi}"
    return {"input_tokens": input_tokens, "max_tokens": cfg.max_tokens, "min_tokens": cfg.min_tokens,
            "prefix_tokens": cfg.prefix_tokens, "dataset_path": cfg.dataset_path, "image_count": cfg.image_count,
            "image_size": f"{cfg.image_size[0]}x{cfg.image_size[1]}", "min_turns": cfg.min_turns,
            "max_turns": cfg.max_turns, "seed": cfg.seed, "embedding_batch": cfg.embedding_batch,
            "dataset_args": cfg.dataset_args}


def filter_lengths(prompts, cfg: PerfConfig, tokenizer):
    """File datasets: keep prompts within --min/--max-prompt-length (tokens with --tokenizer,
    else characters, as EvalScope counts)."""
    if cfg.dataset in RANDOM_DATASETS or (
            cfg.min_prompt_length is None and cfg.max_prompt_length is None):
        return prompts
    from evs_perf.shaping import prompt_text

    lo = cfg.min_prompt_length or 0
    hi = cfg.max_prompt_length or float("inf")
    kept = []
    for p in prompts:
        text = prompt_text(p)
        n = tokenizer.count(text) if tokenizer is not None else len(text)
        if lo <= n <= hi:
            kept.append(p)
    if not kept:
        raise ConfigError(f"no prompt of --dataset {cfg.dataset} is between --min-prompt-length {lo} and "
                          f"--max-prompt-length {hi} ({'tokens' if tokenizer else 'characters'})")
    return [kept[i % len(kept)] for i in range(len(prompts))]


def chat_template(tokenizer):
    """``messages -> text`` through the tokenizer's chat template (``--apply-chat-template``)."""
    if tokenizer is None or getattr(tokenizer, "apply_chat_template", None) is None:
        raise ConfigError("--apply-chat-template with a completions API needs --tokenizer pointing at a local "
                          "tokenizer folder that has a chat template")
    return tokenizer.apply_chat_template


def plan(cfg: PerfConfig, api_cls, ds_cls, tokenizer, points) -> Workload:
    name = getattr(ds_cls, "workload", None)
    if cfg.multi_turn or name == "multi_turn":
        from evs_perf.multiturn import MultiTurnWorkload

        return MultiTurnWorkload(cfg, api_cls, ds_cls, tokenizer, points)
    if name == "trace":
        from evs_perf.trace import TraceWorkload

        return TraceWorkload(cfg, api_cls, ds_cls, tokenizer, points)
    if name == "speed_benchmark":
        from evs_perf.speed import SpeedWorkload

        return SpeedWorkload(cfg, api_cls, ds_cls, tokenizer, points)
    return Workload(cfg, api_cls, ds_cls, tokenizer, points)
