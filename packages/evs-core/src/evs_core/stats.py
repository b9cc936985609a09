"""The one statistics module of evs: means, standard errors, bootstrap confidence intervals,
percentiles, aggregations of per-sample scores, pass@k, paired model comparisons and
Bradley–Terry ratings of pairwise battles with bootstrap intervals.

Used by the eval engine (reports), evs-perf (latency percentiles) and evs-viz (comparisons).
Plain Python; numpy is used for the bootstrap when installed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evs_core.schema import Stat

if TYPE_CHECKING:
    import numpy as np

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


# ---------------------------------------------------------------------------------------------
# Bradley–Terry ratings from pairwise battles (used by evs-arena and the arena_hard benchmark)
#
# A battle row says that model ``a`` met model ``b`` and scored ``y`` (1 win, 0.5 tie, 0 loss)
# with a weight (3 for a strong verdict by default). The fit maximises
#
#     sum_i w_i * [ y_i log s(d_i) + (1 - y_i) log s(-d_i) ],   d_i = ln(10) * (beta_a - beta_b) + z_i . gamma
#
# by Newton's method: the unpenalised, intercept-free logistic regression that Arena-Hard-Auto
# and EvalScope's ``general_arena`` fit (they duplicate every battle and turn a tie into one win
# for each side, which gives the same likelihood up to a factor of 2). Ratings are
# ``400 * beta + 1000`` with the baseline anchored at 1000 (or the mean at 1000 without one).
# The maximum-likelihood estimate exists only when the "won or tied against" graph is strongly
# connected (Ford's condition); otherwise a weak Gaussian prior (``FALLBACK_RIDGE``) keeps the
# figures finite and the result says ``mle_exists: false``. numpy is imported by the functions.

LN10 = math.log(10.0)
SCALE = 400.0
INIT_RATING = 1000.0
FALLBACK_RIDGE = 1.0
BOOTSTRAP_UNITS = ("battle", "sample")


@dataclass
class Games:
    """Battle rows as arrays: indices into ``models``, score of ``a``, weight, sample index."""

    models: list[str]
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray
    w: np.ndarray
    sample: np.ndarray  # an integer per distinct (benchmark, subset, sample id), for bootstrap by sample
    z: np.ndarray | None = None  # style covariates (n, k), raw (not standardised)

    @property
    def n(self) -> int:
        return int(self.a.shape[0])

    def subset(self, mask: np.ndarray) -> Games:
        return Games(self.models, self.a[mask], self.b[mask], self.y[mask], self.w[mask], self.sample[mask],
                     None if self.z is None else self.z[mask])


def standardise(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted z-scores of each column; a constant column becomes 0 (its coefficient is then 0)."""
    import numpy as np

    wsum = w.sum()
    mean = (z * w[:, None]).sum(0) / wsum
    var = ((z - mean) ** 2 * w[:, None]).sum(0) / wsum
    std = np.sqrt(var)
    keep = std > 1e-12
    out = np.zeros_like(z)
    out[:, keep] = (z[:, keep] - mean[keep]) / std[keep]
    return out, keep


def mle_exists(games: Games, present: np.ndarray) -> bool:
    """Ford's condition on the models in ``present``: the won-or-tied graph is strongly connected."""
    import numpy as np

    nodes = [int(i) for i in np.flatnonzero(present)]
    if len(nodes) <= 1:
        return True
    fwd: dict[int, set[int]] = {i: set() for i in nodes}
    back: dict[int, set[int]] = {i: set() for i in nodes}
    for a, b, y, w in zip(games.a, games.b, games.y, games.w, strict=True):
        if w <= 0:
            continue
        a, b = int(a), int(b)
        if y > 0:  # a won or tied: a "reaches" b
            fwd[a].add(b)
            back[b].add(a)
        if y < 1:
            fwd[b].add(a)
            back[a].add(b)

    def reach(graph: dict[int, set[int]]) -> set[int]:
        seen, todo = {nodes[0]}, [nodes[0]]
        while todo:
            for j in graph[todo.pop()]:
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
        return seen

    return len(reach(fwd)) == len(nodes) and len(reach(back)) == len(nodes)


@dataclass
class Fit:
    beta: np.ndarray  # log-10 strengths per model (nan for a model with no games), anchored
    gamma: np.ndarray  # style coefficients (standardised covariates), empty without style
    cov: np.ndarray | None  # covariance of the free parameters (sandwich), for Wald intervals
    free: np.ndarray  # indices of the models whose strength is free (not the anchor)
    mle_exists: bool
    iterations: int

    def ratings(self) -> np.ndarray:
        return SCALE * self.beta + INIT_RATING


def _sigmoid(x: np.ndarray) -> np.ndarray:
    import numpy as np

    return 0.5 * (1.0 + np.tanh(0.5 * x))


def fit_bt(games: Games, anchor: int | None = None, z: np.ndarray | None = None, ridge: float | None = None,
           max_iter: int = 100, tol: float = 1e-12) -> Fit:
    """Maximum-likelihood Bradley–Terry strengths (log-10 units).

    ``anchor``: the model whose strength is 0 (the baseline); without one, the mean of the models
    that played is 0. ``z``: standardised covariates fitted beside the strengths (style
    control). ``ridge``: a Gaussian prior on the strengths; None = 0 when the MLE exists, else
    :data:`FALLBACK_RIDGE`.
    """
    import numpy as np

    m = len(games.models)
    present = np.zeros(m, dtype=bool)
    live = games.w > 0
    present[games.a[live]] = True
    present[games.b[live]] = True
    exists = mle_exists(games, present)
    if ridge is None:
        ridge = 0.0 if exists else FALLBACK_RIDGE
    if anchor is None or not present[anchor]:
        ref = int(np.flatnonzero(present)[0]) if present.any() else 0
        centre = True
    else:
        ref, centre = anchor, False
    free = np.array([i for i in range(m) if present[i] and i != ref], dtype=np.int64)
    k = 0 if z is None else z.shape[1]
    p = len(free) + k
    col = np.full(m, -1, dtype=np.int64)
    col[free] = np.arange(len(free))
    n = games.n
    X = np.zeros((n, p))
    rows = np.arange(n)
    ca, cb = col[games.a], col[games.b]
    X[rows[ca >= 0], ca[ca >= 0]] += LN10
    X[rows[cb >= 0], cb[cb >= 0]] -= LN10
    if k:
        X[:, len(free):] = z
    y, w = games.y, games.w
    pen = np.zeros(p)
    pen[: len(free)] = ridge
    theta = np.zeros(p)

    def objective(t: np.ndarray) -> float:
        eta = X @ t
        # -log s(eta) = log(1 + e^-eta), computed stably
        return float((w * (y * np.logaddexp(0.0, -eta) + (1 - y) * np.logaddexp(0.0, eta))).sum()
                     + 0.5 * (pen * t * t).sum())

    it = 0
    f = objective(theta)
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        eta = X @ theta
        s = _sigmoid(eta)
        grad = X.T @ (w * (s - y)) + pen * theta
        hess = (X * (w * s * (1 - s))[:, None]).T @ X + np.diag(pen)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = theta - t * step
            fc = objective(cand)
            if fc <= f + 1e-16 * max(1.0, abs(f)) or t < 1e-10:
                break
            t *= 0.5
        theta, f_old, f = cand, f, fc
        if np.max(np.abs(t * step)) < tol or abs(f_old - f) < 1e-15 * max(1.0, abs(f)) and np.max(np.abs(grad)) < 1e-10:
            break
    eta = X @ theta
    s = _sigmoid(eta)
    v = s * (1 - s)
    hess = (X * (w * v)[:, None]).T @ X + np.diag(pen)
    try:
        # Sandwich covariance: a battle of weight 3 is one judgment counted three times, not three
        # independent ones, so the information is X' diag(w^2 v) X rather than X' diag(w v) X.
        hinv = np.linalg.inv(hess) if p else np.zeros((0, 0))
        cov = hinv @ ((X * (w * w * v)[:, None]).T @ X) @ hinv
    except np.linalg.LinAlgError:
        cov = None
    beta = np.full(m, np.nan)
    beta[ref] = 0.0
    beta[free] = theta[: len(free)]
    if centre:
        beta[present] -= beta[present].mean()
    return Fit(beta=beta, gamma=theta[len(free):], cov=cov, free=free, mle_exists=exists, iterations=it)


def win_rate(rating: float, baseline_rating: float) -> float:
    """Predicted chance that a model of ``rating`` beats the baseline (Elo formula, scale 400)."""
    return 1.0 / (1.0 + 10.0 ** ((baseline_rating - rating) / SCALE))


def resample_weights(games: Games, rng: np.random.Generator, by: str) -> np.ndarray:
    """One bootstrap draw as new weights.

    ``battle`` (EvalScope): every weighted battle row is a unit (a strong verdict is 3 rows),
    drawn with replacement as often as there are rows. ``sample``: prompts are drawn with
    replacement and each brings all its games.
    """
    import numpy as np

    if by == "battle":
        units = np.repeat(np.arange(games.n), games.w.astype(np.int64))
        draw = rng.integers(0, len(units), len(units))
        return np.bincount(units[draw], minlength=games.n).astype(float)
    nsamp = int(games.sample.max()) + 1 if games.n else 0
    draw = rng.integers(0, nsamp, nsamp)
    mult = np.bincount(draw, minlength=nsamp).astype(float)
    return games.w * mult[games.sample]


@dataclass
class Rating:
    """Point ratings, bootstrap percentiles and win rates of one set of battles."""

    models: list[str]
    rating: dict[str, float | None]
    lower: dict[str, float | None]
    upper: dict[str, float | None]
    mle_exists: bool
    fallback_rounds: int = 0  # bootstrap rounds where the MLE did not exist
    boot: np.ndarray | None = None  # (rounds, models)
    style: dict[str, Any] = field(default_factory=dict)


def rate(games: Games, baseline: str | None, rounds: int = 100, seed: int = 42, by: str = "battle",
         style: bool = False, level: float = 0.95, feature_names: Sequence[str] | None = None) -> Rating:
    """Ratings with percentile-bootstrap intervals (``rounds`` resamples from ``seed``)."""
    import numpy as np

    models = games.models
    anchor = models.index(baseline) if baseline in models else None
    z = None
    if style:
        if games.z is None:
            raise ValueError("style control needs games made with with_style=True")
        z, keep = standardise(games.z, games.w)
        z = z[:, keep]
        names = list(feature_names) if feature_names is not None else [f"z{j}" for j in range(games.z.shape[1])]
        kept = [f for f, k in zip(names, keep, strict=True) if k]
    point = fit_bt(games, anchor, z)
    rng = np.random.default_rng(seed)
    boot = np.full((rounds, len(models)), np.nan)
    gboot = np.full((rounds, 0 if z is None else z.shape[1]), np.nan)
    fallback = 0
    for r in range(rounds):
        w = resample_weights(games, rng, by)
        g = Games(models, games.a, games.b, games.y, w, games.sample)
        fit = fit_bt(g, anchor, z)
        fallback += not fit.mle_exists
        boot[r] = fit.ratings()
        if z is not None:
            gboot[r] = fit.gamma
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    pts = point.ratings()
    out = Rating(models=list(models), rating={}, lower={}, upper={}, mle_exists=point.mle_exists,
                 fallback_rounds=fallback, boot=boot)
    for i, mname in enumerate(models):
        col = boot[:, i]
        col = col[~np.isnan(col)]
        out.rating[mname] = None if math.isnan(pts[i]) else float(pts[i])
        out.lower[mname] = float(np.percentile(col, lo_q)) if len(col) and out.rating[mname] is not None else None
        out.upper[mname] = float(np.percentile(col, hi_q)) if len(col) and out.rating[mname] is not None else None
    if z is not None:
        out.style = {"features": kept,
                     "coefficients": {f: float(point.gamma[j]) for j, f in enumerate(kept)},
                     "coefficients_lower": {f: float(np.percentile(gboot[:, j], lo_q)) for j, f in enumerate(kept)},
                     "coefficients_upper": {f: float(np.percentile(gboot[:, j], hi_q)) for j, f in enumerate(kept)}}
    return out


def pair_interval_overlap(fit: Fit, i: int, j: int, z: float = 1.96) -> float:
    """How much two models' intervals overlap, measured on their difference (log-10 units):
    ``z * sd(beta_i - beta_j) - |beta_i - beta_j|``. Positive: not yet separated."""
    diff = fit.beta[i] - fit.beta[j]
    if math.isnan(diff) or fit.cov is None:
        return math.inf
    pos = {int(m): k for k, m in enumerate(fit.free)}
    vi = fit.cov[pos[i], pos[i]] if i in pos else 0.0
    vj = fit.cov[pos[j], pos[j]] if j in pos else 0.0
    cij = fit.cov[pos[i], pos[j]] if i in pos and j in pos else 0.0
    var = max(vi + vj - 2 * cij, 0.0)
    return z * math.sqrt(var) - abs(diff)
