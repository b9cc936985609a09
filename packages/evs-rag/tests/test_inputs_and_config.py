"""Bad input stops ``evs rag`` with one line (exit 2) before any model is loaded, request sent or
file written; EvalScope configs are read; the command group stays import-light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from rag_testlib import embeddings_route, one_report, run_evs, write_jsonl


def _one_line_error(code, err, msg):
    assert code == 2, err
    assert msg in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("make_args, msg", [
    (lambda d, u: ["--api-url", u], "--api-url needs --api-model"),
    (lambda d, u: [], "no model"),
    (lambda d, u: ["--api-url", u, "--api-model", "m", "--tasks", "NFCorpuss"], "unknown MTEB task 'NFCorpuss'; did you mean 'NFCorpus'"),
    (lambda d, u: ["--api-url", u, "--api-model", "m", "--custom-retrieval", str(d / "nope")], "does not exist"),
    (lambda d, u: ["--api-url", u, "--api-model", "m", "--custom-retrieval", str(d / "noqrels")], "no qrels for split 'test'"),
    (lambda d, u: ["--api-url", u, "--api-model", "m", "--custom-retrieval", str(d / "badqrel")],
     "names document 'dX', which is not in corpus.jsonl"),
    (lambda d, u: ["--api-url", u, "--api-model", "m", "--custom-retrieval", str(d / "badjson")], "corpus.jsonl:2: not a JSON line"),
    (lambda d, u: ["--api-url", u, "--api-model", "m", "--custom-retrieval", str(d / "noqrels"), "--batch-size", "0"],
     "batch_size must be a positive integer"),
    (lambda d, u: ["--api-url", "ftp://x", "--api-model", "m", "--custom-retrieval", str(d / "ok")], "must start with http"),
    (lambda d, u: ["--reranker-url", u, "--reranker-model", "r", "--custom-retrieval", str(d / "ok")],
     "a reranker alone scores Reranking tasks"),
    (lambda d, u: ["--model", "some-org/not-a-local-model", "--custom-retrieval", str(d / "ok")],
     "is not a local path and the huggingface hub cannot be used"),
])
def test_mteb_bad_input_is_one_line(tmp_path, capsys, fake_server, monkeypatch, make_args, msg):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a hub id must fail fast, not retry for minutes
    d = tmp_path
    write_jsonl(d / "noqrels" / "corpus.jsonl", [{"_id": "d1", "text": "x"}])
    write_jsonl(d / "noqrels" / "queries.jsonl", [{"_id": "q1", "text": "y"}])
    for name in ("badqrel", "ok"):
        write_jsonl(d / name / "corpus.jsonl", [{"_id": "d1", "text": "x"}])
        write_jsonl(d / name / "queries.jsonl", [{"_id": "q1", "text": "y"}])
    (d / "badqrel" / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tdX\t1\n")
    (d / "ok" / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    (d / "badjson").mkdir()
    (d / "badjson" / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n{oops\n')
    (d / "badjson" / "queries.jsonl").write_text('{"_id": "q1", "text": "y"}\n')
    fake_server.routes["/v1/embeddings"] = embeddings_route(lambda t: [1.0, 0.0])
    code, out, err = run_evs(capsys, "rag", "--work-dir", str(d / "out"), "mteb", *make_args(d, fake_server.url))
    _one_line_error(code, err, msg)
    assert fake_server.requests == []
    assert not (d / "out").exists()


@pytest.mark.parametrize("cfg, msg", [
    ({"eval_backend": "RAGEval", "eval_config": {"tool": "MTEB", "models": [{"model_name_or_path": "x", "polling_mode": "cls"}],
                                                 "eval": {"task_names": ["NFCorpus"]}}},
     "unknown key 'eval_config.models.0.polling_mode'; did you mean 'pooling_mode'"),
    ({"eval_backend": "RAGEval", "eval_config": {"tool": "MTEB", "models": [{"model_name_or_path": "x"}],
                                                 "eval": {"task_types": ["Retrieval"]}}},
     "'eval.task_types' is not supported by evs rag"),
    ({"eval_backend": "RAGEval", "eval_config": {"tool": "BM25"}}, "eval_config.tool must be MTEB or RAGAS"),
    ({"eval_backend": "OpenCompass", "eval_config": {"tool": "MTEB"}}, "eval_backend 'OpenCompass' is not handled"),
    ({"eval_backend": "RAGEval", "eval_config": {"tool": "RAGAS", "eval": {"testset_file": "t.json"}}},
     "eval_config.eval.critic_llm: Field required"),
    ({"eval_backend": "RAGEval", "eval_config": {"tool": "RAGAS", "testset_generation": {
        "docs": ["d"], "generator_llm": {"model_name": "m", "api_base": "http://127.0.0.1:9/v1"},
        "embeddings": {"model_name_or_path": "e"}, "knowledge_graph": "kg.json"}}},
     "'testset_generation.knowledge_graph' is not supported"),
    ({"eval_backend": "RAGEval", "eval_config": {"tool": "clip_benchmark"}}, "evs rag clip"),
    (["not", "a", "mapping"], "must be a mapping"),
])
def test_config_errors(tmp_path, capsys, cfg, msg):
    p = tmp_path / "rag.yaml"
    p.write_text(yaml.safe_dump(cfg))
    code, out, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "--config", str(p))
    _one_line_error(code, err, msg)
    assert not (tmp_path / "out").exists()


def test_evalscope_ragas_config(tmp_path, capsys, fake_server):
    def chat(body):
        prompt = body["messages"][-1]["content"]
        assert prompt.startswith("Given a context, and an answer, analyze each sentence"), prompt[:100]
        return 200, {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": json.dumps(
            {"classifications": [{"statement": "s", "reason": "r", "attributed": 1},
                                 {"statement": "t", "reason": "r", "attributed": 0},
                                 {"statement": "u", "reason": "r", "attributed": 0},
                                 {"statement": "v", "reason": "r", "attributed": 1}]})}}]}

    fake_server.routes["/v1/chat/completions"] = chat
    ts = tmp_path / "testset.json"
    ts.write_text(json.dumps([{"user_input": "q", "retrieved_contexts": ["c"], "response": "r", "reference": "a. b. c. d."}]))
    cfg = {"eval_backend": "RAGEval", "work_dir": str(tmp_path / "out"), "eval_config": {"tool": "RAGAS", "eval": {
        "testset_file": str(ts), "critic_llm": {"model_name": "judge", "api_base": fake_server.url, "api_key": "sk-r"},
        "metrics": ["ContextRecall"], "language": "english"}}}
    p = tmp_path / "rag.yaml"
    p.write_text(yaml.safe_dump(cfg))
    code, out, err = run_evs(capsys, "rag", "--config", str(p))
    assert code == 0, err
    rep = one_report(tmp_path / "out")
    assert rep["metric"] == "context_recall" and rep["score"] == pytest.approx(0.5)
    assert fake_server.requests[0][2]["Authorization"] == "Bearer sk-r"


def test_help_is_import_light():
    code = ("import sys; from evs_cli.main import main\n"
            "sys.argv=['evs','rag','mteb','--help']\n"
            "try:\n    main(['rag', 'mteb', '--help'])\nexcept SystemExit: pass\n"
            "heavy=[m for m in ('torch','mteb','ragas','sentence_transformers','transformers','datasets') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
    assert "--custom-retrieval" in out.stdout


def test_ragas_tokenizer_works_offline(monkeypatch):
    import socket

    def no_network(*a, **k):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    from evs_rag.offline import ragas_offline_tokenizer
    from ragas.tokenizers import DEFAULT_TOKENIZER

    enc = ragas_offline_tokenizer()
    assert enc.encode("hello world") == [15339, 1917]  # cl100k_base ids
    assert DEFAULT_TOKENIZER.count_tokens("hello world") == 2
    from ragas.utils import num_tokens_from_string

    assert num_tokens_from_string("hello world") == 2  # tiktoken.get_encoding("cl100k_base") inside


def test_testset_generation_bad_inputs(tmp_path, capsys, fake_server):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "image.png").write_bytes(b"\x89PNG")
    base = ["rag", "testset", "--critic-url", fake_server.url, "--critic-model", "gen", "--embeddings-url",
            fake_server.url, "--embeddings-model", "emb", "--output", str(tmp_path / "ts.json")]
    for argv, msg in [
        ([*base, "--docs", str(tmp_path / "missing")], "does not exist"),
        ([*base, "--docs", str(tmp_path / "docs")], "no text documents"),
        (["rag", "testset", "--docs", str(tmp_path / "docs"), "--critic-url", fake_server.url, "--critic-model", "g"],
         "needs --embeddings"),
    ]:
        code, _, err = run_evs(capsys, *argv)
        _one_line_error(code, err, msg)
    assert fake_server.requests == [] and not (tmp_path / "ts.json").exists()
