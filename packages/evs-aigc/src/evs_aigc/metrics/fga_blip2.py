"""FGA-BLIP2 (EvalMuse; Han et al., 2024): a BLIP-2 Q-Former fine-tuned for fine-grained text-image
alignment; evs reports its overall alignment score, as EvalScope's FGA_BLIP2Score does for a plain prompt.

Reference: ``FGA_Blip2.element_score`` (LAVIS-based, in t2v_metrics / EvalScope
``lavis/models/blip2_models/fga_blip2.py``) called by ``FGA_BLIP2ScoreModel.forward``. The image goes
through ``blip_image_eval`` at 364 (``Resize((364, 364), bicubic)``, OpenAI mean/std), the prompt
through ``blip_caption`` (lower case; ``. ! " ( ) * # : ; ~`` become spaces; runs of spaces collapse;
at most 50 words) and bert-base-uncased with ``[DEC]`` added, not padded. The Q-Former runs the 32
query tokens with the text over the image features (``ln_vision`` of the EVA ViT-g); the ITM head's
match probability ``softmax(logits)[:, 1]`` of every *query* position, averaged, gives the score
``4 * mean + 1`` (1 to 5).

Weights: a folder with ``fga_blip2.pth`` (the LAVIS checkpoint: ModelScope ``AI-ModelScope/FGA-BLIP2``),
converted here to ``transformers.Blip2ForImageTextRetrieval``; the tokenizer from ``tokenizer=``, else the
folder's ``vocab.txt``, else the hub id ``bert-base-uncased``. Attention heads are those of the released
model (ViT: head width 88, Q-Former: 64), so the checkpoint alone fixes the architecture.
"""

from __future__ import annotations

import math
import re

from evs_core.errors import ConfigError, require

from ._common import (
    OPENAI_MEAN,
    OPENAI_STD,
    check_inputs,
    local_file,
    pil_to_tensor,
    resolve_weights,
    torch_device,
    unknown_options,
)
from .base import ImageMetric, offline_for

CHECKPOINT = "fga_blip2.pth"


def pre_caption(caption: str, max_words: int = 50) -> str:
    """LAVIS' BlipCaptionProcessor (empty prompt)."""
    caption = re.sub(r"([.!\"()*#:;~])", " ", caption.lower())
    caption = re.sub(r"\s{2,}", " ", caption).rstrip("\n").strip(" ")
    words = caption.split(" ")
    return " ".join(words[:max_words]) if len(words) > max_words else caption


def _count(state: dict, prefix: str) -> int:
    return 1 + max(int(k[len(prefix) :].split(".")[0]) for k in state if k.startswith(prefix))


def convert(state: dict) -> tuple[dict, dict]:
    """LAVIS Blip2Qformer keys -> Blip2ForImageTextRetrieval keys, and the config it needs."""
    import torch

    out: dict = {}
    v, q = "visual_encoder.", "Qformer.bert."
    width = state[f"{v}cls_token"].shape[-1]
    patch = state[f"{v}patch_embed.proj.weight"].shape[-1]
    grid = math.isqrt(state[f"{v}pos_embed"].shape[1] - 1)
    out["vision_model.embeddings.class_embedding"] = state[f"{v}cls_token"]
    out["vision_model.embeddings.position_embedding"] = state[f"{v}pos_embed"]
    out["vision_model.embeddings.patch_embedding.weight"] = state[f"{v}patch_embed.proj.weight"]
    out["vision_model.embeddings.patch_embedding.bias"] = state[f"{v}patch_embed.proj.bias"]
    depth = _count(state, f"{v}blocks.")
    for i in range(depth):
        s, d = f"{v}blocks.{i}.", f"vision_model.encoder.layers.{i}."
        q_bias, v_bias = state[f"{s}attn.q_bias"], state[f"{s}attn.v_bias"]
        out[f"{d}self_attn.qkv.weight"] = state[f"{s}attn.qkv.weight"]
        out[f"{d}self_attn.qkv.bias"] = torch.cat((q_bias, torch.zeros_like(v_bias), v_bias))
        for a, b in (("attn.proj", "self_attn.projection"), ("norm1", "layer_norm1"), ("norm2", "layer_norm2"),
                     ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")):
            out[f"{d}{b}.weight"], out[f"{d}{b}.bias"] = state[f"{s}{a}.weight"], state[f"{s}{a}.bias"]
    out["vision_model.post_layernorm.weight"] = state["ln_vision.weight"]
    out["vision_model.post_layernorm.bias"] = state["ln_vision.bias"]
    out["query_tokens"] = state["query_tokens"]
    out["embeddings.word_embeddings.weight"] = state[f"{q}embeddings.word_embeddings.weight"]
    out["embeddings.position_embeddings.weight"] = state[f"{q}embeddings.position_embeddings.weight"]
    out["qformer.layernorm.weight"] = state[f"{q}embeddings.LayerNorm.weight"]
    out["qformer.layernorm.bias"] = state[f"{q}embeddings.LayerNorm.bias"]
    layers = _count(state, f"{q}encoder.layer.")
    cross_layers = []
    for i in range(layers):
        s, d = f"{q}encoder.layer.{i}.", f"qformer.encoder.layer.{i}."
        for k, t in state.items():
            if not k.startswith(s):
                continue
            rest = k[len(s) :]
            rest = rest.replace("attention.self.", "attention.attention.").replace("crossattention.self.",
                                                                                     "crossattention.attention.")
            out[d + rest] = t
        if f"{s}crossattention.self.query.weight" in state:
            cross_layers.append(i)
    for a, b in (("itm_head", "itm_head"), ("vision_proj", "vision_projection"), ("text_proj", "text_projection")):
        out[f"{b}.weight"], out[f"{b}.bias"] = state[f"{a}.weight"], state[f"{a}.bias"]
    hidden = state[f"{q}embeddings.word_embeddings.weight"].shape[1]
    freq = cross_layers[1] - cross_layers[0] if len(cross_layers) > 1 else max(1, layers)
    config = {
        "vision_config": dict(hidden_size=width, intermediate_size=state[f"{v}blocks.0.mlp.fc1.weight"].shape[0],
                              num_hidden_layers=depth, num_attention_heads=max(1, width // 88), image_size=grid * patch,
                              patch_size=patch, qkv_bias=True, layer_norm_eps=1e-6),
        "qformer_config": dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=max(1, hidden // 64),
                               intermediate_size=state[f"{q}encoder.layer.0.intermediate_query.dense.weight"].shape[0],
                               cross_attention_frequency=freq, encoder_hidden_size=width,
                               vocab_size=state[f"{q}embeddings.word_embeddings.weight"].shape[0],
                               max_position_embeddings=state[f"{q}embeddings.position_embeddings.weight"].shape[0],
                               use_qformer_text_input=True, layer_norm_eps=1e-12),
        "num_query_tokens": state["query_tokens"].shape[1],
        "image_text_hidden_size": state["vision_proj.weight"].shape[0],
    }
    return out, config


class FGABLIP2(ImageMetric):
    name = "fga_blip2"
    default_weights = None  # the checkpoint is on ModelScope (AI-ModelScope/FGA-BLIP2): give its folder

    def __init__(self, weights: str | None = None, device: str = "cpu", **options):
        unknown_options(self.name, options, ("tokenizer",))
        super().__init__(weights, device, **options)
        torch = require("torch", f"metric {self.name}", "evs-aigc[metrics]")
        transformers = require("transformers", f"metric {self.name}", "evs-aigc[metrics]")
        self._device = torch_device(self.name, device)
        if weights in (None, ""):
            raise ConfigError(f"metric {self.name}: give weights: a folder with {CHECKPOINT} "
                              "(ModelScope AI-ModelScope/FGA-BLIP2)")
        folder, hub_id = resolve_weights(self.name, weights, None)
        if folder is None:
            from ._common import hub_file

            path = hub_file(self.name, hub_id, CHECKPOINT)
        else:
            path = local_file(self.name, folder, CHECKPOINT)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ConfigError(f"metric {self.name}: cannot read {path.name}: {str(exc).splitlines()[0]}") from exc
        state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
        try:
            converted, cfg = convert(state)
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise ConfigError(f"metric {self.name}: {path.name} is not a LAVIS BLIP-2 Q-Former checkpoint "
                              f"(no {exc})") from exc
        self.model = transformers.Blip2ForImageTextRetrieval(transformers.Blip2Config(**cfg))
        try:
            missing, unexpected = self.model.load_state_dict(converted, strict=False)
        except RuntimeError as exc:
            raise ConfigError(f"metric {self.name}: checkpoint does not fit: {str(exc).splitlines()[-1].strip()}") from exc
        missing = [k for k in missing if not k.endswith("position_ids")]
        if missing or unexpected:
            raise ConfigError(f"metric {self.name}: checkpoint does not fit (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]})")
        self.model.vision_model.post_layernorm.eps = 1e-5  # LAVIS' ln_vision
        self.model.eval().to(self._device)
        self.image_size = cfg["vision_config"]["image_size"]
        self.tokenizer = self._tokenizer(transformers, folder, options.get("tokenizer"))
        self._mean = torch.tensor(OPENAI_MEAN).view(3, 1, 1)
        self._std = torch.tensor(OPENAI_STD).view(3, 1, 1)

    def _tokenizer(self, transformers, folder, option):
        if option is None:
            if folder is not None and (folder / "vocab.txt").is_file():
                option = str(folder)
            elif folder is not None:
                raise ConfigError(f"metric {self.name}: weights folder {str(folder)!r} has no vocab.txt; "
                                  "give tokenizer=<bert-base-uncased folder>")
            else:
                option = "bert-base-uncased"
        tok_folder, tok_hub = resolve_weights(self.name, option, None)
        try:
            with offline_for(str(tok_folder) if tok_folder is not None else None):
                kw = {"local_files_only": True} if tok_folder is not None else {}
                tokenizer = transformers.BertTokenizer.from_pretrained(
                    str(tok_folder) if tok_folder is not None else tok_hub, truncation_side="right", **kw)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"metric {self.name}: cannot load the BERT tokenizer from {option!r}: {exc}") from exc
        tokenizer.add_special_tokens({"bos_token": "[DEC]"})
        return tokenizer

    def preprocess(self, image):
        from PIL import Image

        image = image.convert("RGB").resize((self.image_size, self.image_size), resample=Image.Resampling.BICUBIC)
        return (pil_to_tensor(image) - self._mean) / self._std

    def score(self, images, prompts=None, references=None) -> list[float]:
        import torch

        check_inputs(self.name, images, prompts, prompt=True)
        out: list[float] = []
        m = self.model
        for image, prompt in zip(images, prompts, strict=True):  # one at a time: the text is not padded
            text = self.tokenizer(pre_caption(prompt), truncation=False, return_tensors="pt")
            with torch.no_grad():
                image_embeds = m.vision_model(pixel_values=self.preprocess(image)[None].to(self._device))[0]
                image_atts = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=self._device)
                queries = m.query_tokens.expand(image_embeds.shape[0], -1, -1)
                n = queries.shape[1]
                mask = torch.cat([torch.ones(queries.shape[:-1], dtype=torch.long, device=self._device),
                                  text["attention_mask"].to(self._device)], dim=1)
                embeds = m.embeddings(input_ids=text["input_ids"].to(self._device), query_embeds=queries)
                hidden = m.qformer(query_embeds=embeds, query_length=n, attention_mask=mask,
                                   encoder_hidden_states=image_embeds, encoder_attention_mask=image_atts,
                                   return_dict=True).last_hidden_state
                probs = torch.softmax(m.itm_head(hidden), dim=2)[:, :, 1]
                out.append(float(probs[:, :n].mean(dim=1)[0] * 4 + 1))
        return out
