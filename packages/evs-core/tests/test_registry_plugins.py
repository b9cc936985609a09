import warnings

import pytest
from evs_core.errors import ConfigError, EvsError
from evs_core.hookspecs import hookimpl
from evs_core.plugins import make_plugin_manager
from evs_core.registry import DuplicateRegistrationError, Registry, get_registries


def test_registry_is_lazy_and_suggests():
    reg = Registry("benchmark")
    reg.add("gsm8k", "no_such_module_xyz:Thing", plugin="p1")
    assert reg.names() == ["gsm8k"]  # registering imported nothing
    with pytest.raises(EvsError, match="could not be imported"):
        reg.load("gsm8k")
    with pytest.raises(ConfigError, match="did you mean 'gsm8k'"):
        reg.entry("gsm9k")


def test_duplicate_registration_names_both_plugins():
    reg = Registry("benchmark")
    reg.add("x", "a:b", plugin="first")
    with pytest.raises(DuplicateRegistrationError, match="'first'.*'second'"):
        reg.add("x", "a:c", plugin="second")


class PluginA:
    __name__ = "plugin_a"

    @hookimpl
    def evs_register_benchmarks(self, register):
        register("toy", "evs_core.benchmark:Benchmark", tags=["t"])

    @hookimpl
    def evs_register_metrics(self, register):
        register("toy_metric", "evs_core.metrics:exact_match")


def test_hooks_fill_registries_with_plugin_names():
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[PluginA()])
    regs = get_registries(pm)
    assert regs.benchmarks.entry("toy").plugin == "plugin_a"
    assert regs.benchmarks.entry("toy").meta == {"tags": ["t"]}
    assert regs.metrics.load("toy_metric")("a", "a") == 1.0
    assert "openai_api" in regs.models and "mock" in regs.models  # evs-core's own plugin
    assert get_registries(pm) is regs


def test_misspelt_hook_is_an_error():
    class Bad:
        @hookimpl
        def evs_register_benchmark(self, register):  # missing "s"
            pass

    with pytest.warns(UserWarning, match="unknown hook 'evs_register_benchmark'; did you mean 'evs_register_benchmarks'"):
        pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[Bad()])
    assert [f.error for f in pm.failures] == ["unknown hook 'evs_register_benchmark'; did you mean 'evs_register_benchmarks'?"]
    assert list(pm.plugin_info) == ["core"]


def test_duplicate_across_plugins_is_an_error():
    class B(PluginA):
        __name__ = "plugin_b"

    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[PluginA(), B()])
    with pytest.raises(DuplicateRegistrationError, match="plugin_a|plugin_b"):
        get_registries(pm)


def test_entrypoint_loading_respects_disable(monkeypatch):
    monkeypatch.setenv("EVS_DISABLE_PLUGINS", "*")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pm = make_plugin_manager()
    assert list(pm.plugin_info) == ["core"]  # only evs-core's contracts
