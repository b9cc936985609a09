"""The Arena page's file reading (evs_viz.arena) and the page itself through AppTest, on arena run
folders written here in the documented format (docs/arena.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evs_viz import arena as A
from evs_viz.data import OutsideRootError


def _game(bid, game, m1, m2, verdict, winner, raw="r"):
    bench, sub, sid = bid.split("|")[:3]
    ma, mb = (m1, m2) if game == 0 else (m2, m1)
    return {"schema_version": "1", "battle": bid, "game": game, "benchmark": bench, "subset": sub, "sample_id": sid,
            "model_1": m1, "model_2": m2, "model_a": ma, "model_b": mb, "judge": "j", "raw": raw,
            "verdict": verdict, "winner": winner, "weight": 1, "error": None, "unparsable": verdict is None}


def write_arena(root: Path, name: str = "arena1", board: dict | None = None) -> Path:
    run = root / "arenas" / name
    (run / "configs").mkdir(parents=True)
    (run / "configs" / "arena_config.yaml").write_text("baseline: b\n")
    (run / "answers").mkdir()
    for m, text in (("a", "answer <b>A</b> **x**"), ("b", "answer B")):
        (run / "answers" / f"{m}.jsonl").write_text(json.dumps(
            {"model": m, "benchmark": "bench", "subset": "s", "sample_id": "1", "prompt": "the prompt", "answer": text}) + "\n")
    lines = [_game("bench|s|1|a|b", 0, "a", "b", "A>B", "a", raw="judge says <i>A</i> [[A>B]]"),
             _game("bench|s|1|a|b", 1, "a", "b", "A>B", "b"),
             _game("bench|s|2|a|b", 0, "a", "b", None, None)]
    (run / "battles.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"battle": "cut')
    model = lambda m, r, lo, hi, wr: {"model": m, "rank": 1 if m == "a" else 2, "rating": r, "lower": lo, "upper": hi,  # noqa: E731
                                      "win_rate": wr, "win_rate_lower": wr - 0.1, "win_rate_upper": wr + 0.1,
                                      "games": 2, "wins": 1, "ties": 0, "losses": 1}
    scope = {"counts": {}, "models": [model("a", 1043.21, 990.0, 1100.5, 0.561), model("b", 1000.0, 1000.0, 1000.0, 0.5)],
             "pairwise": {"a": {"b": {"games": 2, "score": 0.5}}, "b": {"a": {"games": 2, "score": 0.5}}}}
    board = board or {"kind": A.KIND, "schema_version": "1", "models": ["a", "b"], "baseline": "b",
                      "pairing": "baseline", "judge": {"model": "j", "games": 3, "parsed": 2, "unparsable": 1,
                                                       "errors": 0, "position_bias": {"rate": 1.0}},
                      "overall": scope, "benchmarks": {"bench": {**scope, "subsets": {"s": scope}}}}
    (run / "leaderboard.json").write_text(json.dumps(board))
    return run


def test_discover_and_join_battles(tmp_path):
    write_arena(tmp_path)
    broken = write_arena(tmp_path, "arena2")
    (broken / "leaderboard.json").write_text("{not json")
    runs = {r.rel: r for r in A.discover_arenas(tmp_path)}
    assert set(runs) == {"arenas/arena1", "arenas/arena2"}
    assert runs["arenas/arena1"].board["baseline"] == "b" and not runs["arenas/arena1"].notes
    assert runs["arenas/arena2"].board is None and "cannot be read" in runs["arenas/arena2"].notes[0].message
    battles, bad = A.load_battles(tmp_path, "arenas/arena1")
    assert bad == {"battles.jsonl": 1, "answers": 0}
    b1 = next(b for b in battles if b.sample_id == "1")
    assert (b1.prompt, b1.answer_1, b1.answer_2) == ("the prompt", "answer <b>A</b> **x**", "answer B")
    assert b1.outcome() == "split"  # a won game 0, b won game 1
    assert next(b for b in battles if b.sample_id == "2").outcome() == "unparsed"
    rows = A.leaderboard_rows(runs["arenas/arena1"].board["overall"])
    assert rows[0] == {"rank": "1", "model": "a", "rating": "1043.2", "95% CI": "[990.0, 1100.5]", "win rate %": "56.1",
                       "win rate CI %": "[46.1, 66.1]", "games": "2", "W/T/L": "1/0/1"}
    assert A.win_matrix(runs["arenas/arena1"].board["overall"], ["a", "b"]) == [[None, 0.5], [0.5, None]]
    assert set(A.scopes(runs["arenas/arena1"].board)) == {"overall", "benchmark: bench", "subset: bench / s"}
    with pytest.raises(OutsideRootError):
        A.load_battles(tmp_path, "../..")


def test_arena_page_renders_text_as_text(tmp_path, monkeypatch):
    pytest.importorskip("streamlit")
    import evs_viz
    from streamlit.testing.v1 import AppTest

    write_arena(tmp_path)
    monkeypatch.setenv("EVS_VIZ_OUTPUTS", str(tmp_path))
    at = AppTest.from_file(str(Path(evs_viz.__file__).with_name("app.py")), default_timeout=60)
    at.query_params["page"] = "arena"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "1043.2" in at.table[0].value.to_string()
    codes = [c.value for c in at.code]
    assert "answer <b>A</b> **x**" in codes and "the prompt" in codes and "judge says <i>A</i> [[A>B]]" in codes
    assert not any("<b>A</b>" in m.value for m in at.markdown)
    assert any("unreadable line" in w.value for w in at.warning)
