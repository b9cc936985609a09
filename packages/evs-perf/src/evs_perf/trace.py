"""Trace replay: ``--dataset workload_trace --dataset-path FILE``.

The file is Mooncake-format JSONL, the format aiperf and Dynamo replay: one request per line,
``timestamp`` (ms from the start of the trace), ``input_length`` and ``output_length`` (tokens;
``--max-tokens`` when absent), or ``text_input`` (the exact prompt, as aiperf accepts), and
optional ``hash_ids``: ids of 512-token prefix blocks, so that requests naming the same ids
share that prefix (block ``h`` is the same text wherever it appears). EvalScope-style keys are
read too (``input_len``/``prompt_len``, ``output_len``, ``timestamp`` in seconds when it is
called ``arrival_time``/``time_s``).

Each request is sent at its timestamp (open loop, the dispatcher of
:meth:`evs_perf.workers.Worker.open_loop`), with a prompt of ``input_length`` tokens
(exact with ``--tokenizer``, else one word per token) and ``max_tokens = output_length``.
``--requests N`` replays the first N rows; ``--concurrency`` caps requests in flight (default:
no cap). The summary's ``trace`` block gives how late each request left against its schedule.
"""

from __future__ import annotations

import random

from evs_core.errors import ConfigError

from evs_perf.datasets import PerfDataset, Prompt, RandomText
from evs_perf.metrics import describe
from evs_perf.workloads import Workload

BLOCK_TOKENS = 512


class WorkloadTraceDataset(PerfDataset):
    name = "workload_trace"
    needs_path = True
    workload = "trace"

    def rows(self) -> list[dict]:
        rows = []
        for i, r in enumerate(self._records(), 1):
            if not isinstance(r, dict):
                raise ConfigError(f"--dataset workload_trace: line {i} of {self.path} is not a JSON object")
            try:
                if "timestamp" in r:
                    t = float(r["timestamp"]) / 1000.0
                else:
                    t = float(r.get("arrival_time", r.get("time_s")))
                text = r.get("text_input", r.get("input_text"))
                if text is not None and not isinstance(text, str):
                    raise ValueError
                n_in = (len(text.split()) or 1) if text is not None else \
                    int(r.get("input_length", r.get("input_len", r.get("prompt_len"))))
                out = r.get("output_length", r.get("output_len", r.get("max_tokens")))
                n_out = int(out) if out is not None else self.out_range[1]
            except (TypeError, ValueError):
                raise ConfigError(f"--dataset workload_trace: line {i} of {self.path} needs timestamp (ms) and "
                                  "input_length (or text_input)") from None
            hashes = r.get("hash_ids") or []
            if not isinstance(hashes, list) or not all(isinstance(h, int) for h in hashes):
                raise ConfigError(f"--dataset workload_trace: line {i}: hash_ids must be a list of integers")
            if t < 0 or n_in < 1 or n_out < 1:
                raise ConfigError(f"--dataset workload_trace: line {i}: negative time or empty lengths")
            rows.append({"t": t, "input": n_in, "output": n_out, "hash_ids": hashes, "text": text})
        if not rows:
            raise ConfigError(f"--dataset workload_trace: {self.path} has no request")
        rows.sort(key=lambda r: r["t"])
        t0 = rows[0]["t"]
        for r in rows:
            r["t"] -= t0
        return rows

    def prompts_for(self, rows, rng: random.Random) -> list[Prompt]:
        gen = RandomText(self.tokenizer)
        blocks: dict[int, str] = {}
        out = []
        for r in rows:
            if r.get("text") is not None:  # the exact payload of the trace
                out.append(Prompt(text=r["text"], max_tokens=r["output"], input_tokens=None))
                continue
            parts = []
            budget = r["input"]
            for h in r["hash_ids"]:
                if budget <= 0:
                    break
                if h not in blocks:
                    blocks[h] = gen.make(BLOCK_TOKENS, random.Random(h * 7919 + 17))[0]
                take = min(BLOCK_TOKENS, budget)
                parts.append(blocks[h] if take == BLOCK_TOKENS else " ".join(blocks[h].split()[:take]))
                budget -= take
            if budget > 0:
                parts.append(gen.make(budget, rng)[0])
            out.append(Prompt(text=" ".join(parts), max_tokens=r["output"], input_tokens=r["input"],
                              exact=self.tokenizer is None and False))
        return out

    def prompts(self, n, rng):  # as a plain dataset: the rows' prompts, in order
        return self._cycle(self.prompts_for(self.rows(), rng), n)


class TraceWorkload(Workload):
    kind = "trace"
    slo_search = False

    def __init__(self, cfg, api_cls, ds_cls, tokenizer, points):
        if cfg.rate:
            raise ConfigError("--dataset workload_trace replays the trace's own timestamps: drop --rate")
        self.warmup = cfg.warmup or 0
        super().__init__(cfg, api_cls, ds_cls, tokenizer, points)
        rows = self.dataset.rows()
        if cfg.requests:
            rows = rows[: cfg.requests[0]]
        self.rows = rows
        from evs_perf.run import Point

        cap = cfg.concurrency[0] if cfg.concurrency_given else 0
        self.points = [Point(cap, len(rows), float(len(rows)) / max(rows[-1]["t"], 1e-3))]
        self.points[0].trace = True

    def prepare(self, seed: int) -> None:
        self._prompts = self.dataset.prompts_for(self.rows, random.Random(seed))

    def build(self, api, endpoint, headers, stream, seed):
        from evs_perf.run import build_payloads
        from evs_perf.workloads import Built

        prompts = self._prompts
        payloads, planned, exact = build_payloads(self.cfg, api, prompts, endpoint, headers, stream)
        return Built(payloads, planned, exact, payloads[0], api, stream, self)

    def finish_spec(self, spec, point, cfg):
        spec.arrivals = [r["t"] for r in self.rows]
        spec.request_order = list(range(len(self.rows)))
        spec.requests = len(self.rows)
        spec.warmup = self.warmup
        return spec

    def arrival_name(self, cfg, point):
        return "trace"

    def annotate(self, summary, measured, reports):
        lags = [x for rep in reports for x in rep.get("sched_lags", ())]
        d = describe(lags, [50, 90, 99], 1000.0)
        summary["trace"] = {"rows": len(self.rows), "span_s": self.rows[-1]["t"],
                            "mean_rate": summary.get("request_rate"),
                            "send_lag_median_ms": d["median"], "send_lag_p99_ms": d["p99"],
                            "send_lag_max_ms": d["max"],
                            "shared_prefix_blocks": len({h for r in self.rows for h in r["hash_ids"]})}
