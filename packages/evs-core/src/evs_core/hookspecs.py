"""Hook specifications owned by evs-core.

Every hook is prefixed ``evs_``, is called with keyword arguments, and evolves only by gaining
arguments. Packages may own further hooks and add them through :func:`evs_addhooks`, as pytest
plugins do with ``pytest_addhooks``.

Registration hooks receive a ``register`` callback that takes a name and a *lazy target*, a
string ``"package.module:attribute"``. Registering never imports the target; it is imported
the first time the name is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("evs")
hookimpl = pluggy.HookimplMarker("evs")

Register = Callable[..., None]


@hookspec(historic=True)
def evs_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Add hook specifications owned by a plugin package.

    Call ``pluginmanager.add_hookspecs(module)`` with the package's own ``hookspecs`` module.
    Historic: a plugin registered later still sees it.
    """


@hookspec
def evs_register_commands(cli: Any) -> None:
    """Add click commands or groups to the ``evs`` command group ``cli``.

    Keep the module that defines the command import-light: import heavy libraries inside the
    command's callback.
    """


@hookspec
def evs_register_benchmarks(register: Register) -> None:
    """Register benchmarks: ``register("gsm8k", "pkg.module:Class", tags=[...], description=...)``.

    The target is a subclass of :class:`evs_core.benchmark.Benchmark`. Keyword arguments are
    metadata shown by ``evs benchmarks`` without importing the target.
    """


@hookspec
def evs_register_metrics(register: Register) -> None:
    """Register metrics: ``register("acc", "pkg.module:function")``.

    A metric target is a callable ``(prediction, reference) -> float``, used by name in a
    benchmark's ``metrics`` / ``metric_list`` with an aggregation (``mean`` by default).
    """


@hookspec
def evs_register_filters(register: Register) -> None:
    """Register output filters: ``register("strip_think", "pkg.module:function")``.

    A filter target is a callable ``(text: str, **options) -> str | None`` applied to model
    output before answer extraction, in the order of the benchmark's filter chain (``filters``).
    It receives the sample when it declares a ``sample`` parameter; None means "no answer".
    """


@hookspec
def evs_register_models(register: Register) -> None:
    """Register model adapters: ``register("openai_api", "pkg.module:Class")``.

    The target is a subclass of :class:`evs_core.models.ModelAdapter`, built with
    ``Class(config)`` where ``config`` is the run's :class:`evs_core.config.TaskConfig`.
    """


@hookspec
def evs_register_dataset_loaders(register: Register) -> None:
    """Register dataset loaders: ``register("jsonl", "pkg.module:function", suffixes=[".jsonl"])``.

    A loader target is a callable ``(path: pathlib.Path) -> list[dict]`` reading one local file;
    local data files are read by the loader registered for their suffix.
    """
