"""RAGAS metrics through ``evs rag ragas`` against a scripted critic on 127.0.0.1.

The critic below recognises each RAGAS prompt by its instruction, reads the prompt's input JSON
and answers with verdicts fixed by the test; the expected scores follow from those verdicts and
the metric definitions (faithfulness = supported/total statements, context precision = average
precision of the useful-context verdicts, context recall = attributed/total reference sentences,
answer relevancy = mean cosine(question, generated question) unless noncommittal, answer
correctness = 0.75·F1(TP, FP, FN) + 0.25·cosine(reference, response)).
"""

from __future__ import annotations

import json
import re

import pytest
from rag_testlib import embeddings_route, one_report, run_evs

A = {
    "id": "a",
    "user_input": "What is the capital of France?",
    "response": "Paris is the capital of France. It has the Eiffel Tower.",
    "retrieved_contexts": ["Paris is the capital and largest city of France.", "Bananas are yellow."],
    "reference": "The capital of France is Paris.",
}
B = {
    "id": "b",
    "question": "Who wrote Hamlet?",  # RAGAS 0.1 / older EvalScope field names are read too
    "answer": "Hamlet was written by Charles Dickens.",
    "contexts": ["Dickens wrote Oliver Twist.", "Hamlet is a tragedy by William Shakespeare.",
                 "Shakespeare was born in Stratford."],
    "ground_truth": "William Shakespeare wrote Hamlet. He wrote it around 1600.",
}
C = {  # every critic request for this sample fails
    "id": "c",
    "user_input": "Broken question?",
    "response": "Broken answer.",
    "retrieved_contexts": ["Broken context."],
    "reference": "Broken reference.",
}
SUPPORTED = {"Paris is the capital of France."}                        # faithfulness verdicts
USEFUL = {"Paris is the capital and largest city of France.", "Hamlet is a tragedy by William Shakespeare."}
ATTRIBUTED = {"The capital of France is Paris.", "William Shakespeare wrote Hamlet."}
GENERATED_Q = {A["response"]: ("Which city is the capital of France?", 0), B["answer"]: ("Who is the author of Hamlet?", 1)}
VECTORS = {  # the embeddings endpoint
    A["user_input"]: [1, 0, 0], "Which city is the capital of France?": [0.6, 0.8, 0],
    A["reference"]: [0, 1, 0], A["response"]: [0, 0.8, 0.6],
    B["question"]: [0, 0, 1], "Who is the author of Hamlet?": [0, 0, 1],
    B["ground_truth"]: [1, 0, 0], B["answer"]: [0, 1, 0],
    C["user_input"]: [1, 1, 1], C["reference"]: [1, 1, 1], C["response"]: [1, 1, 1],
}


def sentences(text: str) -> list[str]:
    return [s.strip() + "." for s in text.split(".") if s.strip()]


def critic_answer(prompt: str):
    m = re.search(r"\ninput: (\{.*\})\nOutput: $", prompt, re.S)
    assert m, prompt[-300:]
    inp = json.loads(m.group(1))
    if "Broken" in json.dumps(inp):
        return None
    if prompt.startswith("Given a question and an answer, analyze the complexity"):
        return {"statements": sentences(inp["answer"])}
    if prompt.startswith("Your task is to judge the faithfulness"):
        return {"statements": [{"statement": s, "reason": "scripted", "verdict": int(s in SUPPORTED)}
                               for s in inp["statements"]]}
    if prompt.startswith("Generate a question for the given answer"):
        q, nc = GENERATED_Q[inp["response"]]
        return {"question": q, "noncommittal": nc}
    if prompt.startswith("Given question, answer and context verify if the context was useful"):
        return {"reason": "scripted", "verdict": int(inp["context"] in USEFUL)}
    if prompt.startswith("Given a context, and an answer, analyze each sentence"):
        return {"classifications": [{"statement": s, "reason": "scripted", "attributed": int(s in ATTRIBUTED)}
                                    for s in sentences(inp["answer"])]}
    if prompt.startswith("Given a ground truth and an answer statements"):
        tp = [s for s in inp["answer"] if s in SUPPORTED]
        fp = [s for s in inp["answer"] if s not in SUPPORTED]
        fn = [s for s in inp["ground_truth"] if not any(s.split()[-1].rstrip(".") in t for t in tp)]
        return {"TP": [{"statement": s, "reason": "r"} for s in tp], "FP": [{"statement": s, "reason": "r"} for s in fp],
                "FN": [{"statement": s, "reason": "r"} for s in fn]}
    raise AssertionError("unexpected prompt: " + prompt[:200])


def chat_route(body):
    content = body["messages"][-1]["content"]
    ans = critic_answer(content)
    if ans is None:
        return 400, {"error": {"message": "scripted failure"}}
    return 200, {"id": "x", "object": "chat.completion", "model": body["model"],
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": json.dumps(ans)}}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


@pytest.fixture
def testset(tmp_path):
    p = tmp_path / "my_rag.json"
    p.write_text(json.dumps([A, B, C]))
    return p


def test_ragas_metrics_follow_the_scripted_verdicts(tmp_path, capsys, fake_server, testset):
    fake_server.routes["/v1/chat/completions"] = chat_route
    fake_server.routes["/v1/embeddings"] = embeddings_route(lambda t: VECTORS[t])
    code, out, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "ragas", "--testset", str(testset),
                             "--critic-url", fake_server.url, "--critic-model", "judge", "--critic-key", "sk-critic-9",
                             "--embeddings-url", fake_server.url, "--embeddings-model", "emb", "--concurrency", "2")
    assert code == 1, err  # sample c failed: counted, reported, never aborting the others
    rep = one_report(tmp_path / "out")
    m = {k: v["score"] for k, v in rep["metrics"].items()}
    assert m["faithfulness"] == pytest.approx((1 / 2 + 0 / 1) / 2)
    assert m["context_precision"] == pytest.approx((1.0 + 0.5) / 2, abs=1e-6)   # A: [1,0] -> 1; B: [0,1,0] -> 1/2
    assert m["context_recall"] == pytest.approx((1.0 + 0.5) / 2)
    assert m["answer_relevancy"] == pytest.approx((0.6 + 0.0) / 2, abs=1e-6)     # B is noncommittal
    f1_a = 2 * 0.5 * 1.0 / 1.5
    assert m["answer_correctness"] == pytest.approx((0.75 * f1_a + 0.25 * 0.8 + 0.0) / 2, abs=1e-6)
    assert rep["metric"] == "faithfulness" and rep["score"] == m["faithfulness"]
    assert rep["num"] == 2 and rep["num_samples"] == 3 and rep["num_errors"] == 1
    assert rep["model"] == "my_rag" and rep["dataset"] == "ragas" and rep["judge"]["model"] == "judge"
    assert all(v["num"] == 2 for v in rep["metrics"].values())
    # per-sample values and the critic's raw outputs are kept
    reviews = [json.loads(x) for x in next((tmp_path / "out").glob("*/reviews/my_rag/ragas.jsonl")).read_text().splitlines()]
    by_id = {r["sample_id"]: r for r in reviews}
    assert by_id["a"]["scores"]["faithfulness"] == 0.5 and by_id["b"]["scores"]["context_recall"] == 0.5
    calls = by_id["a"]["metadata"]["critic_calls"]["answer_relevancy"]
    assert len(calls) == 3 and json.loads(calls[0]["output"])["question"] == "Which city is the capital of France?"
    assert set(by_id["c"]["metadata"]["metric_errors"]) == {"faithfulness", "answer_relevancy", "context_precision",
                                                            "context_recall", "answer_correctness"}
    assert "HTTP 400" in by_id["c"]["error"] and not by_id["c"]["scores"]
    assert "failed: sample c" in err
    for p in (tmp_path / "out").rglob("*"):
        if p.is_file():
            assert "sk-critic-9" not in p.read_text(errors="replace")


def test_ragas_bad_inputs_fail_before_any_request(tmp_path, capsys, fake_server, testset):
    fake_server.routes["/v1/chat/completions"] = chat_route
    base = ["rag", "--work-dir", str(tmp_path / "out"), "ragas", "--critic-url", fake_server.url, "--critic-model", "j"]
    cases = [
        ([*base, "--testset", str(tmp_path / "missing.json")], "does not exist"),
        ([*base, "--testset", str(testset), "--metrics", "Faithfullness"], "did you mean 'faithfulness'"),
        ([*base, "--testset", str(testset), "--metrics", "AnswerRelevancy"], "need embeddings"),
        (["rag", "ragas", "--testset", str(testset)], "give the critic"),
    ]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"user_input": "q", "response": "r"}]))
    cases.append(([*base, "--testset", str(bad), "--metrics", "ContextRecall"], "sample 0 has no 'retrieved_contexts'"))
    for argv, msg in cases:
        code, out, err = run_evs(capsys, *argv)
        assert code == 2, (argv, err)
        assert msg in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert fake_server.requests == []
    assert not (tmp_path / "out").exists()
