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


def _dev_install_pip_calls(tmp_path, **env):
    """The pip commands tools/dev-install.sh runs, with pip, python and evs replaced by recorders."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "pip.log"
    pip = venv / "bin" / "pip"
    pip.write_text(f'#!/bin/sh\necho "$@" >> {log}\n[ "$1 $2" = "show -q" ] && exit 0\nexit 0\n')
    (venv / "bin" / "python").write_text("#!/bin/sh\nexit 0\n")
    (venv / "bin" / "evs").write_text("#!/bin/sh\necho 'evs, version 0'\n")
    for f in ("pip", "python", "evs"):
        (venv / "bin" / f).chmod(0o755)
    (venv / "bin" / "activate").write_text(f'PATH="{venv / "bin"}:$PATH"\n')
    proc = subprocess.run(["bash", str(ROOT / "tools" / "dev-install.sh")], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "VENV": str(venv), **env})
    assert proc.returncode == 0, proc.stderr
    return log.read_text().splitlines()


def test_demo_environment_installs_no_test_fixture(tmp_path):
    default = _dev_install_pip_calls(tmp_path / "a")
    assert any("tests/fixtures/evs-plugin-example" in c for c in default)  # the test environment has it
    demo = _dev_install_pip_calls(tmp_path / "b", EVS_TEST_FIXTURES="0")
    assert not any(c.startswith("install") and "evs-plugin-example" in c for c in demo)
    assert any(c.startswith("uninstall") and "evs-plugin-example" in c for c in demo)  # and removes an old one
    script = (ROOT / "tools" / "demo.sh").read_text()
    assert "EVS_TEST_FIXTURES=0 tools/dev-install.sh" in script and ". .venv-demo/bin/activate" in script


def test_feature_packages_depend_on_the_evs_command():
    import tomllib

    for pkg in ("packages/evs-native", "packages/evs-viz"):
        deps = tomllib.loads((ROOT / pkg / "pyproject.toml").read_text())["project"]["dependencies"]
        assert any(d.replace(" ", "").startswith("evs-cli>=") and "<" in d for d in deps), pkg


@skip_install
def test_native_installs_alone_and_gives_evs_eval(tmp_path):
    """`pip install evs-native` (siblings as local wheels) brings the `evs` command with eval."""
    wheels = tmp_path / "wheels"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                           str(ROOT / "packages/evs-core"), str(ROOT / "cli")], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--find-links", str(wheels),
                          str(ROOT / "packages/evs-native")], capture_output=True, text=True, timeout=900)
    assert pip.returncode == 0, pip.stderr[-2000:]
    evs = venv / "bin" / "evs"
    out = subprocess.run([str(evs), "benchmarks", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "gsm8k" in {b["name"] for b in json.loads(out.stdout)}
    out = subprocess.run([str(evs), "eval", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--eval-type" in out.stdout

@skip_install
def test_arena_installs_alone_without_heavy_dependencies(tmp_path):
    venv, names = _fresh_venv(tmp_path, "packages/evs-core", "cli", "packages/evs-arena")
    assert "evs-arena" in names and not names & {"torch", "transformers", "datasets", "scikit-learn", "evs-native"}
    out = subprocess.run([str(venv / "bin" / "evs"), "arena", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--pairing" in out.stdout


@skip_install
def test_vlm_installs_alone_and_brings_its_command(tmp_path):
    venv, names = _fresh_venv(tmp_path, "packages/evs-core", "cli", "packages/evs-vlm")
    assert {"evs-vlm", "pillow", "pyarrow"} <= names and not names & {"torch", "transformers", "evs-native"}
    evs = venv / "bin" / "evs"
    out = subprocess.run([str(evs), "vlm", "check", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--image-max-bytes" in out.stdout, out.stderr
    out = subprocess.run([str(evs), "plugins", "--json"], capture_output=True, text=True, timeout=60)
    assert {p["name"] for p in json.loads(out.stdout)["plugins"]} == {"core", "vlm"}
