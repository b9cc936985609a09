"""evs-cli on its own: the group, `evs plugins`, one-line errors."""

import json

import click
from click.testing import CliRunner
from evs_cli.main import make_cli
from evs_core.errors import EvsError
from evs_core.hookspecs import hookimpl
from evs_core.plugins import make_plugin_manager


class Extra:
    __name__ = "extra_plugin"

    @hookimpl
    def evs_register_commands(self, cli):
        @cli.command("boom")
        def boom():
            raise EvsError("something   bad\nhappened")


def test_group_has_plugins_and_plugin_commands():
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[Extra()])
    cli = make_cli(pm)
    assert {"plugins", "boom"} <= set(cli.commands)
    res = CliRunner().invoke(cli, ["plugins", "--json"])
    data = json.loads(res.output)
    assert {p["name"] for p in data["plugins"]} == {"core", "extra_plugin"}
    table = CliRunner().invoke(cli, ["plugins"]).output
    assert table.splitlines()[0].split() == ["plugin", "distribution", "version", "hooks"]


def test_each_call_builds_a_fresh_group():
    a = make_cli(make_plugin_manager(load_entrypoints=False, extra_plugins=[Extra()]))
    b = make_cli(make_plugin_manager(load_entrypoints=False))
    assert "boom" in a.commands and "boom" not in b.commands and isinstance(b, click.Group)


def test_main_turns_evs_errors_into_one_line(monkeypatch, capsys):
    import evs_cli.main as m

    monkeypatch.setattr(m, "make_cli", lambda: make_cli(make_plugin_manager(load_entrypoints=False,
                                                                             extra_plugins=[Extra()])))
    try:
        m.main(["boom"])
    except SystemExit as exc:
        assert exc.code == 2
    err = capsys.readouterr().err
    assert err == "Error: something bad happened\n"
