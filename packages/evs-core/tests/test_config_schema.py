import json

import pytest
from evs_core.config import load_config_file, make_config, parse_json_arg
from evs_core.errors import ConfigError


def test_unknown_key_suggests_nearest():
    with pytest.raises(ConfigError, match=r"unknown config key 'datasets_args'; did you mean 'dataset_args'"):
        make_config({"model": "m", "datasets": ["gsm8k"], "datasets_args": {}})


def test_bad_value_is_one_line():
    with pytest.raises(ConfigError) as e:
        make_config({"model": "m", "datasets": ["gsm8k"], "concurrency": 0})
    assert "concurrency" in str(e.value) and "\n" not in str(e.value)


def test_missing_required_and_limit_rules():
    with pytest.raises(ConfigError, match="missing required config key 'datasets'"):
        make_config({"model": "m"})
    with pytest.raises(ConfigError, match="limit"):
        make_config({"model": "m", "datasets": "gsm8k", "limit": 1.5})
    cfg = make_config({"model": "m", "datasets": "gsm8k, arc", "limit": 0.5, "eval_batch_size": 4})
    assert cfg.datasets == ["gsm8k", "arc"] and cfg.limit == 0.5 and cfg.concurrency == 4


def test_model_type_inference_and_masking():
    assert make_config({"model": "m", "datasets": ["a"], "api_url": "http://x/v1"}).resolved_model_type() == "openai_api"
    assert make_config({"model": "mock", "datasets": ["a"]}).resolved_model_type() == "mock"
    assert make_config({"model": "some/path", "datasets": ["a"]}).resolved_model_type() == "transformers"
    cfg = make_config({"model": "m", "datasets": ["a"], "api_key": "sk-secret"})
    assert cfg.public_dict()["api_key"] == "***"


def test_config_files(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("model: m\ndatasets: [gsm8k]\nlimit: 3\n")
    assert make_config(load_config_file(y)).limit == 3
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"model": "m", "datasets": ["gsm8k"]}))
    assert make_config(load_config_file(j)).model == "m"
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot parse config file"):
        load_config_file(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config_file(tmp_path / "nope.yaml")


def test_parse_json_arg():
    assert parse_json_arg("--x", '{"a": 1}') == {"a": 1}
    with pytest.raises(ConfigError, match="--dataset-args is not valid JSON"):
        parse_json_arg("--dataset-args", "{a: 1}")
    with pytest.raises(ConfigError, match="must be a JSON object"):
        parse_json_arg("--x", "[1]")
