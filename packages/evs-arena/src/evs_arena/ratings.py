"""Bradley–Terry ratings from judged battles, with seeded bootstrap intervals and style control.

The fit and the bootstrap are :mod:`evs_core.stats`' (re-exported here); this module turns battle
rows into :class:`Games` and adds Arena-Hard-Auto's style features.

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

import re
from typing import Any

import numpy as np
from evs_core import stats as _stats

# The fit, the bootstrap and the constants live in evs_core.stats (shared with the arena_hard
# benchmark); they are re-exported here for this package's modules and users.
from evs_core.stats import (  # noqa: F401 - re-exports
    BOOTSTRAP_UNITS,
    FALLBACK_RIDGE,
    INIT_RATING,
    LN10,
    SCALE,
    Fit,
    Games,
    Rating,
    fit_bt,
    mle_exists,
    pair_interval_overlap,
    resample_weights,
    standardise,
    win_rate,
)

STYLE_FEATURES = ("length", "headers", "lists", "bold")


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


def rate(games: Games, baseline: str | None, rounds: int = 100, seed: int = 42, by: str = "battle",
         style: bool = False, level: float = 0.95) -> Rating:
    """evs_core.stats.rate with the style covariates named (length, headers, lists, bold)."""
    return _stats.rate(games, baseline, rounds=rounds, seed=seed, by=by, style=style, level=level,
                       feature_names=STYLE_FEATURES)
