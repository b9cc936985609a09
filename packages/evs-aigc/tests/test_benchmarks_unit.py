"""Benchmarks, registry and requests of evs-aigc with evs-core alone (no engine, no torch)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evs_core.errors import ConfigError


def test_metric_names_and_evalscope_aliases():
    from evs_aigc.metrics import registry

    assert registry.canonical("CLIPScore") == "clip_score"
    assert registry.canonical("PSNR") == "psnr"
    with pytest.raises(ConfigError, match=r"unknown image metric 'clip_scor'; did you mean 'clip_score'"):
        registry.canonical("clip_scor")


def test_benchmarks_name_their_default_metrics_by_registered_name():
    from evs_aigc.benchmarks.t2i import EvalMuse, GenAIBench, HPDv2, TIFA160

    assert (TIFA160.metrics, GenAIBench.metrics, EvalMuse.metrics, HPDv2.metrics) == \
        (["pickscore"], ["vqascore"], ["fga_blip2"], ["hpsv2.1"])


def _rows(tmp_path, rows, name="p.jsonl"):
    f = tmp_path / name
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return f


def test_general_t2i_rows_requests_and_missing_field(tmp_path):
    from evs_aigc.benchmarks.t2i import GeneralT2I
    from evs_aigc.requests import ImageRequest

    f = _rows(tmp_path, [{"id": "a", "prompt": "a cat", "reference_image_path": "ref.png"}, {"prompt": "a dog"}])
    (tmp_path / "ref.png").write_bytes(b"x")
    b = GeneralT2I({"local_path": str(f), "metric_list": ["CLIPScore", {"psnr": {"resize": False}}]})
    samples = b.load_samples()
    assert [s.id for s in samples] == ["a", "1"] and {s.subset for s in samples} == {"p"}
    assert samples[0].metadata["reference_image"] == str((tmp_path / "ref.png").resolve())
    req = b.build_request(samples[0])
    assert isinstance(req, ImageRequest) and req.to_dict() == {"kind": "text_to_image", "prompt": "a cat",
                                                               "dataset": "general_t2i", "sample_id": "a"}
    assert b.metric_options == {"clip_score": {"device": "cpu"}, "psnr": {"resize": False, "device": "cpu"}}
    assert b.primary == "clip_score"
    bad = _rows(tmp_path, [{"id": "a", "prompt": "x"}, {"id": "b", "caption": "y"}], "bad.jsonl")
    with pytest.raises(ConfigError, match=r"bad.jsonl: row 2 has no field 'prompt' \(fields: caption, id\)"):
        GeneralT2I({"local_path": str(bad), "metric_list": ["psnr"]}).load_samples()


def test_bad_metric_arguments_stop_before_any_request(tmp_path):
    from evs_aigc.benchmarks.t2i import GeneralT2I

    f = _rows(tmp_path, [{"prompt": "x"}])
    with pytest.raises(ConfigError, match="weights for metric 'clip_score' not found"):
        GeneralT2I({"local_path": str(f), "metric_list": ["clip_score"],
                    "metric_args": {"clip_score": {"weights": str(tmp_path / "missing")}}})
    with pytest.raises(ConfigError, match="metric_args names 'ssim', which is not among the metrics"):
        GeneralT2I({"local_path": str(f), "metric_list": ["psnr"], "metric_args": {"ssim": {}}})
    with pytest.raises(ConfigError, match="reference_dir is not a folder"):
        GeneralT2I({"local_path": str(f), "metric_list": ["fid"], "metric_args": {"fid": {"reference_dir": "nope/"}}})
    with pytest.raises(ConfigError, match="scores images"):
        GeneralT2I({"local_path": str(f), "metric_list": ["psnr"], "filters": ["strip"]})


def test_hub_schema_categories(tmp_path):
    from evs_aigc.benchmarks.t2i import GenAIBench, HPDv2

    g = GenAIBench({"metric_list": ["psnr"]})  # the default, vqascore, is the learned-metrics part
    assert g.record_to_sample({"id": "1", "prompt": "p", "tags": {"advanced": ["counting"]}}, 0, "x").metadata["category"] == "advanced"
    assert g.record_to_sample({"id": "2", "prompt": "p", "tags": {"advanced": []}}, 0, "x").metadata["category"] == "basic"
    assert HPDv2({"metric_list": ["psnr"]}).record_to_sample({"id": "3", "prompt": "p", "tags": {"category": "anime"}}, 0, "x").metadata["category"] == "anime"


@pytest.mark.parametrize("reply, scores", [
    ('{"score": [7, 3], "reasoning": "fine"}', [7, 3]),
    ('Sure! ||V^=^V|| {"score": [5, 9], "reasoning": "x"} ||V^=^V||', [5, 9]),
    ("[6, 0]", [6, 0]),
    ("8", [8]),
    ('{score: 4, reasoning: "loose"}', [4]),
    ("I cannot rate this image.", None),
    ('{"reasoning": "no score"}', None),
])
def test_gedit_judge_reply_parser(reply, scores):
    from evs_aigc.benchmarks.gedit import parse_scores

    assert parse_scores(reply) == scores


def test_gedit_prompts_and_rows(tmp_path):
    from evs_aigc.benchmarks.gedit import PQ_PROMPT, SC_PROMPT, SUBSETS, GEdit

    assert len(SUBSETS) == 11 and "<instruction>" in SC_PROMPT and "naturalness" in PQ_PROMPT
    with pytest.raises(ConfigError, match="language must be one of en, cn"):
        GEdit({"language": "de"})
    s = GEdit().record_to_sample({"key": "k", "task_type": "color_alter", "instruction": "make it red",
                                  "input_image": {"bytes": b"\x89PNG..."}}, 0, "color_alter")
    assert s.metadata["input_image"].startswith("data:image/png;base64,")
    d = GEdit().build_request(s).to_dict()
    assert d["kind"] == "image_edit" and d["input_images"][0].startswith("data:sha256:")  # no inline image


def test_evs_aigc_help_imports_no_torch():
    code = ("import sys; from evs_cli.main import main\n"
            "try:\n    main(['aigc', 'metrics'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules, 'heavy import'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "clip_score" in r.stdout and "evs_aigc.metrics.fid:FID" in r.stdout


def test_evs_aigc_score_command(tmp_path):
    import numpy as np
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + 9, 0, 255).astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    (tmp_path / "bad.png").write_bytes(b"nope")
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"image_path": "a.png", "reference_image_path": "b.png"}) + "\n"
                    + json.dumps({"image_path": "bad.png", "reference_image_path": "b.png"}) + "\n")
    code = f"from evs_cli.main import main; main(['aigc', 'score', '--metric', 'PSNR', '--prompts', {str(rows)!r}])"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert out[0]["psnr"] == pytest.approx(peak_signal_noise_ratio(a / 255.0, b / 255.0, data_range=1.0))
    assert out[1]["error"].startswith("ImageReadError: cannot decode image")
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"prompt": "x"}\n')
    code = f"from evs_cli.main import main; main(['aigc', 'score', '--metric', 'psnr', '--prompts', {str(missing)!r}])"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "line 1 has no field 'image_path'" in r.stderr
