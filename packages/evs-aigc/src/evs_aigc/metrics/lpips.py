"""LPIPS (Zhang et al., 2018), v0.1: a learned perceptual distance between an image and its reference.

Reference: ``lpips.LPIPS(net="alex", version="0.1")`` from the lpips package (richzhang/
PerceptualSimilarity), called the way EvalScope's ``LPIPSScore`` calls it: both images RGB, the
reference resized to the image's size (PIL bicubic) when they differ, pixels mapped to [-1, 1].
The distance is: scale each input (``(x - shift) / scale`` with shift (-.030, -.088, -.188) and scale
(.458, .448, .450)), take the five ReLU stages of the ImageNet AlexNet (or VGG16) trunk, normalise
each feature map over channels (``x / (||x|| + 1e-10)``), square the difference, weight the channels
with the learned 1x1 convolution of that stage, average over space and sum the stages. Lower is more
alike.

Weights: a folder with the torchvision trunk checkpoint (``alexnet-owt-7be5be79.pth`` or
``vgg16-397923af.pth``) and the lpips linear layers (``alex.pth`` / ``vgg.pth``, as in the lpips
package's ``weights/v0.1``; taken from an installed lpips package when the folder lacks them). With
no folder the trunk comes from download.pytorch.org, as torchvision fetches it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from evs_core.errors import ConfigError, require

from ._common import check_inputs, local_file, torch_device, unknown_options
from .base import ImageMetric

TRUNKS = {
    "alex": ("alexnet-owt-7be5be79.pth", "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"),
    "vgg": ("vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth"),
}
#: the lpips stages: (end index in torchvision's ``features``) for each ReLU output
STAGES = {"alex": (2, 5, 8, 10, 12), "vgg": (4, 9, 16, 23, 30)}
CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}


def _features(net: str):
    """torchvision's ``alexnet().features`` / ``vgg16().features`` layer for layer (same indices)."""
    from torch import nn

    if net == "alex":
        return nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        )
    layers, channels = [], 3
    for width in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if width == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            channels = width
    return nn.Sequential(*layers)


def _package_lin(net: str) -> Path | None:
    spec = importlib.util.find_spec("lpips")  # locates the package without importing it (it imports torchvision)
    if spec and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "v0.1" / f"{net}.pth"
        if path.is_file():
            return path
    return None


class LPIPS(ImageMetric):
    name = "lpips"
    needs_prompt = False
    needs_reference = True
    higher_is_better = False
    default_weights = None  # the torchvision trunk from download.pytorch.org + lpips' linear layers

    def __init__(self, weights: str | None = None, device: str = "cpu", **options):
        unknown_options(self.name, options, ("net", "resize"))
        super().__init__(weights, device, **options)
        torch = require("torch", f"metric {self.name}", "evs-aigc[metrics]")
        self.net = str(options.get("net", "alex"))
        if self.net not in TRUNKS:
            raise ConfigError(f"metric {self.name}: net must be one of {', '.join(TRUNKS)}, not {self.net!r}")
        self.resize = bool(options.get("resize", True))
        self._device = torch_device(self.name, device)
        trunk_file, trunk_url = TRUNKS[self.net]
        lin_path = None
        if weights not in (None, ""):
            folder = Path(str(weights)).expanduser()
            if not folder.is_dir():
                raise ConfigError(f"metric {self.name}: weights folder {str(weights)!r} does not exist")
            trunk = _load(self.name, local_file(self.name, folder, trunk_file, "the torchvision ImageNet checkpoint"))
            if (folder / f"{self.net}.pth").is_file():
                lin_path = folder / f"{self.net}.pth"
        else:
            try:
                trunk = torch.hub.load_state_dict_from_url(trunk_url, map_location="cpu", progress=False)
            except Exception as exc:
                raise ConfigError(f"metric {self.name}: cannot fetch {trunk_url}: {exc}") from exc
        lin_path = lin_path or _package_lin(self.net)
        if lin_path is None:
            raise ConfigError(
                f"metric {self.name}: no {self.net}.pth linear layers; put lpips' weights/v0.1/{self.net}.pth in "
                "the weights folder or pip install --no-deps lpips"
            )
        lin = _load(self.name, lin_path)
        self.features = _features(self.net)
        feats = {k.removeprefix("features."): v for k, v in trunk.items() if k.startswith("features.")}
        try:
            self.features.load_state_dict(feats)
            self.lins = torch.nn.ModuleList(torch.nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS[self.net])
            for i, conv in enumerate(self.lins):
                conv.weight.data.copy_(lin[f"lin{i}.model.1.weight"])
        except (RuntimeError, KeyError) as exc:
            raise ConfigError(f"metric {self.name}: weights do not fit LPIPS-{self.net}: {str(exc).splitlines()[0]}") from exc
        self.features.eval().to(self._device)
        self.lins.eval().to(self._device)
        self._shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1).to(self._device)
        self._scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1).to(self._device)

    def _stages(self, x):
        out, start = [], 0
        for end in STAGES[self.net]:
            for layer in self.features[start:end]:
                x = layer(x)
            out.append(x)
            start = end
        return out

    def distance(self, a, b):
        """LPIPS between two batches of NCHW tensors in [-1, 1]."""
        a = (a - self._shift) / self._scale
        b = (b - self._shift) / self._scale
        total = 0
        for lin, fa, fb in zip(self.lins, self._stages(a), self._stages(b), strict=True):
            fa = fa / (fa.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            fb = fb / (fb.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            total = total + lin((fa - fb) ** 2).mean(dim=(2, 3), keepdim=True)
        return total

    def score(self, images, prompts=None, references=None) -> list[float]:
        import torch
        from PIL import Image

        check_inputs(self.name, images, references=references, reference=True)
        out: list[float] = []
        for image, reference in zip(images, references, strict=True):
            image, reference = image.convert("RGB"), reference.convert("RGB")
            if image.size != reference.size:
                if not self.resize:
                    raise ConfigError(
                        f"metric {self.name}: image is {image.size[0]}x{image.size[1]} but its reference "
                        f"{reference.size[0]}x{reference.size[1]} (resize=false)"
                    )
                reference = reference.resize(image.size, resample=Image.Resampling.BICUBIC)
            a, b = _signed(image).to(self._device), _signed(reference).to(self._device)
            with torch.no_grad():
                out.append(float(self.distance(a, b).mean()))
        return out


def _load(metric: str, path: Path) -> dict:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"metric {metric}: cannot read {path.name}: {str(exc).splitlines()[0]}") from exc
    if not isinstance(state, dict):
        raise ConfigError(f"metric {metric}: {path.name} holds no state dict")
    return state


def _signed(image):
    """RGB pixels as a 1x3xHxW float32 tensor in [-1, 1] (x / 255 in float64, then 2x - 1 in float32)."""
    import numpy as np
    import torch

    array = (np.asarray(image, dtype=np.float64) / 255.0).astype(np.float32) * 2 - 1
    return torch.from_numpy(array).permute(2, 0, 1)[None]
