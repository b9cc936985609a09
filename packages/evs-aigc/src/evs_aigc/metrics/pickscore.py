"""PickScore (Kirstain et al., 2023): a CLIP-H/14 fine-tuned on Pick-a-Pic human preferences.

Reference: the scoring code in the PickScore repository's README (yuvalkirstain/PickScore). The
image goes through the ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K`` processor (shortest side to 224
bicubic, centre crop 224, OpenAI mean/std), the prompt through its CLIP tokenizer (truncated at 77
tokens); the score is ``exp(logit_scale) * cos(image_embedding, text_embedding)``. EvalScope reports
the bare cosine instead: ``logit_scale=False`` gives that.
"""

from __future__ import annotations

from evs_core.errors import ConfigError, require

from ._common import check_inputs, has_processor_files, resolve_weights, torch_device, unknown_options
from ._openclip import features
from .base import ImageMetric, offline_for

PROCESSOR_HUB_ID = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"


class PickScore(ImageMetric):
    name = "pickscore"
    default_weights = "yuvalkirstain/PickScore_v1"

    def __init__(self, weights: str | None = None, device: str = "cpu", **options):
        unknown_options(self.name, options, ("processor", "batch_size", "logit_scale"))
        super().__init__(weights, device, **options)
        self.batch_size = int(options.get("batch_size", 8))
        if self.batch_size < 1:
            raise ConfigError(f"metric {self.name}: batch_size must be at least 1")
        self.use_logit_scale = bool(options.get("logit_scale", True))
        self._device = torch_device(self.name, device)
        folder, hub_id = resolve_weights(self.name, weights, self.default_weights)
        processor = options.get("processor")
        if processor is None:
            # a weights folder that carries its processor files serves both; otherwise the
            # processor PickScore was trained with (a hub id: only online)
            if folder is not None and has_processor_files(folder):
                processor = str(folder)
            elif folder is not None:
                raise ConfigError(
                    f"metric {self.name}: weights folder {str(folder)!r} has no preprocessor_config.json "
                    "(nor processor_config.json); "
                    f"give processor=<folder of {PROCESSOR_HUB_ID}>"
                )
            else:
                processor = PROCESSOR_HUB_ID
        proc_folder, proc_hub = resolve_weights(self.name, processor, None)
        transformers = require("transformers", f"metric {self.name}", "evs-aigc[metrics]")
        self.processor = _load(transformers.AutoProcessor, self.name, proc_folder, proc_hub)
        self.model = _load(transformers.CLIPModel, self.name, folder, hub_id).eval().to(self._device)

    def score(self, images, prompts=None, references=None) -> list[float]:
        import torch

        check_inputs(self.name, images, prompts, prompt=True)
        out: list[float] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            texts = prompts[start : start + self.batch_size]
            with torch.no_grad():
                image_inputs = self.processor(images=[im.convert("RGB") for im in chunk], return_tensors="pt")
                text_inputs = self.processor(
                    text=texts, padding=True, truncation=True, max_length=77, return_tensors="pt"
                )
                image_embs = features(
                    self.model.get_image_features(pixel_values=image_inputs["pixel_values"].to(self._device))
                )
                image_embs = image_embs / torch.norm(image_embs, dim=-1, keepdim=True)
                text_embs = features(
                    self.model.get_text_features(
                        input_ids=text_inputs["input_ids"].to(self._device),
                        attention_mask=text_inputs["attention_mask"].to(self._device),
                    )
                )
                text_embs = text_embs / torch.norm(text_embs, dim=-1, keepdim=True)
                scores = (image_embs * text_embs).sum(dim=-1)
                if self.use_logit_scale:
                    scores = self.model.logit_scale.exp() * scores
            out.extend(float(s) for s in scores.cpu())
        return out


def _load(cls, metric: str, folder, hub_id):
    try:
        if folder is not None:
            with offline_for(str(folder)):
                return cls.from_pretrained(str(folder), local_files_only=True)
        return cls.from_pretrained(hub_id)
    except (OSError, ValueError) as exc:
        where = str(folder) if folder is not None else hub_id
        raise ConfigError(f"metric {metric}: cannot load {cls.__name__} from {where!r}: {str(exc).splitlines()[0]}") from exc
