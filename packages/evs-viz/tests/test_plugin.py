"""The `evs viz` command: import hygiene, options, hook registration, bad input."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner
from evs_core.errors import EvsError
from evs_viz import _plugin


def _modules_after(stmt: str) -> set[str]:
    code = f"import sys; {stmt}; print(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.strip().split(","))


def test_plugin_import_is_light():
    mods = _modules_after("import evs_viz._plugin")
    for heavy in ("streamlit", "pandas", "plotly", "torch", "numpy"):
        assert heavy not in mods, heavy


def test_data_and_stats_never_import_streamlit_or_torch():
    mods = _modules_after("import evs_viz.data")
    assert "streamlit" not in mods and "torch" not in mods


def test_command_registered_by_hook():
    group = click.Group("evs")
    _plugin.evs_register_commands(cli=group)
    assert group.commands["viz"] is _plugin.viz_command


def test_defaults_bind_loopback_and_port():
    params = {p.name: p for p in _plugin.viz_command.params}
    assert params["host"].default == "127.0.0.1"
    assert params["port"].default == 8501
    assert params["outputs"].default == "outputs"


def test_streamlit_options_serve_no_files_and_send_nothing():
    opts = _plugin.streamlit_options("127.0.0.1", 9000)
    assert opts["server.address"] == "127.0.0.1" and opts["server.port"] == 9000
    assert opts["server.enableStaticServing"] is False
    assert opts["browser.gatherUsageStats"] is False
    assert opts["server.headless"] is True


def test_missing_outputs_folder_is_a_user_error(tmp_path):
    res = CliRunner().invoke(_plugin.viz_command, ["--outputs", str(tmp_path / "nope")])
    assert isinstance(res.exception, EvsError)
    assert "is not a folder" in str(res.exception)


def test_bad_port_is_rejected(tmp_path):
    res = CliRunner().invoke(_plugin.viz_command, ["--outputs", str(tmp_path), "--port", "70000"])
    assert res.exit_code == 2 and "70000" in res.output
