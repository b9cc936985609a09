"""RAGAS test-set generation end to end (``evs rag testset``) against a scripted generator LLM on
127.0.0.1, and RAGAS scoring with a local critic model served through evs's own adapter.

The generator answers each RAGAS prompt from the JSON schema that RAGAS embeds in it (every
prompt asks for output "that complies with the following schema"), with fixed content for the
prompts whose answers steer the pipeline (summaries, themes, entities, personas and their
themes); every query/answer pair it writes is recorded, so the test knows which rows the test
set must hold without reading evs's code.
"""

from __future__ import annotations

import json
import re
import threading

import pytest
from rag_testlib import embeddings_route, one_report, run_evs

DOCS = {
    "louvre.md": "The Louvre Museum in Paris holds paintings. " * 30,
    "orsay.md": "The Orsay Museum in Paris holds impressionist paintings. " * 25,
}


def _schema(prompt: str) -> dict:
    start = prompt.index("JSON Schema:\n") + len("JSON Schema:\n")
    return json.JSONDecoder().raw_decode(prompt[start:])[0]


def _input(prompt: str) -> dict:
    m = re.search(r"\ninput: (\{.*\})\nOutput: $", prompt, re.S)
    assert m, prompt[-300:]
    return json.loads(m.group(1))


def _instance(schema: dict, defs: dict, key: str = ""):
    """A minimal value valid under ``schema`` (the shapes pydantic's JSON schemas use)."""
    if "$ref" in schema:
        return _instance(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, key)
    if "anyOf" in schema:
        return _instance(next(s for s in schema["anyOf"] if s.get("type") != "null"), defs, key)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: _instance(v, defs, k) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_instance(schema.get("items", {"type": "string"}), defs, key)]
    return {"integer": 5, "number": 1.0, "boolean": True}.get(kind, f"{key or 'text'} value")


class Generator:
    def __init__(self):
        self.lock = threading.Lock()
        self.pairs: list[dict] = []
        self.titles: list[str] = []
        self.summarised: list[str] = []

    def answer(self, prompt: str):
        schema, inp = _schema(prompt), _input(prompt)
        title = schema.get("title")
        with self.lock:
            self.titles.append(title)
            if title == "StringIO" and "summar" in prompt[:300].lower():
                self.summarised.append(inp["text"])
                return {"text": inp["text"].split(". ")[0] + "."}
            if title == "ThemesAndConcepts":
                return {"output": ["Paris museums", "paintings"]}
            if title == "NEROutput":
                return {"entities": ["Paris", "paintings"]}
            if title == "Persona":
                return {"name": "Visitor " + inp["text"].split()[1], "role_description": "Plans a museum visit."}
            if title == "PersonaThemesMapping":
                return {"mapping": {p["name"]: inp["themes"][:1] for p in inp["personas"]}}
            if title == "ConceptCombinations":
                return {"combinations": [[concepts[0] for concepts in inp["lists_of_concepts"]]]}
            out = _instance(schema, schema.get("$defs", {}))
            if set(out) == {"query", "answer"}:
                n = len(self.pairs) + 1
                out = {"query": f"Scripted question {n}?", "answer": f"Scripted answer {n}."}
                self.pairs.append(out)
            return out

    def route(self, body):
        ans = self.answer(body["messages"][-1]["content"])
        return 200, {"id": "x", "object": "chat.completion", "model": body["model"],
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": json.dumps(ans)}}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def test_testset_generation_end_to_end_from_a_folder_of_documents(tmp_path, capsys, fake_server):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (docs / "image.png").write_bytes(b"\x89PNG not a document")  # ignored: not a text suffix
    gen = Generator()
    fake_server.routes["/v1/chat/completions"] = gen.route
    fake_server.routes["/v1/embeddings"] = embeddings_route(lambda t: [1.0, 0.5, 0.25])
    out = tmp_path / "testset.json"
    code, stdout, err = run_evs(capsys, "rag", "testset", "--docs", str(docs), "--size", "2", "--output", str(out),
                                "--critic-url", fake_server.url, "--critic-model", "gen", "--critic-key", "sk-gen-7",
                                "--embeddings-url", fake_server.url, "--embeddings-model", "emb")
    assert code == 0, err
    assert f"test set: {out}" in stdout
    rows = json.loads(out.read_text())
    # every document reached the generator (summaries), and every model call went to the fake server
    assert sorted(gen.summarised) == sorted(DOCS.values())
    assert {b["model"] for p, b, _ in fake_server.requests if p == "/v1/chat/completions"} == {"gen"}
    assert all(h.get("Authorization") == "Bearer sk-gen-7" for p, _, h in fake_server.requests
               if p == "/v1/chat/completions")
    # the rows are the scripted question/answer pairs, each grounded in document text
    assert len(rows) >= 2
    pairs = {(p["query"], p["answer"]) for p in gen.pairs}
    assert {(r["user_input"], r["reference"]) for r in rows} <= pairs
    assert len({r["user_input"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"user_input", "reference_contexts", "reference", "synthesizer_name"}
        assert r["synthesizer_name"] in {"single_hop_specific_query_synthesizer",
                                         "multi_hop_abstract_query_synthesizer",
                                         "multi_hop_specific_query_synthesizer"}
        assert r["reference_contexts"]
        for ctx in r["reference_contexts"]:
            assert re.sub(r"^<\d+-hop>\n\n", "", ctx) in DOCS.values()
    assert "sk-gen-7" not in out.read_text()
    # the generated file is a test set `evs rag ragas` accepts once the RAG system has answered
    answered = [{**r, "retrieved_contexts": r["reference_contexts"], "response": r["reference"]} for r in rows]
    (tmp_path / "answered.json").write_text(json.dumps(answered))
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "o"), "ragas", "--testset",
                           str(tmp_path / "answered.json"), "--metrics", "ContextRecall", "--critic-url",
                           fake_server.url, "--critic-model", "gen")
    assert "has no" not in err and "does not exist" not in err


def test_testset_generation_failures_are_one_line(tmp_path, capsys, fake_server):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "short.md").write_text("Too short.", encoding="utf-8")
    fake_server.routes["/v1/chat/completions"] = Generator().route
    fake_server.routes["/v1/embeddings"] = embeddings_route(lambda t: [1.0, 0.0])
    code, _, err = run_evs(capsys, "rag", "testset", "--docs", str(docs), "--output", str(tmp_path / "t.json"),
                           "--critic-url", fake_server.url, "--critic-model", "gen", "--embeddings-url",
                           fake_server.url, "--embeddings-model", "emb")
    assert code != 0 and "Traceback" not in err
    assert "test-set generation failed" in err and "too short" in err.lower()
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t.json").exists()


@pytest.fixture(scope="module")
def tiny_critic(tmp_path_factory):
    """A tiny random Llama with a chat template: a local critic served through evs's adapter."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("tiny-critic")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"],
                                             initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(['{"statements": ["Paris is the capital."]}', "The capital of France is Paris."] * 20,
                            trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                                unk_token="<unk>", pad_token="</s>")
    fast.chat_template = ("{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
                          "{% if add_generation_prompt %}<s>assistant:{% endif %}")
    fast.save_pretrained(path)
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
                                   bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                                   pad_token_id=fast.pad_token_id)
    transformers.LlamaForCausalLM(cfg).save_pretrained(path)
    return path


def test_ragas_with_a_local_critic_model(tmp_path, capsys, tiny_critic):
    """The critic is a local folder run by evs's transformers adapter: every RAGAS prompt goes to it and
    its raw answers are kept. A random model's answers are not RAGAS's JSON, so each sample's metric
    fails and is counted; the run finishes and reports the failures."""
    testset = tmp_path / "ts.json"
    testset.write_text(json.dumps([{"id": "a", "user_input": "What is the capital of France?",
                                    "response": "Paris is the capital.", "retrieved_contexts": ["Paris is in France."],
                                    "reference": "Paris."}]))
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "ragas", "--testset", str(testset),
                           "--metrics", "Faithfulness", "--critic-path", str(tiny_critic))
    assert "Traceback" not in err
    rep = one_report(tmp_path / "out")
    assert rep["num_samples"] == 1 and rep["judge"]["model"] == str(tiny_critic)
    reviews = [json.loads(x) for x in next((tmp_path / "out").glob("*/reviews/*/ragas.jsonl")).read_text().splitlines()]
    calls = reviews[0]["metadata"]["critic_calls"]["faithfulness"]
    assert calls and "statements" in calls[0]["prompt"].lower()  # RAGAS's statement generator, then its retries
    assert all(isinstance(c["output"], str) and c["error"] is None for c in calls)  # the local model answered
    if reviews[0]["scores"]:  # a random model's text happened to parse: then it is a real score
        assert 0.0 <= reviews[0]["scores"]["faithfulness"] <= 1.0 and code == 0
    else:
        assert rep["num_errors"] == 1 and code == 1 and "failed: sample a" in err
