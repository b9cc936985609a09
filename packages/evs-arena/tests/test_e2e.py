"""End to end offline: fake models and a fake judge on 127.0.0.1, from saved runs and live prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from arena_testkit import (
    N_PROMPTS,
    expected_share,
    judge_args,
    run_cli,
    write_eval_run,
    write_prompts,
)


def _models_arg(srvs) -> str:
    return json.dumps([{"name": n, "model": n, "api_url": s.url, "api_key": "sk-model-key"} for n, s in srvs.items()])


def _rows(board, scope="overall"):
    return {d["model"]: d for d in board[scope]["models"]} if scope == "overall" else None


def _run_dir(err: str) -> Path:
    return Path(err.strip().splitlines()[-1].split("results: ", 1)[1])


def test_live_baseline_arena_matches_the_judges_rule(servers, tmp_path, capsys):
    srvs, judge = servers
    prompts = write_prompts(tmp_path / "prompts.jsonl")
    code, out, err = run_cli(["arena", "--prompts", str(prompts), "--models", _models_arg(srvs), "--baseline", "mid",
                              "--judge-args", judge_args(judge), "--work-dir", str(tmp_path / "out"),
                              "--bootstrap-rounds", "50"], capsys)
    assert code == 0, err
    run = _run_dir(err)
    board = json.loads((run / "leaderboard.json").read_text())
    rows = _rows(board)
    # Two-model Bradley-Terry: the predicted win rate against the baseline is the weighted score share.
    for m in ("strong", "weak"):
        assert rows[m]["win_rate"] == pytest.approx(expected_share(m, "mid"), abs=1e-9)
    assert rows["mid"]["rating"] == 1000.0 and rows["mid"]["win_rate"] == 0.5
    assert [d["model"] for d in board["overall"]["models"]] == ["strong", "mid", "weak"]
    for d in board["overall"]["models"]:
        assert d["lower"] <= d["rating"] <= d["upper"]
    # every game judged in both positions; the garbled prompt is counted, not rated
    lines = [json.loads(x) for x in (run / "battles.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * 2 * N_PROMPTS
    assert {(ln["battle"], ln["game"]) for ln in lines} == {(ln["battle"], g) for ln in lines for g in (0, 1)}
    assert all(ln["model_a"] == (ln["model_1"] if ln["game"] == 0 else ln["model_2"]) for ln in lines)
    garbled = [ln for ln in lines if ln["sample_id"] == "q7"]
    assert len(garbled) == 4 and all(ln["unparsable"] and ln["verdict"] is None for ln in garbled)
    assert board["judge"]["unparsable"] == 4 and board["judge"]["parsed"] == len(lines) - 4
    assert board["judge"]["position_bias"]["inconsistent"] == 0
    # per subset: category even/odd
    subsets = board["benchmarks"]["prompts"]["subsets"]
    even = {d["model"]: d for d in subsets["even"]["models"]}
    assert even["strong"]["win_rate"] == pytest.approx(expected_share("strong", "mid", range(0, N_PROMPTS, 2)))
    # answers were written as they came, and nothing secret
    assert len((run / "answers" / "strong.jsonl").read_text().splitlines()) == N_PROMPTS
    for f in run.rglob("*"):
        if f.is_file():
            assert "sk-secret-judge-key" not in f.read_text() and "sk-model-key" not in f.read_text()
    assert "strong" in out and "win rate" in out
    html = (run / "leaderboard.html").read_text()
    assert "<script" not in html and "src=" not in html and "href=" not in html and "Content-Security-Policy" in html


def test_a_judge_that_always_prefers_position_a_is_all_position_bias(tmp_path, capsys):
    """A local (non-HTTP) judge from the model registry that always answers [[A>B]]: every battle
    splits, so every model scores exactly one half and the position-bias rate is 1."""
    from arena_testkit import answer_text

    runs = [write_eval_run(tmp_path / m, m, {("chat", "default", f"q{i}"): answer_text(m, i) for i in range(6)})
            for m in ("strong", "weak")]
    judge = json.dumps({"model": "mock", "model_args": {"mode": "constant", "text": "Clearly [[A>B]]"}})
    code, out, err = run_cli(["arena", "--runs", *map(str, runs), "--baseline", "weak", "--judge-args", judge,
                              "--work-dir", str(tmp_path / "out"), "--bootstrap-rounds", "10"], capsys)
    assert code == 0, err
    board = json.loads((_run_dir(err) / "leaderboard.json").read_text())
    rows = _rows(board)
    assert rows["strong"]["win_rate"] == pytest.approx(0.5) and rows["strong"]["rating"] == pytest.approx(1000.0)
    assert board["judge"]["position_bias"] == {"battles_both_parsed": 6, "inconsistent": 6, "rate": 1.0,
                                               "favors_position_a": 6, "favors_position_b": 0}
