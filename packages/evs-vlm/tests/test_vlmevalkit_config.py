"""The VLMEvalKit backend's side in evs: strict config, --concurrency as VLMEvalKit's api_nproc,
result tables turned into reports. The run itself is tested in tests/test_vlmevalkit_backend.py."""

import pytest
from evs_core.backends import BackendOptions
from evs_core.errors import ConfigError

from evs_vlm.vlmevalkit import VLMEvalKitBackend, table_to_report

CFG = {"data": ["MyColours"], "model": [{"name": "CustomAPIModel", "type": "fake-vl", "api_base":
                                         "http://127.0.0.1:9/v1/chat/completions", "key": "sk-secret",
                                         "temperature": 0.0, "img_size": -1}],
       "mode": "all", "limit": 4, "nproc": 16, "judge": "exact_matching", "reuse": False}


@pytest.mark.parametrize("bad,msg", [
    ({"dataa": ["x"]}, "unknown key 'dataa' in the VLMEvalKit config; did you mean 'data'?"),
    ({"data": []}, "needs 'data'"),
    ({"model": [{"name": "CustomAPIModel", "type": "x"}]}, "model[0] (CustomAPIModel) needs 'api_base'"),
    ({"model": [{"name": "CustomAPIModel", "type": "x", "api_base": "u", "tempreature": 0}]}, "did you mean 'temperature'"),
    ({"mode": "both"}, "mode must be all, infer or eval"),
    ({"nproc": 0}, "'nproc' of the VLMEvalKit config must be a positive integer"),
])
def test_config_is_strict(bad, msg):
    with pytest.raises(ConfigError) as exc:
        VLMEvalKitBackend().check({**CFG, **bad})
    assert msg in str(exc.value)


def test_concurrency_becomes_api_nproc(tmp_path):
    b = VLMEvalKitBackend()
    args = b.vlmeval_args(dict(CFG), BackendOptions(concurrency=3), tmp_path)
    assert args["api_nproc"] == 3 and "nproc" not in args and args["work_dir"] == str(tmp_path)
    args = b.vlmeval_args(dict(CFG), BackendOptions(), tmp_path)
    assert args["api_nproc"] == 16  # without --concurrency the config's nproc stands


def test_mcq_table_to_report(tmp_path):
    t = tmp_path / "fake-vl_MyColours_exact_matching_acc.csv"
    t.write_text("split,Overall,colour,shape\nnone,0.75,0.5,1.0\n")
    rep = table_to_report(t, "fake-vl", "MyColours", {})
    assert rep.metric == "acc" and rep.score == 0.75
    assert {s.name: s.score for s in rep.subsets} == {"colour": 0.5, "shape": 1.0}


def test_score_table_percent(tmp_path):
    t = tmp_path / "m_OCRBench_score.csv"
    t.write_text("key,value\nText Recognition,80\nFinal Score,61.5\n")
    rep = table_to_report(t, "m", "OCRBench", {})
    assert rep.metric == "Final Score" and rep.score == pytest.approx(0.615)
