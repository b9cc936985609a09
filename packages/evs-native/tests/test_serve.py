"""`--serve-model`: evs starts an OpenAI-compatible server for a local model, uses it, and leaves no process.

Runs the offline SmolLM2 model through evs's transformers server (the vLLM backend needs vLLM and
a GPU, which CI does not have; its command line is checked without starting it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.serve import ServedModel

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
EVS = str(Path(sys.executable).parent / "evs")


def _servers() -> set[int]:
    """PIDs of evs transformers servers running on this machine."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"evs_native.serve" in cmd:
                out.add(int(d.name))
    return out


def _wait_gone(pids: set[int], timeout: float = 20.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = pids & _servers()
        if not alive:
            return set()
        time.sleep(0.2)
    return pids & _servers()


def test_eval_through_a_served_model_leaves_no_process(tmp_path):
    before = _servers()
    p = subprocess.run([EVS, "eval", "--serve-model", "smollm2-135m-instruct", "--backend", "transformers",
                        "--datasets", "gsm8k", "--limit", "2", "--dataset-dir", str(DATA), "--work-dir", str(tmp_path),
                        "--dataset-args", '{"gsm8k": {"few_shot_num": 0}}', "--generation-config",
                        '{"max_tokens": 12}', "--no-progress"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    run = next(tmp_path.iterdir())
    report = json.loads((run / "reports" / "smollm2-135m-instruct" / "gsm8k.json").read_text())
    assert report["num_samples"] == 2 and report["num_errors"] == 0
    preds = [json.loads(x) for x in (run / "predictions" / "smollm2-135m-instruct" / "gsm8k.jsonl").read_text().splitlines()]
    assert all(pr["output"]["usage"]["completion_tokens"] <= 12 and pr["output"]["text"] for pr in preds)
    assert "Serving at http://127.0.0.1:" in p.stderr
    assert _wait_gone(_servers() - before) == set()


def test_sigint_stops_the_run_and_the_server(tmp_path):
    before = _servers()
    proc = subprocess.Popen([EVS, "eval", "--serve-model", "smollm2-135m-instruct", "--backend", "transformers",
                             "--datasets", "gsm8k", "--limit", "50", "--dataset-dir", str(DATA), "--work-dir",
                             str(tmp_path), "--generation-config", '{"max_tokens": 64}', "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        started: set[int] = set()
        while time.monotonic() < deadline and not started:  # the server is up once a prediction exists
            preds = list(tmp_path.glob("*/predictions/*/gsm8k.jsonl"))
            if preds and preds[0].stat().st_size > 0:
                started = _servers() - before
            time.sleep(0.3)
        assert started, "the server never answered"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert _wait_gone(started) == set()
    # What was answered before the interrupt is kept, and resumable.
    assert list(tmp_path.glob("*/predictions/*/gsm8k.jsonl"))[0].read_text().strip()


def test_kill_9_of_evs_takes_the_server_with_it(tmp_path):
    before = _servers()
    code = ("import os, signal\n"
            "from evs_core.serve import ServedModel\n"
            "s = ServedModel('smollm2-135m-instruct', backend='transformers', ready_timeout=300).start()\n"
            "print(s.proc.pid, flush=True)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=400)
    assert p.returncode == -signal.SIGKILL
    pid = int(p.stdout.split()[0])
    assert _wait_gone({pid} | (_servers() - before)) == set()


def test_bad_input_is_one_line_and_starts_nothing(tmp_path):
    before = _servers()
    cases = [
        (["--serve-model", str(tmp_path / "nope")], "model path does not exist"),
        (["--serve-model", "smollm2-135m-instruct", "--backend", "vllm"], "vLLM is not installed"),
        (["--serve-model", "smollm2-135m-instruct", "--api-url", "http://127.0.0.1:9/v1"], "drop --api-url"),
        (["--serve-model", "smollm2-135m-instruct", "--serve-args", "[1]"], "--serve-args must be a JSON object"),
        (["--serve-model", "smollm2-135m-instruct", "--limit", "-3"], "limit"),
    ]
    for args, message in cases:
        work = tmp_path / f"w{len(message)}"
        p = subprocess.run([EVS, "eval", "--datasets", "gsm8k", "--dataset-dir", str(DATA), "--work-dir", str(work),
                            *args], capture_output=True, text=True, timeout=120)
        assert p.returncode == 2, (args, p.stderr)
        assert message in p.stderr, (args, p.stderr)
        assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not work.exists()
    assert _servers() - before == set()


def test_a_server_that_fails_or_is_not_ready_is_reported_with_its_log(tmp_path):
    before = _servers()
    not_a_model = tmp_path / "empty-model"
    not_a_model.mkdir()
    with pytest.raises(Exception) as info:
        ServedModel(str(not_a_model), backend="transformers", ready_timeout=120).start()
    assert "exited with code" in str(info.value) and "last log lines" in str(info.value)
    with pytest.raises(Exception) as info:
        ServedModel("smollm2-135m-instruct", backend="transformers", ready_timeout=0.5).start()
    assert "not healthy after 0.5 s" in str(info.value)
    assert _wait_gone(_servers() - before) == set()
    with pytest.raises(ConfigError):
        ServedModel("m", backend="tgi")


def test_vllm_command_line():
    s = ServedModel.__new__(ServedModel)
    s.backend, s.model, s.name = "vllm", "/models/qwen", "qwen"
    s.serve_args = {"max_model_len": 4096, "enforce_eager": True, "tensor_parallel_size": 2, "quantization": None}
    cmd = s.command(8123)
    assert cmd[-13:] == ["serve", "/models/qwen", "--host", "127.0.0.1", "--port", "8123", "--served-model-name", "qwen",
                         "--max-model-len", "4096", "--enforce-eager", "--tensor-parallel-size", "2"][-13:]
    assert os.path.basename(cmd[0]) in ("vllm", os.path.basename(sys.executable))
