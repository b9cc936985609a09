"""Service-level objectives: ``--slo 'ttft_p99<=500ms,tpot_p99<=50ms'``.

A term is ``<metric>_<stat> <op> <value>[ms|s]`` for latency metrics (ttft, tpot, itl,
chunk_gap, e2el, connect, queue; stat = mean, median, min, max, std, p50, p90, p99, p99.9 …),
or ``<key> <op> <value>`` for any numeric key of the summary (``request_throughput>=10``,
``output_throughput>=1000``) and ``error_rate<=0.01`` (failed / sent).
"""

from __future__ import annotations

import re

from evs_core.errors import ConfigError, suggest

from evs_perf.metrics import LATENCY_METRICS

_TERM = re.compile(r"^\s*([a-z0-9_]+?)(?:_(p[0-9.]+|mean|median|min|max|std))?\s*(<=|>=|<|>)\s*([0-9.]+)\s*(ms|s)?\s*$")
_OTHER = ("request_throughput", "output_throughput", "total_token_throughput", "request_goodput", "error_rate")


class SLO:
    def __init__(self, text: str, percentiles=None):
        self.text = text
        self.terms = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            m = _TERM.match(part)
            if not m:
                raise ConfigError(f"--slo: cannot parse '{part}' (e.g. 'ttft_p99<=500ms')")
            metric, stat, op, value, unit = m.groups()
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"--slo: '{value}' in '{part}' is not a number") from None
            if metric in LATENCY_METRICS:
                stat = stat or "p99"
                stat = "median" if stat == "p50" else stat
                if stat.startswith("p") and percentiles is not None:
                    try:
                        pv = float(stat[1:])
                    except ValueError:
                        raise ConfigError(f"--slo: bad percentile '{stat}' in '{part}'") from None
                    if pv not in [float(x) for x in percentiles]:
                        from evs_perf.metrics import pword

                        have = ", ".join("p" + pword(x) for x in percentiles)
                        raise ConfigError(f"--slo: '{stat}' in '{part}' is not reported (--percentiles gives {have}; "
                                          f"add {stat[1:]} to --percentiles)")
                    stat = "p" + __import__("evs_perf.metrics", fromlist=["pword"]).pword(pv)
                key = f"{stat}_{metric}_ms"
                value = value * 1000.0 if unit == "s" else value
            else:
                full = f"{metric}_{stat}" if stat else metric
                if full not in _OTHER:
                    raise ConfigError(f"--slo: unknown metric '{full}'{suggest(full, LATENCY_METRICS + _OTHER)}")
                if unit:
                    raise ConfigError(f"--slo: '{full}' takes no unit")
                key = full
            self.terms.append((part, key, op, value))
        if not self.terms:
            raise ConfigError("--slo is empty")

    def per_request(self) -> dict[str, float]:
        """Per-request goodput limits (seconds) implied by the latency terms with <= or <."""
        out = {}
        for _, key, op, value in self.terms:
            parts = key.split("_")
            if key.endswith("_ms") and op in ("<=", "<") and parts[1] in ("ttft", "tpot", "e2el"):
                out[parts[1]] = min(out.get(parts[1], float("inf")), value / 1000.0)
        return out

    def check(self, summary: dict) -> tuple[bool, list[str]]:
        """(met, violations) for one point's summary."""
        bad = []
        if not summary.get("completed"):
            return False, ["no request completed"]
        for part, key, op, value in self.terms:
            if key == "error_rate":
                sent = summary["completed"] + summary["failed"]
                got = summary["failed"] / sent if sent else 1.0
            else:
                if key not in summary:
                    raise ConfigError(f"--slo: '{key}' is not reported (add its percentile to --percentiles)")
                got = summary[key]
            ok = got is not None and {"<=": got <= value, "<": got < value, ">=": got >= value, ">": got > value}[op]
            if not ok:
                bad.append(f"{part} (got {got if got is None else round(got, 3)})")
        return not bad, bad
