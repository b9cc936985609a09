"""BLIPv2Score: the image-text matching probability of BLIP-2's Q-Former (Li et al., 2023), as
t2v_metrics' ``blip2-itm`` ITMScore computes it (EvalScope's BLIPv2Score).

Reference: ``BLIP2ITMScoreModel.forward`` of t2v_metrics on LAVIS' ``blip2`` ``pretrain`` model (EVA
ViT-g/14 at 224, 32 query tokens). The image is resized to 224 x 224 (bicubic, no crop) and normalised
with the OpenAI mean/std; the prompt goes through bert-base-uncased (``[DEC]`` added) padded to 35
tokens, truncated. The query tokens and the text attend to each other in the Q-Former, the queries
also to the image features (``ln_vision`` of the ViT output); the ITM head's two logits, averaged over
the query positions, give ``softmax(logits)[1]``, between 0 and 1. LAVIS runs in float16 on a GPU;
evs in float32.

Weights: a ``transformers`` ``Blip2ForImageTextRetrieval`` folder (hub ``Salesforce/blip2-itm-vit-g``,
the LAVIS checkpoint converted, with its tokenizer). LAVIS' ``ln_vision`` uses LayerNorm's default
epsilon 1e-5 where transformers reuses the ViT blocks' 1e-6; evs sets 1e-5, as LAVIS computes.
"""

from __future__ import annotations

from evs_core.errors import ConfigError, require

from ._common import (
    OPENAI_MEAN,
    OPENAI_STD,
    check_inputs,
    pil_to_tensor,
    resolve_weights,
    torch_device,
    unknown_options,
)
from .base import ImageMetric, offline_for

MAX_LENGTH = 35


class BLIPv2Score(ImageMetric):
    name = "blipv2"
    default_weights = "Salesforce/blip2-itm-vit-g"

    def __init__(self, weights: str | None = None, device: str = "cpu", **options):
        unknown_options(self.name, options, ("tokenizer", "image_size", "batch_size"))
        super().__init__(weights, device, **options)
        torch = require("torch", f"metric {self.name}", "evs-aigc[metrics]")
        transformers = require("transformers", f"metric {self.name}", "evs-aigc[metrics]")
        self.batch_size = int(options.get("batch_size", 8))
        if self.batch_size < 1:
            raise ConfigError(f"metric {self.name}: batch_size must be at least 1")
        self._device = torch_device(self.name, device)
        folder, hub_id = resolve_weights(self.name, weights, self.default_weights)
        where = str(folder) if folder is not None else hub_id
        kw = {"local_files_only": True} if folder is not None else {}
        tok_where = options.get("tokenizer") or where
        tok_folder, tok_hub = resolve_weights(self.name, tok_where, None)
        tok_kw = {"local_files_only": True} if tok_folder is not None else {}
        try:
            with offline_for(str(folder) if folder is not None else None):
                self.model = transformers.Blip2ForImageTextRetrieval.from_pretrained(where, **kw)
            with offline_for(str(tok_folder) if tok_folder is not None else None):
                self.tokenizer = transformers.BertTokenizer.from_pretrained(
                    str(tok_folder) if tok_folder is not None else tok_hub, truncation_side="right", **tok_kw
                )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"metric {self.name}: cannot load BLIP-2 ITM from {where!r}: "
                              f"{str(exc).splitlines()[0]}") from exc
        if self.tokenizer.bos_token != "[DEC]":
            self.tokenizer.add_special_tokens({"bos_token": "[DEC]"})
        self.model.vision_model.post_layernorm.eps = 1e-5  # LAVIS' ln_vision
        self.model.eval().to(self._device)
        self.image_size = int(options.get("image_size", self.model.config.vision_config.image_size))
        self._mean = torch.tensor(OPENAI_MEAN).view(3, 1, 1)
        self._std = torch.tensor(OPENAI_STD).view(3, 1, 1)

    def preprocess(self, image):
        from PIL import Image

        image = image.convert("RGB").resize((self.image_size, self.image_size), resample=Image.Resampling.BICUBIC)
        return (pil_to_tensor(image) - self._mean) / self._std

    def score(self, images, prompts=None, references=None) -> list[float]:
        import torch

        check_inputs(self.name, images, prompts, prompt=True)
        out: list[float] = []
        for start in range(0, len(images), self.batch_size):
            pixels = torch.stack([self.preprocess(im) for im in images[start : start + self.batch_size]])
            text = self.tokenizer(prompts[start : start + self.batch_size], padding="max_length", truncation=True,
                                  max_length=MAX_LENGTH, return_tensors="pt")
            with torch.no_grad():
                logits = self.model(
                    pixel_values=pixels.to(self._device), input_ids=text["input_ids"].to(self._device),
                    attention_mask=text["attention_mask"].to(self._device), use_image_text_matching_head=True,
                    return_dict=True,
                ).logits_per_image
            out.extend(float(p) for p in torch.softmax(logits, dim=-1)[:, 1].cpu())
        return out
