"""MPS on a tiny random CLIP + cross model, against Kwai-Kolors/MPS's published scoring code.

MPS is not on PyPI: the reference here re-expresses, step for step, ``trainer/models/cross_modeling.py``
(the CoCa-style ``Cross_model``, einsum for einsum, ``rearrange`` written out), the ``XCLIPModel``
feature functions of ``trainer/models/clip_model.py`` and ``infer_one_sample`` of
``eval_overall_mps_on_hpdv2.py`` (in float32: the published code casts to float16 for a GPU).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import aigc_tiny  # noqa: E402

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from evs_core.errors import ConfigError  # noqa: E402

nn = torch.nn
F = torch.nn.functional
einsum = torch.einsum
CONDITION = ("light, color, clarity, tone, style, ambiance, artistry, shape, face, hair, hands, limbs, structure, "
             "instance, texture, quantity, attributes, position, number, location, word, things.")


class LayerNorm(nn.Module):
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

    def forward(self, x, *args, **kwargs):
        return self.fn(x, *args, **kwargs) + x


class RotaryEmbedding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim)))

    def forward(self, max_seq_len, *, device):
        seq = torch.arange(max_seq_len, device=device, dtype=self.inv_freq.dtype)
        freqs = einsum("i , j -> i j", seq, self.inv_freq)
        return torch.cat((freqs, freqs), dim=-1)


def rotate_half(x):
    x = x.reshape(*x.shape[:-1], 2, x.shape[-1] // 2)  # '... (j d) -> ... j d', j=2
    x1, x2 = x.unbind(dim=-2)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(pos, t):
    return (t * pos.cos()) + (rotate_half(t) * pos.sin())


class SwiGLU(nn.Module):
    def forward(self, x):
        x, gate = x.chunk(2, dim=-1)
        return F.silu(gate) * x


def split_heads(t, h):  # 'b n (h d) -> b h n d'
    b, n, _ = t.shape
    return t.reshape(b, n, h, -1).permute(0, 2, 1, 3)


def merge_heads(t):  # 'b h n d -> b n (h d)'
    b, h, n, d = t.shape
    return t.permute(0, 2, 1, 3).reshape(b, n, h * d)


class ParallelTransformerBlock(nn.Module):
    def __init__(self, dim, dim_head=64, heads=8, ff_mult=4):
        super().__init__()
        self.norm = LayerNorm(dim)
        attn_inner_dim, ff_inner_dim = dim_head * heads, dim * ff_mult
        self.fused_dims = (attn_inner_dim, dim_head, dim_head, (ff_inner_dim * 2))
        self.heads, self.scale = heads, dim_head**-0.5
        self.rotary_emb = RotaryEmbedding(dim_head)
        self.fused_attn_ff_proj = nn.Linear(dim, sum(self.fused_dims), bias=False)
        self.attn_out = nn.Linear(attn_inner_dim, dim, bias=False)
        self.ff_out = nn.Sequential(SwiGLU(), nn.Linear(ff_inner_dim, dim, bias=False))

    def forward(self, x, attn_mask=None):
        n, device, h = x.shape[1], x.device, self.heads
        x = self.norm(x)
        q, k, v, ff = self.fused_attn_ff_proj(x).split(self.fused_dims, dim=-1)
        q = split_heads(q, h)
        positions = self.rotary_emb(n, device=device)
        q, k = map(lambda t: apply_rotary_pos_emb(positions, t), (q, k))
        q = q * self.scale
        sim = einsum("b h i d, b j d -> b h i j", q, k)
        sim = sim - sim.amax(dim=-1, keepdim=True).detach()
        attn = sim.softmax(dim=-1)
        out = einsum("b h i j, b j d -> b h i d", attn, v)
        return self.attn_out(merge_heads(out)) + self.ff_out(ff)


class CrossAttention(nn.Module):
    def __init__(self, dim, *, dim_head=64, heads=12, ff_mult=4):
        super().__init__()
        self.heads, self.scale = heads, dim_head**-0.5
        inner_dim = heads * dim_head
        self.norm = LayerNorm(dim)
        self.context_norm = nn.Identity()
        self.to_q = nn.Linear(dim, inner_dim, bias=False)
        self.to_kv = nn.Linear(dim, dim_head * 2, bias=False)
        self.to_out = nn.Linear(inner_dim, dim, bias=False)
        ff_inner_dim = ff_mult * dim
        self.ff = nn.Sequential(nn.Linear(dim, ff_inner_dim * 2, bias=False), SwiGLU(), nn.Linear(ff_inner_dim, dim, bias=False))

    def forward(self, x, context, mask):
        x = self.norm(x)
        context = self.context_norm(context)
        q = split_heads(self.to_q(x), self.heads) * self.scale
        k, v = self.to_kv(context).chunk(2, dim=-1)
        sim = einsum("b h i d, b j d -> b h i j", q, k)
        mask = mask.unsqueeze(1).repeat(1, self.heads, 1, 1)
        sim = sim + mask
        sim = sim - sim.amax(dim=-1, keepdim=True)
        attn = sim.softmax(dim=-1)
        out = self.to_out(merge_heads(einsum("b h i j, b j d -> b h i d", attn, v)))
        return out + self.ff(x)


class Cross_model(nn.Module):
    def __init__(self, dim=512, layer_num=4, dim_head=64, heads=8, ff_mult=4):
        super().__init__()
        self.layers = nn.ModuleList([
            nn.ModuleList([Residual(CrossAttention(dim=dim, dim_head=dim_head, heads=heads, ff_mult=ff_mult)),
                           Residual(ParallelTransformerBlock(dim=dim, dim_head=dim_head, heads=heads, ff_mult=ff_mult))])
            for _ in range(layer_num)
        ])

    def forward(self, query_tokens, context_tokens, mask):
        for cross_attn, self_attn_ff in self.layers:
            query_tokens = cross_attn(query_tokens, context_tokens, mask)
            query_tokens = self_attn_ff(query_tokens)
        return query_tokens


class XCLIPModel(transformers.CLIPModel):
    def get_text_features(self, input_ids=None):
        text_outputs = self.text_model(input_ids=input_ids)
        return self.text_projection(text_outputs[0]), self.text_projection(text_outputs[1])

    def get_image_features(self, pixel_values=None):
        return self.visual_projection(self.vision_model(pixel_values=pixel_values)[0])


class MPSModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.model = XCLIPModel(config)
        self.cross_model = Cross_model(dim=config.projection_dim, layer_num=2, dim_head=8, heads=2)

    @property
    def logit_scale(self):
        return self.model.logit_scale


def infer_one_sample(image, prompt, clip_model, clip_processor, tokenizer, condition=CONDITION):
    def _tokenize(caption):
        return tokenizer(caption, max_length=tokenizer.model_max_length, padding="max_length", truncation=True,
                         return_tensors="pt").input_ids

    image_input = clip_processor(image.convert("RGB"), return_tensors="pt")["pixel_values"]
    text_input = _tokenize(prompt)
    condition_batch = _tokenize(condition).repeat(text_input.shape[0], 1)
    with torch.no_grad():
        text_f, text_features = clip_model.model.get_text_features(text_input)
        image_f = clip_model.model.get_image_features(image_input)
        condition_f, _ = clip_model.model.get_text_features(condition_batch)
        sim_text_condition = einsum("b i d, b j d -> b j i", text_f, condition_f)
        sim_text_condition = torch.max(sim_text_condition, dim=1, keepdim=True)[0]
        sim_text_condition = sim_text_condition / sim_text_condition.max()
        mask = torch.where(sim_text_condition > 0.3, 0, float("-inf"))
        mask = mask.repeat(1, image_f.shape[1], 1)
        image_features = clip_model.cross_model(image_f, text_f, mask)[:, 0, :]
        image_features = image_features / image_features.norm(dim=-1, keepdim=True)
        text_features = text_features / text_features.norm(dim=-1, keepdim=True)
        image_score = clip_model.logit_scale.exp() * text_features @ image_features.T
    return image_score[0]


@pytest.fixture(scope="module")
def mps_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mps")
    torch.manual_seed(0)
    config = aigc_tiny.clip_config(projection_dim=16)
    model = MPSModel(config).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.05)
        model.model.logit_scale.fill_(2.5)
    config.to_json_file(str(folder / "config.json"))
    torch.save(model.state_dict(), folder / "MPS_overall_state_dict.pt")
    aigc_tiny.write_clip_tokenizer(folder)
    tokenizer = transformers.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    image_processor = transformers.CLIPImageProcessor(
        size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}, resample=3,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    transformers.CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder, model


def test_mps_matches_reference(mps_folder):
    from evs_aigc.metrics.mps import MPS

    folder, model = mps_folder
    processor = transformers.CLIPImageProcessor.from_pretrained(str(folder))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    images, prompts = aigc_tiny.images(4), aigc_tiny.PROMPTS[:4]
    expected = [float(infer_one_sample(im, p, model, processor, tokenizer)[0]) for im, p in zip(images, prompts, strict=True)]
    got = MPS(weights=str(folder)).score(images, prompts)
    assert got == pytest.approx(expected, abs=1e-5)
    assert max(expected) - min(expected) > 1e-3
    # the condition text changes which prompt tokens the image attends to
    other = MPS(weights=str(folder), condition="a completely different condition").score(images[:1], prompts[:1])
    expected_other = float(infer_one_sample(images[0], prompts[0], model, processor, tokenizer,
                                            condition="a completely different condition")[0])
    assert other == pytest.approx([expected_other], abs=1e-5)


def test_mps_bad_input(mps_folder, tmp_path):
    from evs_aigc.metrics.mps import MPS

    with pytest.raises(ConfigError, match="give weights"):
        MPS()
    with pytest.raises(ConfigError, match="does not exist"):
        MPS(weights=str(tmp_path / "nope"))
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "config.json").write_text((mps_folder[0] / "config.json").read_text())
    with pytest.raises(ConfigError, match="has no MPS_overall_state_dict.pt"):
        MPS(weights=str(tmp_path / "w"))
    torch.save({"model.logit_scale": torch.zeros(())}, tmp_path / "w" / "MPS_overall_state_dict.pt")
    with pytest.raises(ConfigError, match="not an MPS state dict"):
        MPS(weights=str(tmp_path / "w"))
