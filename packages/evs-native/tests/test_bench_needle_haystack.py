"""Needle in a haystack: the grid, the insertion depth, scoring, and the heatmap next to the report."""

from __future__ import annotations

import pytest
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput
from evs_core.testing import FakeOpenAIServer, last_user_text, score_now
from evs_native.benchmarks.needle_haystack import NeedleHaystack, grid, recall, synthetic_haystack
from evs_native.engine import run_task

ARGS = {"context_lengths": [300, 600, 1200], "document_depth_percents": [0, 25, 50, 75, 100]}
NEEDLE = "The best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day."


def test_grid_subsets_and_insertion_depth():
    bench = NeedleHaystack(ARGS)
    samples = bench.load_samples()
    assert [s.id for s in samples][:5] == ["len_300_depth_0", "len_300_depth_25", "len_300_depth_50",
                                           "len_300_depth_75", "len_300_depth_100"]
    assert len(samples) == 15 and len({s.subset for s in samples}) == 15
    for s in samples:
        doc = s.input.split("<document>\n", 1)[1].split("\n</document>", 1)[0]
        assert NEEDLE in doc
        words = doc.split()
        assert abs(len(words) - s.metadata["context_length"]) <= 2
        where = doc.index(NEEDLE) / max(1, len(doc) - len(NEEDLE))
        depth = s.metadata["depth_percent"] / 100
        assert abs(where - depth) < 0.12, (s.id, where)  # moved back to a sentence end at most
        before = doc[:doc.index(NEEDLE)].rstrip()
        if depth < 1:  # at 100 % the needle goes after the (cut) haystack, as in the original test
            assert before == "" or before.endswith(".")  # inserted at a sentence boundary
    assert synthetic_haystack(500, seed=1) == synthetic_haystack(500, seed=1)
    assert "San Francisco" not in synthetic_haystack(5000)
    assert grid(1000, 32000, 10)[0] == 1000 and grid(1000, 32000, 10)[-1] == 32000 and len(grid(1000, 32000, 10)) == 10


def test_rule_scoring_and_bad_arguments():
    bench = NeedleHaystack(ARGS)
    s = bench.load_samples()[0]
    assert score_now(bench, s, ModelOutput(text="Eat a sandwich and sit in Dolores Park on a sunny day.")).scores["acc"] == 1.0
    assert score_now(bench, s, ModelOutput(text="Sit in Dolores Park.")).scores["acc"] == 0.0
    assert recall("Sit in Dolores Park.", s.target) == pytest.approx(3 / 7)
    with pytest.raises(ConfigError, match="depths must lie in 0..100"):
        NeedleHaystack({"document_depth_percents": [120]})
    with pytest.raises(ConfigError, match="haystack_path does not exist"):
        NeedleHaystack({"haystack_path": "/nonexistent/essays"})
    with pytest.raises(ConfigError, match="unknown key 'context_length'"):
        NeedleHaystack({"context_length": [100]})


def test_own_haystack_files(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha beta gamma. Delta epsilon zeta. " * 20)
    bench = NeedleHaystack({"context_lengths": [200], "document_depth_percents": [50], "haystack_path": str(tmp_path)})
    s = bench.load_samples()[0]
    assert "Alpha beta gamma" in s.input and NEEDLE in s.input


def test_end_to_end_with_heatmap(tmp_path):
    """The fake model finds the needle only when it lies in the first 40 % of a short context."""
    def responder(body):
        text = last_user_text(body)
        doc = text.split("<document>\n", 1)[1].split("\n</document>", 1)[0]
        if len(doc.split()) < 1000 and doc.index("San Francisco") < len(doc) * 0.4:
            return "Eat a sandwich and sit in Dolores Park on a sunny day."
        return "The document does not say."

    with FakeOpenAIServer(responder) as srv:
        rep = run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["needle_haystack"],
                        "work_dir": str(tmp_path), "no_progress": True, "retries": 0,
                        "dataset_args": {"needle_haystack": ARGS}})["needle_haystack"]
    scores = {s.name: s.score for s in rep.subsets}
    # Found at depths 0 and 25 for lengths 300 and 600: 4 of 15 cells.
    assert {k for k, v in scores.items() if v == 1.0} == {"len_300_depth_0", "len_300_depth_25", "len_600_depth_0",
                                                           "len_600_depth_25"}
    assert rep.score == pytest.approx(4 / 15)
    pytest.importorskip("matplotlib")
    report = next(tmp_path.rglob("reports/m/needle_haystack.json"))
    png = report.with_name("needle_haystack_heatmap.png")
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
