"""evs-core and evs-cli install alone into a fresh virtualenv (from PyPI for their dependencies)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


skip_install = pytest.mark.skipif(os.environ.get("EVS_SKIP_INSTALL_TESTS") == "1", reason="EVS_SKIP_INSTALL_TESTS=1")


def _fresh_venv(tmp_path, *packages):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    pip = subprocess.run([str(py), "-m", "pip", "install", "-q", *[str(ROOT / p) for p in packages]],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    installed = subprocess.run([str(py), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True)
    return venv, {p["name"].lower() for p in json.loads(installed.stdout)}


@skip_install
def test_perf_installs_alone_without_heavy_dependencies(tmp_path):
    venv, names = _fresh_venv(tmp_path, "packages/evs-core", "cli", "packages/evs-perf")
    assert "evs-perf" in names and not names & {"torch", "transformers", "datasets"}
    out = subprocess.run([str(venv / "bin" / "evs"), "perf", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--concurrency" in out.stdout
    out = subprocess.run([str(venv / "bin" / "evs"), "--help"], capture_output=True, text=True, timeout=60)
    assert " eval " not in out.stdout  # only what was installed


@skip_install
def test_core_and_cli_install_alone(tmp_path):
    venv, names = _fresh_venv(tmp_path, "packages/evs-core", "cli")
    evs = venv / "bin" / "evs"
    out = subprocess.run([str(evs), "plugins", "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [p["name"] for p in json.loads(out.stdout)["plugins"]] == ["core"]
    assert subprocess.run([str(evs), "--help"], capture_output=True, timeout=60).returncode == 0
    assert {"evs-core", "evs-cli"} <= names
    assert not names & {"torch", "transformers", "datasets", "numpy"}


@skip_install
def test_arena_installs_alone_without_heavy_dependencies(tmp_path):
    venv, names = _fresh_venv(tmp_path, "packages/evs-core", "cli", "packages/evs-arena")
    assert "evs-arena" in names and not names & {"torch", "transformers", "datasets", "scikit-learn", "evs-native"}
    out = subprocess.run([str(venv / "bin" / "evs"), "arena", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--pairing" in out.stdout
