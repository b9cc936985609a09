"""Multi-turn conversations (``--multi-turn``): each turn is sent with the whole history.

Conversations come from ``random_multi_turn`` (generated: a number of user turns drawn between
``--min-turns`` and ``--max-turns``, each of ``--input-tokens`` new random tokens) or
``sharegpt_multi_turn`` (ShareGPT-style ``conversations``; the user turns are kept, the
recorded answers are replaced by the server's own, ``--max-turns`` truncates). With
``--multi-turn``, ``random`` and ``sharegpt`` mean these two.

``-n`` counts conversations, ``-c`` conversations in flight; ``--warmup`` counts warm-up
conversations (default 0). Each turn is one request record (``conv``, ``turn`` in
records.sqlite); the summary adds per-turn TTFT/TPOT and token figures (``turns``) and the
prefix-cache hit rate where the server reports ``usage.prompt_tokens_details.cached_tokens``,
beside ``history_token_share``: the share of prompt tokens that repeat an earlier turn's
prompt and answer, i.e. what an ideal prefix cache would serve.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from evs_core.errors import ConfigError

from evs_perf.datasets import PerfDataset, RandomText
from evs_perf.metrics import describe
from evs_perf.workloads import Built, Workload


@dataclass
class Turn:
    user: dict  # {"role": "user", "content": ...}
    max_tokens: int | None
    input_tokens: int | None = None


class RandomMultiTurnDataset(PerfDataset):
    name = "random_multi_turn"
    workload = "multi_turn"

    def __init__(self, config, tokenizer=None):
        super().__init__(config, tokenizer)
        from evs_perf.datasets import parse_range

        self.in_range = parse_range(config.get("input_tokens", 128), "--input-tokens")
        lo = int(config.get("min_turns") or 1)
        hi = int(config.get("max_turns") or lo)
        self.turns = (lo, hi)
        self.gen = RandomText(tokenizer)

    def conversations(self, n: int, rng: random.Random) -> list[list[Turn]]:
        out = []
        for _ in range(n):
            turns = []
            for _ in range(rng.randint(*self.turns)):
                k = rng.randint(*self.in_range)
                text, _ = self.gen.make(k, rng)
                turns.append(Turn({"role": "user", "content": text}, self.out_tokens(rng), k))
            out.append(turns)
        return out


class ShareGPTMultiTurnDataset(PerfDataset):
    name = "sharegpt_multi_turn"
    needs_path = True
    workload = "multi_turn"

    def conversations(self, n: int, rng: random.Random) -> list[list[Turn]]:
        max_turns = self.config.get("max_turns")
        convs = []
        for r in self._records():
            conv = (r.get("conversations") or r.get("conversation") or r.get("messages") or []) if isinstance(r, dict) \
                else []
            users = [t.get("value") or t.get("content") for t in conv if isinstance(t, dict)
                     and t.get("from", t.get("role")) in ("human", "user")]
            users = [u for u in users if isinstance(u, str) and u.strip()]
            if max_turns:
                users = users[:int(max_turns)]
            if users:
                convs.append([Turn({"role": "user", "content": u}, self.out_tokens(rng)) for u in users])
        if not convs:
            raise ConfigError(f"--dataset {self.name}: no conversation with a user turn in {self.path}")
        return [convs[i % len(convs)] for i in range(n)]


class MultiTurnWorkload(Workload):
    kind = "multi_turn"
    single_worker = False
    slo_search = True

    def __init__(self, cfg, api_cls, ds_cls, tokenizer, points):
        if not api_cls.chat:
            raise ConfigError("--multi-turn needs a chat API (--api chat): turns are sent as messages")
        name = getattr(ds_cls, "name", "")
        if getattr(ds_cls, "workload", None) != "multi_turn":
            if name == "random":
                ds_cls = RandomMultiTurnDataset
            elif name == "sharegpt":
                ds_cls = ShareGPTMultiTurnDataset
            else:
                raise ConfigError(f"--multi-turn takes --dataset random_multi_turn or sharegpt_multi_turn "
                                  f"(random, sharegpt), not {name!r}")
        if cfg.rate:
            raise ConfigError("--multi-turn runs conversations in closed loop: use --concurrency, not --rate")
        self.warmup = cfg.warmup or 0
        super().__init__(cfg, api_cls, ds_cls, tokenizer, points)

    def prepare(self, seed: int) -> None:
        n = max((p.requests or 0) for p in self.points) or 100
        rng = random.Random(seed)
        # one more conversation for the unmeasured probe, so that it warms no measured prefix
        self.convs = self.dataset.conversations(n + self.warmup + 1, rng)
        self.probe_conv = self.convs.pop()

    def build(self, api, endpoint, headers, stream, seed) -> Built:
        from evs_perf.datasets import Prompt
        from evs_perf.run import encode_body, extra_body
        from evs_perf.shaping import shape_body

        cfg = self.cfg
        probe_conv = self.probe_conv
        extra = extra_body(cfg)
        path = endpoint.path

        def builder(history, turn):
            p = Prompt(messages=list(history), max_tokens=turn.max_tokens)
            body = shape_body(cfg, api, p, stream, extra)
            return endpoint.request_bytes("POST", path, encode_body(body), headers), (None, turn.max_tokens)

        self.builder = builder
        first, _ = builder([probe_conv[0].user], probe_conv[0])
        return Built([first], [(None, None)], None, first, api, stream, self)

    def finish_spec(self, spec, point, cfg):
        n = point.requests or 0
        spec.conversations = self.convs[: n + self.warmup]
        spec.conv_builder = self.builder
        spec.warmup = self.warmup
        spec.requests = None
        return spec

    def arrival_name(self, cfg, point):
        return "multi-turn"

    def annotate(self, summary, measured, reports):
        ok = [r for r in measured if r.ok]
        summary["conversations"] = len({r.conv for r in measured})
        turns = {}
        for r in ok:
            turns.setdefault(r.turn, []).append(r)
        pct = summary["percentiles"]
        rows = []
        for t in sorted(turns):
            rs = turns[t]
            ttft = describe([r.t_first - r.t_start for r in rs], pct, 1000.0)
            tpots = [((r.t_end - r.t_first) / (r.completion_tokens - 1)) for r in rs if (r.completion_tokens or 0) > 1]
            tpot = describe(tpots, pct, 1000.0)
            pin = sum(r.prompt_tokens or 0 for r in rs)
            cached = [r.cached_tokens for r in rs if r.cached_tokens is not None]
            rows.append({"turn": t, "requests": len(rs), "median_ttft_ms": ttft["median"], "p99_ttft_ms": ttft.get("p99"),
                         "median_tpot_ms": tpot["median"], "mean_input_tokens": pin / len(rs),
                         "mean_output_tokens": sum(r.completion_tokens or 0 for r in rs) / len(rs),
                         "prefix_cache_hit_rate": (sum(cached) / pin) if cached and pin else None})
        summary["turns"] = rows
        # what an ideal prefix cache serves: each turn's prompt minus the new user text
        by_conv = {}
        for r in sorted(ok, key=lambda r: (r.conv, r.turn)):
            by_conv.setdefault(r.conv, []).append(r)
        hist = total = 0
        for rs in by_conv.values():
            prev = 0
            for r in rs:
                p = r.prompt_tokens or 0
                total += p
                hist += min(prev, p)
                prev = p + (r.completion_tokens or 0)
        summary["history_token_share"] = hist / total if total else None

    def html(self, summaries) -> str:
        import html as _h

        out = []
        for s in summaries:
            rows = "".join(
                "<tr>" + "".join(f"<td>{_h.escape(_fmt(r.get(k)))}</td>" for k in (
                    "turn", "requests", "median_ttft_ms", "median_tpot_ms", "mean_input_tokens",
                    "prefix_cache_hit_rate")) + "</tr>" for r in s.get("turns") or ())
            out.append(f"<h2>Multi-turn · {_h.escape(str(s['label']))}: prefix-cache hit rate "
                       f"{_h.escape(_fmt(s.get('prefix_cache_hit_rate')))} (ideal "
                       f"{_h.escape(_fmt(s.get('history_token_share')))})</h2><table><tr><th>turn</th><th>requests</th>"
                       f"<th>median TTFT ms</th><th>median TPOT ms</th><th>mean input tokens</th>"
                       f"<th>cache hit rate</th></tr>{rows}</table>")
        return "".join(out)


def _fmt(v):
    if v is None:
        return "-"
    return f"{v:.3f}" if isinstance(v, float) else str(v)
