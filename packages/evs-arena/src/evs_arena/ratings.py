"""Bradley–Terry ratings from judged battles, with seeded bootstrap intervals and style control.

A battle row says that model ``a`` met model ``b`` and scored ``y`` (1 win, 0.5 tie, 0 loss)
with a weight (3 for a strong verdict by default). The fit maximises

    sum_i w_i * [ y_i log s(d_i) + (1 - y_i) log s(-d_i) ],   d_i = ln(10) * (beta_a - beta_b) + z_i . gamma

by Newton's method. That is exactly the unpenalised, intercept-free logistic regression that
Arena-Hard and EvalScope's ``general_arena`` fit (they duplicate every battle and turn a tie
into one win for each side, which gives the same likelihood up to a factor of 2). Ratings are
``400 * beta + 1000`` with the baseline anchored at 1000 (or the mean at 1000 without one).

The maximum-likelihood estimate exists only when the models cannot be split into two groups
where one group never loses (or ties) to the other (Ford's condition: the "won or tied
against" graph is strongly connected). When it does not (a model that wins every game), a weak
Gaussian prior (``FALLBACK_RIDGE`` on the log-10 strengths) keeps the figures finite and the
result says ``mle_exists: false``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LN10 = math.log(10.0)
SCALE = 400.0
INIT_RATING = 1000.0
FALLBACK_RIDGE = 1.0
STYLE_FEATURES = ("length", "headers", "lists", "bold")
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


def make_games(rows: list[dict[str, Any]], models: list[str], with_style: bool = False) -> Games:
    """``rows``: dicts with ``a``, ``b`` (model names), ``y``, ``weight``, ``sample`` and, for style,
    ``style_a``/``style_b`` (feature dicts from :func:`style_features`)."""
    index = {m: i for i, m in enumerate(models)}
    samples: dict[Any, int] = {}
    a = np.array([index[r["a"]] for r in rows], dtype=np.int64)
    b = np.array([index[r["b"]] for r in rows], dtype=np.int64)
    y = np.array([float(r["y"]) for r in rows], dtype=float)
    w = np.array([float(r["weight"]) for r in rows], dtype=float)
    s = np.array([samples.setdefault(r.get("sample"), len(samples)) for r in rows], dtype=np.int64)
    z = None
    if with_style:
        z = np.array([style_difference(r["style_a"], r["style_b"]) for r in rows], dtype=float).reshape(len(rows), -1)
    return Games(models, a, b, y, w, s, z)


# ---------------------------------------------------------------------------------------------
# Style features (Arena-Hard-Auto's style control)

_CODE = re.compile(r"```[^`]*```")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def style_features(text: str) -> dict[str, int]:
    """Length (word and punctuation tokens) and markdown element counts, code blocks excluded."""
    text = text or ""
    body = _CODE.sub("", text)
    return {
        "length": len(_TOKEN.findall(text)),
        "headers": len(re.findall(r"^#{1,6}\s", body, re.MULTILINE)),
        "lists": len(re.findall(r"^\s*\d+\.\s", body, re.MULTILINE)) + len(re.findall(r"^\s*[-*+]\s", body, re.MULTILINE)),
        "bold": len(re.findall(r"\*\*[^*\n]+\*\*", body)) + len(re.findall(r"__[^_\n]+__", body)),
    }


def style_difference(fa: dict[str, int], fb: dict[str, int]) -> list[float]:
    """Arena-Hard's covariates: relative length difference, then markdown density differences."""
    la, lb = float(fa["length"]), float(fb["length"])
    out = [(la - lb) / (la + lb) if la + lb > 0 else 0.0]
    for key in STYLE_FEATURES[1:]:
        da = fa[key] / la if la > 0 else 0.0
        db = fb[key] / lb if lb > 0 else 0.0
        out.append((da - db) / (da + db + 1.0))
    return out


def standardise(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted z-scores of each column; a constant column becomes 0 (its coefficient is then 0)."""
    wsum = w.sum()
    mean = (z * w[:, None]).sum(0) / wsum
    var = ((z - mean) ** 2 * w[:, None]).sum(0) / wsum
    std = np.sqrt(var)
    keep = std > 1e-12
    out = np.zeros_like(z)
    out[:, keep] = (z[:, keep] - mean[keep]) / std[keep]
    return out, keep


# ---------------------------------------------------------------------------------------------
# The fit


def mle_exists(games: Games, present: np.ndarray) -> bool:
    """Ford's condition on the models in ``present``: the won-or-tied graph is strongly connected."""
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
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def fit_bt(games: Games, anchor: int | None = None, z: np.ndarray | None = None, ridge: float | None = None,
           max_iter: int = 100, tol: float = 1e-12) -> Fit:
    """Maximum-likelihood Bradley–Terry strengths (log-10 units).

    ``anchor``: the model whose strength is 0 (the baseline); without one, the mean of the models
    that played is 0. ``z``: standardised covariates fitted beside the strengths (style
    control). ``ridge``: a Gaussian prior on the strengths; None = 0 when the MLE exists, else
    :data:`FALLBACK_RIDGE`.
    """
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
         style: bool = False, level: float = 0.95) -> Rating:
    """Ratings with percentile-bootstrap intervals (``rounds`` resamples from ``seed``)."""
    models = games.models
    anchor = models.index(baseline) if baseline in models else None
    z = None
    if style:
        if games.z is None:
            raise ValueError("style control needs games made with with_style=True")
        z, keep = standardise(games.z, games.w)
        z = z[:, keep]
        kept = [f for f, k in zip(STYLE_FEATURES, keep, strict=True) if k]
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
