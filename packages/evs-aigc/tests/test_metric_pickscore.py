"""PickScore on a tiny random CLIP of the real architecture, against the PickScore README's scoring code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import aigc_tiny  # noqa: E402

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from evs_core.errors import ConfigError  # noqa: E402


@pytest.fixture(scope="module")
def pickscore_folder(tmp_path_factory) -> Path:
    """A PickScore_v1-shaped folder: CLIPModel weights + the laion CLIP-H processor files."""
    folder = tmp_path_factory.mktemp("pickscore")
    torch.manual_seed(0)
    model = transformers.CLIPModel(aigc_tiny.clip_config()).eval()
    with torch.no_grad():
        model.logit_scale.fill_(4.2)  # not the init value, so a missing scale shows
    model.save_pretrained(folder)
    aigc_tiny.write_clip_tokenizer(folder)
    tokenizer = transformers.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    image_processor = transformers.CLIPImageProcessor(
        size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}, resample=3,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    transformers.CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def reference_scores(folder: Path, images, prompts) -> list[float]:
    """PickScore's published calc_probs code (README), one prompt at a time, before the softmax
    (the embeddings taken as transformers 4 returned them, see ``aigc_tiny.projected``)."""
    processor = transformers.AutoProcessor.from_pretrained(str(folder), local_files_only=True)
    model = transformers.AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    out = []
    for image, prompt in zip(images, prompts, strict=True):
        image_inputs = processor(images=[image], padding=True, truncation=True, max_length=77, return_tensors="pt")
        text_inputs = processor(text=prompt, padding=True, truncation=True, max_length=77, return_tensors="pt")
        with torch.no_grad():
            image_embs = aigc_tiny.projected(model.get_image_features(**image_inputs))
            image_embs = image_embs / torch.norm(image_embs, dim=-1, keepdim=True)
            text_embs = aigc_tiny.projected(model.get_text_features(**text_inputs))
            text_embs = text_embs / torch.norm(text_embs, dim=-1, keepdim=True)
            scores = model.logit_scale.exp() * (text_embs @ image_embs.T)[0]
        out.append(float(scores[0]))
    return out


def test_pickscore_matches_reference(pickscore_folder):
    from evs_aigc.metrics.pickscore import PickScore

    images, prompts = aigc_tiny.images(5), aigc_tiny.PROMPTS[:5]
    expected = reference_scores(pickscore_folder, images, prompts)
    metric = PickScore(weights=str(pickscore_folder), batch_size=3)
    got = metric.score(images, prompts)
    assert len(got) == 5
    assert got == pytest.approx(expected, abs=1e-5)
    # the scores differ between pairs (a constant would also "match" a broken reference)
    assert max(expected) - min(expected) > 1e-3
    cosine = PickScore(weights=str(pickscore_folder), logit_scale=False).score(images[:2], prompts[:2])
    assert cosine == pytest.approx([e / float(torch.tensor(4.2).exp()) for e in expected[:2]], abs=1e-6)


def test_pickscore_bad_input(pickscore_folder, tmp_path):
    from evs_aigc.metrics.pickscore import PickScore

    with pytest.raises(ConfigError, match="missing.* does not exist"):
        PickScore(weights=str(tmp_path / "missing"))
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(ConfigError, match="no preprocessor_config.json"):
        PickScore(weights=str(bare))
    with pytest.raises(ConfigError, match="unknown option 'batchsize'; did you mean 'batch_size'"):
        PickScore(weights=str(pickscore_folder), batchsize=2)
    metric = PickScore(weights=str(pickscore_folder))
    with pytest.raises(ConfigError, match="2 images but 1 prompts"):
        metric.score(aigc_tiny.images(2), ["x"])
    with pytest.raises(ConfigError, match="needs a prompt"):
        metric.score(aigc_tiny.images(1))


@pytest.mark.parametrize("name", ["pickscore", "hpsv2", "hpsv2.1", "image_reward", "lpips", "mps", "vqascore", "blipv2",
                                  "fga_blip2"])
def test_learned_metrics_are_registered(name):
    from evs_aigc.metrics.registry import metric_class

    cls = metric_class(name)
    assert cls.name == name and cls.kind == "per_image"
    assert cls.needs_reference == (name == "lpips") and cls.needs_prompt == (name != "lpips")


def test_evalscope_names_reach_the_same_metric(pickscore_folder):
    from evs_aigc.metrics.registry import make_metric

    metric = make_metric("PickScore", weights=str(pickscore_folder))
    assert metric.name == "pickscore"


def test_pickscore_scores_an_evs_eval_run(pickscore_folder, tmp_path):
    """`evs eval --datasets general_t2i --model-type image_folder` with PickScore from a local folder:
    each review's score is the reference's score of that image and prompt; a corrupt image is counted."""
    import json
    import os
    import subprocess

    images, prompts = aigc_tiny.images(3), aigc_tiny.PROMPTS[:3]
    (tmp_path / "imgs").mkdir()
    rows = []
    for i, (image, prompt) in enumerate(zip(images, prompts, strict=True)):
        image.save(tmp_path / "imgs" / f"{i}.png")
        rows.append({"id": str(i), "prompt": prompt, "image_path": f"imgs/{i}.png"})
    (tmp_path / "imgs" / "3.png").write_bytes(b"not an image")
    rows.append({"id": "3", "prompt": "broken", "image_path": "imgs/3.png"})
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = {"general_t2i": {"local_path": "prompts.jsonl", "metric_list": ["PickScore"],
                            "metric_args": {"pickscore": {"weights": str(pickscore_folder)}}}}
    evs = Path(sys.executable).parent / "evs"
    proc = subprocess.run(
        [str(evs), "eval", "--datasets", "general_t2i", "--model-type", "image_folder", "--model", "./imgs",
         "--dataset-args", json.dumps(args), "--work-dir", "out", "--no-timestamp"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    reviews = {r["sample_id"]: r for r in map(json.loads, (tmp_path / "out/reviews/imgs/general_t2i.jsonl").open())}
    expected = reference_scores(pickscore_folder, images, prompts)
    for i in range(3):
        assert reviews[str(i)]["scores"]["pickscore"] == pytest.approx(expected[i], abs=1e-5)
    assert reviews["3"]["error"]
    report = json.loads((tmp_path / "out/reports/imgs/general_t2i.json").read_text())
    assert report["num_errors"] == 1
    assert report["score"] == pytest.approx(sum(expected) / 3, abs=1e-5)
