"""CLIPScore (Hessel et al., 2021) as torchmetrics computes it, one value per image:
``max(100 · cos(E_image, E_text), 0)`` with a transformers ``CLIPModel`` and its processor
(captions longer than the text model's positions are cut to them, as torchmetrics does).

``weights``: a local CLIP folder (``CLIPModel`` + ``CLIPProcessor`` as ``save_pretrained`` writes
them; read offline) or a hub id (default ``openai/clip-vit-large-patch14``, torchmetrics' default).
Options: ``batch_size`` (images per forward pass, default 16).
"""

from __future__ import annotations

from typing import Any

from evs_core.errors import EvsError, MissingDependencyError

from evs_aigc.metrics._openclip import features
from evs_aigc.metrics.base import ImageMetric, offline_for


def load_clip(weights: str, device: str) -> tuple[Any, Any]:
    try:
        import torch  # noqa: F401
        from transformers import CLIPModel, CLIPProcessor
    except ImportError as exc:
        raise MissingDependencyError(f"CLIP-based metrics need torch and transformers ({exc.name} is missing): "
                                     "pip install \"evs-aigc[metrics]\"") from None
    try:
        with offline_for(weights):
            model = CLIPModel.from_pretrained(weights)
            processor = CLIPProcessor.from_pretrained(weights)
    except OSError as exc:
        raise EvsError(f"cannot load CLIP weights from {weights}: {str(exc).splitlines()[0]}") from None
    return model.eval().to(device), processor


class CLIPScore(ImageMetric):
    name = "clip_score"
    default_weights = "openai/clip-vit-large-patch14"

    def __init__(self, weights: str | None = None, device: str = "cpu", batch_size: int = 16, **options: Any) -> None:
        super().__init__(weights=weights, device=device, **options)
        self.batch_size = max(1, int(batch_size))
        self.model, self.processor = load_clip(self.weights, device)

    def features(self, images: list[Any], prompts: list[str]) -> tuple[Any, Any]:
        import torch

        with torch.inference_mode():
            pix = self.processor(images=[i.convert("RGB") for i in images], return_tensors="pt")["pixel_values"]
            img = features(self.model.get_image_features(pix.to(self.device)))
            txt_in = self.processor(text=prompts, return_tensors="pt", padding=True)
            limit = self.model.config.text_config.max_position_embeddings
            ids, mask = txt_in["input_ids"][..., :limit], txt_in["attention_mask"][..., :limit]
            txt = features(self.model.get_text_features(ids.to(self.device), mask.to(self.device)))
        return img, txt

    def score(self, images, prompts=None, references=None) -> list[float]:
        self.check_inputs(images, prompts, references)
        out: list[float] = []
        for start in range(0, len(images), self.batch_size):
            img, txt = self.features(images[start:start + self.batch_size], list(prompts[start:start + self.batch_size]))
            img = img / img.norm(p=2, dim=-1, keepdim=True)
            txt = txt / txt.norm(p=2, dim=-1, keepdim=True)
            s = (100 * (img * txt).sum(dim=-1)).clamp(min=0)
            out.extend(float(v) for v in s.cpu())
        return out
