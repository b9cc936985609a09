"""Every argument of `evalscope eval` and every key of EvalScope's TaskConfig is accepted by evs with
the same meaning, or refused with one line that says why and what to use instead.

The lists of names are fixtures copied from EvalScope's source (tests/fixtures/evalscope_args/);
a name that evs neither accepts nor refuses with a reason fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("evs_native")

from evs_cli.main import main  # noqa: E402
from evs_core.compat import BY_NAME, EVAL_ARGS, IGNORED_KEYS, migration_table  # noqa: E402
from evs_core.config import TaskConfig, make_config  # noqa: E402
from evs_core.errors import ConfigError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "evalscope_args"


def _names(file: str) -> list[str]:
    lines = (FIXTURES / file).read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


EVAL_OPTIONS = _names("eval.txt")
TASK_KEYS = _names("taskconfig.txt")

# A value EvalScope users pass for each refused option that takes one (switches take none).
REFUSED_VALUES = {"--eval-config": "task.yaml", "--agent-config": '{"mode": "native"}',
                  "--sandbox": '{"enabled": true}', "--sandbox-type": "volcengine",
                  "--sandbox-manager-config": '{"base_url": "http://x"}'}


def _eval_params():
    from evs_cli.main import make_cli

    cmd = make_cli().commands["eval"]
    visible, hidden = set(), set()
    for p in cmd.params:
        for opt in [*p.opts, *p.secondary_opts]:
            (hidden if getattr(p, "hidden", False) else visible).add(opt)
    return visible, hidden


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_fixture_lists_are_complete():
    assert len(EVAL_OPTIONS) >= 38 and "--eval-type" in EVAL_OPTIONS and "--rerun-review" in EVAL_OPTIONS
    assert len(TASK_KEYS) >= 37 and "eval_type" in TASK_KEYS
    assert len(_names("perf.txt")) >= 70 and "--parallel" in _names("perf.txt")


@pytest.mark.parametrize("option", EVAL_OPTIONS)
def test_every_evalscope_eval_option_is_accepted_or_refused(option, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    visible, hidden = _eval_params()
    name = option[2:].replace("-", "_")
    if option == "--no-collect-perf":
        assert option in visible
        return
    if option == "--eval-config":  # a plugin backend's config (evs-vlm's vlmevalkit); alone it is an error
        assert option in visible
        code, _, err = _run(["eval", "--model", "mock", "--datasets", "gsm8k", "--work-dir", str(tmp_path / "out"),
                             option, "task.yaml"], capsys)
        assert code == 2 and "--eval-config goes with --eval-backend NAME" in err
        assert not (tmp_path / "out").exists()
        return
    assert name in BY_NAME, f"{option} is in EvalScope but not in evs_core.compat.EVAL_ARGS"
    arg = BY_NAME[name]
    if not arg.refused:
        assert option in visible, f"{option} is marked accepted but `evs eval` has no such option"
        assert arg.note
        return
    assert option in hidden and len(arg.note) > 20
    argv = ["eval", "--model", "mock", "--datasets", "gsm8k", "--work-dir", str(tmp_path / "out"), option]
    if not arg.flag:
        argv.append(REFUSED_VALUES[option])
    code, out, err = _run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "not supported" in lines[0] and arg.note in lines[0], err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", TASK_KEYS)
def test_every_evalscope_taskconfig_key_is_accepted_or_refused(key):
    base = {"model": "mock", "datasets": ["gsm8k"]}
    if key in TaskConfig.model_fields:
        return  # evs's own key of the same name (meaning checked by the tests of that feature)
    assert key in BY_NAME or key in IGNORED_KEYS, f"TaskConfig key '{key}' is neither accepted nor refused"
    if key in IGNORED_KEYS:
        make_config({**base, key: "1.2.3"})
        return
    arg = BY_NAME[key]
    if arg.refused:
        make_config({**base, key: arg.inert[0]})  # EvalScope's default ("off") loads
        bad = {"sandbox_type": "volcengine", "eval_config": "x.yaml"}.get(key, {"enabled": True})
        if arg.flag:
            bad = True
        with pytest.raises(ConfigError, match=re.escape(arg.note)):
            make_config({**base, key: bad})


SAMPLE_VALUES = {
    "model_id": "Qwen-display", "model_task": "text_generation", "chat_template": "{{ messages }}",
    "eval_type": "mock_llm", "eval_backend": "Native", "eval_batch_size": 3, "rerun_review": False,
    "stream": True, "judge_strategy": "llm", "collect_perf": True,
}


@pytest.mark.parametrize("key", [a.name for a in EVAL_ARGS if not a.refused and a.name not in TaskConfig.model_fields
                                 and a.name not in ("judge", "judge_model_args")])
def test_accepted_taskconfig_keys_map_to_evs(key):
    cfg = make_config({"model": "mock", "datasets": ["gsm8k"], key: SAMPLE_VALUES[key],
                       **({"judge_model_args": {"model_id": "j", "api_url": "http://127.0.0.1:9/v1"}}
                          if key == "judge_strategy" else {})})
    expected = {
        "model_id": lambda c: c.display_name == "Qwen-display",
        "model_task": lambda c: True,
        "chat_template": lambda c: c.model_args == {"chat_template": "{{ messages }}"},
        "eval_type": lambda c: c.model_type == "mock",
        "eval_backend": lambda c: True,
        "eval_batch_size": lambda c: c.concurrency == 3,
        "rerun_review": lambda c: c.rescore is False,
        "stream": lambda c: c.generation_config == {"stream": True},
        "judge_strategy": lambda c: c.judge == {"model": "j", "api_url": "http://127.0.0.1:9/v1", "strategy": "llm"},
        "collect_perf": lambda c: c.collect_perf is True,
    }[key]
    assert expected(cfg)


def test_an_evalscope_saved_task_config_loads():
    """EvalScope writes every key with its default into configs/task_config_*.yaml."""
    saved = {"model": "qwen2.5", "model_id": "qwen2.5", "model_args": {}, "model_task": "text_generation",
             "chat_template": None, "datasets": ["gsm8k"], "dataset_args": {"gsm8k": {"few_shot_num": 0}},
             "dataset_dir": "/data", "dataset_hub": "modelscope", "repeats": 1,
             "generation_config": {"timeout": 120.0, "retries": 5, "retry_interval": 10, "batch_size": 4,
                                   "max_tokens": 512, "temperature": 0.0, "stream": None, "n": None},
             "eval_type": "openai_api", "eval_backend": "Native", "eval_config": None, "limit": 5,
             "eval_batch_size": 4, "use_cache": None, "rerun_review": False, "work_dir": "outputs",
             "no_timestamp": False, "enable_progress_tracker": False, "ignore_errors": False, "debug": False,
             "seed": 42, "api_url": "http://127.0.0.1:8000/v1", "api_key": "EMPTY", "timeout": None, "stream": None,
             "judge": {"strategy": "auto", "models": [], "contract": {"system_prompt": None, "prompt_template": None,
                                                                      "score_mapping": None, "score_type": "pattern"},
                       "repeats": 1, "position_swap": "auto", "aggregation": "mean", "min_valid_judges": 1},
             "analysis_report": False, "collect_perf": True, "sandbox": None, "use_sandbox": False,
             "sandbox_type": "docker", "sandbox_manager_config": {}, "agent_config": None,
             "evalscope_version": "1.2.0"}
    cfg = make_config(saved)
    assert cfg.model_type == "openai_api" and cfg.concurrency == 4 and cfg.timeout == 120.0 and cfg.retries == 5
    assert cfg.retry_interval == 10 and cfg.generation_config == {"max_tokens": 512, "temperature": 0.0}
    assert cfg.judge == {"strategy": "llm_when_rule_fails"} and cfg.dataset_hub == "modelscope"


def test_judge_dict_with_models_key():
    cfg = make_config({"model": "mock", "datasets": ["general_qa"],
                       "judge": {"strategy": "llm", "models": {"model_id": "qwen2.5-72b", "api_url": "http://h/v1",
                                                               "api_key": "k1", "generation_config":
                                                                   {"temperature": 0.0, "max_tokens": 4096}},
                                 "contract": {"score_type": "pattern"}}})
    assert cfg.judge == {"strategy": "llm", "model": "qwen2.5-72b", "api_url": "http://h/v1", "api_key": "k1",
                         "generation_config": {"temperature": 0.0, "max_tokens": 4096}}
    with pytest.raises(ConfigError, match="one judge model"):
        make_config({"model": "mock", "datasets": ["gsm8k"],
                     "judge": {"models": [{"model_id": "a"}, {"model_id": "b"}]}})
    with pytest.raises(ConfigError, match="contract.score_type"):
        make_config({"model": "mock", "datasets": ["gsm8k"],
                     "judge": {"models": [{"model_id": "a"}], "contract": {"score_type": "numeric"}}})


def test_migration_page_is_generated_and_complete():
    page = (ROOT / "docs" / "migrating-from-evalscope.md").read_text(encoding="utf-8")
    assert migration_table() in page, "regenerate the table: python -m evs_core.compat > table (see the page)"
    for option in EVAL_OPTIONS:
        if option != "--no-collect-perf":
            assert f"| `{option}` |" in page, option
