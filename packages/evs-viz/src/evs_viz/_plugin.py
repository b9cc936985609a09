"""evs-viz's plugin: the ``evs viz`` command.

Import-light: only the standard library, click and evs-core are imported here; Streamlit is
imported inside the command.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from evs_core.errors import EvsError, require
from evs_core.hookspecs import hookimpl

APP = Path(__file__).with_name("app.py")
ENV_OUTPUTS = "EVS_VIZ_OUTPUTS"


def streamlit_options(host: str, port: int) -> dict[str, object]:
    """Streamlit settings for ``evs viz``: bound to ``host``, no telemetry, no static file serving."""
    return {
        "server.address": host,
        "server.port": port,
        "server.headless": True,
        "server.fileWatcherType": "none",
        "server.runOnSave": False,
        "server.enableStaticServing": False,  # never serve files from disk besides the app
        "browser.gatherUsageStats": False,
        "browser.serverAddress": host,
        "client.toolbarMode": "minimal",
        "global.developmentMode": False,
        "theme.base": "light",
    }


@click.command("viz")
@click.option("--outputs", "outputs", default="outputs", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder searched (recursively, any depth) for eval and perf runs.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Use 0.0.0.0 only on a trusted network: the dashboard has no login.")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
def viz_command(outputs: Path, host: str, port: int) -> None:
    """Open a dashboard over eval and perf runs: scores, comparisons, samples, serving metrics.

    Reads result files only; it never runs a model and never serves a file outside --outputs.
    """
    root = outputs.expanduser().resolve()
    if not root.is_dir():
        raise EvsError(f"--outputs {outputs} is not a folder; pass the --work-dir of `evs eval` or the --output-dir of `evs perf`")
    require("streamlit", "evs viz", "evs-viz")
    from streamlit.web import bootstrap

    os.environ[ENV_OUTPUTS] = str(root)
    flags = {k.replace(".", "_"): v for k, v in streamlit_options(host, port).items()}
    click.echo(f"evs viz: {root} at http://{host}:{port}  (Ctrl+C stops)", err=True)
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(str(APP), False, [], flags)


@hookimpl
def evs_register_commands(cli):
    cli.add_command(viz_command)
