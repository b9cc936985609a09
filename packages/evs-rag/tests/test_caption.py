"""`evs rag caption` (EvalScope's CLIP_Benchmark image_caption task): a VLM on 127.0.0.1 captions
images, the captions become retrieval data, and `evs rag mteb` scores it with hand-computed values."""

from __future__ import annotations

import base64
import io
import json
import math

import pytest
from rag_testlib import embeddings_route, one_report, run_evs

PIL = pytest.importorskip("PIL.Image")

COLOURS = {"cat.png": (200, 10, 10), "dog.png": (10, 200, 10), "car.png": (10, 10, 200)}
CAPTIONS = {"cat.png": "A cat sits on a mat.", "dog.png": "A brown dog runs."}  # car.png: the VLM fails
PAIRS = [("cat.png", "a cat on a mat"), ("cat.png", "a small kitten"), ("dog.png", "a dog running"),
         ("car.png", "a red car")]
VECTORS = {  # queries and generated captions; "a small kitten" is nearer the dog's caption
    "A cat sits on a mat.": [1, 0], "A brown dog runs.": [0, 1],
    "a cat on a mat": [0.9, 0.1], "a small kitten": [0.3, 0.7], "a dog running": [0.1, 0.9],
}


def _png(colour) -> bytes:
    buf = io.BytesIO()
    PIL.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def pairs(tmp_path):
    (tmp_path / "img").mkdir()
    for name, colour in COLOURS.items():
        (tmp_path / "img" / name).write_bytes(_png(colour))
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"image_path": f"img/{i}", "query": q}) + "\n" for i, q in PAIRS))
    return path


def _image_of(body) -> str:
    url = next(p["image_url"]["url"] for p in body["messages"][-1]["content"] if p["type"] == "image_url")
    pixel = PIL.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB").getpixel((0, 0))
    return next(n for n, c in COLOURS.items() if c == pixel)


def _vlm(body):
    prompt = next(p["text"] for p in body["messages"][-1]["content"] if p["type"] == "text")
    name = _image_of(body)
    if name not in CAPTIONS:
        return 500, {"error": {"message": "model crashed"}}
    assert prompt == "Describe this image in one sentence." and body["max_tokens"] == 64
    return 200, {"id": "x", "object": "chat.completion", "model": body["model"],
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": CAPTIONS[name]}}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def test_captions_become_retrieval_data_scored_by_mteb(tmp_path, capsys, fake_server, pairs):
    fake_server.routes["/v1/chat/completions"] = _vlm
    fake_server.routes["/v1/embeddings"] = embeddings_route(lambda t: VECTORS[t])
    out = tmp_path / "caption_retrieval"
    code, stdout, err = run_evs(capsys, "rag", "caption", "--dataset", str(pairs), "--captioner-url", fake_server.url,
                                "--captioner-model", "vlm", "--captioner-key", "sk-vlm-3", "--output", str(out),
                                "--concurrency", "2")
    assert code == 1 and "failed: car.png" in err  # the failure is counted, the others are kept
    assert f"retrieval data: {out}" in stdout
    chat = [b for p, b, _ in fake_server.requests if p == "/v1/chat/completions"]
    # one request per image (cat.png appears twice in the file); the failing one retried 3 times
    assert sorted(_image_of(b) for b in chat) == ["car.png"] * 4 + ["cat.png", "dog.png"]
    corpus = [json.loads(x) for x in (out / "corpus.jsonl").read_text().splitlines()]
    assert {c["image"]: c["text"] for c in corpus} == CAPTIONS
    queries = [json.loads(x)["text"] for x in (out / "queries.jsonl").read_text().splitlines()]
    assert queries == ["a cat on a mat", "a small kitten", "a dog running"]  # car's query left out
    captions = {json.loads(x)["image"]: json.loads(x) for x in (out / "captions.jsonl").read_text().splitlines()}
    assert captions["car.png"]["caption"] is None and "model crashed" in captions["car.png"]["error"]
    for p in out.rglob("*"):
        if p.is_file():
            assert "sk-vlm-3" not in p.read_text()
    # the folder is custom retrieval data: evs rag mteb scores it
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "runs"), "mteb", "--api-url", fake_server.url,
                           "--api-model", "emb", "--custom-retrieval", str(out))
    assert code == 0, err
    rep = one_report(tmp_path / "runs")
    # by hand: two queries find their image's caption first, "a small kitten" second
    assert rep["score"] == pytest.approx((1 + 1 / math.log2(3) + 1) / 3, abs=1e-5)
    assert rep["metrics"]["recall_at_1"]["score"] == pytest.approx(2 / 3, abs=1e-5)


def test_caption_bad_inputs_fail_before_any_request(tmp_path, capsys, fake_server, pairs):
    fake_server.routes["/v1/chat/completions"] = _vlm
    base = ["rag", "caption", "--captioner-url", fake_server.url, "--captioner-model", "vlm"]
    (tmp_path / "afile").write_text("x")
    bad_rows = tmp_path / "bad.jsonl"
    bad_rows.write_text(json.dumps({"image_path": "img/missing.png", "query": "q"}) + "\n")
    cases = [
        ([*base, "--dataset", str(tmp_path / "none.jsonl"), "--output", str(tmp_path / "o")], "does not exist"),
        ([*base, "--dataset", str(bad_rows), "--output", str(tmp_path / "o")], "image 'img/missing.png' does not exist"),
        ([*base, "--dataset", str(pairs), "--output", str(tmp_path / "afile")], "is a file, not a folder"),
        ([*base, "--dataset", str(pairs), "--output", str(tmp_path / "o"), "--prompt", " "], "--prompt must not be"),
    ]
    for argv, message in cases:
        code, _, err = run_evs(capsys, *argv)
        assert code != 0 and message in err and "Traceback" not in err, (argv, err)
    assert fake_server.requests == [] and not (tmp_path / "o").exists()
