"""data_collection: weighted seeded sampling from a schema, delegation, hierarchical report."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.benchmarks.collection import DataCollection, allocate, leaf_shares, parse_tree
from evs_native.engine import run_task

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def right(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 != 0


@pytest.fixture
def shared() -> Path:
    if not (SHARED / "gsm8k" / "test.jsonl").exists() or not (SHARED / "arc").exists():
        pytest.skip("benchmark data ../shared/data is not present")
    return SHARED


def _quiz(tmp_path: Path) -> Path:
    f = tmp_path / "quiz.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "A", "B", "C", "answer"])
        for i in range(4):
            w.writerow([f"Quiz question {i}?", "red", "green", "blue", "ABC"[i % 3]])
    return f


def _schema(tmp_path: Path, fmt: str = "yaml") -> Path:
    quiz = _quiz(tmp_path)
    schema = {"name": "mix", "total": 20, "datasets": [
        {"name": "gsm8k", "weight": 2, "args": {"few_shot_num": 0}},
        {"name": "knowledge", "weight": 2, "datasets": [
            {"name": "arc", "weight": 1},
            {"name": "quiz", "benchmark": "general_mcq", "weight": 1, "args": {"local_path": str(quiz)}},
        ]},
    ]}
    path = tmp_path / f"schema.{fmt}"
    if fmt == "yaml":
        import yaml

        path.write_text(yaml.safe_dump(schema))
    else:
        path.write_text(json.dumps(schema))
    return path


def test_shares_and_allocation():
    tree = parse_tree({"datasets": [{"name": "gsm8k", "weight": 2},
                                    {"name": "g", "weight": 1, "datasets": [{"name": "arc", "weight": 3},
                                                                           {"name": "mmlu", "weight": 1}]}]},
                      ["gsm8k", "arc", "mmlu"])
    shares = leaf_shares(tree)
    assert shares == pytest.approx({"gsm8k": 2 / 3, "g/arc": 1 / 4, "g/mmlu": 1 / 12})
    assert allocate(shares, 12) == {"gsm8k": 8, "g/arc": 3, "g/mmlu": 1}
    assert sum(allocate(shares, 10).values()) == 10  # 6.67, 2.5, 0.83 -> 7, 2, 1 (largest remainders)
    assert allocate(shares, 10) == {"gsm8k": 7, "g/arc": 2, "g/mmlu": 1}


def test_schema_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown benchmark 'gsm8'.*did you mean 'gsm8k'"):
        parse_tree({"datasets": [{"name": "gsm8"}]}, ["gsm8k", "arc"])
    with pytest.raises(ConfigError, match="weight must be a positive number"):
        parse_tree({"datasets": [{"name": "gsm8k", "weight": 0}]}, ["gsm8k"])
    with pytest.raises(ConfigError, match="unknown key 'wieght'.*did you mean 'weight'"):
        parse_tree({"datasets": [{"name": "gsm8k", "wieght": 1}]}, ["gsm8k"])
    with pytest.raises(ConfigError, match="two top-level entries named 'gsm8k'"):
        parse_tree({"datasets": [{"name": "gsm8k"}, {"name": "gsm8k"}]}, ["gsm8k"])
    with pytest.raises(ConfigError, match="needs dataset_args.data_collection.local_path"):
        DataCollection()
    bad = tmp_path / "s.json"
    bad.write_text('{"datasets": [{"name": "gsm8k"}]}')
    with pytest.raises(ConfigError, match="'total'"):
        DataCollection({"local_path": str(bad)})
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not a valid schema file"):
        DataCollection({"local_path": str(bad)})


def test_sampling_is_seeded_and_ids_unique(shared, tmp_path):
    path = _schema(tmp_path, "json")
    a = DataCollection({"local_path": str(path)}, dataset_dir=str(shared), seed=1).load_samples()
    b = DataCollection({"local_path": str(path)}, dataset_dir=str(shared), seed=1).load_samples()
    c = DataCollection({"local_path": str(path)}, dataset_dir=str(shared), seed=2).load_samples()
    assert [s.id for s in a] == [s.id for s in b] and {s.id for s in a} != {s.id for s in c}
    assert len({s.id for s in a}) == len(a) == 19  # quiz has 4 rows for its 5 places
    counts = {p: sum(s.id.startswith(p + "/") for s in a) for p in ("gsm8k", "knowledge/arc", "knowledge/quiz")}
    assert counts == {"gsm8k": 10, "knowledge/arc": 5, "knowledge/quiz": 4}
    coll = DataCollection({"local_path": str(path), "total": 8}, dataset_dir=str(shared), seed=1)
    assert len(coll.load_samples()) == 8


def test_collection_end_to_end_hierarchical_report(shared, tmp_path):
    from evs_core.registry import get_registries

    ARC, GSM8K = (get_registries().benchmarks.load(n) for n in ("arc", "gsm8k"))

    path = _schema(tmp_path)
    gsm = {s.input: s for s in GSM8K({"few_shot_num": 0}, dataset_dir=str(shared)).load_samples()}
    arc = {s.input: s for s in ARC(dataset_dir=str(shared)).load_samples()}
    quiz = {f"Quiz question {i}?": "ABC"[i % 3] for i in range(4)}
    asked: dict[str, bool] = {}

    def responder(body):
        p = last_user_text(body)
        if "\\boxed{}" in p:
            q = p.split("\nPlease reason step by step")[0]
            s = gsm[q]
            ok = right("gsm8k/" + s.id)
            asked["gsm8k/" + s.id] = ok
            n = int(s.target) if ok else int(s.target) + 3
            return f"Adding up the parts gives {n:,}.\nThe answer is \\boxed{{{n:,}}}."
        for q, g in quiz.items():
            if q in p:
                ok = right("quiz/" + q)
                asked["knowledge/quiz/" + q] = ok
                return f"ANSWER: {g if ok else ('B' if g == 'A' else 'A')}"
        q = next(k for k in arc if f"\n\n{k}\n\n" in p)
        s = arc[q]
        ok = right("arc/" + s.id)
        asked["knowledge/arc/" + s.id] = ok
        return f"Option A is tempting.\nANSWER: {s.target if ok else ('B' if s.target == 'A' else 'A')}"

    with FakeOpenAIServer(responder) as srv:
        rep = run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["data_collection"],
                        "dataset_args": {"data_collection": {"local_path": str(path)}}, "dataset_dir": str(shared),
                        "work_dir": str(tmp_path / "out"), "no_progress": True, "retries": 0})["data_collection"]
    assert rep.num == 19 and rep.num_errors == 0 and rep.metric == "score"
    assert rep.score == pytest.approx(sum(asked.values()) / 19)

    def mean(prefix):
        vals = [v for k, v in asked.items() if k.startswith(prefix)]
        return sum(vals) / len(vals)

    rows = [(s.name, s.kind, s.num) for s in rep.subsets]
    assert rows == [("gsm8k", "benchmark", 10), ("gsm8k/main", "subset", 10), ("knowledge", "group", 9),
                    ("knowledge/arc", "benchmark", 5), ("knowledge/arc/ARC-Challenge", "subset", 5),
                    ("knowledge/quiz", "benchmark", 4), ("knowledge/quiz/quiz", "subset", 4)]
    by = {s.name: s.score for s in rep.subsets}
    assert by["gsm8k"] == pytest.approx(mean("gsm8k/"))
    assert by["knowledge"] == pytest.approx(mean("knowledge/"))
    assert by["knowledge/quiz"] == pytest.approx(mean("knowledge/quiz/"))
    reviews = [json.loads(x) for x in next((tmp_path / "out").glob("*/reviews/m/data_collection.jsonl")).read_text().splitlines()]
    gsm_review = next(r for r in reviews if r["sample_id"].startswith("gsm8k/"))
    assert gsm_review["metadata"]["benchmark"] == "gsm8k" and "acc" in gsm_review["metadata"]["scores"]
