"""Trace replay: ``--dataset workload_trace --dataset-path FILE``.

The file is Mooncake-format JSONL, the format aiperf and Dynamo replay: one request per line,
``timestamp`` (ms from the start of the trace), ``input_length`` and ``output_length`` (tokens;
``--max-tokens`` when absent), or ``text_input`` (the exact prompt, as aiperf accepts), and
optional ``hash_ids``: ids of 512-token prefix blocks, so that requests naming the same ids
share that prefix (block ``h`` is the same text wherever it appears). EvalScope-style keys are
read too (``input_len``/``prompt_len``, ``output_len``, ``timestamp`` in seconds when it is
called ``arrival_time``/``time_s``).

EvalScope's own trace format is read as well: a row with ``body`` (the whole recorded request
body, an object or its JSON text) and ``timestamp`` in **seconds** (a number, or an ISO-8601
string), optional ``headers`` (sent with that request), ``request_id`` and
``completion_tokens``. The body is sent as recorded, with its own ``model``, except that
``stream`` follows ``--stream/--no-stream`` (so that TTFT is measured) and, as EvalScope's
``--dataset-args``: ``model_override`` (one model for every row) or ``model_mapping`` (recorded
name -> served name), and ``match_output_length`` (``max_tokens`` = the recorded
``completion_tokens``, with ``ignore_eos`` unless the body uses constrained decoding). ``speed``
(both formats) divides every offset: 2 replays the trace twice as fast.

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


def _seconds(v, where: str) -> float:
    """EvalScope's trace timestamp: seconds as a number or numeric text, or an ISO-8601 time."""
    if isinstance(v, bool):
        raise ConfigError(f"{where}: timestamp must be a number of seconds or an ISO-8601 time")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        text = v.strip()
        try:
            return float(text)
        except ValueError:
            pass
        from datetime import datetime, timezone

        try:
            dt = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
        except ValueError:
            raise ConfigError(f"{where}: cannot read timestamp {v!r} (seconds or ISO-8601)") from None
        return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()
    raise ConfigError(f"{where}: timestamp must be a number of seconds or an ISO-8601 time")


def _evalscope_row(r: dict, i: int, path) -> dict:
    """A row of EvalScope's trace format: body, timestamp (s), headers, request_id, completion_tokens."""
    import json

    where = f"--dataset workload_trace: line {i} of {path}"
    unknown = set(r) - {"body", "timestamp", "headers", "request_id", "completion_tokens"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} (EvalScope's trace rows have "
                          "body, timestamp, headers, request_id, completion_tokens)")
    if "timestamp" not in r:
        raise ConfigError(f"{where}: a row with body needs timestamp (seconds or ISO-8601)")
    body = r["body"]
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            raise ConfigError(f"{where}: body is text but not valid JSON") from None
    if not isinstance(body, dict) or not body:
        raise ConfigError(f"{where}: body must be a JSON object (the recorded request body)")
    headers = r.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ConfigError(f"{where}: headers must be an object of strings")
    bad = [k for k in headers if any(c in k + headers[k] for c in "\r\n")]
    if bad:
        raise ConfigError(f"{where}: header {bad[0]!r} holds a line break")
    done = r.get("completion_tokens")
    if done is not None and (isinstance(done, bool) or not isinstance(done, int) or done <= 0):
        raise ConfigError(f"{where}: completion_tokens must be a positive integer")
    return {"t": _seconds(r["timestamp"], where), "input": None, "output": body.get("max_tokens"),
            "completion_tokens": done, "hash_ids": [], "text": None, "body": body, "headers": headers,
            "request_id": r.get("request_id")}


def _constrained(body: dict) -> bool:
    """True when the body asks for constrained decoding (where ignore_eos is unsafe)."""
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") in ("json_object", "json_schema"):
        return True
    return bool(body.get("tools")) and body.get("tool_choice") not in (None, "none", "auto")


def recorded_body(body: dict, dataset_args: dict, completion_tokens, stream: bool, streaming_api: bool) -> dict:
    """The request body of an EvalScope trace row, as sent (see the module docstring)."""
    out = dict(body)
    mapping = dataset_args.get("model_mapping") or {}
    if out.get("model") in mapping:
        out["model"] = mapping[out["model"]]
    elif dataset_args.get("model_override"):
        out["model"] = dataset_args["model_override"]
    if dataset_args.get("match_output_length") and completion_tokens is not None:
        out["max_tokens"] = completion_tokens
        if not _constrained(out):
            out["ignore_eos"] = True
    if stream and streaming_api:
        out["stream"] = True
        out["stream_options"] = {**(out.get("stream_options") or {}), "include_usage": True}
    else:
        out.pop("stream", None)
        out.pop("stream_options", None)
    return out


class WorkloadTraceDataset(PerfDataset):
    name = "workload_trace"
    needs_path = True
    workload = "trace"

    def rows(self) -> list[dict]:
        rows = []
        for i, r in enumerate(self._records(), 1):
            if not isinstance(r, dict):
                raise ConfigError(f"--dataset workload_trace: line {i} of {self.path} is not a JSON object")
            rows.append(_evalscope_row(r, i, self.path) if "body" in r else self._mooncake_row(r, i))
        if not rows:
            raise ConfigError(f"--dataset workload_trace: {self.path} has no request")
        rows.sort(key=lambda r: r["t"])
        t0 = rows[0]["t"]
        speed = float((self.config.get("dataset_args") or {}).get("speed", 1.0))
        for r in rows:
            r["t"] = (r["t"] - t0) / speed
        return rows

    def _mooncake_row(self, r: dict, i: int) -> dict:
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
                              "input_length (or text_input), or EvalScope's body and timestamp (s)") from None
        hashes = r.get("hash_ids") or []
        if not isinstance(hashes, list) or not all(isinstance(h, int) for h in hashes):
            raise ConfigError(f"--dataset workload_trace: line {i}: hash_ids must be a list of integers")
        if t < 0 or n_in < 1 or n_out < 1:
            raise ConfigError(f"--dataset workload_trace: line {i}: negative time or empty lengths")
        return {"t": t, "input": n_in, "output": n_out, "hash_ids": hashes, "text": text}

    def prompts_for(self, rows, rng: random.Random) -> list[Prompt]:
        gen = RandomText(self.tokenizer)
        blocks: dict[int, str] = {}
        out = []
        for r in rows:
            if r.get("body") is not None:  # EvalScope's format: the recorded request body
                out.append(Prompt(max_tokens=r["output"], input_tokens=None,
                                  meta={"body": r["body"], "headers": r["headers"]}))
                continue
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

        from evs_perf.run import encode_body

        prompts = self._prompts
        if not any(p.meta.get("body") is not None for p in prompts):
            payloads, planned, exact = build_payloads(self.cfg, api, prompts, endpoint, headers, stream)
            return Built(payloads, planned, exact, payloads[0], api, stream, self)
        payloads, planned = [], []
        for p, r in zip(prompts, self.rows, strict=True):
            if p.meta.get("body") is None:
                one, plan, _ = build_payloads(self.cfg, api, [p], endpoint, headers, stream)
                payloads += one
                planned += plan
                continue
            body = recorded_body(p.meta["body"], self.cfg.dataset_args, r.get("completion_tokens"), stream,
                                 api.streaming)
            payloads.append(endpoint.request_bytes("POST", endpoint.path, encode_body(body),
                                                   {**headers, **p.meta["headers"]}))
            planned.append((None, body.get("max_tokens")))
        return Built(payloads, planned, None, payloads[0], api, stream, self)

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
                            "format": "evalscope" if any(r.get("body") is not None for r in self.rows) else "mooncake",
                            "speed": float(self.cfg.dataset_args.get("speed", 1.0)),
                            "mean_rate": summary.get("request_rate"),
                            "send_lag_median_ms": d["median"], "send_lag_p99_ms": d["p99"],
                            "send_lag_max_ms": d["max"],
                            "shared_prefix_blocks": len({h for r in self.rows for h in r["hash_ids"]})}
