"""Registries of named, lazily imported implementations.

A plugin registers ``name -> "package.module:attribute"`` plus metadata. Nothing is imported
until :meth:`Registry.load` is called for that name, so listing benchmarks stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evs_core.errors import ConfigError, EvsError, suggest


class DuplicateRegistrationError(EvsError):
    """Two plugins registered the same name."""


@dataclass
class Entry:
    name: str
    target: Any  # "module:attr" string, or the object itself
    plugin: str
    meta: dict[str, Any] = field(default_factory=dict)


class Registry:
    """Names to lazy targets, filled by one registration hook."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, Any] = {}

    def add(self, name: str, target: Any, plugin: str = "?", **meta: Any) -> None:
        if not isinstance(name, str) or not name:
            raise EvsError(f"plugin '{plugin}' registered a {self.kind} with an invalid name {name!r}")
        if name in self._entries:
            other = self._entries[name].plugin
            raise DuplicateRegistrationError(
                f"{self.kind} '{name}' is registered twice: by plugin '{other}' and by plugin '{plugin}'"
            )
        self._entries[name] = Entry(name, target, plugin, dict(meta))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} '{name}'{suggest(name, self._entries)} (known: {', '.join(self.names()) or 'none'})"
            ) from None

    def load(self, name: str) -> Any:
        if name not in self._loaded:
            entry = self.entry(name)
            target = entry.target
            if isinstance(target, str) and self.kind == "benchmark" and target.lower().endswith(
                    (".yaml", ".yml", ".toml", ".json")):
                from evs_core.spec import load_spec_target, spec_class

                spec = load_spec_target(target, name)
                target = spec_class(spec, spec["_origin"])
            elif isinstance(target, str):
                from evs_core.plugins import load_target

                try:
                    target = load_target(target)
                except ImportError as exc:
                    raise EvsError(
                        f"{self.kind} '{name}' (plugin '{entry.plugin}') could not be imported: {exc}"
                    ) from exc
            self._loaded[name] = target
        return self._loaded[name]


KINDS = {
    "benchmark": "evs_register_benchmarks",
    "metric": "evs_register_metrics",
    "filter": "evs_register_filters",
    "model": "evs_register_models",
    "dataset_loader": "evs_register_dataset_loaders",
}


class Registries:
    """All registries of one plugin manager, filled by calling the registration hooks."""

    def __init__(self, pm) -> None:
        self.pm = pm
        self._by_kind: dict[str, Registry] = {}
        for kind, hook_name in KINDS.items():
            reg = Registry(kind)
            hook = getattr(pm.hook, hook_name)
            for impl in hook.get_hookimpls():
                plugin_name = impl.plugin_name

                def register(name: str, target: Any, _plugin=plugin_name, _reg=reg, **meta: Any) -> None:
                    _reg.add(name, target, _plugin, **meta)

                impl.function(register=register)
            self._by_kind[kind] = reg

    def __getitem__(self, kind: str) -> Registry:
        return self._by_kind[kind]

    @property
    def benchmarks(self) -> Registry:
        return self._by_kind["benchmark"]

    @property
    def metrics(self) -> Registry:
        return self._by_kind["metric"]

    @property
    def filters(self) -> Registry:
        return self._by_kind["filter"]

    @property
    def models(self) -> Registry:
        return self._by_kind["model"]

    @property
    def dataset_loaders(self) -> Registry:
        return self._by_kind["dataset_loader"]


def get_registries(pm=None) -> Registries:
    """Registries for ``pm`` (built once per manager), or for a fresh default manager."""
    if pm is None:
        from evs_core.plugins import make_plugin_manager

        pm = make_plugin_manager()
    regs = getattr(pm, "_evs_registries", None)
    if regs is None:
        regs = Registries(pm)
        pm._evs_registries = regs
    return regs
