"""MPS, the Multi-dimensional Preference Score (Zhang et al., CVPR 2024; Kwai-Kolors/MPS), overall model.

Reference: ``infer_one_sample`` in Kwai-Kolors/MPS ``eval_overall_mps_on_hpdv2.py`` (EvalScope's
MPSModel copies it). A CLIP-H/14 (transformers layout) embeds the prompt and a *condition* text (by
default the 22 overall preference dimensions) token by token; the text tokens whose best similarity to
a condition token, divided by the largest such value, exceeds 0.3 stay visible to a 4-layer
cross-attention model (CoCa-style: multi-query cross-attention with a SwiGLU feed-forward, then
parallel rotary self-attention) run over the image tokens (the vision tower's last hidden states
through the visual projection). The score is ``exp(logit_scale) * cos(text EOS embedding,
cross-model first token)``, one image-prompt pair at a time. The reference runs in float16 on a GPU;
evs runs the same steps in float32 (on CPU, half precision convolutions are not available).

Weights: a folder with ``config.json`` (a CLIPConfig) and ``MPS_overall_state_dict.pt`` (the
ModelScope repository ``AI-ModelScope/MPS`` has both), plus the ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``
processor files there or in ``processor=``.
"""

from __future__ import annotations

from evs_core.errors import ConfigError, require

from ._common import (
    check_inputs,
    has_processor_files,
    hub_file,
    local_file,
    resolve_weights,
    torch_device,
    unknown_options,
)
from ._openclip import features
from .base import ImageMetric, offline_for

CONDITION = (
    "light, color, clarity, tone, style, ambiance, artistry, shape, face, hair, hands, limbs, structure, "
    "instance, texture, quantity, attributes, position, number, location, word, things."
)
PROCESSOR_HUB_ID = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
CHECKPOINT = "MPS_overall_state_dict.pt"


def _modules():
    """The cross-attention model's classes, built on first use (torch is imported lazily)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class BiaslessLayerNorm(nn.Module):  # a LayerNorm whose bias is a zero buffer
        def __init__(self, dim):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(dim))
            self.register_buffer("bias", torch.zeros(dim))

        def forward(self, x):
            return F.layer_norm(x, x.shape[-1:], self.weight, self.bias)

    class Residual(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, x, *args):
            return self.fn(x, *args) + x

    class Rotary(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim)))

        def forward(self, n):
            seq = torch.arange(n, device=self.inv_freq.device, dtype=self.inv_freq.dtype)
            freqs = torch.outer(seq, self.inv_freq)
            return torch.cat((freqs, freqs), dim=-1)

    def swiglu(x):
        x, gate = x.chunk(2, dim=-1)
        return F.silu(gate) * x

    def rotate(pos, t):
        half = t.shape[-1] // 2
        rotated = torch.cat((-t[..., half:], t[..., :half]), dim=-1)
        return t * pos.cos() + rotated * pos.sin()

    class SwiGLU(nn.Module):
        def forward(self, x):
            return swiglu(x)

    class CrossAttention(nn.Module):
        def __init__(self, dim, dim_head, heads, ff_inner):
            super().__init__()
            self.heads, self.scale = heads, dim_head**-0.5
            self.norm = BiaslessLayerNorm(dim)
            self.to_q = nn.Linear(dim, heads * dim_head, bias=False)
            self.to_kv = nn.Linear(dim, dim_head * 2, bias=False)
            self.to_out = nn.Linear(heads * dim_head, dim, bias=False)
            self.ff = nn.Sequential(nn.Linear(dim, ff_inner * 2, bias=False), SwiGLU(), nn.Linear(ff_inner, dim, bias=False))

        def forward(self, x, context, mask):
            b, n, _ = x.shape
            x = self.norm(x)
            q = self.to_q(x).view(b, n, self.heads, -1).transpose(1, 2) * self.scale
            k, v = self.to_kv(context).chunk(2, dim=-1)
            sim = q @ k.transpose(-1, -2).unsqueeze(1) + mask.unsqueeze(1)
            attn = (sim - sim.amax(dim=-1, keepdim=True)).softmax(dim=-1)
            out = (attn @ v.unsqueeze(1)).transpose(1, 2).reshape(b, n, -1)
            return self.to_out(out) + self.ff(x)

    class ParallelBlock(nn.Module):
        def __init__(self, dim, dim_head, heads, ff_inner):
            super().__init__()
            self.heads, self.scale = heads, dim_head**-0.5
            self.norm = BiaslessLayerNorm(dim)
            self.fused_dims = (heads * dim_head, dim_head, dim_head, ff_inner * 2)
            self.rotary_emb = Rotary(dim_head)
            self.fused_attn_ff_proj = nn.Linear(dim, sum(self.fused_dims), bias=False)
            self.attn_out = nn.Linear(heads * dim_head, dim, bias=False)
            self.ff_out = nn.Sequential(SwiGLU(), nn.Linear(ff_inner, dim, bias=False))

        def forward(self, x):
            b, n, _ = x.shape
            x = self.norm(x)
            q, k, v, ff = self.fused_attn_ff_proj(x).split(self.fused_dims, dim=-1)
            q = q.view(b, n, self.heads, -1).transpose(1, 2)
            pos = self.rotary_emb(n)
            q, k = rotate(pos, q) * self.scale, rotate(pos, k)
            sim = q @ k.transpose(-1, -2).unsqueeze(1)
            attn = (sim - sim.amax(dim=-1, keepdim=True)).softmax(dim=-1)
            out = (attn @ v.unsqueeze(1)).transpose(1, 2).reshape(b, n, -1)
            return self.attn_out(out) + self.ff_out(ff)

    class CrossModel(nn.Module):
        def __init__(self, dim, layers, dim_head, heads, ff_inner):
            super().__init__()
            self.layers = nn.ModuleList(
                nn.ModuleList([Residual(CrossAttention(dim, dim_head, heads, ff_inner)),
                               Residual(ParallelBlock(dim, dim_head, heads, ff_inner))])
                for _ in range(layers)
            )

        def forward(self, query, context, mask):
            for cross, block in self.layers:
                query = block(cross(query, context, mask))
            return query

    return CrossModel


def cross_model_from(state: dict):
    """A cross model shaped like the one in ``state`` (``cross_model.*`` keys) with its weights."""
    prefix = "cross_model.layers."
    layers = 1 + max(int(k[len(prefix) :].split(".")[0]) for k in state if k.startswith(prefix))
    inner, dim = state[f"{prefix}0.0.fn.to_q.weight"].shape
    dim_head = state[f"{prefix}0.0.fn.to_kv.weight"].shape[0] // 2
    ff_inner = state[f"{prefix}0.0.fn.ff.2.weight"].shape[1]
    model = _modules()(dim, layers, dim_head, inner // dim_head, ff_inner)
    model.load_state_dict({k.removeprefix("cross_model."): v for k, v in state.items() if k.startswith("cross_model.")})
    return model


class MPS(ImageMetric):
    name = "mps"
    default_weights = None  # no Hugging Face repository holds the state dict; give a folder or a hub id

    def __init__(self, weights: str | None = None, device: str = "cpu", **options):
        unknown_options(self.name, options, ("processor", "condition"))
        super().__init__(weights, device, **options)
        torch = require("torch", f"metric {self.name}", "evs-aigc[metrics]")
        transformers = require("transformers", f"metric {self.name}", "evs-aigc[metrics]")
        self.condition = str(options.get("condition") or CONDITION)
        self._device = torch_device(self.name, device)
        if weights in (None, ""):
            raise ConfigError(
                f"metric {self.name}: give weights: a folder with config.json and {CHECKPOINT} "
                "(ModelScope AI-ModelScope/MPS) or a hub id holding them"
            )
        folder, hub_id = resolve_weights(self.name, weights, None)
        if folder is not None:
            config_path = local_file(self.name, folder, "config.json")
            ckpt = local_file(self.name, folder, CHECKPOINT)
        else:
            config_path, ckpt = hub_file(self.name, hub_id, "config.json"), hub_file(self.name, hub_id, CHECKPOINT)
        try:
            state = torch.load(ckpt, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ConfigError(f"metric {self.name}: cannot read {ckpt.name}: {str(exc).splitlines()[0]}") from exc
        if not isinstance(state, dict) or not any(k.startswith("cross_model.") for k in state):
            raise ConfigError(f"metric {self.name}: {ckpt.name} is not an MPS state dict (no cross_model.* keys)")
        try:
            config = transformers.CLIPConfig.from_json_file(str(config_path))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"metric {self.name}: config.json is not a CLIP config: {exc}") from exc
        self.clip = transformers.CLIPModel(config)
        clip_state = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
        missing, unexpected = self.clip.load_state_dict(clip_state, strict=False)
        missing = [k for k in missing if not k.endswith("position_ids")]
        unexpected = [k for k in unexpected if not k.endswith("position_ids")]
        if missing or unexpected:
            raise ConfigError(f"metric {self.name}: the CLIP weights do not fit config.json "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        try:
            self.cross = cross_model_from(state)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"metric {self.name}: the cross model weights do not fit: {str(exc).splitlines()[0]}") from exc
        self.clip.eval().to(self._device)
        self.cross.eval().to(self._device)
        processor = options.get("processor")
        if processor is None:
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
        where = str(proc_folder) if proc_folder is not None else proc_hub
        try:
            with offline_for(str(proc_folder) if proc_folder is not None else None):
                kw = {"local_files_only": True} if proc_folder is not None else {}
                self.image_processor = transformers.CLIPImageProcessor.from_pretrained(where, **kw)
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(where, **kw)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"metric {self.name}: cannot load the CLIP processor from {where!r}: "
                              f"{str(exc).splitlines()[0]}") from exc

    def _tokens(self, text: str):
        return self.tokenizer(text, max_length=self.tokenizer.model_max_length, padding="max_length",
                              truncation=True, return_tensors="pt").input_ids.to(self._device)

    def _text(self, ids):
        out = self.clip.text_model(input_ids=ids)
        return self.clip.text_projection(out[0]), self.clip.text_projection(out[1])

    def score(self, images, prompts=None, references=None) -> list[float]:
        import torch

        check_inputs(self.name, images, prompts, prompt=True)
        with torch.no_grad():
            condition_f, _ = self._text(self._tokens(self.condition))
        out: list[float] = []
        for image, prompt in zip(images, prompts, strict=True):
            with torch.no_grad():
                pixels = self.image_processor(image.convert("RGB"), return_tensors="pt")["pixel_values"]
                text_f, text_eos = self._text(self._tokens(prompt))
                image_f = self.clip.visual_projection(self.clip.vision_model(pixel_values=pixels.to(self._device))[0])
                sim = torch.einsum("bid,bjd->bji", text_f, condition_f).max(dim=1, keepdim=True)[0]
                sim = sim / sim.max()
                mask = torch.where(sim > 0.3, 0.0, float("-inf")).repeat(1, image_f.shape[1], 1)
                image_features = self.cross(image_f, text_f, mask)[:, 0, :]
                image_features = image_features / image_features.norm(dim=-1, keepdim=True)
                text_eos = features(text_eos)
                text_eos = text_eos / text_eos.norm(dim=-1, keepdim=True)
                value = self.clip.logit_scale.exp() * (text_eos @ image_features.T)
            out.append(float(value[0, 0]))
        return out
