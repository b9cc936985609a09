"""HPSv2 / HPSv2.1 on a tiny random open_clip ViT CLIP, against the hpsv2 package's own model and tokenizer.

The reference is the hpsv2 wheel's open_clip fork (``hpsv2/src/open_clip``: model.py, transformer.py,
tokenizer.py), imported here without its package ``__init__`` (which pulls torchvision and turtle),
and the validation transform of ``hpsv2/src/open_clip/transform.py`` re-expressed with torch, then
``hpsv2.score``'s formula: ``diag(image_features @ text_features.T)``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import aigc_tiny  # noqa: E402

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from evs_core.errors import ConfigError  # noqa: E402

TINY_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 32, "head_width": 16, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 48, "heads": 3, "layers": 2},
}
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


@pytest.fixture(scope="module")
def hps_ref(tmp_path_factory):
    if importlib.util.find_spec("hpsv2") is None:
        pytest.skip("the reference needs the hpsv2 wheel: pip install --no-deps hpsv2")
    return load_reference(tmp_path_factory.mktemp("hpsv2_tokenizer"))


def load_reference(here: Path):
    """hpsv2's open_clip ``model`` and ``tokenizer`` modules (hpsv2 installed with --no-deps)."""
    spec = importlib.util.find_spec("hpsv2")
    root = Path(list(spec.submodule_search_locations)[0])
    saved = {k: sys.modules.get(k) for k in ("hpsv2", "hpsv2.src", "hpsv2.src.open_clip", "torchvision",
                                             "torchvision.ops", "torchvision.ops.misc")}
    try:
        for name, path in (("hpsv2", root), ("hpsv2.src", root / "src"), ("hpsv2.src.open_clip", root / "src/open_clip")):
            package = types.ModuleType(name)
            package.__path__ = [str(path)]
            sys.modules[name] = package
        # utils.py imports one class of torchvision that the ViT CLIP never uses
        misc = types.ModuleType("torchvision.ops.misc")
        misc.FrozenBatchNorm2d = type("FrozenBatchNorm2d", (torch.nn.Module,), {})
        sys.modules["torchvision"] = types.ModuleType("torchvision")
        sys.modules["torchvision.ops"] = types.ModuleType("torchvision.ops")
        sys.modules["torchvision.ops.misc"] = misc
        model = importlib.import_module("hpsv2.src.open_clip.model")
        # the wheel leaves out the BPE file its tokenizer reads beside itself: run the module's code
        # with __file__ in a folder holding open_clip's copy of that file
        (here / "bpe_simple_vocab_16e6.txt.gz").symlink_to(aigc_tiny.bpe_vocab())
        source = root / "src/open_clip/tokenizer.py"
        tokenizer = types.ModuleType("hpsv2_reference_tokenizer")
        tokenizer.__file__ = str(here / "tokenizer.py")
        exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), tokenizer.__dict__)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        for name in [k for k in sys.modules if k.startswith("hpsv2")]:
            sys.modules.pop(name, None)
    return model, tokenizer


def tiny_openclip(hps_ref, seed: int, cfg=TINY_CFG):
    torch.manual_seed(seed)
    model = hps_ref[0].CLIP(cfg["embed_dim"], cfg["vision_cfg"], cfg["text_cfg"], quick_gelu=False, output_dict=True).eval()
    with torch.no_grad():  # move every tensor off its init value (LayerNorm ones/zeros included)
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    return model


def hps_folder(root: Path, hps_ref, checkpoint: str, seed: int, cfg=TINY_CFG) -> tuple[Path, object]:
    model = tiny_openclip(hps_ref, seed, cfg)
    root.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict()}, root / checkpoint)
    (root / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg}))
    return root, model


def reference_preprocess(image, size=224):
    """hpsv2's preprocess_val: RGB, ToTensor, ResizeMaxSize(224, bicubic, fill 0), Normalize."""
    import numpy as np
    import torch.nn.functional as F

    pic = image.convert("RGB")
    tensor = torch.as_tensor(np.array(pic)).permute(2, 0, 1).contiguous().float().div(255)
    height, width = tensor.shape[1:]
    scale = size / float(max(height, width))
    if scale != 1.0:
        new_size = tuple(round(dim * scale) for dim in (height, width))
        tensor = F.interpolate(tensor.unsqueeze(0), size=new_size, mode="bicubic", align_corners=False,
                               antialias=True).squeeze(0)
        pad_h, pad_w = size - new_size[0], size - new_size[1]
        tensor = F.pad(tensor, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2], value=0)
    mean = torch.tensor(OPENAI_MEAN)[:, None, None]
    std = torch.tensor(OPENAI_STD)[:, None, None]
    return tensor.sub(mean).div(std)


def reference_scores(hps_ref, model, images, prompts):
    out = []
    for image, prompt in zip(images, prompts, strict=True):
        with torch.no_grad():
            pixels = reference_preprocess(image).unsqueeze(0)
            text = hps_ref[1].tokenize([prompt])
            outputs = model(pixels, text)
            logits_per_image = outputs["image_features"] @ outputs["text_features"].T
            out.append(float(torch.diagonal(logits_per_image)[0]))
    return out


def test_tokenizer_matches_open_clip(hps_ref):
    from evs_aigc.metrics._openclip import OpenCLIPTokenizer, find_bpe

    ours = OpenCLIPTokenizer(find_bpe("hpsv2", None))
    texts = aigc_tiny.PROMPTS + ["", "naïve façade — “quoted” 日本語 emoji 🙂", "it's a dog's life, isn't it?", "x" * 500]
    assert torch.equal(ours(texts), hps_ref[1].tokenize(texts))


@pytest.mark.parametrize("metric_name, checkpoint", [("hpsv2", "HPS_v2_compressed.pt"), ("hpsv2.1", "HPS_v2.1_compressed.pt")])
def test_hps_matches_reference(hps_ref, tmp_path, metric_name, checkpoint):
    from evs_aigc.metrics.hpsv2 import HPSv2, HPSv21

    folder, model = hps_folder(tmp_path / "w", hps_ref, checkpoint, seed=1 if metric_name == "hpsv2" else 2)
    images, prompts = aigc_tiny.images(5), aigc_tiny.PROMPTS[:5]
    expected = reference_scores(hps_ref, model, images, prompts)
    metric = (HPSv2 if metric_name == "hpsv2" else HPSv21)(weights=str(folder), batch_size=2)
    assert metric.name == metric_name
    got = metric.score(images, prompts)
    assert got == pytest.approx(expected, abs=1e-5)
    assert max(expected) - min(expected) > 1e-3


def test_hps_bad_input(hps_ref, tmp_path):
    from evs_aigc.metrics.hpsv2 import HPSv2, HPSv21

    with pytest.raises(ConfigError, match="does not exist"):
        HPSv2(weights=str(tmp_path / "nope"))
    folder, _ = hps_folder(tmp_path / "v2", hps_ref, "HPS_v2_compressed.pt", seed=3)
    with pytest.raises(ConfigError, match="has no HPS_v2.1_compressed.pt"):
        HPSv21(weights=str(folder))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "HPS_v2_compressed.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="cannot read HPS_v2_compressed.pt"):
        HPSv2(weights=str(tmp_path / "bad"))
    (tmp_path / "other").mkdir()
    torch.save({"state_dict": {"fc.weight": torch.zeros(2, 2)}}, tmp_path / "other" / "HPS_v2_compressed.pt")
    with pytest.raises(ConfigError, match="not an open_clip ViT CLIP"):
        HPSv2(weights=str(tmp_path / "other"))
    metric = HPSv2(weights=str(folder))
    with pytest.raises(ConfigError, match="needs a prompt"):
        metric.score(aigc_tiny.images(1))
