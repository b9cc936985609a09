"""evs-native's plugin: the `eval` and `benchmarks` commands, the built-in benchmarks, local models.

Import-light: only the standard library, click and evs-core are imported here.
"""

from evs_core.hookspecs import hookimpl

# Benchmark catalogues: name -> (lazy target, tags, one-line description). Each catalogue
# module is plain data, so listing benchmarks imports no benchmark code.
CATALOGUES = (
    "evs_native.benchmarks._catalog_core",
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

    for module in CATALOGUES:
        catalogue = importlib.import_module(module).BENCHMARKS
        for name, (target, tags, description) in catalogue.items():
            register(name, target, tags=tags, description=description)


@hookimpl
def evs_register_models(register):
    register("transformers", "evs_native.local_model:TransformersModel",
             description="local causal LM with transformers (batched generation, log-likelihood)")
