"""Declarative benchmarks end to end: a plugin's spec, a user's spec file, `evs benchmarks show`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import yaml
from evs_core.testing import FakeOpenAIServer, last_user_text

EVS = [sys.executable, "-c", "from evs_cli.main import main; main()"]
CAPITALS = {"France": "paris", "Japan": "Kyoto", "Kenya": "Nairobi", "Peru": "Lima", "Chile": "Santiago"}


def _require_example():
    from importlib import metadata

    try:
        metadata.distribution("evs-plugin-example")
    except metadata.PackageNotFoundError:
        pytest.fail("tests/fixtures/evs-plugin-example is not installed (tools/dev-install.sh installs it)")


def _answer(body):
    text = last_user_text(body)
    country = text.rsplit(" ", 1)[-1].rstrip("?")
    return f"Thinking about {country}.\nAnswer: {CAPITALS.get(country, 'unknown')}."


def evs(*args, timeout=120):
    return subprocess.run(EVS + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def _run(srv, work, *args):
    proc = evs("eval", "--model", "m", "--api-url", srv.url, "--api-key", "EMPTY", "--work-dir", str(work),
               "--no-progress", "--retries", "0", *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_plugin_spec_benchmark_runs_end_to_end(tmp_path):
    _require_example()
    with FakeOpenAIServer(_answer) as srv:
        _run(srv, tmp_path, "--datasets", "example_capitals_spec")
        prompts = sorted(last_user_text(b) for b in srv.requests)
        assert all(b["max_tokens"] == 16 for b in srv.requests)  # the spec's generation config
    (path,) = tmp_path.glob("*/reports/m/example_capitals_spec.json")
    rep = json.loads(path.read_text())
    assert prompts == [f"What is the capital of {c}?" for c in ("France", "Japan", "Kenya", "Peru")]
    # final_answer (a plugin filter) keeps 'paris', 'Kyoto', 'Nairobi', 'Lima'; casefold: 3 of 4 right
    assert rep["metric"] == "acc" and rep["score"] == 0.75 and rep["num"] == 4
    assert rep["metrics"]["exact"]["score"] == 0.5 and rep["benchmark_version"] == "1"
    reviews = [json.loads(x) for x in next(tmp_path.glob("*/reviews/m/example_capitals_spec.jsonl")).read_text().splitlines()]
    assert {r["sample_id"]: r["extracted"] for r in reviews}["France"] == "paris"


USER_SPEC = """\
    name: my_quiz
    version: "2"
    description: a user's own quiz
    dataset:
      local: quiz
      subsets: [easy, hard]
    record:
      id: "q{n}"
      input: "{question}"
      target: {field: answer}
      metadata: {hint: {field: hint, default: "none"}}
    prompt:
      template: "Q: {input} (hint: {hint})"
    filters: [strip, {regex: {pattern: "answer is (\\\\w+)", flags: i}}]
    metrics:
      - {name: acc, metric: exact_match_normalized}
      - {name: total, metric: exact_match, aggregation: sum}
    """


def _user_spec(tmp_path):
    for subset, rows in (("easy", [("1", "2+2", "four", "count"), ("2", "3+3", "six", None)]),
                         ("hard", [("3", "9*9", "eighty-one", None)])):
        d = tmp_path / "quiz" / subset
        d.mkdir(parents=True)
        (d / "test.jsonl").write_text("".join(
            json.dumps({"n": n, "question": q, "answer": a, **({"hint": h} if h else {})}) + "\n"
            for n, q, a, h in rows))
    spec = tmp_path / "my_quiz.yaml"
    spec.write_text(textwrap.dedent(USER_SPEC))
    return spec


def _quiz_answer(body):
    q = last_user_text(body)
    return {"Q: 2+2 (hint: count)": "The answer is Four.", "Q: 3+3 (hint: none)": "I think the answer is seven",
            "Q: 9*9 (hint: none)": "the answer is eighty-one"}.get(q, "no idea")


def test_user_spec_from_a_file(tmp_path):
    spec = _user_spec(tmp_path)
    with FakeOpenAIServer(_quiz_answer) as srv:
        _run(srv, tmp_path / "a", "--benchmark-file", str(spec))  # --datasets defaults to the file's benchmark
        _run(srv, tmp_path / "b", "--datasets", str(spec), "--dataset-args",
             json.dumps({"my_quiz": {"subset_list": ["easy"]}}))
        assert {last_user_text(b) for b in srv.requests} == {"Q: 2+2 (hint: count)", "Q: 3+3 (hint: none)",
                                                               "Q: 9*9 (hint: none)"}
    full = json.loads(next((tmp_path / "a").glob("*/reports/m/my_quiz.json")).read_text())
    easy = json.loads(next((tmp_path / "b").glob("*/reports/m/my_quiz.json")).read_text())
    # 'Four' matches 'four' after normalisation; 'seven' is wrong; 'eighty' is all the regex's \w+ keeps
    assert full["score"] == pytest.approx(1 / 3) and full["num"] == 3 and full["benchmark_version"] == "2"
    assert full["metrics"]["total"]["score"] == 0.0  # exact_match is case-sensitive: 'Four' != 'four'
    assert {s["name"]: s["num"] for s in full["subsets"]} == {"easy": 2, "hard": 1}
    assert easy["num"] == 2 and easy["score"] == 0.5


def test_bad_spec_stops_before_any_request(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrecord: {input: '{q}'}\npromt: {template: x}\n")
    with FakeOpenAIServer(_answer) as srv:
        proc = evs("eval", "--model", "m", "--api-url", srv.url, "--benchmark-file", str(bad),
                   "--work-dir", str(tmp_path / "w"))
        assert srv.requests == []
    assert proc.returncode == 2 and "unknown key 'promt'" in proc.stderr and "'prompt'" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "w").exists()


def test_show_prints_the_resolved_spec():
    _require_example()
    out = evs("benchmarks", "show", "example_capitals_spec")
    assert out.returncode == 0, out.stderr
    spec = yaml.safe_load(out.stdout)
    assert spec["name"] == "example_capitals_spec" and spec["filters"] == ["final_answer"]
    assert spec["metrics"][0] == {"name": "acc", "metric": "casefold_match", "aggregation": "mean"}
    assert spec["metrics"][1]["aggregation"] == "mean"  # a default, filled in
    assert spec["prompt"]["fewshot"]["num"] == 0 and spec["dataset"]["subsets"] == ["default"]
    assert spec["source"].endswith("capitals_spec.yaml") and "filters" in spec["dataset_args"]
    gsm = yaml.safe_load(evs("benchmarks", "show", "gsm8k").stdout)
    assert gsm["dataset"]["hf"] == "openai/gsm8k" and gsm["prompt"]["fewshot"]["num"] == 4


def test_listing_imports_no_benchmark_module():
    code = ("import sys\nfrom evs_cli.main import main\n"
            "try:\n    main(['benchmarks', 'list', '--json'])\nexcept SystemExit:\n    pass\n"
            "print('MODULES', sorted(m for m in sys.modules if m.startswith(('evs_native.benchmarks.', "
            "'evs_plugin_example.bench')) and '_catalog' not in m))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout[: proc.stdout.rindex("MODULES")])
    assert {"gsm8k", "mmlu", "arc"} <= {b["name"] for b in listed}
    mmlu = next(b for b in listed if b["name"] == "mmlu")
    assert len(mmlu["subsets"]) == 57 and mmlu["num_samples"] == 14042
    assert proc.stdout.rsplit("MODULES", 1)[1].strip() == "[]"
