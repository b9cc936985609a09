"""The speed benchmark preset: ``--dataset speed_benchmark`` / ``speed_benchmark_long``.

As EvalScope's preset (the table of prefill and decode speed by input length that model cards
publish): a grid of input lengths, each one point of requests sent one at a time
(concurrency 1), ``--max-tokens`` output tokens (2048 unless given) with ``ignore_eos`` so that
every answer has that length. Per length: prefill tokens/s = input tokens / TTFT, decode
tokens/s = (output tokens − 1) / (E2EL − TTFT), medians over the requests (``-n``, default 2).
The grid is ``--input-tokens L1,L2,…`` or the preset's.
"""

from __future__ import annotations

import random

from evs_perf.datasets import RandomDataset
from evs_perf.metrics import describe
from evs_perf.workloads import Built, Workload

GRIDS = {"speed_benchmark": [1, 6144, 14336, 30720], "speed_benchmark_long": [63488, 129024]}


class SpeedBenchmarkDataset(RandomDataset):
    name = "speed_benchmark"
    workload = "speed_benchmark"

    def __init__(self, config, tokenizer=None):
        cfg = dict(config)
        cfg["input_tokens"] = "1"
        super().__init__(cfg, tokenizer)
        raw = str(config.get("input_tokens") or "")
        self.grid = [int(x) for x in raw.split(",")] if "," in raw or (raw and raw != "128") else GRIDS[self.name]


class SpeedBenchmarkLongDataset(SpeedBenchmarkDataset):
    name = "speed_benchmark_long"


class SpeedWorkload(Workload):
    kind = "speed_benchmark"
    warmup = 0
    single_worker = True
    slo_search = False

    def __init__(self, cfg, api_cls, ds_cls, tokenizer, points):
        if cfg.max_tokens == "256":
            cfg.max_tokens = "2048"
        cfg.ignore_eos = True
        super().__init__(cfg, api_cls, ds_cls, tokenizer, points)
        from evs_perf.run import Point

        n = cfg.requests[0] if cfg.requests else 2
        self.points = []
        for length in self.dataset.grid:
            p = Point(1, n, None)
            p.input_len = length
            self.points.append(p)

    def prepare(self, seed: int) -> None:
        rng = random.Random(seed)
        self._by_len = {}
        for p in self.points:
            self.dataset.in_range = (p.input_len, p.input_len)
            self._by_len[p.input_len] = self.dataset.prompts(p.requests, rng)

    def build(self, api, endpoint, headers, stream, seed):
        from evs_perf.run import build_payloads

        self.by_len = {}
        exact_all = True
        for p in self.points:
            prompts = self._by_len[p.input_len]
            payloads, planned, exact = build_payloads(self.cfg, api, prompts, endpoint, headers, stream)
            self.by_len[p.input_len] = (payloads, planned)
            exact_all = exact_all and bool(exact)
        first = self.by_len[self.points[0].input_len][0][0]
        return Built([first], [(None, None)], exact_all, first, api, stream, self)

    def finish_spec(self, spec, point, cfg):
        spec.payloads, spec.planned = self.by_len[point.input_len]
        spec.warmup = 0
        return spec

    def arrival_name(self, cfg, point):
        return "closed-loop"

    def annotate(self, summary, measured, reports):
        ok = [r for r in measured if r.ok and r.t_first is not None]
        prefill = [(r.prompt_tokens or 0) / (r.t_first - r.t_start) for r in ok if r.t_first > r.t_start]
        decode = [((r.completion_tokens or 0) - 1) / (r.t_end - r.t_first) for r in ok
                  if (r.completion_tokens or 0) > 1 and r.t_end > r.t_first]
        length = summary["input_lens"]["median"]
        summary["speed"] = {"input_tokens": length, "output_tokens": summary["output_lens"]["median"],
                            "prefill_tokens_per_s": describe(prefill, [])["median"],
                            "decode_tokens_per_s": describe(decode, [])["median"],
                            "requests": len(ok)}

    def html(self, summaries) -> str:
        import html as _h

        from evs_perf.outputs import _svg_lines

        rows = []
        pre, dec = [], []
        for s in summaries:
            sp = s.get("speed") or {}
            rows.append("<tr>" + "".join(f"<td>{_h.escape(_f(sp.get(k)))}</td>" for k in (
                "input_tokens", "output_tokens", "prefill_tokens_per_s", "decode_tokens_per_s", "requests")) + "</tr>")
            if sp.get("input_tokens") is not None:
                pre.append((sp["input_tokens"], sp.get("prefill_tokens_per_s")))
                dec.append((sp["input_tokens"], sp.get("decode_tokens_per_s")))
        chart = _svg_lines("Speed by input length", "input tokens", "tokens/s",
                           [("prefill", pre), ("decode", dec)], logx=True)
        return ("<h2>Speed benchmark</h2><table><tr><th>input tokens</th><th>output tokens</th>"
                "<th>prefill tokens/s</th><th>decode tokens/s</th><th>requests</th></tr>"
                + "".join(rows) + "</table>" + chart)


def _f(v):
    if v is None:
        return "-"
    return f"{v:.1f}" if isinstance(v, float) else str(v)
