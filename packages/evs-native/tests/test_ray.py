"""`evs eval --executor ray` on a real two-node Ray cluster started by the test.

Ray binds the host's own interface address by default, so the whole scenario — both Ray nodes,
the fake OpenAI server and every `evs eval` — runs inside a network namespace made for it
(`unshare --net`, loopback up, `--node-ip-address=127.0.0.1`): no packet leaves loopback. The
cluster is stopped afterwards, also on failure (the namespace's processes are killed with it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2].parent / "shared" / "data"
BIN = Path(sys.executable).parent


def _require() -> None:
    if importlib_missing("ray"):
        pytest.fail('Ray is not installed: pip install "evs-native[ray]" (tools/dev-install.sh does)')
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.fail("the Ray tests need root and unshare to keep Ray inside a network namespace")
    if not (DATA / "gsm8k" / "test.jsonl").exists():
        pytest.fail("benchmark data ../shared/data is missing")


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


SCRIPT = r"""
set -u
ip link set lo up
export RAY_USAGE_STATS_ENABLED=0 RAY_BACKEND_LOG_LEVEL=error RAY_PORT={port} WORKER_NM_PORT={nm}
cleanup() {{ "{bin}/ray" stop --force >/dev/null 2>&1 || true; }}
trap cleanup EXIT
# A busy machine can time a node's start-up out: try again, up to three times.
for attempt in 1 2 3; do
  "{bin}/ray" start --head --node-ip-address=127.0.0.1 --port={port} --num-cpus=1 --include-dashboard=false \
    --disable-usage-stats --temp-dir={tmp}/ray >>{tmp}/start.log 2>&1 && break
  cleanup; [ $attempt = 3 ] && {{ cat {tmp}/start.log; exit 3; }}
done
for attempt in 1 2 3; do
  "{bin}/ray" start --address=127.0.0.1:{port} --node-ip-address=127.0.0.1 --num-cpus=1 \
    --node-manager-port={nm} --disable-usage-stats --temp-dir={tmp}/ray >>{tmp}/start.log 2>&1 && break
  [ $attempt = 3 ] && {{ cat {tmp}/start.log; exit 4; }}; sleep 2
done
timeout 900 "{python}" "{scenarios}" "{tmp}/result.json" "{tmp}/work" "{data}"
"""


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    _require()
    tmp = tmp_path_factory.mktemp("ray")
    script = SCRIPT.format(port=6391, nm=6392, bin=BIN, tmp=tmp, python=sys.executable,
                           scenarios=HERE / "ray_scenarios.py", data=DATA)
    p = subprocess.run(["unshare", "--net", "--fork", "--kill-child", "bash", "-c", script],
                       capture_output=True, text=True, timeout=1200)
    result_file = tmp / "result.json"
    assert result_file.exists(), f"rc {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return json.loads(result_file.read_text())


def _comparable(report: dict) -> dict:
    drop = ("created_at", "config", "usage")
    return {k: v for k, v in report.items() if k not in drop}


def test_ray_run_writes_what_a_local_run_writes(scenarios):
    assert scenarios["local_rc"] == 0
    assert scenarios["ray_rc"] == 0, scenarios["ray_err"]
    local, ray = scenarios["local"], scenarios["ray"]
    assert _comparable(ray["report"]) == _comparable(local["report"])
    key = lambda r: (r["sample_id"], r["repeat"])  # noqa: E731
    assert sorted(ray["reviews"], key=key) == sorted(local["reviews"], key=key)
    assert sorted(map(tuple, ray["pred_keys"])) == sorted(map(tuple, local["pred_keys"]))
    assert ray["report"]["config"]["executor"] == "ray" and ray["report"]["config"]["replicas"] == 2


def test_resume_after_kill_9_of_the_driver(scenarios):
    assert scenarios["resume_seen_before_kill"] >= 4
    assert scenarios["resume_rc"] == 0, scenarios["resume_err"]
    resumed, local = scenarios["resume"], scenarios["resume_local"]
    assert _comparable(resumed["report"]) == _comparable(local["report"])
    counts = Counter(map(tuple, resumed["pred_keys"]))
    assert len(counts) == 40  # every unit answered; a unit answered before the kill is not asked again
    assert len(resumed["pred_keys"]) == 40, "a completed unit was asked again"


def test_a_lost_worker_node_loses_and_duplicates_nothing(scenarios):
    assert scenarios["nodeloss_victims"] >= 1 and scenarios["nodeloss_seen_before_kill"] >= 6
    assert scenarios["nodeloss_rc"] == 0, scenarios["nodeloss_err"]
    run = scenarios["nodeloss"]
    counts = Counter(map(tuple, run["pred_keys"]))
    assert len(counts) == 40 and max(counts.values()) == 1
    assert run["report"]["num_samples"] == 40 and run["report"]["num_errors"] == 0
    # the score is the responder's: right exactly on even gold answers
    gold = [json.loads(x)["answer"].rsplit("####", 1)[1].strip().replace(",", "")
            for x in (DATA / "gsm8k" / "test.jsonl").read_text().splitlines()[:40]]
    assert run["report"]["score"] == pytest.approx(sum(int(g) % 2 == 0 for g in gold) / 40)


@pytest.mark.parametrize("case,message", [
    ("unreachable", "cannot reach the Ray cluster at 127.0.0.1:1"),
    ("resources", "CPUs need 16"),
    ("gpus", "GPUs need 1"),
    ("bad_address", "--ray-address must be"),
])
def test_bad_ray_input_is_one_line_before_anything(scenarios, case, message):
    bad = scenarios["bad"][case]
    assert bad["rc"] == 2, bad
    assert message in bad["stderr"], bad["stderr"]
    assert "Traceback" not in bad["stderr"] and len(bad["stderr"].strip().splitlines()) == 1, bad["stderr"]
    assert not bad["wrote"]
    assert scenarios["bad_requests"] == 0


def test_version_mismatch_and_missing_evs_are_named():
    from evs_native.ray_executor import describe_start_failure, version_mismatch

    mine = {"evs-core": "0.2.0", "evs-native": "0.2.0"}
    assert version_mismatch([{"host": "n1", "versions": dict(mine)}], mine) is None
    msg = version_mismatch([{"host": "n2", "versions": {"evs-core": "0.1.0", "evs-native": "0.2.0"}}], mine)
    assert msg == "evs versions differ on Ray worker n2: evs-core 0.1.0 (driver 0.2.0)"
    text = "ray.exceptions.RayActorError: The actor died ...\nModuleNotFoundError: No module named 'evs_native'"
    assert describe_start_failure(text).startswith("evs is not installed on the Ray workers")
