"""LPIPS against the lpips package's own LPIPS module, on a random ImageNet-shaped trunk.

The reference is ``lpips.LPIPS(net=..., version="0.1")`` from the lpips wheel (installed with
--no-deps) with its real calibrated linear layers; torchvision (which does not import beside the CPU
torch here) is replaced by a stand-in whose ``alexnet()`` / ``vgg16()`` return a randomly initialised
``features`` trunk of torchvision's layout, also saved as the trunk checkpoint evs loads. Inputs are
prepared as EvalScope's LPIPSScore does.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import aigc_tiny  # noqa: E402

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from evs_core.errors import ConfigError  # noqa: E402
from PIL import Image  # noqa: E402

TRUNK_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}


def tv_alexnet_features():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
    )


def tv_vgg16_features():
    nn = torch.nn
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers, in_channels = [], 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


@pytest.fixture(scope="module")
def lpips_ref():
    if importlib.util.find_spec("lpips") is None:
        pytest.skip("the reference needs the lpips wheel: pip install --no-deps lpips")
    return load_reference()


def load_reference():
    """lpips.LPIPS for both trunks, the random trunks it holds, and the lpips package folder."""
    trunks = {}

    def make(builder, key):
        def factory(pretrained=True, **_):
            return types.SimpleNamespace(features=trunks[key])
        return factory

    for key, builder, seed in (("alex", tv_alexnet_features, 0), ("vgg", tv_vgg16_features, 1)):
        torch.manual_seed(seed)
        trunks[key] = builder()
    models = types.ModuleType("torchvision.models")
    models.alexnet = make(tv_alexnet_features, "alex")
    models.vgg16 = make(tv_vgg16_features, "vgg")
    tv = types.ModuleType("torchvision")
    tv.models = models
    saved = {k: sys.modules.get(k) for k in ("torchvision", "torchvision.models")}
    sys.modules["torchvision"], sys.modules["torchvision.models"] = tv, models
    try:
        for name in [k for k in sys.modules if k == "lpips" or k.startswith("lpips.")]:
            sys.modules.pop(name)
        lpips = importlib.import_module("lpips")
        refs = {key: lpips.LPIPS(net=key, version="0.1", verbose=False).eval() for key in trunks}
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return refs, trunks, Path(list(importlib.util.find_spec("lpips").submodule_search_locations)[0])


def weights_folder(root: Path, lpips_ref, net: str, with_lin: bool = True) -> Path:
    _, trunks, package = lpips_ref
    root.mkdir(parents=True, exist_ok=True)
    state = {f"features.{k}": v for k, v in trunks[net].state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(4, 4)  # a full torchvision checkpoint also holds the classifier
    torch.save(state, root / TRUNK_FILES[net])
    if with_lin:
        shutil.copy(package / "weights" / "v0.1" / f"{net}.pth", root / f"{net}.pth")
    return root


def evalscope_inputs(prediction, reference):
    """EvalScope's ImagePairMixin + LPIPSScore._pil_to_tensor."""
    prediction, reference = prediction.convert("RGB"), reference.convert("RGB")
    if prediction.size != reference.size:
        reference = reference.resize(prediction.size, resample=Image.Resampling.BICUBIC)

    def to_tensor(image):
        array = (np.asarray(image).astype("float64") / 255.0).astype("float32") * 2 - 1
        return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)

    return to_tensor(prediction), to_tensor(reference)


def pairs():
    images = aigc_tiny.images(6)
    # a noisy copy, an unrelated image, a differently sized reference (resized), the image itself
    noisy = Image.fromarray(np.clip(np.asarray(images[0]).astype(int) + 25, 0, 255).astype("uint8"))
    return [images[0], images[1], images[2], images[3]], [noisy, images[5].resize((300, 200)), images[4], images[3]]


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_matches_reference(lpips_ref, tmp_path, net):
    from evs_aigc.metrics.lpips import LPIPS

    refs = lpips_ref[0]
    images, references = pairs()
    expected = []
    for image, reference in zip(images, references, strict=True):
        with torch.no_grad():
            expected.append(float(refs[net](*evalscope_inputs(image, reference)).mean()))
    metric = LPIPS(weights=str(weights_folder(tmp_path / net, lpips_ref, net)), net=net)
    assert (metric.needs_reference, metric.needs_prompt, metric.higher_is_better) == (True, False, False)
    got = metric.score(images, references=references)
    assert got == pytest.approx(expected, abs=1e-5)
    assert got[3] == pytest.approx(0.0, abs=1e-7) and min(expected[:3]) > 1e-4


def test_lpips_linear_layers_from_the_package(lpips_ref, tmp_path):
    from evs_aigc.metrics.lpips import LPIPS

    images, references = pairs()
    with_lin = LPIPS(weights=str(weights_folder(tmp_path / "a", lpips_ref, "alex")))
    without = LPIPS(weights=str(weights_folder(tmp_path / "b", lpips_ref, "alex", with_lin=False)))
    assert without.score(images[:2], references=references[:2]) == with_lin.score(images[:2], references=references[:2])


def test_lpips_bad_input(lpips_ref, tmp_path):
    from evs_aigc.metrics.lpips import LPIPS

    with pytest.raises(ConfigError, match="does not exist"):
        LPIPS(weights=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="has no alexnet-owt-7be5be79.pth"):
        LPIPS(weights=str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="net must be one of alex, vgg"):
        LPIPS(weights=str(tmp_path / "empty"), net="resnet")
    folder = weights_folder(tmp_path / "a", lpips_ref, "alex")
    torch.save({"features.0.weight": torch.zeros(1)}, folder / "vgg16-397923af.pth")
    with pytest.raises(ConfigError, match="do not fit LPIPS-vgg"):
        LPIPS(weights=str(folder), net="vgg")
    metric = LPIPS(weights=str(folder), resize=False)
    images, references = pairs()
    with pytest.raises(ConfigError, match="needs a reference image"):
        metric.score(images)
    with pytest.raises(ConfigError, match=r"180x333 but its reference 97x150 \(resize=false\)"):
        metric.score(images[2:3], references=references[2:3])
