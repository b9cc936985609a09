"""evs-rag's plugin module: adds the ``evs rag`` command group.

Import-light by rule: only the standard library, click, pluggy and evs-core are imported here.
"""

from __future__ import annotations

from evs_core.hookspecs import hookimpl


@hookimpl
def evs_register_commands(cli):
    from evs_rag._cli import rag

    cli.add_command(rag)
