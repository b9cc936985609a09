"""Cross-package tests: discovery of third-party plugins, broken plugins, import hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVS = [sys.executable, "-c", "from evs_cli.main import main; main()"]


def evs(*args, env=None, timeout=60):
    return subprocess.run(EVS + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _require_example():
    from importlib import metadata

    try:
        metadata.distribution("evs-plugin-example")
    except metadata.PackageNotFoundError:
        pytest.skip("tests/fixtures/evs-plugin-example is not installed (tools/dev-install.sh installs it)")


def test_third_party_plugin_is_listed_and_usable(tmp_path):
    _require_example()
    out = evs("plugins", "--json")
    assert out.returncode == 0, out.stderr
    plugins = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    ex = plugins["example"]
    assert ex["distribution"] == "evs-plugin-example" and ex["version"] == "0.0.1"
    assert set(ex["hooks"]) == {"evs_register_benchmarks", "evs_register_metrics", "evs_register_models",
                                "evs_register_commands", "evs_register_filters", "evs_register_dataset_loaders"}
    assert evs("hello", "evs").stdout.strip() == "hello, evs"
    listed = evs("benchmarks", "list", "--json")
    assert any(b["name"] == "example_capitals" and b["plugin"] == "example" for b in json.loads(listed.stdout))
    run = evs("eval", "--model", "oracle", "--model-type", "oracle_capitals", "--datasets", "example_capitals",
              "--work-dir", str(tmp_path), "--no-progress")
    assert run.returncode == 0, run.stderr
    (report,) = tmp_path.glob("*/reports/oracle/example_capitals.json")
    data = json.loads(report.read_text())
    assert data["score"] == 0.75 and data["num"] == 4 and data["benchmark_version"] == "3"


def test_metric_from_plugin_through_registry():
    _require_example()
    from evs_core.plugins import make_plugin_manager
    from evs_core.registry import get_registries

    regs = get_registries(make_plugin_manager())
    assert regs.metrics.entry("casefold_match").plugin == "example"
    assert regs.metrics.load("casefold_match")("PARIS", "paris") == 1.0


def _fake_dist(tmp_path: Path, name: str, module_code: str) -> dict:
    """A distribution on PYTHONPATH (dist-info + module) whose evs entry point runs ``module_code``."""
    site = tmp_path / "site"
    mod = name.replace("-", "_")
    (site / f"{mod}-1.0.dist-info").mkdir(parents=True)
    (site / f"{mod}-1.0.dist-info" / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (site / f"{mod}-1.0.dist-info" / "entry_points.txt").write_text(f"[evs]\n{mod} = {mod}\n")
    (site / f"{mod}.py").write_text(textwrap.dedent(module_code))
    return {"PYTHONPATH": str(site) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_broken_plugin_warns_and_evs_still_works(tmp_path):
    env = _fake_dist(tmp_path, "evs-broken-plugin", "raise RuntimeError('boom at import')\n")
    out = evs("plugins", env=env)
    assert out.returncode == 0
    assert "plugin 'evs_broken_plugin' from distribution 'evs-broken-plugin' failed to load" in out.stderr
    assert "boom at import" in out.stderr and "Traceback" not in out.stderr
    assert "core" in out.stdout
    assert evs("benchmarks", env=env).returncode == 0
    listed = json.loads(evs("plugins", "--json", env=env).stdout)
    assert listed["failed"][0]["distribution"] == "evs-broken-plugin"


def test_misspelt_hook_in_plugin_is_reported(tmp_path):
    env = _fake_dist(tmp_path, "evs-typo-plugin", """
        from evs_core.hookspecs import hookimpl

        @hookimpl
        def evs_register_benchmark(register):
            pass
    """)
    out = evs("plugins", env=env)
    assert out.returncode == 0 and "Traceback" not in out.stderr
    assert "unknown hook 'evs_register_benchmark'; did you mean 'evs_register_benchmarks'?" in out.stderr
    assert "evs-typo-plugin" in out.stderr


def test_disable_and_load_only(tmp_path):
    out = evs("plugins", "--json", env={"EVS_DISABLE_PLUGINS": "native"})
    names = {p["name"] for p in json.loads(out.stdout)["plugins"]}
    assert "native" not in names and "core" in names
    commands = [ln.split()[0] for ln in evs("--help", env={"EVS_DISABLE_PLUGINS": "native"}).stdout.splitlines()
                if ln.startswith("  ") and ln.strip()]
    assert "eval" not in commands and "plugins" in commands
    out = evs("plugins", "--json", env={"EVS_LOAD_PLUGINS": "native"})
    assert {p["name"] for p in json.loads(out.stdout)["plugins"]} == {"core", "native"}


@pytest.mark.parametrize("argv", [["--help"], ["eval", "--help"], ["benchmarks"], ["plugins"]])
def test_light_commands_never_import_heavy_modules(argv):
    code = ("import sys\nfrom evs_cli.main import main\n"
            f"sys.argv = ['evs'] + {argv!r}\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'numpy', 'streamlit', 'mteb', 'ragas', 'vlmeval')"
            " if m in sys.modules]\n"
            "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY=\n" in out.stderr or out.stderr.rstrip().endswith("HEAVY="), out.stderr[-500:]
