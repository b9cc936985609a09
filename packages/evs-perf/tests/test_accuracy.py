"""Measured figures against a mock server whose timings are known.

Behaviour only: which chunk is the first token, how tokens and chunks are counted, that TTFT
and ITL never come out below what the server did. How close they come (the sub-millisecond
error) depends on the machine and is measured by tools/bench/perf_bench.py, not asserted here.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import urllib.request
from array import array
from pathlib import Path

from evs_perf.run import run_perf as run


def test_ttft_and_itl_never_below_the_servers_at_concurrency_16(mock_server, perf_options):
    srv = mock_server(ttft_ms=40, itl_ms=4, output_tokens=32)
    urllib.request.urlopen(urllib.request.Request(srv.url + "/mock/reset", method="POST"), timeout=5).read()
    s = run(perf_options(url=srv.url, concurrency="16", requests="64", max_tokens="32"))["summaries"][0]
    assert s["completed"] == 64 and s["failed"] == 0 and s["total_output_tokens"] == 64 * 32
    # a byte cannot be seen before the server wrote it, 40 ms after the request arrived
    assert s["min_ttft_ms"] >= 40.0 - 0.05
    assert s["min_e2el_ms"] >= 40.0 + 31 * 4 - 0.05  # the last of 32 tokens leaves 31 x 4 ms after the first
    assert s["median_tpot_ms"] > 0 and s["max_itl_ms"] > 0


def test_exact_token_counts_from_usage(mock_server, perf_options):
    srv = mock_server(ttft_ms=0, itl_ms=0)
    out = run(perf_options(url=srv.url, concurrency="4", requests="12", max_tokens="17-29", input_tokens="50-60"))
    s = out["summaries"][0]
    assert s["tokens_from_usage"] is True and s["token_source"]["usage"] == 12
    db = sqlite3.connect(Path(out["run_dir"]) / "records.sqlite")
    rows = db.execute("select planned_input, planned_output, prompt_tokens, completion_tokens, n_chunks "
                      "from requests").fetchall()
    assert len(rows) == 12
    for planned_in, planned_out, prompt_tokens, completion_tokens, n_chunks in rows:
        assert completion_tokens == planned_out == n_chunks
        assert 17 <= planned_out <= 29
        assert prompt_tokens == planned_in  # the mock counts words; random words are one token each
    assert s["total_output_tokens"] == sum(r[3] for r in rows)


def test_role_only_first_chunk_is_not_the_first_token(mock_server, perf_options):
    # the mock sends {"role": "assistant", "content": ""} at once, the first token 60 ms later
    srv = mock_server(ttft_ms=60, itl_ms=1, output_tokens=8)
    s = run(perf_options(url=srv.url, concurrency="2", requests="4", max_tokens="8"))["summaries"][0]
    assert s["output_lens"]["mean"] == 8
    assert s["min_ttft_ms"] >= 59.95  # a role-only chunk at ~0 ms would give ~0 ms


def test_reasoning_delta_counts_as_first_token(mock_server, perf_options):
    # 4 reasoning tokens first: the first of them is the first token (not the first content one, 4 ms later)
    srv = mock_server(ttft_ms=30, itl_ms=20, reasoning_tokens=4)
    out = run(perf_options(url=srv.url, concurrency="1", requests="3", max_tokens="10"))
    s = out["summaries"][0]
    assert s["output_lens"]["mean"] == 10 and s["min_ttft_ms"] >= 29.95
    db = sqlite3.connect(Path(out["run_dir"]) / "records.sqlite")
    for n_chunks, ttft in db.execute("select n_chunks, ttft_ms from requests"):
        assert n_chunks == 10  # reasoning chunks are content chunks
        assert ttft < 30 + 4 * 20  # not the first `content` chunk, which left 80 ms after the first token


def test_per_chunk_vs_per_token_itl_with_4_tokens_per_chunk(mock_server, perf_options):
    srv = mock_server(ttft_ms=20, itl_ms=3, tokens_per_chunk=4)
    out = run(perf_options(url=srv.url, concurrency="4", requests="8", max_tokens="64"))
    s = out["summaries"][0]
    assert s["output_lens"]["mean"] == 64
    db = sqlite3.connect(Path(out["run_dir"]) / "records.sqlite")
    gaps, itls = [], []
    for n_chunks, blob, ttft, e2el, tpot in db.execute("select n_chunks, chunk_ms, ttft_ms, e2el_ms, tpot_ms "
                                                       "from requests"):
        assert n_chunks == 16  # 64 tokens in chunks of 4
        times = array("f")
        times.frombytes(blob)
        g = [b - a for a, b in zip(times, times[1:], strict=False)]
        gaps += g
        itls += [x / 4 for x in g]  # per token: each gap over the 4 tokens of its chunk
        assert abs(tpot - (e2el - ttft) / 63) < 1e-6  # (E2E - TTFT) / (n - 1)
    # the summary's definitions against the records (float32 in the database)
    assert abs(s["median_chunk_gap_ms"] - statistics.median(gaps)) < 0.01
    assert abs(s["median_itl_ms"] - statistics.median(itls)) < 0.01
    assert abs(s["median_itl_ms"] * 4 - s["median_chunk_gap_ms"]) < 1e-6


def test_no_usage_falls_back_and_is_flagged(mock_server, perf_options):
    srv = mock_server(no_usage=True, tokens_per_chunk=2)
    out = run(perf_options(url=srv.url, concurrency="2", requests="4", max_tokens="20"))
    s = out["summaries"][0]
    assert s["tokens_from_usage"] is False
    assert s["token_source"] == {"usage": 0, "tokenizer": 0, "chunks": 4, "none": 0}
    # one token per content chunk is what can be known without a tokenizer: 10 chunks, not 20 requested
    assert s["output_lens"]["mean"] == 10
    saved = json.loads((Path(out["run_dir"]) / "summary.json").read_text())
    assert saved["tokens_from_usage"] is False
