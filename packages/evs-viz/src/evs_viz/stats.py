"""Paired comparison of two models on the same samples (plain Python; numpy when present).

Samples are paired by ``(sample_id, repeat)``. When every score is 0 or 1 the test is
**McNemar's exact test**: under the null hypothesis the discordant pairs (one model right, the
other wrong) split 50/50, so the two-sided p-value is a binomial tail on ``b`` of ``b + c``.
Otherwise (partial credit, F1, BLEU…) it is a **paired bootstrap** of the mean difference:
resample the paired differences, a 95 % percentile interval, and a two-sided p-value from the
share of resampled means on the other side of zero.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

BOOTSTRAP_RESAMPLES = 2000


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap(diffs: list[float], seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, tuple[float, float]]:
    """``(p_value, (lo, hi))`` of the mean of paired differences by percentile bootstrap."""
    n = len(diffs)
    if n == 0:
        return 1.0, (0.0, 0.0)
    if all(d == diffs[0] for d in diffs):
        return (1.0 if diffs[0] == 0 else 0.0), (diffs[0], diffs[0])
    try:
        import numpy as np

        arr = np.asarray(diffs, dtype=float)
        rng = np.random.default_rng(seed)
        chunk = max(1, min(resamples, 5_000_000 // n))
        parts, done = [], 0
        while done < resamples:
            k = min(chunk, resamples - done)
            parts.append(arr[rng.integers(0, n, size=(k, n))].mean(axis=1))
            done += k
        means = sorted(float(x) for x in np.concatenate(parts))
    except ImportError:  # pragma: no cover - numpy comes with pandas
        rng2 = random.Random(seed)
        means = sorted(sum(rng2.choice(diffs) for _ in range(n)) / n for _ in range(resamples))
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
    """Compare per-sample scores ``{(sample_id, repeat): score}`` of model A and model B."""
    keys = sorted(set(a) & set(b), key=str)
    va = [float(a[k]) for k in keys]
    vb = [float(b[k]) for k in keys]
    n = len(keys)
    mean_a = sum(va) / n if n else 0.0
    mean_b = sum(vb) / n if n else 0.0
    a_only = [k for k, x, y in zip(keys, va, vb, strict=True) if x > y]
    b_only = [k for k, x, y in zip(keys, va, vb, strict=True) if y > x]
    binary = all(x in (0.0, 1.0) for x in va + vb)
    if binary:
        p, ci, test = mcnemar_exact(len(a_only), len(b_only)), None, "McNemar exact"
    else:
        p, ci = paired_bootstrap([x - y for x, y in zip(va, vb, strict=True)], seed=seed)
        test = "paired bootstrap"
    return PairedResult(
        n=n, mean_a=mean_a, mean_b=mean_b, test=test, p_value=p, ci95=ci, a_only=a_only, b_only=b_only,
        only_in_a=len(set(a) - set(b)), only_in_b=len(set(b) - set(a)),
    )
