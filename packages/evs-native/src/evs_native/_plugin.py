"""evs-native's plugin: the `eval` and `benchmarks` commands, the built-in benchmarks, local models.

Import-light: only the standard library, click and evs-core are imported here.
"""

from evs_core.hookspecs import hookimpl

# Benchmark catalogues: name -> (lazy target, tags, one-line description). Each catalogue
# module is plain data, so listing benchmarks imports no benchmark code.
CATALOGUES = (
    "evs_native.benchmarks._catalog_knowledge",
    "evs_native.benchmarks._catalog_reasoning",
)


@hookimpl
def evs_register_commands(cli):
    from evs_native.cli import benchmarks_group, eval_command, report_command

    cli.add_command(eval_command)
    cli.add_command(report_command)
    cli.add_command(benchmarks_group)


@hookimpl
def evs_register_benchmarks(register):
    import importlib
    from importlib import resources

    for module in CATALOGUES:
        catalogue = importlib.import_module(module).BENCHMARKS
        for name, (target, tags, description, *meta) in catalogue.items():
            register(name, target, tags=tags, description=description, **(meta[0] if meta else {}))
    # Declarative benchmarks: one spec file each, read only when listed or run.
    for spec in sorted(resources.files("evs_native").joinpath("specs").iterdir(), key=lambda p: p.name):
        if spec.name.endswith((".yaml", ".yml")):
            register(spec.name.rsplit(".", 1)[0], f"evs_native:specs/{spec.name}")


@hookimpl
def evs_register_filters(register):
    for name in ("extract_number", "normalize_number", "extract_letter", "last_boxed"):
        register(name, f"evs_native.filters:{name}")


@hookimpl
def evs_register_metrics(register):
    register("numeric_match", "evs_native.filters:numeric_match")


@hookimpl
def evs_register_models(register):
    register("transformers", "evs_native.local_model:TransformersModel",
             description="local causal LM with transformers (batched generation, log-likelihood)")
