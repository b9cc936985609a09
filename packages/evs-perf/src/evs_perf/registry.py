"""Registries of perf datasets and APIs, filled by evs-perf's own hooks."""

from __future__ import annotations

from typing import Any

from evs_core.registry import Registry


def _fill(pm, hook_name: str, kind: str) -> Registry:
    reg = Registry(kind)
    hook = getattr(pm.hook, hook_name, None)
    if hook is None:
        return reg
    for impl in hook.get_hookimpls():
        def register(name: str, target: Any, _plugin=impl.plugin_name, **meta: Any) -> None:
            reg.add(name, target, _plugin, **meta)

        impl.function(register=register)
    return reg


def perf_registries(pm=None) -> tuple[Registry, Registry]:
    """``(datasets, apis)`` for the plugin manager ``pm`` (a fresh default one when None)."""
    if pm is None:
        from evs_core.plugins import make_plugin_manager

        pm = make_plugin_manager()
    cached = getattr(pm, "_evs_perf_registries", None)
    if cached is None:
        cached = (_fill(pm, "evs_perf_register_datasets", "perf dataset"),
                  _fill(pm, "evs_perf_register_apis", "perf API"))
        pm._evs_perf_registries = cached
    return cached
