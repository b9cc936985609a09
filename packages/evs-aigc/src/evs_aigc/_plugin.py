"""evs-aigc's plugin: text-to-image / image-edit benchmarks, image generators, `evs aigc`.

Import-light: only the standard library, click and evs-core are imported here.
"""

from evs_core.hookspecs import hookimpl


@hookimpl
def evs_register_benchmarks(register):
    from evs_aigc._catalog import BENCHMARKS

    for name, (target, tags, description) in BENCHMARKS.items():
        register(name, target, tags=tags, description=description)


@hookimpl
def evs_register_models(register):
    from evs_aigc._catalog import MODELS

    for name, (target, description) in MODELS.items():
        register(name, target, description=description)


@hookimpl
def evs_register_commands(cli):
    from evs_aigc.cli import aigc_group

    cli.add_command(aigc_group)
