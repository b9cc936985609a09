"""Full-reference image quality: PSNR and SSIM of a generated image against its reference.

As EvalScope computes them: both images as RGB floats in [0, 1] (``data_range`` 1), the reference
resized to the generated image's size (bicubic) when they differ (``resize: false`` refuses
instead). PSNR = 10·log10(data_range² / MSE), 100 for identical images. SSIM: an 11×11 Gaussian
window (σ = 1.5, population covariance, K1 = 0.01, K2 = 0.03) over the valid windows of each
channel, averaged, which is scikit-image's ``structural_similarity(gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1)``; an image smaller than the
window uses the global moments.
"""

from __future__ import annotations

import math
from typing import Any

from evs_aigc.metrics.base import ImageMetric


class _PairMetric(ImageMetric):
    needs_prompt = False
    needs_reference = True

    def __init__(self, weights: str | None = None, device: str = "cpu", resize: bool = True,
                 data_range: float = 1.0, **options: Any) -> None:
        super().__init__(weights=None, device=device, **options)
        if data_range <= 0:
            raise ValueError(f"{self.name}: data_range must be greater than 0")
        self.resize = bool(resize)
        self.data_range = float(data_range)

    def arrays(self, image: Any, reference: Any) -> tuple[Any, Any]:
        import numpy as np
        from PIL import Image

        image, reference = image.convert("RGB"), reference.convert("RGB")
        if image.size != reference.size:
            if not self.resize:
                raise ValueError(f"image sizes differ: generated {image.size}, reference {reference.size} "
                                 "(resize: true resizes the reference)")
            reference = reference.resize(image.size, resample=Image.Resampling.BICUBIC)
        return (np.asarray(image).astype("float64") / 255.0, np.asarray(reference).astype("float64") / 255.0)

    def score(self, images, prompts=None, references=None) -> list[float]:
        self.check_inputs(images, prompts, references)
        return [self.pair(*self.arrays(i, r)) for i, r in zip(images, references or [], strict=True)]

    def pair(self, x: Any, y: Any) -> float:
        raise NotImplementedError


class PSNR(_PairMetric):
    name = "psnr"

    def pair(self, x: Any, y: Any) -> float:
        import numpy as np

        mse = float(np.mean((x - y) ** 2))
        if mse == 0:
            return 100.0
        return float(20 * math.log10(self.data_range) - 10 * math.log10(mse))


class SSIM(_PairMetric):
    name = "ssim"

    def __init__(self, weights: str | None = None, device: str = "cpu", window_size: int = 11,
                 sigma: float = 1.5, gaussian_weights: bool = True, k1: float = 0.01, k2: float = 0.03,
                 **options: Any) -> None:
        super().__init__(weights=weights, device=device, **options)
        if window_size < 3 or window_size % 2 == 0:
            raise ValueError("ssim: window_size must be an odd integer of at least 3")
        self.window_size, self.sigma, self.gaussian = int(window_size), float(sigma), bool(gaussian_weights)
        self.c1, self.c2 = (k1 * self.data_range) ** 2, (k2 * self.data_range) ** 2

    def _ratio(self, mx, my, vx, vy, cxy):
        return ((2 * mx * my + self.c1) * (2 * cxy + self.c2)) / ((mx ** 2 + my ** 2 + self.c1) * (vx + vy + self.c2))

    def pair(self, x: Any, y: Any) -> float:
        import numpy as np

        w = self.window_size
        if min(x.shape[:2]) < w:
            mx, my = x.mean(axis=(0, 1)), y.mean(axis=(0, 1))
            vx, vy = x.var(axis=(0, 1)), y.var(axis=(0, 1))
            cxy = ((x - mx) * (y - my)).mean(axis=(0, 1))
            return float(np.mean(self._ratio(mx, my, vx, vy, cxy)))
        r = w // 2
        k = np.exp(-(np.arange(-r, r + 1, dtype="float64") ** 2) / (2 * self.sigma ** 2)) if self.gaussian \
            else np.ones(w, dtype="float64")
        k /= k.sum()  # the 2-D window is the outer product: filter rows, then columns ("valid" part only)

        from numpy.lib.stride_tricks import sliding_window_view

        def filt(a):
            a = sliding_window_view(a, w, axis=0) @ k
            return sliding_window_view(a, w, axis=1) @ k

        mx, my = filt(x), filt(y)
        vx = filt(x * x) - mx ** 2
        vy = filt(y * y) - my ** 2
        cxy = filt(x * y) - mx * my
        return float(np.mean(self._ratio(mx, my, vx, vy, cxy)))
