"""The plugin manager: finds evs plugins through the ``evs`` entry-point group.

Entry points are loaded one by one, so a plugin that fails to import becomes a warning naming
its distribution instead of breaking ``evs``. ``EVS_DISABLE_PLUGINS`` (comma-separated entry
point or distribution names, or ``*``) skips plugins; ``EVS_LOAD_PLUGINS`` loads only the ones
named. Nothing happens at import time: call :func:`make_plugin_manager` for a fresh manager.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from evs_core import hookspecs

ENTRY_POINT_GROUP = "evs"


class PluginLoadWarning(UserWarning):
    """A plugin could not be loaded; evs goes on without it."""


@dataclass
class PluginInfo:
    """What ``evs plugins`` shows about one loaded plugin."""

    name: str
    distribution: str
    version: str
    module: str
    hooks: list[str] = field(default_factory=list)


@dataclass
class PluginFailure:
    name: str
    distribution: str
    error: str


def _split_env(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def _entry_points():
    eps = metadata.entry_points()
    return list(eps.select(group=ENTRY_POINT_GROUP))


class EvsPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers which distribution each plugin came from."""

    def __init__(self) -> None:
        super().__init__("evs")
        self._spec_namespaces: list = []
        self.add_hookspecs(hookspecs)
        self.plugin_info: dict[str, PluginInfo] = {}
        self.failures: list[PluginFailure] = []
        # Historic: every plugin registered from now on may add the hooks it owns, before
        # finish() checks that each implementation has a specification.
        self.hook.evs_addhooks.call_historic(kwargs={"pluginmanager": self})

    def add_hookspecs(self, module_or_class) -> None:
        """Add hook specifications; adding the same namespace again is a no-op."""
        if any(ns is module_or_class for ns in self._spec_namespaces):
            return
        self._spec_namespaces.append(module_or_class)
        super().add_hookspecs(module_or_class)

    def register_module(self, module, name: str, distribution: str = "", version: str = "") -> None:
        """Register an already imported plugin module and record where it came from."""
        self.register(module, name=name)
        self.plugin_info[name] = PluginInfo(
            name=name,
            distribution=distribution or name,
            version=version,
            module=getattr(module, "__name__", str(module)),
        )

    def load_entrypoints(self) -> None:
        """Load every plugin of the ``evs`` entry-point group, each on its own."""
        disabled = _split_env("EVS_DISABLE_PLUGINS") or set()
        only = _split_env("EVS_LOAD_PLUGINS")
        seen: set[str] = set()
        for ep in _entry_points():
            dist = ep.dist.name if ep.dist is not None else ep.name
            version = ep.dist.version if ep.dist is not None else ""
            if ep.name in seen or self.has_plugin(ep.name):
                continue
            seen.add(ep.name)
            names = {ep.name, dist}
            # evs-core's own plugin is always loaded: it only registers the built-in contracts.
            if ep.name != "core":
                if "*" in disabled or names & disabled:
                    continue
                if only is not None and not names & only:
                    continue
            try:
                module = ep.load()
                self.register_module(module, ep.name, dist, version)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must never break evs
                message = f"{type(exc).__name__}: {exc}".splitlines()[0]
                self.failures.append(PluginFailure(ep.name, dist, message))
                warnings.warn(
                    f"evs: plugin '{ep.name}' from distribution '{dist}' failed to load and was skipped ({message})",
                    PluginLoadWarning,
                    stacklevel=2,
                )

    def finish(self) -> None:
        """Validate hook implementations: a misspelt hook name is an error, not silence.

        The plugin that implements an unknown ``evs_*`` hook is unregistered and reported (a
        warning naming the hook, the nearest known hook and the distribution), so one faulty
        plugin never breaks ``evs``.
        """
        from evs_core.errors import suggest

        known = [name for name in dir(self.hook) if not name.startswith("_")]
        for name in list(known):
            caller = getattr(self.hook, name)
            if caller.spec is not None:
                continue
            for impl in caller.get_hookimpls():
                if not impl.optionalhook and self.is_registered(impl.plugin):
                    plugin_name = self.get_name(impl.plugin)
                    info = self.plugin_info.pop(plugin_name, None)
                    dist = info.distribution if info else plugin_name
                    self.unregister(impl.plugin)
                    spec_names = [n for n in known if getattr(self.hook, n).spec is not None]
                    message = f"unknown hook '{name}'{suggest(name, spec_names)}"
                    self.failures.append(PluginFailure(plugin_name, dist, message))
                    warnings.warn(f"evs: plugin '{plugin_name}' from distribution '{dist}' was skipped: {message}",
                                  PluginLoadWarning, stacklevel=2)
        self.check_pending()
        for name, info in self.plugin_info.items():
            plugin = self.get_plugin(name)
            info.hooks = sorted(h.name for h in (self.get_hookcallers(plugin) or []))


def make_plugin_manager(load_entrypoints: bool = True, extra_plugins: list | None = None) -> EvsPluginManager:
    """Build a fresh plugin manager.

    ``extra_plugins`` are modules or objects registered directly (tests use this).
    """
    pm = EvsPluginManager()
    if load_entrypoints:
        pm.load_entrypoints()
    else:
        from evs_core import _plugin

        pm.register_module(_plugin, "core", "evs-core", _version("evs-core"))
    for i, plugin in enumerate(extra_plugins or []):
        pm.register_module(plugin, getattr(plugin, "__name__", f"extra-{i}"))
    pm.finish()
    return pm


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def load_target(target: str):
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    obj = module
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj
