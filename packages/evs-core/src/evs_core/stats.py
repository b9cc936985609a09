"""The one statistics module of evs: means, standard errors, bootstrap confidence intervals,
percentiles, aggregations of per-sample scores, pass@k and paired model comparisons.

Used by the eval engine (reports), evs-perf (latency percentiles) and evs-viz (comparisons).
Plain Python; numpy is used for the bootstrap when installed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evs_core.schema import Stat

BOOTSTRAP_RESAMPLES = 1000


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def stderr(values: Sequence[float]) -> float | None:
    n = len(values)
    if n < 2:
        return None
    m = mean(values)
    var = sum((v - m) ** 2 for v in values) / (n - 1)
    return math.sqrt(var / n)


def bootstrap_ci(
    values: Sequence[float], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean (numpy when installed, else pure Python)."""
    n = len(values)
    if n < 2:
        return None
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is usually present
        rng = random.Random(seed)
        resamples = min(resamples, max(200, 2_000_000 // n))
        means = sorted(sum(rng.choice(values) for _ in range(n)) / n for _ in range(resamples))
        return means[int(lo_q * (resamples - 1))], means[int(hi_q * (resamples - 1))]
    arr = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    # Resample in chunks so that memory stays bounded for large n.
    chunk = max(1, min(resamples, 5_000_000 // n))
    means = []
    done = 0
    while done < resamples:
        k = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(k, n))
        means.append(arr[idx].mean(axis=1))
        done += k
    allm = np.concatenate(means)
    return float(np.quantile(allm, lo_q)), float(np.quantile(allm, hi_q))


def percentile(sorted_xs: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0–100) of sorted values: linear interpolation between closest
    ranks (numpy's default, ``method="linear"``); None for no values."""
    n = len(sorted_xs)
    if n == 0:
        return None
    k = (n - 1) * p / 100.0
    lo = math.floor(k)
    hi = min(lo + 1, n - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (k - lo)


def summarize(values: Sequence[float], seed: int = 0, ci: bool = True) -> Stat:
    return Stat(
        score=mean(values),
        num=len(values),
        stderr=stderr(values),
        ci95=bootstrap_ci(values, seed) if ci else None,
    )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator (Chen et al., 2021): 1 - C(n-c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def _median(values: Sequence[float]) -> float:
    return percentile(sorted(values), 50) if values else 0.0


#: How per-sample scores of a metric are summed up into its score (``aggregation`` of a metric).
AGGREGATIONS = {
    "mean": mean,
    "median": _median,
    "max": lambda v: max(v) if v else 0.0,
    "min": lambda v: min(v) if v else 0.0,
    "sum": lambda v: float(sum(v)),
}


def aggregate_values(values: Sequence[float], aggregation: str = "mean", seed: int = 0) -> Stat:
    """A :class:`Stat` of per-sample scores under one aggregation.

    ``mean`` carries its standard error and bootstrap CI; the other aggregations carry none.
    """
    if aggregation == "mean":
        return summarize(values, seed)
    try:
        fn = AGGREGATIONS[aggregation]
    except KeyError:
        raise ValueError(f"unknown aggregation {aggregation!r} (known: {', '.join(AGGREGATIONS)})") from None
    return Stat(score=float(fn(list(values))), num=len(values))


# -- paired comparison of two models on the same samples --------------------------------------
PAIRED_RESAMPLES = 2000


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def _bootstrap_means(values: Sequence[float], seed: int, resamples: int) -> list[float]:
    n = len(values)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is usually present
        rng = random.Random(seed)
        return sorted(sum(rng.choice(values) for _ in range(n)) / n for _ in range(resamples))
    arr = np.asarray(values, dtype=float)
    rng2 = np.random.default_rng(seed)
    chunk = max(1, min(resamples, 5_000_000 // n))
    parts, done = [], 0
    while done < resamples:
        k = min(chunk, resamples - done)
        parts.append(arr[rng2.integers(0, n, size=(k, n))].mean(axis=1))
        done += k
    return sorted(float(x) for x in np.concatenate(parts))


def paired_bootstrap(diffs: list[float], seed: int = 0,
                     resamples: int = PAIRED_RESAMPLES) -> tuple[float, tuple[float, float]]:
    """``(p_value, (lo, hi))`` of the mean of paired differences by percentile bootstrap."""
    n = len(diffs)
    if n == 0:
        return 1.0, (0.0, 0.0)
    if all(d == diffs[0] for d in diffs):
        return (1.0 if diffs[0] == 0 else 0.0), (diffs[0], diffs[0])
    means = _bootstrap_means(diffs, seed, resamples)
    lo, hi = means[int(0.025 * (resamples - 1))], means[int(0.975 * (resamples - 1))]
    below = sum(m <= 0 for m in means) / resamples
    above = sum(m >= 0 for m in means) / resamples
    return min(1.0, 2 * min(below, above)), (lo, hi)


@dataclass
class PairedResult:
    n: int  # paired samples
    mean_a: float
    mean_b: float
    test: str  # "McNemar exact" or "paired bootstrap"
    p_value: float
    ci95: tuple[float, float] | None  # of mean_a - mean_b (bootstrap only)
    a_only: list[tuple[str, int]] = field(default_factory=list)  # A better than B on these samples
    b_only: list[tuple[str, int]] = field(default_factory=list)
    only_in_a: int = 0  # samples present for one model only (not compared)
    only_in_b: int = 0

    @property
    def diff(self) -> float:
        return self.mean_a - self.mean_b

    def significant(self, alpha: float = 0.05) -> bool:
        return self.n > 0 and self.p_value < alpha


def paired_compare(a: dict[Any, float], b: dict[Any, float], seed: int = 0) -> PairedResult:
    """Compare per-sample scores ``{(sample_id, repeat): score}`` of model A and model B.

    All scores 0 or 1: McNemar's exact test on the discordant pairs. Otherwise a paired
    bootstrap of the mean difference (95 % percentile interval, two-sided p-value).
    """
    keys = sorted(set(a) & set(b), key=str)
    va = [float(a[k]) for k in keys]
    vb = [float(b[k]) for k in keys]
    n = len(keys)
    mean_a = sum(va) / n if n else 0.0
    mean_b = sum(vb) / n if n else 0.0
    a_only = [k for k, x, y in zip(keys, va, vb, strict=True) if x > y]
    b_only = [k for k, x, y in zip(keys, va, vb, strict=True) if y > x]
    if all(x in (0.0, 1.0) for x in va + vb):
        p, ci, test = mcnemar_exact(len(a_only), len(b_only)), None, "McNemar exact"
    else:
        p, ci = paired_bootstrap([x - y for x, y in zip(va, vb, strict=True)], seed=seed)
        test = "paired bootstrap"
    return PairedResult(n=n, mean_a=mean_a, mean_b=mean_b, test=test, p_value=p, ci95=ci, a_only=a_only,
                        b_only=b_only, only_in_a=len(set(a) - set(b)), only_in_b=len(set(b) - set(a)))
