"""`evs perf --ray-address ... --ray-workers 2`: load generators on a real two-node Ray cluster.

Ray, the mock server and evs perf all run inside a network namespace the test makes (`unshare
--net`, loopback up, `--node-ip-address=127.0.0.1`), so no traffic leaves loopback; the cluster
is stopped afterwards, also on failure.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

SCRIPT = r"""
set -u
ip link set lo up
export RAY_USAGE_STATS_ENABLED=0 RAY_BACKEND_LOG_LEVEL=error
cleanup() {{ kill %1 2>/dev/null; "{bin}/ray" stop --force >/dev/null 2>&1 || true; }}
trap cleanup EXIT
for attempt in 1 2 3; do
  "{bin}/ray" start --head --node-ip-address=127.0.0.1 --port={port} --num-cpus=1 --include-dashboard=false \
    --disable-usage-stats --temp-dir={tmp}/ray >>{tmp}/start.log 2>&1 && break
  cleanup; [ $attempt = 3 ] && {{ cat {tmp}/start.log; exit 3; }}
done
for attempt in 1 2 3; do
  "{bin}/ray" start --address=127.0.0.1:{port} --node-ip-address=127.0.0.1 --num-cpus=1 \
    --disable-usage-stats --temp-dir={tmp}/ray >>{tmp}/start.log 2>&1 && break
  [ $attempt = 3 ] && {{ cat {tmp}/start.log; exit 4; }}; sleep 2
done
"{python}" -m evs_perf.mock_server --port 18555 --ttft-ms 20 --itl-ms 2 >{tmp}/mock.log 2>&1 &
sleep 2
"{bin}/evs" perf --url http://127.0.0.1:18555/v1/chat/completions --model m -c 4 -n 60 --max-tokens 16 \
  --ray-address 127.0.0.1:{port} --ray-workers 2 --outputs-dir {tmp}/out --no-progress >{tmp}/perf.out 2>{tmp}/perf.err
echo $? >{tmp}/perf.rc
"{bin}/evs" perf --url http://127.0.0.1:18555/v1/chat/completions --model m -c 4 -n 8 \
  --ray-address 127.0.0.1:{port} --ray-workers 9 --outputs-dir {tmp}/bad >{tmp}/bad.out 2>{tmp}/bad.err
echo $? >{tmp}/bad.rc
"{bin}/evs" perf --url http://127.0.0.1:18555/v1/chat/completions --model m -c 4 -n 8 \
  --ray-address 127.0.0.1:1 --ray-workers 2 --outputs-dir {tmp}/bad2 >{tmp}/bad2.out 2>{tmp}/bad2.err
echo $? >{tmp}/bad2.rc
"""


def _pct(xs, p):  # numpy's default (linear between closest ranks), written out independently
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    if importlib.util.find_spec("ray") is None:
        pytest.fail('Ray is not installed: pip install "evs-perf[ray]" (tools/dev-install.sh does)')
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.fail("the Ray tests need root and unshare to keep Ray inside a network namespace")
    tmp = tmp_path_factory.mktemp("perfray")
    script = SCRIPT.format(bin=BIN, python=sys.executable, tmp=tmp, port=6395)
    p = subprocess.run(["unshare", "--net", "--fork", "--kill-child", "bash", "-c", script],
                       capture_output=True, text=True, timeout=900)
    assert (tmp / "perf.rc").exists(), f"rc {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return tmp


def test_merged_percentiles_are_those_of_all_records(cluster_run):
    tmp = cluster_run
    assert (tmp / "perf.rc").read_text().strip() == "0", (tmp / "perf.err").read_text()[-3000:]
    run = next((tmp / "out").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    db = sqlite3.connect(run / "records.sqlite")
    rows = db.execute("SELECT worker, ok, ttft_ms, e2el_ms FROM requests").fetchall()
    assert {w for w, *_ in rows} == {0, 1}  # both Ray load generators sent requests
    ok = [r for r in rows if r[1]]
    assert len(ok) == summary["completed"] == 60
    for metric, col in (("ttft", 2), ("e2el", 3)):
        xs = [r[col] for r in ok]
        for p in (50, 90, 99):
            assert summary[f"p{p}_{metric}_ms"] == pytest.approx(_pct(xs, p), rel=1e-6, abs=1e-6), (metric, p)
    # one timeline: the two generators' requests overlap in time (started together)
    starts = db.execute("SELECT worker, MIN(start_s), MAX(start_s) FROM requests GROUP BY worker").fetchall()
    (_, a0, a1), (_, b0, b1) = starts
    assert a0 < b1 and b0 < a1
    assert all(v >= 0 for v in (a0, b0)) and max(a1, b1) < summary["duration"] + 1


def test_bad_ray_input_is_one_line(cluster_run):
    tmp = cluster_run
    for name, message in (("bad", "--ray-workers 9: the Ray cluster has 2 CPUs"),
                          ("bad2", "cannot reach the Ray cluster at 127.0.0.1:1")):
        err = (tmp / f"{name}.err").read_text()
        assert (tmp / f"{name}.rc").read_text().strip() == "2", err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp / name).exists() or not any((tmp / name).iterdir())
