"""evs-native's plugin: the `eval` and `benchmarks` commands, the built-in benchmarks, local models.

Import-light: only the standard library, click and evs-core are imported here.
"""

from evs_core.hookspecs import hookimpl

# Catalogues: plain-data modules, so listing benchmarks imports no benchmark code. Each has
# BENCHMARKS (name -> (lazy target, tags, one-line description[, metadata])) and may have
# FILTERS and METRICS (name -> lazy "module:attr" target).
CATALOGUES = (
    "evs_native.benchmarks._catalog_knowledge",
    "evs_native.benchmarks._catalog_reasoning",
    "evs_native.benchmarks._catalog_math",
    "evs_native.benchmarks._catalog_judged",
    "evs_native.benchmarks._catalog_mcq_breadth",
    "evs_native.benchmarks._catalog_function_calling",
)


def _catalogue_entries(key: str):
    import importlib

    for module in CATALOGUES:
        yield from getattr(importlib.import_module(module), key, {}).items()


@hookimpl
def evs_register_commands(cli):
    from evs_native.cli import benchmarks_group, eval_command, report_command

    cli.add_command(eval_command)
    cli.add_command(report_command)
    cli.add_command(benchmarks_group)


@hookimpl
def evs_register_benchmarks(register):
    from importlib import resources

    for name, (target, tags, description, *meta) in _catalogue_entries("BENCHMARKS"):
        register(name, target, tags=tags, description=description, **(meta[0] if meta else {}))
    # Declarative benchmarks: one spec file each, read only when listed or run.
    for spec in sorted(resources.files("evs_native").joinpath("specs").iterdir(), key=lambda p: p.name):
        if spec.name.endswith((".yaml", ".yml")):
            register(spec.name.rsplit(".", 1)[0], f"evs_native:specs/{spec.name}")


@hookimpl
def evs_register_filters(register):
    for name in ("extract_number", "normalize_number", "extract_letter", "last_boxed"):
        register(name, f"evs_native.filters:{name}")
    for name, target in _catalogue_entries("FILTERS"):
        register(name, target)


@hookimpl
def evs_register_metrics(register):
    register("numeric_match", "evs_native.filters:numeric_match")
    for name, target in _catalogue_entries("METRICS"):
        register(name, target)


@hookimpl
def evs_register_models(register):
    register("transformers", "evs_native.local_model:TransformersModel",
             description="local causal LM with transformers (batched generation, log-likelihood)")
