"""The image-metric contract shared by every evs-aigc metric."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import PIL.Image


class ImageMetric:
    name: str = ""  # registered name, e.g. "pickscore"
    kind: str = "per_image"  # "per_image" (one float per image) or "distribution" (one value per set)
    needs_prompt: bool = True  # text-image metrics
    needs_reference: bool = False  # psnr, ssim, lpips: a reference image per sample
    higher_is_better: bool = True
    default_weights: str | None = None  # hub id used when the user gives none

    def __init__(self, weights: str | None = None, device: str = "cpu", **options):
        self.weights = weights
        self.device = device
        self.options = options

    def score(
        self,
        images: list[PIL.Image.Image],
        prompts: list[str] | None = None,
        references: list[PIL.Image.Image] | None = None,
    ) -> list[float]:
        raise NotImplementedError
