"""thinking_series: the think_eval metrics of a report by subset, None for other reports."""

from __future__ import annotations

from evs_viz.data import THINKING_METRICS, EvalEntry, thinking_series


def _stat(v):
    return {"score": v, "num": 2}


def test_thinking_series_by_subset_and_other_reports():
    metrics = {m: _stat(float(i)) for i, (m, _) in enumerate(THINKING_METRICS)}
    subs = [{"name": "Level 1", "kind": "subset", "num": 2, "score": 0.5,
             "metrics": {m: _stat(10.0 + i) for i, (m, _) in enumerate(THINKING_METRICS)}},
            {"name": "Level 2", "kind": "subset", "num": 2, "score": 0.5,
             "metrics": {m: _stat(20.0 + i) for i, (m, _) in enumerate(THINKING_METRICS)}},
            {"name": "STEM", "kind": "category", "num": 4, "score": 0.5, "metrics": metrics}]
    s = thinking_series(EvalEntry("m", "think_eval", report={"metrics": metrics, "subsets": subs}))
    assert s["reasoning_tokens"] == [("Level 1", 10.0), ("Level 2", 20.0)]
    assert s["think_accuracy"] == [("Level 1", 15.0), ("Level 2", 25.0)]
    assert thinking_series(EvalEntry("m", "think_eval", report={"metrics": metrics}))["thought_num"] == [("overall", 4.0)]
    assert thinking_series(EvalEntry("m", "gsm8k", report={"metrics": {"acc": _stat(1.0)}})) is None
    assert thinking_series(EvalEntry("m", "gsm8k", report=None)) is None
