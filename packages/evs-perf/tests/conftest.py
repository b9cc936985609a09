"""Shared fixtures: mock servers in their own processes on 127.0.0.1 (free ports)."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest


class MockProc:
    def __init__(self, **options):
        args = [sys.executable, "-m", "evs_perf.mock_server", "--port", "0"]
        for k, v in options.items():
            flag = "--" + k.replace("_", "-")
            if v is True:
                args.append(flag)
            elif v is not False and v is not None:
                args += [flag, str(v)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"mock server did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(m.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict:
        import json
        import urllib.request

        with urllib.request.urlopen(self.url + "/mock/stats", timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


@pytest.fixture
def mock_server():
    """``mock_server(ttft_ms=50, itl_ms=5, ...)`` starts a mock server process; stopped after the test."""
    procs = []

    def start(**options):
        p = MockProc(**options)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


@pytest.fixture
def perf_options(tmp_path):
    """The CLI's default options with a temporary output folder and no progress display."""
    from evs_perf.run import defaults

    def make(**overrides):
        o = defaults()
        o.update(output_dir=str(tmp_path / "out"), no_progress=True, model="mock", timeout=30.0)
        o.update(overrides)
        return o

    return make


def run(options):
    from evs_perf.run import run_perf

    t = time.perf_counter()
    out = run_perf(options)
    out["elapsed"] = time.perf_counter() - t
    return out


def reset(srv):
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(srv.url + "/mock/reset", method="POST"), timeout=5).read()
