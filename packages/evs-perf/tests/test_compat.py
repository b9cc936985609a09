"""EvalScope compatibility: every `evalscope perf` argument accepted or refused with a reason,
EvalScope's spellings (space-separated lists, k=v headers, --rate -1), request options reaching
the server, and the perf quick-start commands of EvalScope's README against the mock server."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "evalscope_perf_args.txt"


#: the shared fixture of EvalScope's argument names, where the repository has it
SHARED = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "evalscope_args" / "perf.txt"


def _read(path):
    return [ln.strip().lstrip("-").split()[0] for ln in path.read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]


def _names():
    names = _read(FIXTURE)
    if SHARED.is_file():
        names += [n for n in _read(SHARED) if n not in names]
    return names


def _cli():
    from evs_cli.main import make_cli

    return make_cli()


def _invoke(args):
    import contextlib
    import io
    import sys

    from evs_cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code or 0
    del sys
    return code, out.getvalue(), err.getvalue()


def _perf_options():
    from evs_perf._cli import perf

    return {o for p in perf.params for o in p.opts}


@pytest.mark.parametrize("name", _names())
def test_every_evalscope_perf_argument_is_accepted_or_refused(name, tmp_path):
    from evs_perf.compat import ACCEPTED, REFUSED

    assert (name in ACCEPTED) != (name in REFUSED), f"--{name} is neither accepted nor refused (or both)"
    assert f"--{name}" in _perf_options(), f"evs perf does not parse --{name}"
    if name in REFUSED:
        flag, reason = REFUSED[name]
        args = ["perf", "--url", "http://127.0.0.1:9", "--output-dir", str(tmp_path), f"--{name}"] + ([] if flag else ["1"])
        code, out, err = _invoke(args)
        assert code == 2, (code, out, err)
        assert err.strip() == f"Error: --{name} (EvalScope) is not supported: {reason}"
        assert not any(tmp_path.iterdir())  # nothing written
    else:
        assert ACCEPTED[name] in _perf_options()


def test_expand_lists():
    from evs_perf._cli import expand_lists

    assert expand_lists(["--parallel", "1", "10", "50", "--number", "10", "20", "50", "--rate", "-1"]) == [
        "--parallel", "1,10,50", "--number", "10,20,50", "--rate", "-1"]
    assert expand_lists(["--headers", "a=1", "b=2", "--stop", "x", "y", "--max-tokens", "16", "32"]) == [
        "--headers", "a=1", "--headers", "b=2", "--stop", "x", "--stop", "y", "--max-tokens", "16,32"]
    assert expand_lists(["-c", "2", "mock-server"], {"mock-server"}) == ["-c", "2", "mock-server"]


def _requests(srv):
    with urllib.request.urlopen(srv.url + "/mock/requests", timeout=5) as r:
        return json.loads(r.read())["requests"]


def test_space_separated_sweep_headers_and_request_options_reach_the_server(mock_server, tmp_path):
    srv = mock_server(eos_after=5)
    code, out, err = _invoke([
        "perf", "--url", srv.url + "/v1/chat/completions", "--model", "m", "--parallel", "1", "2", "--number", "2", "4",
        "--headers", "x-team=perf", "x-run=7", "--stop", "<|im_end|>", "END", "--stop-token-ids", "7", "9",
        "--n-choices", "1", "--logprobs", "--top-logprobs", "2", "--frequency-penalty", "0.5",
        "--repetition-penalty", "1.1", "--max-tokens", "12", "--min-tokens", "12", "--temperature", "0",
        "--extra-args", '{"ignore_eos": true, "presence_penalty": 0.25}', "--outputs-dir", str(tmp_path),
        "--warmup-num", "0", "--no-progress", "--name", "r"])
    assert code == 0, err
    sweep = json.loads((tmp_path / "r" / "sweep.json").read_text())
    assert [p["label"] for p in sweep["points"]] == ["c1", "c2"] and [p["completed"] for p in sweep["points"]] == [2, 4]
    assert all(p["total_output_tokens"] == p["completed"] * 12 for p in sweep["points"])  # min_tokens + ignore_eos
    reqs = _requests(srv)
    assert len(reqs) == 1 + 2 + 4  # the probe, then the measured requests
    for r in reqs:
        body = r["body"]
        assert r["headers"]["x-team"].strip() == "perf" and r["headers"]["x-run"].strip() == "7"
        assert body["stop"] == ["<|im_end|>", "END"] and body["stop_token_ids"] == [7, 9]
        assert body["n"] == 1 and body["logprobs"] is True and body["top_logprobs"] == 2
        assert body["frequency_penalty"] == 0.5 and body["repetition_penalty"] == 1.1
        assert body["presence_penalty"] == 0.25 and body["min_tokens"] == 12 and body["ignore_eos"] is True
        assert body["max_tokens"] == 12 and body["temperature"] == 0.0


def test_min_tokens_without_ignore_eos_is_sent_and_honoured(mock_server, perf_options):
    from evs_perf.run import run_perf

    srv = mock_server(eos_after=3)
    s = run_perf(perf_options(url=srv.url, requests="3", max_tokens="10", min_tokens=8, warmup=0))["summaries"][0]
    assert s["output_lens"]["mean"] == 8  # the mock stops at max(eos_after, min_tokens)
    s = run_perf(perf_options(url=srv.url, requests="3", max_tokens="10", warmup=0))["summaries"][0]
    assert s["output_lens"]["mean"] == 3


def test_rate_minus_one_is_closed_loop_and_max_tokens_two_values_a_range(mock_server, perf_options):
    from evs_perf.config import PerfConfig
    from evs_perf.run import build_points, run_perf

    cfg = PerfConfig.from_options(perf_options(url="http://x", rate="-1", concurrency="4", requests="8"))
    assert cfg.rate == [] and [(p.concurrency, p.rate) for p in build_points(cfg)] == [(4, None)]
    cfg = PerfConfig.from_options(perf_options(url="http://x", rate="-1,5"))
    assert cfg.rate == [float("inf"), 5.0]
    srv = mock_server()
    s = run_perf(perf_options(url=srv.url, rate="-1", concurrency="2", requests="6", max_tokens="16,32",
                              warmup=0))["summaries"][0]
    assert s["label"] == "c2" and s["arrival"] == "closed-loop"
    assert 16 <= s["output_lens"]["min"] <= s["output_lens"]["max"] <= 32


def test_prompt_from_a_file_and_query_template(mock_server, perf_options, tmp_path):
    from evs_perf.run import run_perf

    srv = mock_server()
    (tmp_path / "p.txt").write_text("tell me a story about a cat", encoding="utf-8")
    tpl = json.dumps({"model": "%m", "messages": [{"role": "system", "content": "be brief"},
                                                  {"role": "user", "content": "%p"}], "max_tokens": "{max_tokens}",
                      "seed": 3})
    s = run_perf(perf_options(url=srv.url, prompt="@" + str(tmp_path / "p.txt"), query_template=tpl, requests="3",
                              max_tokens="5", warmup=0))["summaries"][0]
    assert s["completed"] == 3 and s["total_output_tokens"] == 15
    for r in _requests(srv):
        assert r["body"]["messages"] == [{"role": "system", "content": "be brief"},
                                         {"role": "user", "content": "tell me a story about a cat"}]
        assert r["body"]["model"] == "mock" and r["body"]["seed"] == 3 and r["body"]["max_tokens"] == 5
        assert r["prompt_tokens"] == 2 + 7
    # a text template around each prompt
    srv2 = mock_server()
    run_perf(perf_options(url=srv2.url, prompt="hello", query_template="Q: {prompt} A:", requests="2", warmup=0,
                          name="t2"))
    assert {r["body"]["messages"][0]["content"] for r in _requests(srv2)} == {"Q: hello A:"}


def test_connections_capped_at_the_number_of_requests(mock_server, perf_options):
    from evs_perf.run import run_perf

    srv = mock_server()
    s = run_perf(perf_options(url=srv.url, concurrency="100000", requests="3"))["summaries"][0]
    assert s["completed"] == 3 and s["max_concurrency"] == 3 and s["requested_concurrency"] == 100000
    assert s["warmup_requests"] == 3 and s["max_concurrent_requests"] <= 3


def test_two_runs_in_the_same_second_get_two_folders(mock_server, perf_options):
    from evs_perf.run import run_perf

    srv = mock_server()
    a = run_perf(perf_options(url=srv.url, requests="2", warmup=0, no_timestamp=True))
    b = run_perf(perf_options(url=srv.url, requests="2", warmup=0, no_timestamp=True))
    assert a["run_dir"] != b["run_dir"] and Path(b["run_dir"]).name == "mock_2"
    for d in (a["run_dir"], b["run_dir"]):
        import sqlite3

        assert sqlite3.connect(Path(d) / "records.sqlite").execute("select count(*) from requests").fetchone()[0] == 2


def test_a_run_whose_every_request_failed_exits_1(mock_server, tmp_path):
    srv = mock_server(fault="status:503")
    code, out, err = _invoke(["perf", "--url", srv.url, "--model", "m", "-n", "3", "--output-dir", str(tmp_path),
                              "--no-progress"])
    assert code == 1 and err.startswith("Error: every request failed (http_status 3")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.glob("*/summary.json"))  # what was measured is written


@pytest.fixture
def tiny_tokenizer(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    words = "the of and to in is was for on as with by he at from his an were are which this be or had".split()
    tok.train_from_iterator([" ".join(words)] * 50, trainers.BpeTrainer(vocab_size=200, special_tokens=["[UNK]"]))
    d = tmp_path / "tok"
    d.mkdir()
    tok.save(str(d / "tokenizer.json"))
    del tokenizers
    return d


def test_evalscope_readme_perf_quick_start_commands(mock_server, tmp_path, tiny_tokenizer, monkeypatch):
    """EvalScope README / perf quick-start commands as written there, except model, URL and a local
    tokenizer and dataset file in place of hub ids (evs perf never downloads)."""
    srv = mock_server()
    url = srv.url + "/v1/chat/completions"
    monkeypatch.chdir(tmp_path)
    qa = tmp_path / "open_qa.jsonl"
    qa.write_text("".join(json.dumps({"question": f"question number {i} about things"}) + "\n" for i in range(20)))
    commands = [
        ["perf", "--url", url, "--parallel", "5", "--model", "mock", "--number", "20", "--api", "openai",
         "--dataset", "openqa", "--dataset-path", str(qa), "--stream"],
        ["perf", "--parallel", "1", "2", "--number", "2", "4", "--model", "mock", "--url", url, "--api", "openai",
         "--dataset", "random", "--max-prompt-length", "64", "--min-prompt-length", "64", "--prefix-length", "0",
         "--max-tokens", "16", "--min-tokens", "16", "--tokenizer-path", str(tiny_tokenizer),
         "--extra-args", '{"ignore_eos": true}'],
        ["perf", "--url", url, "--parallel", "2", "--model", "mock", "--number", "4", "--api", "openai",
         "--dataset", "openqa", "--dataset-path", str(qa), "--read-timeout", "120", "--stop", "<|im_end|>",
         "--max-prompt-length", "8000"],
    ]
    for cmd in commands:
        code, out, err = _invoke(cmd + ["--no-progress"])
        assert code == 0, (cmd, err)
    summaries = sorted((tmp_path / "outputs" / "perf").glob("*/summary*.json"))
    assert len(summaries) == 1 + 2 + 1
    two = [json.loads(p.read_text()) for p in summaries if p.name.startswith("summary_")]
    assert sorted(s["completed"] for s in two) == [2, 4]
    assert all(s["output_lens"]["mean"] == 16 and s["input_lens"]["min"] == 64 for s in two)


def test_docs_name_every_evalscope_argument():
    docs = Path(__file__).resolve().parents[3] / "docs" / "perf.md"
    if not docs.is_file():
        pytest.skip("docs/perf.md is not beside this checkout (package installed alone)")
    text = docs.read_text(encoding="utf-8")
    missing = [n for n in _names() if f"`--{n}`" not in text and f"`--{n} " not in text]
    assert not missing, f"docs/perf.md does not mention {missing}"


def test_evalscope_api_names(mock_server, perf_options):
    from evs_perf.run import run_perf

    srv = mock_server()
    for api, ds in (("openai_embedding", "random_embedding"), ("embedding", "embeddings"), ("openai_rerank", "rerank")):
        s = run_perf(perf_options(url=srv.url, api=api, dataset=ds, requests="2", warmup=0))["summaries"][0]
        assert s["completed"] == 2, (api, s["error_examples"])
    assert {r["path"] for r in _requests(srv)} == {"/v1/embeddings", "/v1/rerank"}
