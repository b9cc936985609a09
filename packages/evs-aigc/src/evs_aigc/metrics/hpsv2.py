"""HPSv2 and HPSv2.1 (Wu et al., 2023): open_clip ViT-H-14 fine-tuned on Human Preference Dataset v2.

Reference: ``hpsv2.score`` in the hpsv2 package (tgxs002/HPSv2, ``hpsv2/img_score.py``). The image
goes through its validation transform (``light_augmentation=True``): RGB to a [0, 1] tensor, the
longer side resized to 224 (bicubic, antialiased), zero padding to 224 x 224 centred
(``ResizeMaxSize``), OpenAI mean/std; the prompt through open_clip's tokenizer (77 tokens); the score
is the cosine of the normalised image and text features (``image_features @ text_features.T``) —
no logit scale, no factor 100.

Weights: the folder holding ``HPS_v2_compressed.pt`` (HPSv2) or ``HPS_v2.1_compressed.pt`` (HPSv2.1),
both in the hub repo ``xswu/HPSv2``; the checkpoint's ``state_dict`` is an open_clip ViT-H-14 and runs
here on ``transformers.CLIPModel`` after a key conversion. An ``open_clip_config.json`` beside it
overrides the architecture.
"""

from __future__ import annotations

from evs_core.errors import ConfigError, require

from . import _openclip
from ._common import (
    OPENAI_MEAN,
    OPENAI_STD,
    check_inputs,
    hub_file,
    local_file,
    pil_to_tensor,
    resolve_weights,
    torch_device,
    unknown_options,
)
from .base import ImageMetric


def resize_max_size(tensor, max_size: int):
    """hpsv2's ``ResizeMaxSize`` on a CHW float tensor: longer side to ``max_size``, zero-pad the rest."""
    import torch.nn.functional as F

    height, width = tensor.shape[1:]
    scale = max_size / float(max(height, width))
    if scale != 1.0:
        height, width = round(height * scale), round(width * scale)
        tensor = F.interpolate(tensor[None], size=(height, width), mode="bicubic", align_corners=False, antialias=True)[0]
    # hpsv2 pads only after a resize, so a non-square image already max_size long fails there; padded here
    pad_h, pad_w = max_size - height, max_size - width
    if pad_h or pad_w:
        tensor = F.pad(tensor, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=0.0)
    return tensor


class HPSv2(ImageMetric):
    name = "hpsv2"
    default_weights = "xswu/HPSv2"
    checkpoint = "HPS_v2_compressed.pt"

    def __init__(self, weights: str | None = None, device: str = "cpu", **options):
        unknown_options(self.name, options, ("batch_size",))
        super().__init__(weights, device, **options)
        torch = require("torch", f"metric {self.name}", "evs-aigc[metrics]")
        require("transformers", f"metric {self.name}", "evs-aigc[metrics]")
        self.batch_size = int(options.get("batch_size", 8))
        if self.batch_size < 1:
            raise ConfigError(f"metric {self.name}: batch_size must be at least 1")
        self._device = torch_device(self.name, device)
        folder, hub_id = resolve_weights(self.name, weights, self.default_weights)
        if folder is not None:
            path = local_file(self.name, folder, self.checkpoint, f"from the hub repo {self.default_weights}")
        else:
            path = hub_file(self.name, hub_id, self.checkpoint)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file
            raise ConfigError(f"metric {self.name}: cannot read {path.name}: {str(exc).splitlines()[0]}") from exc
        state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
        if not isinstance(state, dict):
            raise ConfigError(f"metric {self.name}: {path.name} holds no state_dict")
        cfg = _openclip.model_config(self.name, folder, _openclip.VIT_H_14)
        self.image_size = int(cfg["vision_cfg"].get("image_size", 224))
        self.model = _openclip.build_clip(self.name, state, cfg).to(self._device)
        bpe = _openclip.find_bpe(self.name, folder)
        self.tokenizer = _openclip.cached_tokenizer(str(bpe), int(cfg["text_cfg"].get("context_length", 77)))
        self._mean = torch.tensor(OPENAI_MEAN).view(3, 1, 1)
        self._std = torch.tensor(OPENAI_STD).view(3, 1, 1)

    def preprocess(self, image):
        tensor = resize_max_size(pil_to_tensor(image), self.image_size)
        return (tensor - self._mean) / self._std

    def score(self, images, prompts=None, references=None) -> list[float]:
        import torch

        check_inputs(self.name, images, prompts, prompt=True)
        out: list[float] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            pixels = [self.preprocess(im) for im in chunk]
            text = self.tokenizer(prompts[start : start + self.batch_size]).to(self._device)
            with torch.no_grad():
                image_features = _openclip.features(
                    self.model.get_image_features(pixel_values=torch.stack(pixels).to(self._device))
                )
                text_features = _openclip.features(self.model.get_text_features(input_ids=text))
                image_features = torch.nn.functional.normalize(image_features, dim=-1)
                text_features = torch.nn.functional.normalize(text_features, dim=-1)
                scores = (image_features * text_features).sum(dim=-1)
            out.extend(float(s) for s in scores.cpu())
        return out


class HPSv21(HPSv2):
    name = "hpsv2.1"
    checkpoint = "HPS_v2.1_compressed.pt"
