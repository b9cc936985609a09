"""Workloads against the mock server: multi-turn with prefix caching, trace replay, speed benchmark."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

import pytest
from evs_perf.run import run_perf as run


def _requests(srv):
    with urllib.request.urlopen(srv.url + "/mock/requests", timeout=5) as r:
        return json.loads(r.read())["requests"]


def test_multi_turn_history_per_turn_figures_and_prefix_cache_hit_rate(mock_server, perf_options):
    srv = mock_server(ttft_ms=1, cache_block=8)
    out = run(perf_options(url=srv.url, multi_turn=True, dataset="random", min_turns=3, max_turns=3,
                           input_tokens="32", max_tokens="8", concurrency="2", requests="4"))
    s = out["summaries"][0]
    assert s["completed"] == 12 and s["conversations"] == 4 and s["workload"] == "multi_turn"
    log = _requests(srv)[1:]  # after the unmeasured probe
    assert len(log) == 12
    # each turn carries the whole history: its user turns and the mock's answers so far
    by_turn = {}
    for r in log:
        msgs = r["body"]["messages"]
        turn = (len(msgs) + 1) // 2
        assert [m["role"] for m in msgs] == ["user", "assistant"] * (turn - 1) + ["user"]
        assert all(m["content"] == " tok" * 8 for m in msgs if m["role"] == "assistant")
        by_turn.setdefault(turn, []).append(r)
    assert {t: len(v) for t, v in by_turn.items()} == {1: 4, 2: 4, 3: 4}
    # per-turn figures match what the mock saw
    for row in s["turns"]:
        seen = by_turn[row["turn"]]
        assert row["requests"] == len(seen)
        assert row["mean_input_tokens"] == sum(r["prompt_tokens"] for r in seen) / len(seen) == 32 + 40 * (row["turn"] - 1)
        assert row["prefix_cache_hit_rate"] == sum(r["cached_tokens"] for r in seen) / sum(r["prompt_tokens"] for r in seen)
    assert s["total_cached_tokens"] == sum(r["cached_tokens"] for r in log)
    assert s["prefix_cache_hit_rate"] == s["total_cached_tokens"] / sum(r["prompt_tokens"] for r in log)
    # the history (40 tokens a turn) is cached in blocks of 8: turn 2 hits 40 of 72, turn 3 80 of 112
    assert [row["prefix_cache_hit_rate"] for row in s["turns"]] == [0.0, 40 / 72, 80 / 112]
    assert s["history_token_share"] == (40 + 80) * 4 / (4 * (32 + 72 + 112))
    db = sqlite3.connect(Path(out["run_dir"]) / "records.sqlite")
    assert db.execute("select count(distinct conv), max(turn) from requests").fetchone() == (4, 3)
    # the same load with unique prefixes: single-turn random prompts hit nothing
    srv2 = mock_server(ttft_ms=1, cache_block=8)
    u = run(perf_options(url=srv2.url, input_tokens="32", max_tokens="8", concurrency="2", requests="12", warmup=0,
                         num_prompts=13))["summaries"][0]
    assert u["prefix_cache_hit_rate"] < 0.1 < s["prefix_cache_hit_rate"]
    assert "Multi-turn" in (Path(out["run_dir"]) / "report.html").read_text()


def test_sharegpt_multi_turn_replays_user_turns(mock_server, perf_options, tmp_path):
    srv = mock_server()
    conv = [{"from": "human", "value": "hello there"}, {"from": "gpt", "value": "recorded answer"},
            {"from": "human", "value": "second question"}, {"from": "gpt", "value": "x"},
            {"from": "human", "value": "third"}]
    (tmp_path / "sg.json").write_text(json.dumps([{"conversations": conv}]))
    s = run(perf_options(url=srv.url, multi_turn=True, dataset="sharegpt", dataset_path=str(tmp_path / "sg.json"),
                         max_turns=2, requests="2", max_tokens="4"))["summaries"][0]
    assert s["completed"] == 4 and [t["turn"] for t in s["turns"]] == [1, 2]
    last = _requests(srv)[-1]["body"]["messages"]
    assert last == [{"role": "user", "content": "hello there"}, {"role": "assistant", "content": " tok" * 4},
                    {"role": "user", "content": "second question"}]


def test_trace_replay_schedule_lengths_and_shared_prefixes(mock_server, perf_options, tmp_path):
    srv = mock_server(cache_block=16)
    rows = [{"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [1, 2]},
            {"timestamp": 100, "input_length": 520, "output_length": 3, "hash_ids": [1]},
            {"timestamp": 250, "input_length": 40, "output_length": 7},
            {"timestamp": 300, "input_length": 700, "output_length": 2, "hash_ids": [1, 2]}]
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = run(perf_options(url=srv.url, dataset="workload_trace", dataset_path=str(path)))
    s = out["summaries"][0]
    assert s["label"] == "trace" and s["completed"] == 4 and s["arrival"] == "trace"
    assert s["trace"]["rows"] == 4 and s["trace"]["shared_prefix_blocks"] == 2
    assert s["trace"]["send_lag_median_ms"] is not None
    log = _requests(srv)[1:]
    assert [r["prompt_tokens"] for r in log] == [600, 520, 40, 700]  # one word per token without a tokenizer
    assert [r["completion_tokens"] for r in log] == [5, 3, 7, 2]
    # rows naming the same 512-token blocks share that prefix (rows 1 and 4: block 1 and the first 88 words
    # of block 2, row 1 being 600 long); the server's cache sees it in its own 16-word blocks
    assert log[1]["cached_tokens"] == 512 and log[3]["cached_tokens"] == 600 - 600 % 16 and log[2]["cached_tokens"] == 0
    # aiperf's exact-payload rows: text_input instead of input_length
    srv2 = mock_server()
    path2 = tmp_path / "trace2.jsonl"
    path2.write_text(json.dumps({"timestamp": 0, "text_input": "exact words here", "output_length": 2}) + "\n"
                     + json.dumps({"timestamp": 20, "input_length": 5}) + "\n")
    s2 = run(perf_options(url=srv2.url, dataset="workload_trace", dataset_path=str(path2), max_tokens="3",
                          name="t2"))["summaries"][0]
    assert s2["completed"] == 2
    log2 = _requests(srv2)[1:]
    assert log2[0]["body"]["messages"][0]["content"] == "exact words here" and log2[0]["completion_tokens"] == 2
    assert log2[1]["prompt_tokens"] == 5 and log2[1]["completion_tokens"] == 3  # --max-tokens when absent
    db = sqlite3.connect(Path(out["run_dir"]) / "records.sqlite")
    starts = [r[0] for r in db.execute("select start_s from requests order by idx")]
    assert starts == sorted(starts) and starts[-1] >= 0.29  # sent on the trace's schedule, not at once


def test_trace_replay_evalscope_format_bodies_headers_speed_and_model_mapping(mock_server, perf_options, tmp_path):
    srv = mock_server()
    rows = [
        # seconds since the epoch, ISO-8601 and numeric text: EvalScope's timestamp forms
        {"timestamp": 1700000000.0, "request_id": "r1", "headers": {"X-Tenant": "blue"}, "completion_tokens": 3,
         "body": {"model": "recorded-a", "messages": [{"role": "user", "content": "first recorded"}],
                  "max_tokens": 50, "temperature": 0.3}},
        {"timestamp": "2023-11-14T22:13:20.400Z", "completion_tokens": 5,
         "body": json.dumps({"model": "recorded-b", "messages": [{"role": "user", "content": "second"}],
                             "max_tokens": 9})},
        {"timestamp": "1700000000.6", "completion_tokens": 2,
         "body": {"model": "recorded-a", "messages": [{"role": "user", "content": "third"}], "max_tokens": 7,
                  "response_format": {"type": "json_object"}, "stream": False}},
    ]
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = run(perf_options(url=srv.url, dataset="workload_trace", dataset_path=str(path),
                           dataset_args=json.dumps({"speed": 2, "model_mapping": {"recorded-a": "served-a"},
                                                    "match_output_length": True})))
    s = out["summaries"][0]
    assert s["completed"] == 3 and s["trace"]["format"] == "evalscope" and s["trace"]["speed"] == 2.0
    assert s["trace"]["span_s"] == pytest.approx(0.3)  # 0.6 s of trace at twice the speed
    log = _requests(srv)[1:]
    bodies = [r["body"] for r in log]
    assert [b["messages"][0]["content"] for b in bodies] == ["first recorded", "second", "third"]
    assert [b["model"] for b in bodies] == ["served-a", "recorded-b", "served-a"]  # mapped; unmapped kept
    # match_output_length: max_tokens from completion_tokens, ignore_eos except under constrained decoding
    assert [b["max_tokens"] for b in bodies] == [3, 5, 2] and [r["completion_tokens"] for r in log] == [3, 5, 2]
    assert [b.get("ignore_eos") for b in bodies] == [True, True, None]
    assert bodies[0]["temperature"] == 0.3 and bodies[2]["response_format"] == {"type": "json_object"}
    assert all(b["stream"] is True for b in bodies)  # --stream (default) is followed, so TTFT is measured
    assert log[0]["headers"].get("X-Tenant", "").strip() == "blue" and "X-Tenant" not in log[1]["headers"]
    db = sqlite3.connect(Path(out["run_dir"]) / "records.sqlite")
    starts = [r[0] for r in db.execute("select start_s from requests order by idx")]
    assert starts == sorted(starts) and starts[-1] >= 0.29 and starts[-1] - starts[0] < 5
    # model_override renames every row; without match_output_length the recorded max_tokens stay
    srv2 = mock_server()
    run(perf_options(url=srv2.url, dataset="workload_trace", dataset_path=str(path), name="t2",
                     dataset_args='{"model_override": "one-model"}'))
    log2 = _requests(srv2)[1:]
    assert [r["body"]["model"] for r in log2] == ["one-model"] * 3
    assert [r["body"]["max_tokens"] for r in log2] == [50, 9, 7]


@pytest.mark.parametrize(("rows", "args", "message"), [
    ([{"timestamp": 0, "body": [1]}], None, "body must be a JSON object"),
    ([{"timestamp": "yesterday", "body": {"model": "m"}}], None, "cannot read timestamp 'yesterday'"),
    ([{"body": {"model": "m"}}], None, "needs timestamp"),
    ([{"timestamp": 0, "body": {"model": "m"}, "extra": 1}], None, "unknown field(s) extra"),
    ([{"timestamp": 0, "body": {"model": "m"}, "completion_tokens": 0}], None, "completion_tokens must be"),
    ([{"timestamp": 0, "body": {"model": "m"}}], {"sped": 2}, "unknown key 'sped'"),
    ([{"timestamp": 0, "body": {"model": "m"}}], {"speed": 0}, "speed must be a number above 0"),
])
def test_trace_bad_rows_and_dataset_args_are_one_line_errors(mock_server, perf_options, tmp_path, rows, args,
                                                             message):
    from evs_core.errors import ConfigError

    srv = mock_server()
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(perf_options(url=srv.url, dataset="workload_trace", dataset_path=str(path),
                         dataset_args=json.dumps(args) if args else None))
    assert _requests(srv) == []  # refused before any request, probe included


def test_dataset_args_on_a_dataset_without_any_is_refused(perf_options):
    from evs_core.errors import ConfigError

    with pytest.raises(ConfigError, match="--dataset random takes no dataset args"):
        run(perf_options(url="http://127.0.0.1:9", dataset_args='{"speed": 2}'))


def test_speed_benchmark_table_and_chart(mock_server, perf_options):
    srv = mock_server(ttft_ms=2, itl_ms=0.5)
    out = run(perf_options(url=srv.url, dataset="speed_benchmark", input_tokens="1,64,256", max_tokens="16",
                           requests="2"))
    labels = [s["label"] for s in out["summaries"]]
    assert labels == ["in1", "in64", "in256"]
    for s, n in zip(out["summaries"], (1, 64, 256), strict=False):
        assert s["completed"] == 2 and s["max_concurrent_requests"] == 1
        sp = s["speed"]
        assert sp["input_tokens"] == n and sp["output_tokens"] == 16
        assert sp["prefill_tokens_per_s"] > 0 and sp["decode_tokens_per_s"] > 0
        # the definitions, recomputed from each request's record
        db = sqlite3.connect(Path(out["run_dir"]) / "records.sqlite")
        rows = db.execute("select prompt_tokens, completion_tokens, ttft_ms, e2el_ms from requests where point = ?",
                          (s["label"],)).fetchall()
        pre = sorted(p / (t / 1000) for p, _, t, _ in rows)
        dec = sorted((c - 1) / ((e - t) / 1000) for _, c, t, e in rows)
        assert abs(sp["prefill_tokens_per_s"] - (pre[0] + pre[1]) / 2) < 1e-3 * sp["prefill_tokens_per_s"]
        assert abs(sp["decode_tokens_per_s"] - (dec[0] + dec[1]) / 2) < 1e-3 * sp["decode_tokens_per_s"]
    log = _requests(srv)[1:]
    assert all(r["body"]["ignore_eos"] is True and r["body"]["max_tokens"] == 16 for r in log)
    html = (Path(out["run_dir"]) / "report.html").read_text()
    assert "Speed benchmark" in html and "prefill tokens/s" in html and "Speed by input length" in html


def test_server_prefill_and_decode_metrics_named_as_vllm(mock_server, perf_options):
    from evs_perf.server_metrics import parse

    srv = mock_server(ttft_ms=15, itl_ms=2)
    s = run(perf_options(url=srv.url, concurrency="2", requests="6", max_tokens="10", warmup=0))["summaries"][0]
    sm = s["server_metrics"]
    log = _requests(srv)[1:]  # what the mock did for the point's requests (after the probe)
    assert len(log) == 6 and sm["vllm:request_prefill_time_seconds"]["count"] == 6
    prefill = sum(r["prefill_s"] for r in log) / 6 * 1000
    decode = sum(r["decode_s"] for r in log) / 6 * 1000
    assert abs(sm["vllm:request_prefill_time_seconds"]["mean_ms"] - prefill) < 1e-6
    assert abs(sm["vllm:request_decode_time_seconds"]["mean_ms"] - decode) < 1e-6
    assert sm["vllm:request_queue_time_seconds"]["mean_ms"] == 0.0
    assert sm["vllm:prefix_cache_hit_rate"] == sum(r["cached_tokens"] for r in log) / sum(r["prompt_tokens"] for r in log)
    text = 'vllm:request_prefill_time_seconds_sum{model_name="a"} 1.5\nvllm:request_prefill_time_seconds_sum{model_name="b"} 0.5\n' \
           'vllm:prefix_cache_hits_total{x="1"} 3\n# HELP x\n'
    assert parse(text) == {"request_prefill_time_seconds_sum": 2.0, "prefix_cache_hits": 3.0}


def test_server_metrics_only_for_what_the_server_observed(mock_server, perf_options):
    srv = mock_server()
    s = run(perf_options(url=srv.url + "/v1", api="embeddings", dataset="embeddings", requests="2"))["summaries"][0]
    assert s["completed"] == 2  # the mock has /metrics, but nothing streamed: no phase histogram observed
    assert s["server_metrics"] is None or "vllm:request_prefill_time_seconds" not in s["server_metrics"]


def test_local_hub_datasets(mock_server, perf_options, tmp_path):
    import random as _r

    from evs_perf.datasets import png_bytes

    srv = mock_server()
    (tmp_path / "la.json").write_text(json.dumps([{"instruction": "summarise " + "word " * 300, "output": "x"},
                                                  {"instruction": "short one", "input": "with input"}]))
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i in range(2):
        (imgs / f"{i}.png").write_bytes(png_bytes(4, 4, _r.Random(i)))
    (tmp_path / "kb.jsonl").write_text(json.dumps({"image": "imgs/0.png", "instruction": "make it blue"}) + "\n")
    s = run(perf_options(url=srv.url, dataset="longalpaca", dataset_path=str(tmp_path / "la.json"), requests="2",
                         warmup=0, max_tokens="4"))["summaries"][0]
    assert s["completed"] == 2 and s["input_lens"]["max"] == 301
    for ds, path, text in (("flickr8k", imgs, "Describe this image in one sentence."),
                           ("kontext_bench", tmp_path / "kb.jsonl", "make it blue")):
        srv2 = mock_server()
        s = run(perf_options(url=srv2.url, dataset=ds, dataset_path=str(path), requests="2", warmup=0,
                             max_tokens="4"))["summaries"][0]
        assert s["completed"] == 2, s["error_examples"]
        content = _requests(srv2)[-1]["body"]["messages"][0]["content"]
        assert content[0] == {"type": "text", "text": text}
        assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    srv3 = mock_server()
    s = run(perf_options(url=srv3.url + "/v1", api="embeddings", dataset="random_embedding_batch", embedding_batch=3,
                         input_tokens="10", requests="2", warmup=0))["summaries"][0]
    assert s["completed"] == 2 and all(len(r["body"]["input"]) == 3 for r in _requests(srv3))
    assert s["total_input_tokens"] == 2 * 3 * 10


def test_hub_datasets_never_download_offline(perf_options, monkeypatch):
    from evs_core.errors import ConfigError, EvsError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EvsError, match="longalpaca"):
        run(perf_options(url="http://127.0.0.1:9", dataset="longalpaca"))
    del ConfigError


def test_apply_chat_template_with_a_local_tokenizer(mock_server, perf_options, tmp_path):
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["hello world how are you"] * 20, trainers.BpeTrainer(vocab_size=60,
                                                                                   special_tokens=["[UNK]"]))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    fast.chat_template = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
                          "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    fast.save_pretrained(tmp_path / "tok")
    srv = mock_server()
    s = run(perf_options(url=srv.url, api="completions", apply_chat_template=True, tokenizer=str(tmp_path / "tok"),
                         prompt="hello world", requests="2", warmup=0, max_tokens="3"))["summaries"][0]
    assert s["completed"] == 2
    assert {r["body"]["prompt"] for r in _requests(srv)} == {"<|user|>hello world<|end|><|assistant|>"}


def test_a_bad_dataset_stops_before_the_model_lookup(mock_server, perf_options, tmp_path):
    from evs_core.errors import ConfigError

    srv = mock_server()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe not utf-8\n")
    with pytest.raises(ConfigError, match="is not UTF-8"):
        run(perf_options(url=srv.url, model=None, dataset="openqa", dataset_path=str(bad)))
    assert srv.stats()["requests"] == 1  # the server saw only this stats request: not even GET /v1/models


def test_multi_turn_over_two_worker_processes(mock_server, perf_options):
    srv = mock_server(cache_block=8)
    out = run(perf_options(url=srv.url, multi_turn=True, min_turns=2, input_tokens="16", max_tokens="4",
                           concurrency="4", requests="6", workers="2", loop="asyncio"))
    s = out["summaries"][0]
    assert s["client"]["workers"] == 2 and s["completed"] == 12 and s["conversations"] == 6
    db = sqlite3.connect(Path(out["run_dir"]) / "records.sqlite")
    assert sorted(r[0] for r in db.execute("select conv from requests where turn = 2")) == list(range(6))
    # turn 2 = 16 user + 4 answer + 16 new words; cached: the two whole 8-word blocks of turn 1's text
    assert s["turns"][1]["prefix_cache_hit_rate"] == 16 / 36
