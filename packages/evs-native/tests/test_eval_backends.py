"""`evs eval --eval-backend NAME --eval-config FILE` runs a backend a plugin registered."""

from __future__ import annotations

import json

from click.testing import CliRunner
from evs_core.backends import EvalBackend
from evs_core.errors import ConfigError
from evs_core.hookspecs import hookimpl
from evs_core.plugins import make_plugin_manager
from evs_core.schema import Report

CALLS: list = []


class ToyBackend(EvalBackend):
    name = "toy"

    def check(self, eval_config):
        if "data" not in eval_config:
            raise ConfigError("toy backend: eval_config needs 'data'")

    def run(self, eval_config, options):
        CALLS.append((eval_config, options))
        return {d: Report(model="m", dataset=d, benchmark_version="1", metric="acc", score=0.25, num=4,
                          num_samples=4, num_errors=0) for d in eval_config["data"]}


class ToyPlugin:
    @hookimpl
    def evs_register_eval_backends(self, register):
        register("toy", ToyBackend, description="a test backend")


def _cli():
    from evs_cli.main import make_cli

    return make_cli(make_plugin_manager(extra_plugins=[ToyPlugin()]))


def test_hook_evs_register_eval_backends(tmp_path):
    CALLS.clear()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("eval_config:\n  data: [MyBench]\n  nproc: 2\n")
    res = CliRunner().invoke(_cli(), ["eval", "--eval-backend", "toy", "--eval-config", str(cfg),
                                      "--concurrency", "7", "--work-dir", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    (config, options), = CALLS
    assert config == {"data": ["MyBench"], "nproc": 2}  # EvalScope's eval_config wrapper unwrapped
    assert options.concurrency == 7 and options.work_dir == str(tmp_path / "out")
    assert "MyBench" in res.output and "0.2500" in res.output


def test_unknown_backend_and_bad_config_stop_early(tmp_path):
    res = CliRunner().invoke(_cli(), ["eval", "--eval-backend", "tyo", "--eval-config", "x.yaml"])
    assert isinstance(res.exception, ConfigError) and "did you mean 'toy'" in str(res.exception)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"nproc": 2}))
    CALLS.clear()
    res = CliRunner().invoke(_cli(), ["eval", "--eval-backend", "toy", "--eval-config", str(cfg)])
    assert isinstance(res.exception, ConfigError) and CALLS == []
    res = CliRunner().invoke(_cli(), ["eval", "--eval-backend", "toy"])
    assert "needs --eval-config" in str(res.exception)
