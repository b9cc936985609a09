"""evs-native's plugin: the `eval` and `benchmarks` commands, the built-in benchmarks, local models.

Import-light: only the standard library, click and evs-core are imported here.
"""

from evs_core.hookspecs import hookimpl

BENCHMARKS = {
    # name: (target, tags, description)
    "gsm8k": ("evs_native.benchmarks.gsm8k:GSM8K", ["math", "reasoning"], "Grade-school math word problems"),
    "arc": ("evs_native.benchmarks.arc:ARC", ["knowledge", "reasoning", "multiple-choice"],
            "AI2 Reasoning Challenge, science multiple choice"),
}


@hookimpl
def evs_register_commands(cli):
    from evs_native.cli import benchmarks_group, eval_command

    cli.add_command(eval_command)
    cli.add_command(benchmarks_group)


@hookimpl
def evs_register_benchmarks(register):
    for name, (target, tags, description) in BENCHMARKS.items():
        register(name, target, tags=tags, description=description)


@hookimpl
def evs_register_models(register):
    register("transformers", "evs_native.local_model:TransformersModel",
             description="local causal LM with transformers (batched generation, log-likelihood)")
