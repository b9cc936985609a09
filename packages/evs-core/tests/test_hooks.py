"""One test per evs-core hook (docs/hooks.md documents each; tests/test_docs.py checks both)."""

from __future__ import annotations

import types

import click
from evs_core import hookspecs
from evs_core.hookspecs import hookimpl
from evs_core.plugins import make_plugin_manager
from evs_core.registry import get_registries


def _pm(*plugins):
    return make_plugin_manager(load_entrypoints=False, extra_plugins=list(plugins))


def test_hook_evs_addhooks():
    specs = types.ModuleType("owned_specs")

    @hookspecs.hookspec
    def evs_owned_register_things(register):
        """Owned hook."""

    specs.evs_owned_register_things = evs_owned_register_things

    class Owner:
        @hookimpl
        def evs_addhooks(self, pluginmanager):
            pluginmanager.add_hookspecs(specs)

    class User:  # registered after the owner: the historic call still reaches it
        @hookimpl
        def evs_owned_register_things(self, register):
            register("x")

    pm = _pm(Owner())
    pm.register(User(), name="user")
    pm.check_pending()
    got = []
    pm.hook.evs_owned_register_things(register=got.append)
    assert got == ["x"]


def test_hook_evs_register_commands():
    class P:
        @hookimpl
        def evs_register_commands(self, cli):
            @cli.command("ping")
            def ping():
                click.echo("pong")

    group = click.Group("evs")
    _pm(P()).hook.evs_register_commands(cli=group)
    assert "ping" in group.commands


def _check_register_hook(hook, kind, target):
    plugin = types.SimpleNamespace()

    def impl(register):
        register("thing_" + kind, target, note="meta")

    setattr(plugin, hook, hookimpl(impl))
    regs = get_registries(_pm(plugin))
    entry = regs[kind].entry("thing_" + kind)
    assert entry.meta == {"note": "meta"} and entry.plugin
    assert regs[kind].load("thing_" + kind) is not None


def test_hook_evs_register_benchmarks():
    _check_register_hook("evs_register_benchmarks", "benchmark", "evs_core.benchmark:Benchmark")


def test_hook_evs_register_metrics():
    _check_register_hook("evs_register_metrics", "metric", "evs_core.metrics:exact_match")
    assert get_registries(_pm()).metrics.load("exact_match_normalized")("The  Cat!", "cat") == 1.0


def test_hook_evs_register_filters():
    _check_register_hook("evs_register_filters", "filter", "evs_core.filters:strip_think")
    f = get_registries(_pm()).filters.load("strip_think")
    assert f("<think>x</think> y") == "y"


def test_hook_evs_register_models():
    _check_register_hook("evs_register_models", "model", "evs_core.models:MockModel")


def test_hook_evs_register_dataset_loaders():
    _check_register_hook("evs_register_dataset_loaders", "dataset_loader", "evs_core.data:read_jsonl")
    assert get_registries(_pm()).dataset_loaders.entry("csv").meta["suffixes"] == [".csv"]
