"""AlpacaEval 2.0's length-controlled win rate: the ``length_controlled_v1`` GLM of the alpaca_eval package.

For every instruction the GLM models the judge's preference (0 = baseline, 1 = model) as

    logistic( w1 * tanh(std_delta_len) + w2 * instruction_difficulty + w3 * not_gamed_baseline )

where ``std_delta_len`` is the baseline's output length minus the model's (in characters) divided
by the standard deviation of that difference over the instructions, ``instruction_difficulty`` the
per-instruction value published with the benchmark, and ``not_gamed_baseline`` 1 for the model's
rows. The model's rows are fitted together with the annotations of two "gamed" baselines
(``df_gamed.csv`` of the ``tatsu-lab/alpaca_eval`` dataset), weighted 0.2 / 2 each, which
regularises the fit toward them. The fit is an L1 logistic regression without intercept, its
strength chosen by 5-fold grouped cross-validation on the log loss of the soft preferences
(liblinear, ``random_state=123``). The length-controlled win rate is the mean predicted
preference with the length term set to 0; its standard error the standard error of those
predictions. Rows whose annotation failed are left out of the fit but, as in the package, keep
their prediction in the mean. Values are fractions (the package reports them x 100).
"""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError

FORMULA_COLUMNS = ("np.tanh(std_delta_len)", "instruction_difficulty", "not_gamed_baseline.astype(float)")
REGULARIZE_TO_BASELINE_LAMBDA = 0.2
N_SPLITS = 5
GAMED_REPO = "tatsu-lab/alpaca_eval"
GAMED_FILE = "df_gamed.csv"


def check_available() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ConfigError("alpaca_eval's length-controlled win rate needs scikit-learn: pip install "
                          "'evs-native[alpaca_eval]' (or set dataset_args.alpaca_eval.length_controlled to false)") from None


def download_gamed() -> Path:
    """df_gamed.csv from the Hugging Face dataset (the package's own source), cached by huggingface_hub."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ConfigError("alpaca_eval: fetching df_gamed.csv needs huggingface_hub (pip install huggingface_hub), "
                          "or give dataset_args.alpaca_eval.df_gamed_path") from None
    try:
        return Path(hf_hub_download(repo_id=GAMED_REPO, filename=GAMED_FILE, repo_type="dataset"))
    except Exception as exc:  # noqa: BLE001 - offline, gated, missing: one line
        raise ConfigError(f"alpaca_eval: cannot fetch {GAMED_FILE} of {GAMED_REPO} ({type(exc).__name__}); give "
                          "dataset_args.alpaca_eval.df_gamed_path, put it in --dataset-dir/alpaca_eval/, or set "
                          "length_controlled to false") from None


def _bool(v: str) -> bool:
    s = str(v).strip().lower()
    if s in ("true", "1", "1.0"):
        return True
    if s in ("false", "0", "0.0"):
        return False
    raise ValueError(f"not a boolean: {v!r}")


def _float(v: str) -> float:
    s = str(v).strip()
    return float("nan") if s == "" or s.lower() == "nan" else float(s)


def read_gamed(path: Path) -> dict[str, Any]:
    """The gamed baselines' rows and the instruction difficulties (by instruction index) of df_gamed.csv."""
    need = ("index", "instruction_difficulty", "preference", "std_delta_len", "not_gamed_baseline")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise ConfigError(f"alpaca_eval: cannot read {path}: {exc}") from None
    if not rows:
        raise ConfigError(f"alpaca_eval: {path} has no rows")
    missing = [c for c in need if c not in rows[0]]
    if missing:
        raise ConfigError(f"alpaca_eval: {path} lacks column(s) {', '.join(missing)} (has: {', '.join(rows[0])})")
    try:
        out = {"preference": [_float(r["preference"]) for r in rows],
               "std_delta_len": [_float(r["std_delta_len"]) for r in rows],
               "instruction_difficulty": [_float(r["instruction_difficulty"]) for r in rows],
               "not_gamed_baseline": [_bool(r["not_gamed_baseline"]) for r in rows]}
        index = [int(float(r["index"])) for r in rows]
    except ValueError as exc:
        raise ConfigError(f"alpaca_eval: {path}: {exc}") from None
    # As the package: the difficulty of instruction i is read at row label i of the first occurrences.
    seen: set[int] = set()
    difficulty: dict[int, float] = {}
    for label, (i, d) in enumerate(zip(index, out["instruction_difficulty"], strict=True)):
        if i not in seen:
            seen.add(i)
            difficulty[label] = d
    out["difficulty"] = difficulty
    return out


def _sem(xs: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return float("nan")
    m = sum(xs) / n
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1) / n)


def length_controlled_winrate(preferences: list[float | None], len_baseline: list[int], len_model: list[int],
                              indices: list[int], gamed: dict[str, Any]) -> tuple[float, float]:
    """``(length-controlled win rate, its standard error)`` as fractions.

    ``preferences``: the annotations in [1, 2] (2 = the model wins, 1.5 a tie, None failed);
    ``len_*``: output lengths in characters; ``indices``: each instruction's position in the set."""
    import numpy as np

    n = len(preferences)
    if n < 2:
        raise ValueError(f"{n} instruction(s): the length difference has no standard deviation")
    delta = np.asarray(len_baseline, dtype=float) - np.asarray(len_model, dtype=float)
    sd = float(np.std(delta, ddof=1))
    if not sd > 0:
        raise ValueError("every output length difference is the same: the length term is undefined")
    std_delta_len = delta / sd
    pref = np.array([np.nan if p is None else (1.5 if p == 0 else float(p)) - 1.0 for p in preferences])
    try:
        diff = np.array([gamed["difficulty"][int(i)] for i in indices], dtype=float)
    except KeyError as exc:
        raise ConfigError(f"alpaca_eval: df_gamed.csv has no instruction difficulty for instruction {exc.args[0]}") from None
    g = gamed
    x_train = np.column_stack([
        np.tanh(np.concatenate([np.asarray(g["std_delta_len"]), std_delta_len])),
        np.concatenate([np.asarray(g["instruction_difficulty"]), diff]),
        np.concatenate([np.asarray(g["not_gamed_baseline"], dtype=float), np.ones(n)]),
    ])
    y_train = np.concatenate([np.asarray(g["preference"], dtype=float), pref])
    not_gamed = x_train[:, 2] > 0
    weight = not_gamed.astype(float) + (REGULARIZE_TO_BASELINE_LAMBDA * ~not_gamed).astype(float) / 2
    keep = ~np.isnan(y_train)
    coef = _fit_soft_logistic_cv(x_train[keep], y_train[keep], weight[keep])
    x_test = np.column_stack([np.zeros(n), diff, np.ones(n)])  # tanh(0) = 0: no length difference
    p = 1.0 / (1.0 + np.exp(-(x_test @ coef)))
    return float(p.mean()), _sem([float(v) for v in p])


def _log_loss_soft(y_true, y_pred, true_prob, true_sample_weight=None) -> float:
    """The package's log loss of soft labels (duplicated rows: y says which side, true_prob its weight)."""
    import numpy as np

    target = np.where(y_true == 1, true_prob, 1 - true_prob)
    eps = 1e-15
    y_pred = np.clip(y_pred, eps, 1 - eps)
    ll = target * np.log(y_pred) + (1 - target) * np.log(1 - y_pred)
    if true_sample_weight is not None:
        ll = ll * true_sample_weight
    return float(-np.mean(ll))


def _fit_soft_logistic_cv(x, prob, weight):
    """Coefficients of the cross-validated L1 logistic regression on soft labels ``prob``.

    Each row is present twice, once as a success weighted by ``prob * weight`` and once as a
    failure weighted by ``(1 - prob) * weight``; folds keep both copies together."""
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    n = x.shape[0]
    x_dup = np.vstack([x, x])
    y_dup = np.concatenate([np.ones(n, dtype=int), np.zeros(n, dtype=int)])
    true_prob = np.concatenate([prob, 1 - prob])
    true_weight = np.concatenate([weight, weight])
    groups = np.concatenate([np.arange(n), np.arange(n)])
    # scikit-learn >= 1.8 warns that ``penalty`` will become ``l1_ratios``: the fit is the same.
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scorer = make_scorer(_log_loss_soft, response_method="predict_proba", greater_is_better=False)
        scorer = scorer.set_score_request(true_sample_weight=True, true_prob=True)
        model = LogisticRegressionCV(cv=GroupKFold(n_splits=N_SPLITS), scoring=scorer, random_state=123, dual=False,
                                     penalty="l1", solver="liblinear", n_jobs=None, fit_intercept=False)
        model.set_fit_request(sample_weight=True)
        model.fit(x_dup, y_dup, sample_weight=true_prob * true_weight, groups=groups,
                  true_sample_weight=true_weight, true_prob=true_prob)
    return model.coef_[0]
