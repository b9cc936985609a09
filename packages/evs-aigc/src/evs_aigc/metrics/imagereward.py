"""ImageReward (Xu et al., 2023): a BLIP ViT-L/16 + BERT cross-encoder with an MLP head trained on
human rankings of generated images.

Reference: ``ImageReward.score`` in the image-reward package (THUDM/ImageReward,
``ImageReward/ImageReward.py``), which EvalScope's ImageRewardScore copies. The image goes through
``Resize(224, bicubic)``, ``CenterCrop(224)``, RGB, OpenAI mean/std; the prompt through BLIP's
bert-base-uncased tokenizer (``[DEC]`` and ``[ENC]`` added; padded to 35 tokens, truncated). The
text encoder cross-attends to all image tokens; its ``[CLS]`` state goes through the MLP
(768-1024-128-64-16-1, no activations) and the reward is ``(mlp - 0.16717362830052426) /
1.0333394966054072``.

Weights: the folder of the hub repo ``THUDM/ImageReward`` (``ImageReward.pt`` and ``med_config.json``);
the tokenizer from ``tokenizer=`` (a bert-base-uncased folder), else the weights folder when it holds
a ``vocab.txt``, else the hub id ``bert-base-uncased``. The checkpoint's BLIP layout runs on
transformers' ``BlipVisionModel`` / ``BlipTextModel`` after a key conversion.
"""

from __future__ import annotations

import json
import math

from evs_core.errors import ConfigError, require

from ._common import (
    OPENAI_MEAN,
    OPENAI_STD,
    check_inputs,
    hub_file,
    local_file,
    pil_to_tensor,
    resize_center_crop,
    resolve_weights,
    torch_device,
    unknown_options,
)
from .base import ImageMetric, offline_for

REWARD_MEAN = 0.16717362830052426
REWARD_STD = 1.0333394966054072
MAX_LENGTH = 35


def vision_config(state: dict, prefix: str = "blip.visual_encoder."):
    """A ``BlipVisionConfig`` of the shape the BLIP ViT in ``state`` has (heads: width / 64, as ViT-B/L)."""
    from transformers import BlipVisionConfig

    width = state[f"{prefix}cls_token"].shape[-1]
    depth = 1 + max(int(k[len(prefix) :].split(".")[1]) for k in state if k.startswith(f"{prefix}blocks."))
    patch = state[f"{prefix}patch_embed.proj.weight"].shape[-1]
    grid = math.isqrt(state[f"{prefix}pos_embed"].shape[1] - 1)
    return BlipVisionConfig(
        hidden_size=width,
        intermediate_size=state[f"{prefix}blocks.0.mlp.fc1.weight"].shape[0],
        num_hidden_layers=depth,
        num_attention_heads=max(1, width // 64),
        image_size=grid * patch,
        patch_size=patch,
        hidden_act="gelu",
        layer_norm_eps=1e-6,
    )


def convert_vision(state: dict, prefix: str = "blip.visual_encoder.") -> dict:
    out = {
        "embeddings.class_embedding": state[f"{prefix}cls_token"],
        "embeddings.position_embedding": state[f"{prefix}pos_embed"],
        "embeddings.patch_embedding.weight": state[f"{prefix}patch_embed.proj.weight"],
        "embeddings.patch_embedding.bias": state[f"{prefix}patch_embed.proj.bias"],
        "post_layernorm.weight": state[f"{prefix}norm.weight"],
        "post_layernorm.bias": state[f"{prefix}norm.bias"],
    }
    names = {"norm1": "layer_norm1", "attn.qkv": "self_attn.qkv", "attn.proj": "self_attn.projection",
             "norm2": "layer_norm2", "mlp.fc1": "mlp.fc1", "mlp.fc2": "mlp.fc2"}
    blocks = {int(k[len(prefix) :].split(".")[1]) for k in state if k.startswith(f"{prefix}blocks.")}
    for i in sorted(blocks):
        for src, dst in names.items():
            for kind in ("weight", "bias"):
                out[f"encoder.layers.{i}.{dst}.{kind}"] = state[f"{prefix}blocks.{i}.{src}.{kind}"]
    return out


def text_config(med: dict, encoder_width: int):
    """A ``BlipTextConfig`` from BLIP's med_config.json (a BERT config with cross-attention)."""
    from transformers import BlipTextConfig

    return BlipTextConfig(
        vocab_size=med.get("vocab_size", 30524),
        hidden_size=med.get("hidden_size", 768),
        encoder_hidden_size=encoder_width,
        intermediate_size=med.get("intermediate_size", 3072),
        num_hidden_layers=med.get("num_hidden_layers", 12),
        num_attention_heads=med.get("num_attention_heads", 12),
        max_position_embeddings=med.get("max_position_embeddings", 512),
        hidden_act=med.get("hidden_act", "gelu"),
        layer_norm_eps=med.get("layer_norm_eps", 1e-12),
        pad_token_id=med.get("pad_token_id", 0),
        is_decoder=True,  # transformers builds the cross-attention layers only for a decoder config
    )


def load_strict(metric: str, model, state: dict, what: str) -> None:
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    unexpected = [k for k in unexpected if not k.endswith("position_ids")]  # a buffer older BERT code saved
    if missing or unexpected:
        raise ConfigError(f"metric {metric}: {what} does not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")


class ImageReward(ImageMetric):
    name = "image_reward"
    default_weights = "THUDM/ImageReward"

    def __init__(self, weights: str | None = None, device: str = "cpu", **options):
        unknown_options(self.name, options, ("tokenizer", "batch_size"))
        super().__init__(weights, device, **options)
        torch = require("torch", f"metric {self.name}", "evs-aigc[metrics]")
        transformers = require("transformers", f"metric {self.name}", "evs-aigc[metrics]")
        self.batch_size = int(options.get("batch_size", 8))
        if self.batch_size < 1:
            raise ConfigError(f"metric {self.name}: batch_size must be at least 1")
        self._device = torch_device(self.name, device)
        folder, hub_id = resolve_weights(self.name, weights, self.default_weights)
        if folder is not None:
            ckpt = local_file(self.name, folder, "ImageReward.pt", f"from the hub repo {self.default_weights}")
            med_path = local_file(self.name, folder, "med_config.json", f"from the hub repo {self.default_weights}")
        else:
            ckpt, med_path = hub_file(self.name, hub_id, "ImageReward.pt"), hub_file(self.name, hub_id, "med_config.json")
        try:
            med = json.loads(med_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"metric {self.name}: med_config.json is not valid JSON: {exc}") from exc
        try:
            state = torch.load(ckpt, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ConfigError(f"metric {self.name}: cannot read {ckpt.name}: {str(exc).splitlines()[0]}") from exc
        if not isinstance(state, dict) or "blip.visual_encoder.cls_token" not in state:
            raise ConfigError(f"metric {self.name}: {ckpt.name} is not an ImageReward checkpoint")
        vcfg = vision_config(state)
        self.image_size = vcfg.image_size
        self.vision = transformers.BlipVisionModel(vcfg)
        load_strict(self.name, self.vision, convert_vision(state), "the vision encoder")
        self.text = transformers.BlipTextModel(text_config(med, vcfg.hidden_size), add_pooling_layer=False)
        text_state = {k.removeprefix("blip.text_encoder."): v for k, v in state.items()
                      if k.startswith("blip.text_encoder.") and ".pooler." not in k}
        load_strict(self.name, self.text, text_state, "the text encoder")
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(self.text.config.hidden_size, 1024), torch.nn.Linear(1024, 128),
            torch.nn.Linear(128, 64), torch.nn.Linear(64, 16), torch.nn.Linear(16, 1),
        )
        # the reference's Sequential has dropouts at 1, 3 and 5 (no-ops in eval): its Linear layers are 0, 2, 4, 6, 7
        mlp_state = {}
        for mine, theirs in enumerate((0, 2, 4, 6, 7)):
            for kind in ("weight", "bias"):
                key = f"mlp.layers.{theirs}.{kind}"
                if key not in state:
                    raise ConfigError(f"metric {self.name}: {ckpt.name} has no {key}")
                mlp_state[f"{mine}.{kind}"] = state[key]
        self.mlp.load_state_dict(mlp_state)
        for module in (self.vision, self.text, self.mlp):
            module.eval().to(self._device)
        self.tokenizer = self._tokenizer(transformers, folder, options.get("tokenizer"))
        self._mean = torch.tensor(OPENAI_MEAN).view(3, 1, 1)
        self._std = torch.tensor(OPENAI_STD).view(3, 1, 1)

    def _tokenizer(self, transformers, folder, option):
        if option is None:
            option = str(folder) if folder is not None and (folder / "vocab.txt").is_file() else None
            if option is None and folder is not None:
                raise ConfigError(
                    f"metric {self.name}: weights folder {str(folder)!r} has no vocab.txt; "
                    "give tokenizer=<bert-base-uncased folder>"
                )
            option = option or "bert-base-uncased"
        tok_folder, tok_hub = resolve_weights(self.name, option, None)
        try:
            if tok_folder is not None:
                with offline_for(str(tok_folder)):
                    tokenizer = transformers.BertTokenizer.from_pretrained(str(tok_folder), local_files_only=True)
            else:
                tokenizer = transformers.BertTokenizer.from_pretrained(tok_hub)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"metric {self.name}: cannot load the BERT tokenizer from {option!r}: {exc}") from exc
        tokenizer.add_special_tokens({"bos_token": "[DEC]"})
        tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
        return tokenizer

    def preprocess(self, image):
        tensor = pil_to_tensor(resize_center_crop(image, self.image_size))
        return (tensor - self._mean) / self._std

    def score(self, images, prompts=None, references=None) -> list[float]:
        import torch

        check_inputs(self.name, images, prompts, prompt=True)
        out: list[float] = []
        for start in range(0, len(images), self.batch_size):
            pixels = torch.stack([self.preprocess(im) for im in images[start : start + self.batch_size]])
            text = self.tokenizer(
                prompts[start : start + self.batch_size], padding="max_length", truncation=True,
                max_length=MAX_LENGTH, return_tensors="pt",
            )
            with torch.no_grad():
                image_embeds = self.vision(pixel_values=pixels.to(self._device)).last_hidden_state
                image_atts = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=self._device)
                hidden = self.text(
                    input_ids=text["input_ids"].to(self._device),
                    attention_mask=text["attention_mask"].to(self._device),
                    encoder_hidden_states=image_embeds,
                    encoder_attention_mask=image_atts,
                    is_decoder=False,
                    use_cache=False,
                    return_dict=True,
                ).last_hidden_state
                rewards = (self.mlp(hidden[:, 0, :].float()) - REWARD_MEAN) / REWARD_STD
            out.extend(float(r) for r in rewards[:, 0].cpu())
        return out
