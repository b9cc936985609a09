"""FGA-BLIP2 on a tiny random LAVIS-layout checkpoint, against EvalMuse's element_score re-expressed.

LAVIS does not install beside the CPU torch here. The test writes a random checkpoint in LAVIS'
``Blip2Qformer`` layout (``visual_encoder.blocks.N.attn.q_bias`` …, ``ln_vision``, ``Qformer.bert.*``,
``query_tokens``, ``itm_head``, plus the keys FGA-BLIP2 carries but does not score with), and the
reference computes ``FGA_Blip2.element_score`` from those tensors: EVA ViT, ``ln_vision`` (eps 1e-5),
the Q-Former over the 32 queries and the unpadded caption, per-token ITM probabilities, queries averaged,
``* 4 + 1``; with ``blip_image_eval`` (364, bicubic) and ``blip_caption`` preprocessing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import aigc_tiny  # noqa: E402

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from evs_core.errors import ConfigError  # noqa: E402
from PIL import Image  # noqa: E402
from test_metric_imagereward import write_bert_vocab  # noqa: E402

F = torch.nn.functional
VW, VHEADS, VDEPTH, PATCH, SIZE = 176, 2, 2, 52, 364   # ViT width 176 = 2 heads of 88, as EVA ViT-g's head width
QW, QHEADS, QLAYERS, NQ = 128, 2, 3, 4                  # Q-Former heads of 64, cross-attention in layers 0 and 2


def lavis_checkpoint(vocab: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=0.05):
        return torch.randn(*shape, generator=g) * scale

    def ln(prefix, dim):
        return {f"{prefix}.weight": 1 + r(dim), f"{prefix}.bias": r(dim)}

    def lin(prefix, n_out, n_in, scale=0.1):
        return {f"{prefix}.weight": r(n_out, n_in, scale=scale), f"{prefix}.bias": r(n_out)}

    s: dict = {"visual_encoder.cls_token": r(1, 1, VW), "visual_encoder.pos_embed": r(1, (SIZE // PATCH) ** 2 + 1, VW),
               "visual_encoder.patch_embed.proj.weight": r(VW, 3, PATCH, PATCH, scale=0.01),
               "visual_encoder.patch_embed.proj.bias": r(VW)}
    for i in range(VDEPTH):
        b = f"visual_encoder.blocks.{i}"
        s.update(ln(f"{b}.norm1", VW) | ln(f"{b}.norm2", VW) | lin(f"{b}.attn.proj", VW, VW)
                 | lin(f"{b}.mlp.fc1", 2 * VW, VW) | lin(f"{b}.mlp.fc2", VW, 2 * VW))
        s[f"{b}.attn.qkv.weight"] = r(3 * VW, VW, scale=0.1)
        s[f"{b}.attn.q_bias"], s[f"{b}.attn.v_bias"] = r(VW), r(VW)
    s.update(ln("ln_vision", VW))
    s["query_tokens"] = r(1, NQ, QW, scale=0.5)
    q = "Qformer.bert"
    s[f"{q}.embeddings.word_embeddings.weight"] = r(vocab, QW, scale=0.5)
    s[f"{q}.embeddings.position_embeddings.weight"] = r(64, QW, scale=0.5)
    s[f"{q}.embeddings.position_ids"] = torch.arange(64)[None]
    s.update(ln(f"{q}.embeddings.LayerNorm", QW))
    for i in range(QLAYERS):
        b = f"{q}.encoder.layer.{i}"
        names = ["attention"] + (["crossattention"] if i % 2 == 0 else [])
        for name in names:
            n_in = VW if name == "crossattention" else QW
            s.update(lin(f"{b}.{name}.self.query", QW, QW) | lin(f"{b}.{name}.self.key", QW, n_in)
                     | lin(f"{b}.{name}.self.value", QW, n_in) | lin(f"{b}.{name}.output.dense", QW, QW)
                     | ln(f"{b}.{name}.output.LayerNorm", QW))
        for suffix in ("", "_query"):
            s.update(lin(f"{b}.intermediate{suffix}.dense", 2 * QW, QW) | lin(f"{b}.output{suffix}.dense", QW, 2 * QW)
                     | ln(f"{b}.output{suffix}.LayerNorm", QW))
    s.update(lin("itm_head", 2, QW, scale=1.0) | lin("vision_proj", 16, QW) | lin("text_proj", 16, QW))
    # present in the real checkpoint, not used by the score
    s.update(lin("Qformer.cls.predictions.transform.dense", QW, QW) | lin("mask_proj.layers.0", 8, QW))
    s["temp"] = torch.tensor(0.07)
    return s


def _lin(s, p, x):
    return F.linear(x, s[f"{p}.weight"], s[f"{p}.bias"])


def _ln(s, p, x, eps):
    return F.layer_norm(x, x.shape[-1:], s[f"{p}.weight"], s[f"{p}.bias"], eps)


def _heads(x, h):
    b, n, d = x.shape
    return x.view(b, n, h, d // h).permute(0, 2, 1, 3)


def eva(s, x):
    x = F.conv2d(x, s["visual_encoder.patch_embed.proj.weight"], s["visual_encoder.patch_embed.proj.bias"],
                 stride=PATCH).flatten(2).transpose(1, 2)
    x = torch.cat((s["visual_encoder.cls_token"].expand(x.shape[0], -1, -1), x), dim=1) + s["visual_encoder.pos_embed"]
    for i in range(VDEPTH):
        b = f"visual_encoder.blocks.{i}"
        y = _ln(s, f"{b}.norm1", x, 1e-6)
        qkv_bias = torch.cat((s[f"{b}.attn.q_bias"], torch.zeros_like(s[f"{b}.attn.v_bias"]), s[f"{b}.attn.v_bias"]))
        B, N, C = y.shape
        qkv = F.linear(y, s[f"{b}.attn.qkv.weight"], qkv_bias).reshape(B, N, 3, VHEADS, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (C // VHEADS) ** -0.5, qkv[1], qkv[2]
        y = ((q @ k.transpose(-2, -1)).softmax(dim=-1) @ v).transpose(1, 2).reshape(B, N, -1)
        x = x + _lin(s, f"{b}.attn.proj", y)
        x = x + _lin(s, f"{b}.mlp.fc2", F.gelu(_lin(s, f"{b}.mlp.fc1", _ln(s, f"{b}.norm2", x, 1e-6))))
    return x


def attention(s, p, hidden, context, mask):
    q, k, v = (_heads(_lin(s, f"{p}.self.{n}", t), QHEADS) for n, t in (("query", hidden), ("key", context),
                                                                         ("value", context)))
    scores = q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5) + mask
    ctx = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(hidden.shape)
    return _ln(s, f"{p}.output.LayerNorm", _lin(s, f"{p}.output.dense", ctx) + hidden, 1e-12)


def feed_forward(s, p, suffix, x):
    h = F.gelu(_lin(s, f"{p}.intermediate{suffix}.dense", x))
    return _ln(s, f"{p}.output{suffix}.LayerNorm", _lin(s, f"{p}.output{suffix}.dense", h) + x, 1e-12)


def blip_caption(caption, max_words=50):
    caption = re.sub(r"([.!\"()*#:;~])", " ", caption.lower())
    caption = re.sub(r"\s{2,}", " ", caption)
    caption = caption.rstrip("\n").strip(" ")
    words = caption.split(" ")
    return " ".join(words[:max_words]) if len(words) > max_words else caption


def element_score(s, tokenizer, image, prompt):
    img = image.convert("RGB").resize((SIZE, SIZE), Image.BICUBIC)
    mean = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(3, 1, 1)
    std = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(3, 1, 1)
    pixels = ((torch.tensor(list(img.getdata()), dtype=torch.float32).view(SIZE, SIZE, 3).permute(2, 0, 1) / 255
               - mean) / std)[None]
    with torch.no_grad():
        image_embeds = _ln(s, "ln_vision", eva(s, pixels), 1e-5)
        text = tokenizer(blip_caption(prompt), truncation=False, max_length=32, return_tensors="pt")
        q = "Qformer.bert"
        ids = text.input_ids
        emb = F.embedding(ids, s[f"{q}.embeddings.word_embeddings.weight"])
        emb = emb + s[f"{q}.embeddings.position_embeddings.weight"][: ids.shape[1]]
        hidden = _ln(s, f"{q}.embeddings.LayerNorm", torch.cat([s["query_tokens"], emb], dim=1), 1e-12)
        mask = torch.cat([torch.ones(1, NQ, dtype=torch.long), text.attention_mask], dim=1)
        self_mask = (1.0 - mask[:, None, None, :].float()) * -10000.0
        for i in range(QLAYERS):
            p = f"{q}.encoder.layer.{i}"
            att = attention(s, f"{p}.attention", hidden, hidden, self_mask)
            query = att[:, :NQ]
            if f"{p}.crossattention.self.query.weight" in s:
                query = attention(s, f"{p}.crossattention", query, image_embeds, torch.zeros(1))
            hidden = torch.cat([feed_forward(s, p, "_query", query), feed_forward(s, p, "", att[:, NQ:])], dim=1)
        itm_scores = F.softmax(_lin(s, "itm_head", hidden), dim=2)[:, :, 1]
        return float(itm_scores[:, :NQ].mean(dim=1)[0] * 4 + 1)


@pytest.fixture(scope="module")
def fga_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fga")
    vocab = write_bert_vocab(folder) + 1
    state = lavis_checkpoint(vocab)
    torch.save({"model": state}, folder / "fga_blip2.pth")
    return folder, state


def test_fga_blip2_matches_reference(fga_folder):
    from evs_aigc.metrics.fga_blip2 import FGABLIP2

    folder, state = fga_folder
    tokenizer = transformers.BertTokenizer.from_pretrained(str(folder), truncation_side="right")
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    images, prompts = aigc_tiny.images(4), aigc_tiny.PROMPTS[:4]
    expected = [element_score(state, tokenizer, im, p) for im, p in zip(images, prompts, strict=True)]
    got = FGABLIP2(weights=str(folder)).score(images, prompts)
    assert got == pytest.approx(expected, abs=1e-5)
    assert all(1 <= g <= 5 for g in got) and max(expected) - min(expected) > 1e-4


def test_fga_blip2_bad_input(fga_folder, tmp_path):
    from evs_aigc.metrics.fga_blip2 import FGABLIP2

    with pytest.raises(ConfigError, match="give weights"):
        FGABLIP2()
    with pytest.raises(ConfigError, match="does not exist"):
        FGABLIP2(weights=str(tmp_path / "nope"))
    (tmp_path / "w").mkdir()
    with pytest.raises(ConfigError, match="has no fga_blip2.pth"):
        FGABLIP2(weights=str(tmp_path / "w"))
    torch.save({"model": {"x": torch.zeros(1)}}, tmp_path / "w" / "fga_blip2.pth")
    with pytest.raises(ConfigError, match="not a LAVIS BLIP-2 Q-Former checkpoint"):
        FGABLIP2(weights=str(tmp_path / "w"))
