"""evs-vlm's plugin: vision-language benchmarks, a local vision-language model adapter.

Import-light: only the standard library and evs-core are imported here.
"""

from evs_core.hookspecs import hookimpl


@hookimpl
def evs_register_benchmarks(register):
    from evs_vlm._catalog import BENCHMARKS

    for name, (target, tags, description) in BENCHMARKS.items():
        register(name, target, tags=tags, description=description)


@hookimpl
def evs_register_models(register):
    register("transformers_vlm", "evs_vlm.local:TransformersVLM",
             description="local vision-language model with transformers (processor + chat template, batched)")



@hookimpl
def evs_register_commands(cli):
    from evs_vlm.cli import vlm_group

    cli.add_command(vlm_group)


@hookimpl
def evs_register_eval_backends(register):
    register("vlmevalkit", "evs_vlm.vlmevalkit:VLMEvalKitBackend",
             description="VLMEvalKit (ms-vlmeval) in its own environment; EvalScope's VLMEvalKit config keys")
