"""`evs perf --serve-model`: evs serves the offline SmolLM2 with its transformers server, sweeps two
points through it, and leaves no server process behind — also when the run is interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EVS = str(Path(sys.executable).parent / "evs")


def _servers() -> set[int]:
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if b"evs_native.serve" in (d / "cmdline").read_bytes():
                    out.add(int(d.name))
            except OSError:
                continue
    return out


def _gone(pids: set[int], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pids & _servers():
            return True
        time.sleep(0.2)
    return False


def test_two_point_sweep_through_a_served_model(tmp_path):
    before = _servers()
    p = subprocess.run([EVS, "perf", "--serve-model", "smollm2-135m-instruct", "--backend", "transformers",
                        "-c", "1,2", "-n", "2", "--max-tokens", "8", "--outputs-dir", str(tmp_path), "--no-progress"],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    run = next(tmp_path.iterdir())
    sweep = json.loads((run / "sweep.json").read_text())
    points = sweep if isinstance(sweep, list) else sweep.get("points", sweep.get("summaries", []))
    assert len(points) == 2
    for s in points:
        assert s["completed"] == 2 and s["failed"] == 0
        assert s["model_id"] == "smollm2-135m-instruct"
    assert "Serving at http://127.0.0.1:" in p.stderr
    assert _gone(_servers() - before)


def test_sigint_stops_the_sweep_and_the_server(tmp_path):
    before = _servers()
    proc = subprocess.Popen([EVS, "perf", "--api", "local", "--model", "smollm2-135m-instruct", "-c", "1",
                             "-n", "40", "--max-tokens", "32", "--outputs-dir", str(tmp_path), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        started: set[int] = set()
        while time.monotonic() < deadline and not started:  # the server answers once the run folder exists
            if any(tmp_path.glob("*/config.json")):
                started = _servers() - before
            time.sleep(0.2)
        assert started, "the server never came up"
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert "Traceback" not in err, err[-3000:]
    assert _gone(started)


def test_bad_serve_input_is_one_line(tmp_path):
    before = _servers()
    for args, message in ((["--serve-model", str(tmp_path / "nope")], "model path does not exist"),
                          (["--serve-model", "smollm2-135m-instruct", "--url", "http://127.0.0.1:9/v1"], "drop --url"),
                          (["--api", "local"], "--api local needs --model"),
                          (["--serve-model", "smollm2-135m-instruct", "--serve-args", "{bad"], "--serve-args"),
                          (["--serve-model", "smollm2-135m-instruct", "--backend", "vllm"], "vLLM is not installed")):
        out = tmp_path / f"o{len(message)}"
        p = subprocess.run([EVS, "perf", *args, "--outputs-dir", str(out)], capture_output=True, text=True, timeout=120)
        assert p.returncode == 2, (args, p.stderr)
        assert message in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)
        assert not out.exists()
    assert not (_servers() - before)
