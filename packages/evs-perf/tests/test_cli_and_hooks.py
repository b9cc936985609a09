"""The plugin: import hygiene of `evs perf --help`, hooks, registries, CLI wiring."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

HEAVY = ("torch", "transformers", "datasets", "httpx", "aiohttp", "numpy", "pandas", "rich", "pydantic",
         "evs_perf.engine", "evs_perf.run", "asyncio")

_PROBE = """
import contextlib, io, json, sys
sys.argv = ["evs", "perf", "--help"]
from evs_cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main()
    except SystemExit:
        pass
print(json.dumps({"help": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def test_evs_perf_help_imports_nothing_heavy():
    """Only our own plugin modules load for --help; timing is reported by tools/bench, not asserted."""
    p = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60,
                       env={"EVS_LOAD_PLUGINS": "perf", "PATH": ""})
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout.strip().splitlines()[-1])
    assert "--concurrency" in data["help"] and "mock-server" in data["help"]
    loaded = {m for m in data["modules"] for h in HEAVY if m == h or m.startswith(h + ".")}
    assert not loaded, f"evs perf --help imported {sorted(loaded)}"


def test_perf_hooks_are_added_through_evs_addhooks():
    from evs_core.plugins import make_plugin_manager
    from evs_perf import _plugin
    from evs_perf.registry import perf_registries

    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[_plugin])
    datasets, apis = perf_registries(pm)
    assert {"random", "random_vl", "openqa", "sharegpt", "line_by_line", "custom", "embeddings",
            "rerank"} <= set(datasets.names())
    assert {"chat", "openai", "completions", "embeddings", "rerank"} <= set(apis.names())
    # registration is lazy: the targets are strings until used
    assert isinstance(datasets.entry("random").target, str)


class _ThirdParty:
    """A third-party plugin adding a dataset and an API through evs-perf's hooks."""

    __name__ = "third_party"

    from evs_core.hookspecs import hookimpl

    @hookimpl
    def evs_perf_register_datasets(self, register):
        register("my_data", "evs_perf.datasets:LineByLineDataset")

    @hookimpl
    def evs_perf_register_apis(self, register):
        register("my_api", "evs_perf.apis:CompletionsAPI")


def _third_party_registries():
    from evs_core.plugins import make_plugin_manager
    from evs_perf import _plugin
    from evs_perf.registry import perf_registries

    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[_plugin, _ThirdParty()])
    return perf_registries(pm)


def test_hook_evs_perf_register_datasets():
    from evs_perf.datasets import LineByLineDataset

    datasets, _ = _third_party_registries()
    assert datasets.entry("my_data").plugin == "third_party"
    assert datasets.load("my_data") is LineByLineDataset


def test_hook_evs_perf_register_apis():
    from evs_perf.apis import CompletionsAPI

    _, apis = _third_party_registries()
    assert apis.entry("my_api").plugin == "third_party" and apis.load("my_api") is CompletionsAPI


def test_duplicate_dataset_names_the_two_plugins():
    from evs_core.hookspecs import hookimpl
    from evs_core.plugins import make_plugin_manager
    from evs_core.registry import DuplicateRegistrationError
    from evs_perf import _plugin
    from evs_perf.registry import perf_registries

    class Dup:
        __name__ = "dup_plugin"

        @hookimpl
        def evs_perf_register_datasets(self, register):
            register("random", "x:y")

    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[_plugin, Dup()])
    with pytest.raises(DuplicateRegistrationError, match="dup_plugin"):
        perf_registries(pm)


def test_misspelt_perf_hook_is_an_error():
    from evs_core.hookspecs import hookimpl
    from evs_core.plugins import make_plugin_manager
    from evs_perf import _plugin

    class Typo:
        __name__ = "typo"

        @hookimpl
        def evs_perf_register_dataset(self, register):  # missing "s"
            pass

    # evs-core reports the faulty plugin and skips it; evs perf's own hooks still work
    with pytest.warns(Warning, match="unknown hook 'evs_perf_register_dataset'; did you mean 'evs_perf_register_datasets'"):
        pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[_plugin, Typo()])
    assert [f.name for f in pm.failures] == ["typo"]


def test_evs_perf_cli_runs_against_the_mock(mock_server, tmp_path):
    from evs_cli.main import make_cli

    srv = mock_server()
    res = CliRunner().invoke(make_cli(), ["perf", "--url", srv.url + "/v1", "-c", "2", "-n", "4", "--max-tokens", "16",
                                          "--output-dir", str(tmp_path), "--name", "run1"])
    assert res.exit_code == 0, res.output
    assert "TTFT" in res.output and "completed 4" in res.output
    summary = json.loads((tmp_path / "run1" / "summary.json").read_text())
    assert summary["model_id"] == "mock"  # found through GET /v1/models
    assert summary["endpoint"].endswith("/v1/chat/completions")


def test_mock_server_help():
    from evs_perf._cli import perf

    res = CliRunner().invoke(perf, ["mock-server", "--help"])
    assert res.exit_code == 0 and "--tokens-per-chunk" in res.output and "--no-usage" in res.output


def test_installing_evs_perf_alone_gives_the_evs_command():
    from importlib.metadata import distribution, requires

    reqs = [r.split(";")[0].replace(" ", "") for r in requires("evs-perf") or []]
    assert any(r.startswith("evs-cli") and "extra" not in r for r in requires("evs-perf")), reqs  # brings `evs`
    scripts = [ep for ep in distribution("evs-cli").entry_points if ep.group == "console_scripts"]
    assert [ep.name for ep in scripts] == ["evs"]
    plugins = [ep for ep in distribution("evs-perf").entry_points if ep.group == "evs"]
    assert [(ep.name, ep.value) for ep in plugins] == [("perf", "evs_perf._plugin")]
