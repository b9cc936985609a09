"""The Bradley-Terry fit against an independent reference, bootstrap reproducibility, style control."""

from __future__ import annotations

import json
import math
import random
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from evs_arena import ratings as R
from evs_arena import verdict as V
from evs_arena.leaderboard import compute_leaderboard, line_rows, position_bias

FIXED = Path(__file__).parent / "data" / "battles_fixed.jsonl"
MODELS = ["gpt-x", "qwen-y", "llama-z", "base-m"]


def _lines():
    return [json.loads(x) for x in FIXED.read_text().splitlines()]


def evalscope_reference(lines, baseline, models=MODELS, strong=3):
    """EvalScope general_arena's construction, written independently: each game becomes rows
    (a strong verdict 3 rows), the rows are duplicated, a tie is one win for each side, and an
    unpenalised intercept-free logistic regression gives 400 * coef + 1000, baseline at 1000."""
    from sklearn.linear_model import LogisticRegression

    rows = []  # (model_a, model_b, winner) with model_a = model_1 of the battle
    for ln in lines:
        found = re.findall(r"\[\[([AB<>=]+)\]\]", ln["raw"] or "")
        if not found:
            continue
        j = found[0]
        if ln["game"] == 0:
            win = {"A=B": "tie", "A>B": "a", "A>>B": "a", "B>A": "b", "B>>A": "b"}[j]
        else:  # positions swapped: "A" is model_2
            win = {"A=B": "tie", "A>B": "b", "A>>B": "b", "B>A": "a", "B>>A": "a"}[j]
        rows += [(ln["model_1"], ln["model_2"], win)] * (strong if ">>" in j else 1)
    rows = rows + rows
    idx = {m: i for i, m in enumerate(models)}
    X = np.zeros((len(rows), len(models)))
    Y = np.zeros(len(rows))
    for r, (a, b, w) in enumerate(rows):
        X[r, idx[a]] = math.log(10)
        X[r, idx[b]] = -math.log(10)
        if w == "a" or (w == "tie" and r < len(rows) // 2):
            Y[r] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(fit_intercept=False, C=np.inf, solver="newton-cg", tol=1e-10, max_iter=10000).fit(X, Y)
    elo = 400 * lr.coef_[0] + 1000
    elo += 1000 - elo[idx[baseline]]
    return dict(zip(models, elo, strict=True))


def test_fit_matches_the_scikit_learn_reference_to_1e6():
    lines = _lines()
    scale = V.make_scale()
    games = R.make_games(line_rows(lines, scale), MODELS)
    fit = R.fit_bt(games, anchor=MODELS.index("base-m"))
    ref = evalscope_reference(lines, "base-m")
    ours = dict(zip(MODELS, fit.ratings(), strict=True))
    assert fit.mle_exists
    for m in MODELS:
        assert ours[m] == pytest.approx(ref[m], abs=1e-6), m
    # the leaderboard reports the same figures, per benchmark too
    board = compute_leaderboard(lines, MODELS, "base-m", scale, bootstrap_rounds=20)
    got = {d["model"]: d["rating"] for d in board["overall"]["models"]}
    assert all(got[m] == pytest.approx(ref[m], abs=1e-6) for m in MODELS)
    alpaca = [ln for ln in lines if ln["benchmark"] == "alpaca"]
    ref_a = evalscope_reference(alpaca, "base-m")
    got_a = {d["model"]: d["rating"] for d in board["benchmarks"]["alpaca"]["models"]}
    assert all(got_a[m] == pytest.approx(ref_a[m], abs=1e-6) for m in MODELS)
    # unparsable games are excluded and counted
    assert board["overall"]["counts"]["unparsable"] == sum(1 for ln in lines if ln["verdict"] is None) > 0


def test_fit_with_another_weight_and_ties_dropped_matches_the_reference():
    lines = _lines()
    scale = V.make_scale(strong_weight=2)
    fit = R.fit_bt(R.make_games(line_rows(lines, scale), MODELS), anchor=0)
    ref = evalscope_reference(lines, "gpt-x", strong=2)
    assert np.allclose(fit.ratings(), [ref[m] for m in MODELS], atol=1e-6)
    dropped = V.make_scale(tie_rule="drop")
    no_ties = [ln for ln in lines if ln["verdict"] != "A=B"]
    fit = R.fit_bt(R.make_games(line_rows(lines, dropped), MODELS), anchor=0)
    ref = evalscope_reference(no_ties, "gpt-x")
    assert np.allclose(fit.ratings(), [ref[m] for m in MODELS], atol=1e-6)


def test_win_rate_is_the_elo_formula_against_the_baseline():
    board = compute_leaderboard(_lines(), MODELS, "base-m", V.make_scale(), bootstrap_rounds=30, seed=3)
    for d in board["overall"]["models"]:
        assert d["win_rate"] == pytest.approx(1 / (1 + 10 ** ((1000 - d["rating"]) / 400)))
        assert d["win_rate_lower"] == pytest.approx(1 / (1 + 10 ** ((1000 - d["lower"]) / 400)))
        assert d["win_rate_lower"] <= d["win_rate"] <= d["win_rate_upper"]
    # EvalScope's overall figure: the mean of the per-subset win rates
    subs = [s for b in board["benchmarks"].values() for s in b["subsets"].values()]
    wr = [next(d for d in s["models"] if d["model"] == "gpt-x")["win_rate"] for s in subs]
    assert board["overall"]["win_rate_subset_mean"]["gpt-x"]["win_rate"] == pytest.approx(sum(wr) / len(wr))


def test_bootstrap_is_reproducible_from_the_seed():
    lines = _lines()
    a = compute_leaderboard(lines, MODELS, "base-m", V.make_scale(), bootstrap_rounds=40, seed=7)
    b = compute_leaderboard(lines, MODELS, "base-m", V.make_scale(), bootstrap_rounds=40, seed=7)
    c = compute_leaderboard(lines, MODELS, "base-m", V.make_scale(), bootstrap_rounds=40, seed=8)
    assert a["overall"]["models"] == b["overall"]["models"]
    assert a["overall"]["models"] != c["overall"]["models"]
    for by in ("battle", "sample"):
        g = R.make_games(line_rows(lines, V.make_scale()), MODELS)
        r1 = R.rate(g, "base-m", rounds=25, seed=1, by=by)
        r2 = R.rate(g, "base-m", rounds=25, seed=1, by=by)
        assert np.array_equal(r1.boot, r2.boot)
        for m in MODELS:
            assert r1.lower[m] <= r1.rating[m] <= r1.upper[m]
        assert r1.lower["base-m"] == r1.upper["base-m"] == 1000.0


def test_bootstrap_by_battle_resamples_weighted_rows():
    """Two models: the fit of a resample is 400*log10(s/(1-s)) of its weighted score s, so the
    bootstrap distribution can be rebuilt from the same draws without any fit."""
    rows = [{"a": "x", "b": "y", "y": y, "weight": w, "sample": i} for i, (y, w) in
            enumerate([(1, 3), (0, 1), (0.5, 1), (1, 1), (0, 3), (1, 1), (1, 3), (0.5, 1)])]
    g = R.make_games(rows, ["x", "y"])
    r = R.rate(g, "y", rounds=30, seed=11)
    rng = np.random.default_rng(11)
    units = np.repeat(np.arange(len(rows)), [row["weight"] for row in rows])
    ys = np.array([row["y"] for row in rows])
    for k in range(30):
        draw = units[rng.integers(0, len(units), len(units))]
        s = ys[draw].mean()
        expect = 1000 + 400 * math.log10(s / (1 - s)) if 0 < s < 1 else None
        if expect is not None:
            assert r.boot[k, 0] == pytest.approx(expect, abs=1e-6)


def test_a_model_that_always_wins_gets_finite_ratings_and_is_flagged():
    rows = [{"a": "x", "b": "y", "y": 1.0, "weight": 1, "sample": i} for i in range(5)]
    rows += [{"a": "y", "b": "z", "y": 0.5, "weight": 1, "sample": 10 + i} for i in range(5)]
    g = R.make_games(rows, ["x", "y", "z"])
    fit = R.fit_bt(g, anchor=1)
    assert not fit.mle_exists and np.all(np.isfinite(fit.ratings()))
    assert fit.ratings()[0] > fit.ratings()[1] == 1000.0
    assert R.mle_exists(R.make_games(rows + [{"a": "x", "b": "z", "y": 0.0, "weight": 1, "sample": 99}],
                                     ["x", "y", "z"]), np.array([True, True, True]))


def test_style_control_absorbs_a_judge_that_prefers_long_answers():
    """Three models of equal quality; the judge's odds grow with the relative length difference
    and 'long' writes longer answers. Raw ratings favour it; controlled ones do not."""
    rng = random.Random(5)
    models = ["long", "mid", "short"]
    mean_len = {"long": 120, "mid": 80, "short": 50}
    rows = []
    for i in range(2500):
        a, b = rng.sample(models, 2)
        la, lb = (max(5, int(rng.gauss(mean_len[m], 40))) for m in (a, b))
        p_a = 1 / (1 + math.exp(-6 * (la - lb) / (la + lb)))
        a_wins = rng.random() < p_a
        rows.append({"a": a, "b": b, "y": 1.0 if a_wins else 0.0, "weight": 1, "sample": i,
                     "style_a": R.style_features("w " * la), "style_b": R.style_features("w " * lb)})
    g = R.make_games(rows, models, with_style=True)
    raw = R.rate(g, "short", rounds=10, seed=0)
    sc = R.rate(g, "short", rounds=10, seed=0, style=True)
    assert raw.rating["long"] - raw.rating["short"] > 150
    assert abs(sc.rating["long"] - sc.rating["short"]) < 40 and abs(sc.rating["mid"] - sc.rating["short"]) < 40
    assert sc.style["coefficients"]["length"] > 1.0
    assert sc.style["coefficients_lower"]["length"] > 0


def test_style_features_count_markdown_outside_code():
    f = R.style_features("# Title\n\n- one\n- two\n1. first\n**bold** and __also__\n```\n# not a header\n- no\n```")
    assert f["headers"] == 1 and f["lists"] == 3 and f["bold"] == 2 and f["length"] > 10
    d = R.style_difference({"length": 30, "headers": 3, "lists": 0, "bold": 0},
                           {"length": 10, "headers": 0, "lists": 0, "bold": 0})
    assert d[0] == pytest.approx(20 / 40) and d[1] == pytest.approx(0.1 / 1.1) and d[2] == 0.0


@pytest.mark.parametrize("text,label", [
    ("My final verdict is tie: [[A=B]]", "A=B"),
    ("long reasoning... [[B>>A]]", "B>>A"),
    ("[[A>B]] and again [[A>B]]", "A>B"),
    ("first [[A>B]] then [[B>A]]", None),
    ("Final verdict: B<A", "A>B"),
    ("[[B<<A]]", "A>>B"),
    ("no verdict", None),
    ("", None),
    ("[[A>A]]", None),
])
def test_parse_verdict(text, label):
    assert V.parse_verdict(text) == label


def test_position_bias_counts_battles_whose_two_games_disagree():
    def ln(battle, game, verdict):
        m1, m2 = "x", "y"
        ma, mb = (m1, m2) if game == 0 else (m2, m1)
        w = None if verdict is None else "tie" if verdict == "A=B" else (ma if verdict[0] == "A" else mb)
        return {"battle": battle, "game": game, "model_1": m1, "model_2": m2, "model_a": ma, "model_b": mb,
                "verdict": verdict, "winner": w}

    lines = [ln("b1", 0, "A>B"), ln("b1", 1, "B>A"),  # consistent: x wins both
             ln("b2", 0, "A>B"), ln("b2", 1, "A>B"),  # inconsistent: position A wins both
             ln("b3", 0, "B>A"), ln("b3", 1, "B>>A"),  # inconsistent: position B wins both
             ln("b4", 0, "A=B"), ln("b4", 1, None)]  # only one parsed game
    pb = position_bias(lines)
    assert pb == {"battles_both_parsed": 3, "inconsistent": 2, "rate": 2 / 3, "favors_position_a": 1,
                  "favors_position_b": 1}


def test_scale_configuration_is_checked():
    from evs_core.errors import ConfigError

    s = V.make_scale({"A>>B": ["A", 2]}, tie_rule="drop")
    assert s.outcome("A>>B") == ("A", 2) and s.outcome("B>>A") == ("B", 3) and s.tie_rule == "drop"
    with pytest.raises(ConfigError, match="unknown verdict label 'A>>>B'"):
        V.make_scale({"A>>>B": ["A", 1]})
    with pytest.raises(ConfigError, match="winner must be 'A', 'B' or 'tie'"):
        V.make_scale({"A>B": ["C", 1]})
    with pytest.raises(ConfigError, match="tie-rule"):
        V.make_scale(tie_rule="split")


def test_html_and_table_escape_model_and_benchmark_names():
    from evs_arena.leaderboard import format_table, render_html

    evil = "<script>alert('x')</script>"
    lines = []
    for i in range(6):
        for game, verdict in ((0, "A>B" if i % 3 else "B>A"), (1, "B>A" if i % 2 else "A=B")):
            m1, m2 = evil, "b&b"
            ma, mb = (m1, m2) if game == 0 else (m2, m1)
            winner = "tie" if verdict == "A=B" else (ma if verdict[0] == "A" else mb)
            lines.append({"battle": f"x|{i}", "game": game, "benchmark": "<img src=x>", "subset": "s", "sample_id": str(i),
                          "model_1": m1, "model_2": m2, "model_a": ma, "model_b": mb, "verdict": verdict,
                          "winner": winner, "unparsable": False, "error": None})
    body = compute_leaderboard(lines, [evil, "b&b"], "b&b", V.make_scale(), bootstrap_rounds=5)
    board = {"baseline": "b&b", "pairing": "baseline", "judge": {"model": "<j>", "games": 12, "parsed": 12,
                                                                 "unparsable": 0, "errors": 0,
                                                                 "position_bias": body["overall"]["position_bias"]},
             "models": [evil, "b&b"], "adaptive": None, **body}
    page = render_html(board)
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page and "b&amp;b" in page
    assert "<j>" not in page
    assert evil in format_table(board)  # the terminal shows names as they are
