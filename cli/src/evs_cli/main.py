"""The ``evs`` command group, built fresh by :func:`make_cli` from the installed plugins."""

from __future__ import annotations

import json
import sys
import warnings

import click


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {message}", err=True)


def make_cli(pm=None) -> click.Group:
    """Build the ``evs`` click group. Each call builds a fresh plugin manager unless given one."""
    from evs_core.plugins import make_plugin_manager

    if pm is None:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            warnings.simplefilter("always")
            pm = make_plugin_manager()

    @click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
    @click.version_option(package_name="evs-cli", prog_name="evs")
    @click.pass_context
    def cli(ctx):
        """evs: evaluate large models: benchmarks, serving performance, arenas and more.

        Subcommands come from installed plugin packages; `evs plugins` lists them.
        """
        ctx.obj = pm

    @cli.command("plugins")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    def plugins_cmd(as_json):
        """List installed evs plugins: distribution, version and hooks."""
        infos = [vars(i) for i in pm.plugin_info.values()]
        failures = [vars(f) for f in pm.failures]
        if as_json:
            click.echo(json.dumps({"plugins": infos, "failed": failures}, indent=2))
            return
        rows = [("plugin", "distribution", "version", "hooks")]
        rows += [(i["name"], i["distribution"], i["version"], ", ".join(i["hooks"])) for i in infos]
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        for r in rows:
            click.echo("  ".join(r[c].ljust(widths[c]) for c in range(3)) + "  " + r[3])
        for f in failures:
            click.echo(f"failed: {f['name']} ({f['distribution']}): {f['error']}", err=True)

    pm.hook.evs_register_commands(cli=cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``evs`` script: user errors become one line, never a traceback."""
    from evs_core.errors import EvsError

    try:
        cli = make_cli()
    except EvsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    try:
        cli.main(args=argv, prog_name="evs", standalone_mode=False)
    except EvsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted: results written so far are kept; resume with --use-cache <run dir>.", err=True)
        sys.exit(130)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
