"""Hook specifications owned by evs-perf.

They are added to the evs plugin manager through evs-core's historic ``evs_addhooks`` hook
(see :mod:`evs_perf._plugin`). Both hooks receive a ``register`` callback that takes a name and
a lazy target ``"package.module:attribute"``; registering never imports the target.
"""

from __future__ import annotations

from evs_core.hookspecs import Register, hookspec


@hookspec
def evs_perf_register_datasets(register: Register) -> None:
    """Register perf datasets: ``register("random", "pkg.module:Class", description=...)``.

    The target is a subclass of :class:`evs_perf.datasets.PerfDataset`; ``evs perf`` builds it
    with ``Class(config, tokenizer)`` and calls ``.prompts(n, rng)`` for a list of
    :class:`evs_perf.datasets.Prompt`.
    """


@hookspec
def evs_perf_register_apis(register: Register) -> None:
    """Register request/response formats: ``register("chat", "pkg.module:Class", description=...)``.

    The target is a subclass of :class:`evs_perf.apis.PerfAPI`: it builds the request body of a
    prompt and parses streamed chunks and whole responses.
    """
