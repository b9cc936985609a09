"""Each registration hook has an effect, tested through `evs eval` with the example plugin.

The example plugin (tests/fixtures/evs-plugin-example) registers a filter (``final_answer``), a
metric (``casefold_match``) and a dataset loader for ``.psv`` files; each test runs `evs eval`
against a fake OpenAI-compatible server on 127.0.0.1 and reads the report it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
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
    country = last_user_text(body).rsplit(" ", 1)[-1].rstrip("?")
    return f"The capital of {country}? Let me think about it.\nAnswer: {CAPITALS.get(country, 'unknown')}."


def _eval(srv, tmp_path, *extra):
    work = tmp_path / "w"
    proc = subprocess.run(EVS + ["eval", "--model", "m", "--api-url", srv.url, "--api-key", "EMPTY",
                                 "--datasets", "example_capitals", "--work-dir", str(work), "--no-progress",
                                 "--retries", "0", *extra],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    (report,) = work.glob("*/reports/m/example_capitals.json")
    return json.loads(report.read_text())


def test_registered_filter_changes_the_score(tmp_path):
    _require_example()
    with FakeOpenAIServer(_answer) as srv:
        plain = _eval(srv, tmp_path / "a")
        filtered = _eval(srv, tmp_path / "b", "--dataset-args",
                         json.dumps({"example_capitals": {"filters": ["final_answer"]}}))
    # Without the filter the whole reply is compared with the capital: nothing matches.
    assert plain["score"] == 0.0 and plain["num"] == 4
    # With it, the text after 'Answer:' is: paris (case-insensitive), Nairobi, Lima right; Kyoto wrong.
    assert filtered["score"] == 0.75 and filtered["num"] == 4


def test_registered_metric_appears_in_the_report(tmp_path):
    _require_example()
    args = {"example_capitals": {"filters": ["final_answer"],
                                 "metric_list": ["acc", "exact_match", {"casefold_match": {"aggregation": "sum"}}]}}
    with FakeOpenAIServer(_answer) as srv:
        rep = _eval(srv, tmp_path, "--dataset-args", json.dumps(args))
    m = rep["metrics"]
    assert set(m) == {"acc", "exact_match", "casefold_match"}
    assert m["acc"]["score"] == 0.75
    assert m["exact_match"]["score"] == 0.5  # 'paris' is not 'Paris' for core's exact_match
    assert m["casefold_match"]["score"] == 3.0 and m["casefold_match"]["ci95"] is None  # declared aggregation: sum
    assert rep["metric"] == "acc"


def test_registered_loader_reads_a_new_suffix(tmp_path):
    _require_example()
    data = tmp_path / "data" / "example_capitals"
    data.mkdir(parents=True)
    (data / "test.psv").write_text("country | capital\nChile | Santiago\nJapan | Tokyo\nKenya | Nairobi\n")
    with FakeOpenAIServer(_answer) as srv:
        rep = _eval(srv, tmp_path, "--dataset-dir", str(tmp_path / "data"), "--dataset-args",
                    json.dumps({"example_capitals": {"filters": ["final_answer"]}}))
        asked = sorted(last_user_text(b) for b in srv.requests)
    assert rep["num"] == 3 and rep["score"] == pytest.approx(2 / 3)
    assert asked == [f"What is the capital of {c}?" for c in ("Chile", "Japan", "Kenya")]


def test_unknown_filter_or_metric_stops_before_any_request(tmp_path):
    _require_example()
    with FakeOpenAIServer(_answer) as srv:
        for args, word in (({"filters": ["final_anwser"]}, "final_answer"),
                           ({"metric_list": ["casefold_mach"]}, "casefold_match"),
                           ({"metric_list": ["acc"], "aggregation": "meen"}, "mean")):
            proc = subprocess.run(EVS + ["eval", "--model", "m", "--api-url", srv.url, "--datasets", "example_capitals",
                                         "--work-dir", str(tmp_path), "--dataset-args",
                                         json.dumps({"example_capitals": args})],
                                  capture_output=True, text=True, timeout=60)
            assert proc.returncode == 2 and word in proc.stderr and "Traceback" not in proc.stderr
        assert srv.requests == []
    assert not list(tmp_path.iterdir())
