"""Scenarios of `evs eval --executor ray`, run by test_ray.py inside a network namespace of its own.

Started after a two-node Ray cluster is up on 127.0.0.1 (head with the GCS on ``RAY_PORT``, a
second node whose raylet listens on ``WORKER_NM_PORT``). Writes what it observed as JSON to the
path given as first argument; the pytest side makes the assertions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from evs_core.testing import FakeOpenAIServer, last_user_text

OUT = Path(sys.argv[1])
WORK = Path(sys.argv[2])
DATA = Path(sys.argv[3])
ADDRESS = f"127.0.0.1:{os.environ['RAY_PORT']}"
EVS = str(Path(sys.executable).parent / "evs")
GOLD = {}
for line in (DATA / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines()[:60]:
    row = json.loads(line)
    GOLD[row["question"]] = row["answer"].rsplit("####", 1)[1].strip().replace(",", "")


def responder(body):
    """Right on questions whose gold is even, wrong otherwise: a score the test can predict."""
    text = last_user_text(body)
    for q, g in GOLD.items():
        if q in text:
            return f"The answer is {g if int(g) % 2 == 0 else int(g) + 1}."
    return "The answer is 0."


def evs(*args, **kw):
    return subprocess.run([EVS, "eval", *args], capture_output=True, text=True, timeout=600, **kw)


def common(url, work, limit):
    return ["--model", "fake-model", "--api-url", url, "--datasets", "gsm8k", "--limit", str(limit),
            "--dataset-dir", str(DATA), "--dataset-args", '{"gsm8k": {"few_shot_num": 0}}',
            "--work-dir", str(work), "--no-progress"]


def run_folder(work: Path) -> Path:
    return next(p for p in work.iterdir() if p.is_dir())


def read(run: Path) -> dict:
    report = json.loads((run / "reports" / "fake-model" / "gsm8k.json").read_text())
    preds = [json.loads(x) for x in (run / "predictions" / "fake-model" / "gsm8k.jsonl").read_text().splitlines()
             if x.strip()]
    reviews = [json.loads(x) for x in (run / "reviews" / "fake-model" / "gsm8k.jsonl").read_text().splitlines()
               if x.strip()]
    return {"report": report, "pred_keys": [[p["sample_id"], p["repeat"]] for p in preds],
            "reviews": [{k: r[k] for k in ("sample_id", "repeat", "scores", "extracted", "error")} for r in reviews]}


def wait_preds(work: Path, n: int, proc, timeout=120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        files = list(work.glob("*/predictions/fake-model/gsm8k.jsonl"))
        if files:
            k = sum(1 for x in files[0].read_text().splitlines() if x.strip())
            if k >= n:
                return k
        time.sleep(0.05)
    return -1


def raylet_pids(port: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "raylet" in cmd and f"--node_manager_port={port}" in cmd:
                pids.append(int(d.name))
    return pids


result: dict = {}
with FakeOpenAIServer(responder, latency=0.05) as srv:
    # 1. the same eval, locally and on Ray with two replicas: the same files
    p = evs(*common(srv.url, WORK / "local", 24))
    result["local_rc"] = p.returncode
    result["local"] = read(run_folder(WORK / "local"))
    p = evs(*common(srv.url, WORK / "ray", 24), "--executor", "ray", "--ray-address", ADDRESS, "--replicas", "2",
            "--concurrency", "3")
    result["ray_rc"], result["ray_err"] = p.returncode, p.stderr[-3000:]
    if p.returncode == 0:
        result["ray"] = read(run_folder(WORK / "ray"))

    # 2. kill -9 of the driver mid-run, then resume on Ray
    proc = subprocess.Popen([EVS, "eval", *common(srv.url, WORK / "resume", 40), "--executor", "ray",
                             "--ray-address", ADDRESS, "--replicas", "2", "--concurrency", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result["resume_seen_before_kill"] = wait_preds(WORK / "resume", 4, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = run_folder(WORK / "resume")
    p = evs(*common(srv.url, WORK / "resume", 40), "--executor", "ray", "--ray-address", ADDRESS,
            "--replicas", "2", "--use-cache", str(run))
    result["resume_rc"], result["resume_err"] = p.returncode, p.stderr[-3000:]
    result["resume"] = read(run)
    p = evs(*common(srv.url, WORK / "resume_local", 40))
    result["resume_local"] = read(run_folder(WORK / "resume_local"))

    # 3. one worker node dies mid-run: every unit once, none lost
    srv.latency = 0.2
    proc = subprocess.Popen([EVS, "eval", *common(srv.url, WORK / "nodeloss", 40), "--executor", "ray",
                             "--ray-address", ADDRESS, "--replicas", "2", "--concurrency", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result["nodeloss_seen_before_kill"] = wait_preds(WORK / "nodeloss", 6, proc)
    victims = raylet_pids(int(os.environ["WORKER_NM_PORT"]))
    result["nodeloss_victims"] = len(victims)
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    result["nodeloss_rc"], result["nodeloss_err"] = proc.returncode, err[-3000:]
    result["nodeloss"] = read(run_folder(WORK / "nodeloss"))
    srv.latency = 0.0

    # 4. bad input: one line, before any request or file
    asked = len(srv.requests)
    cases = {
        "unreachable": ["--executor", "ray", "--ray-address", "127.0.0.1:1"],
        "resources": ["--executor", "ray", "--ray-address", ADDRESS, "--replicas", "16"],
        "gpus": ["--executor", "ray", "--ray-address", ADDRESS, "--ray-resources", '{"num_gpus": 1}'],
        "bad_address": ["--executor", "ray", "--ray-address", "nonsense"],
    }
    result["bad"] = {}
    for name, extra in cases.items():
        work = WORK / f"bad_{name}"
        p = evs(*common(srv.url, work, 3), *extra)
        result["bad"][name] = {"rc": p.returncode, "stderr": p.stderr, "wrote": work.exists()}
    result["bad_requests"] = len(srv.requests) - asked

OUT.write_text(json.dumps(result, indent=1))
