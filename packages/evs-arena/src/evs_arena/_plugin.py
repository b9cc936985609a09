"""evs-arena's plugin module: the ``evs arena`` command.

Import-light by rule: only the standard library, click, pluggy and evs-core are imported here.
"""

from __future__ import annotations

from evs_core.hookspecs import hookimpl


@hookimpl
def evs_register_commands(cli):
    from evs_arena.cli import arena_command

    cli.add_command(arena_command)
