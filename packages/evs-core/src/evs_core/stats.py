"""Score statistics: mean, standard error and a bootstrap 95 % confidence interval."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

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
