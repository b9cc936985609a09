"""Bradley–Terry fit and bootstrap of evs_core.stats (shared by evs-arena and arena_hard)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from evs_core import stats as S


def games(rows, models):
    idx = {m: i for i, m in enumerate(models)}
    return S.Games(models, np.array([idx[a] for a, _, _ in rows]), np.array([idx[b] for _, b, _ in rows]),
                   np.array([float(y) for _, _, y in rows]), np.ones(len(rows)), np.arange(len(rows)))


def test_two_models_fit_the_closed_form_odds():
    # 7 wins of 10 against the baseline: 10**(beta) = 7/3 exactly at the MLE.
    rows = [("m", "base", 1)] * 7 + [("m", "base", 0)] * 3
    fit = S.fit_bt(games(rows, ["base", "m"]), anchor=0)
    assert fit.mle_exists
    assert fit.beta[1] == pytest.approx(math.log10(7 / 3), abs=1e-9)
    assert fit.ratings()[0] == pytest.approx(S.INIT_RATING)
    assert S.win_rate(fit.ratings()[1], fit.ratings()[0]) == pytest.approx(0.7, abs=1e-9)


def test_a_tie_is_half_a_win_and_an_unbeaten_model_falls_back_to_the_prior():
    rows = [("m", "base", 0.5)] * 4
    fit = S.fit_bt(games(rows, ["base", "m"]), anchor=0)
    assert fit.beta[1] == pytest.approx(0.0, abs=1e-9)
    unbeaten = S.fit_bt(games([("m", "base", 1)] * 3, ["base", "m"]), anchor=0)
    assert not unbeaten.mle_exists and math.isfinite(unbeaten.beta[1]) and unbeaten.beta[1] > 0


def test_bootstrap_is_seeded_and_brackets_the_point():
    rows = [("m", "base", 1)] * 6 + [("m", "base", 0)] * 4 + [("n", "base", 0)] * 6 + [("n", "base", 1)] * 4
    g = games(rows, ["base", "m", "n"])
    r1, r2 = S.rate(g, "base", rounds=50, seed=7), S.rate(g, "base", rounds=50, seed=7)
    assert r1.rating == r2.rating and r1.lower == r2.lower and r1.upper == r2.upper
    for m in ("m", "n"):
        assert r1.lower[m] <= r1.rating[m] <= r1.upper[m]
    assert r1.rating["m"] == pytest.approx(1000 + 400 * math.log10(6 / 4), abs=1e-6)


def test_importing_stats_does_not_import_numpy():
    code = "import sys, evs_core.stats; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
