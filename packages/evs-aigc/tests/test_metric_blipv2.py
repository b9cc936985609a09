"""BLIPv2Score on a tiny random BLIP-2 ITM model, against t2v_metrics' blip2-itm scoring on LAVIS.

LAVIS and t2v-metrics do not install beside the CPU torch here, so the reference re-expresses, from the
tensors of the same checkpoint, what t2v_metrics' ``BLIP2ITMScoreModel.forward`` runs: LAVIS' EVA ViT
(``qkv`` with a bias of ``q_bias``, zeros, ``v_bias``), ``ln_vision`` (LayerNorm, eps 1e-5), the
Q-Former BERT (embeddings LayerNorm over queries and text, self-attention over both, cross-attention
and the query feed-forward for the query positions, the text feed-forward for the text positions,
masks as ``(1 - mask) * -10000``), ``itm_head`` averaged over the queries, ``softmax[:, 1]``; the
preprocessing ``Resize((224, 224), bicubic)`` + ``ToTensor`` + OpenAI ``Normalize``.
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
from PIL import Image  # noqa: E402
from test_metric_imagereward import write_bert_vocab  # noqa: E402

F = torch.nn.functional
HEADS_V, HEADS_Q, QUERIES = 2, 2, 4


@pytest.fixture(scope="module")
def blip2_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blip2")
    vocab = write_bert_vocab(folder) + 1  # + [DEC]
    config = transformers.Blip2Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=HEADS_V,
                           image_size=224, patch_size=32, qkv_bias=True, layer_norm_eps=1e-6),
        qformer_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=HEADS_Q, intermediate_size=64,
                            cross_attention_frequency=2, encoder_hidden_size=32, vocab_size=vocab,
                            max_position_embeddings=40, use_qformer_text_input=True),
        num_query_tokens=QUERIES, image_text_hidden_size=16)
    torch.manual_seed(0)
    model = transformers.Blip2ForImageTextRetrieval(config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.add_(torch.randn_like(param) * 0.05)
            if name.endswith("self_attn.qkv.bias"):  # LAVIS has no key bias: the converted checkpoint holds zeros
                param[32:64] = 0
    model.save_pretrained(folder)
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"))
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    tokenizer.save_pretrained(folder)
    return folder, {k: v.detach().clone() for k, v in model.state_dict().items()}


def _heads(x, h):
    b, n, d = x.shape
    return x.view(b, n, h, d // h).permute(0, 2, 1, 3)


def _linear(s, prefix, x):
    return F.linear(x, s[f"{prefix}.weight"], s.get(f"{prefix}.bias"))


def _ln(s, prefix, x, eps):
    return F.layer_norm(x, x.shape[-1:], s[f"{prefix}.weight"], s[f"{prefix}.bias"], eps)


def eva_vit(s, pixels):
    """LAVIS eva_vit VisionTransformer.forward_features (no rel-pos bias, no layer scale)."""
    p = "vision_model"
    x = F.conv2d(pixels, s[f"{p}.embeddings.patch_embedding.weight"], s[f"{p}.embeddings.patch_embedding.bias"],
                 stride=32).flatten(2).transpose(1, 2)
    x = torch.cat([s[f"{p}.embeddings.class_embedding"].expand(x.shape[0], -1, -1), x], dim=1)
    x = x + s[f"{p}.embeddings.position_embedding"]
    layers = 1 + max(int(k.split(".")[3]) for k in s if k.startswith(f"{p}.encoder.layers."))
    for i in range(layers):
        b = f"{p}.encoder.layers.{i}"
        y = _ln(s, f"{b}.layer_norm1", x, 1e-6)
        bias = s[f"{b}.self_attn.qkv.bias"]
        q_bias, v_bias = bias[:32], bias[64:]
        qkv_bias = torch.cat((q_bias, torch.zeros_like(v_bias), v_bias))
        qkv = F.linear(y, s[f"{b}.self_attn.qkv.weight"], qkv_bias)
        B, N, _ = y.shape
        q, k, v = qkv.reshape(B, N, 3, HEADS_V, -1).permute(2, 0, 3, 1, 4)
        q = q * (32 // HEADS_V) ** -0.5
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        y = (attn @ v).transpose(1, 2).reshape(B, N, -1)
        x = x + _linear(s, f"{b}.self_attn.projection", y)
        y = _ln(s, f"{b}.layer_norm2", x, 1e-6)
        x = x + _linear(s, f"{b}.mlp.fc2", F.gelu(_linear(s, f"{b}.mlp.fc1", y)))
    return x


def bert_attention(s, prefix, hidden, context, mask):
    q = _heads(_linear(s, f"{prefix}.attention.query", hidden), HEADS_Q)
    k = _heads(_linear(s, f"{prefix}.attention.key", context), HEADS_Q)
    v = _heads(_linear(s, f"{prefix}.attention.value", context), HEADS_Q)
    scores = q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5) + mask
    out = (scores.softmax(dim=-1) @ v).permute(0, 2, 1, 3).reshape(hidden.shape)
    return _ln(s, f"{prefix}.output.LayerNorm", _linear(s, f"{prefix}.output.dense", out) + hidden, 1e-12)


def ffn(s, prefix_in, prefix_out, x):
    h = F.gelu(_linear(s, f"{prefix_in}.dense", x))
    return _ln(s, f"{prefix_out}.LayerNorm", _linear(s, f"{prefix_out}.dense", h) + x, 1e-12)


def reference_scores(s, folder, images, texts):
    tokenizer = transformers.BertTokenizer.from_pretrained(str(folder), truncation_side="right")
    mean = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(3, 1, 1)
    std = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(3, 1, 1)
    out = []
    for image, text in zip(images, texts, strict=True):
        img = image.convert("RGB").resize((224, 224), Image.BICUBIC)
        pixels = ((torch.tensor(list(img.getdata()), dtype=torch.float32).view(224, 224, 3).permute(2, 0, 1) / 255
                   - mean) / std).unsqueeze(0)
        with torch.no_grad():
            image_feat = _ln(s, "vision_model.post_layernorm", eva_vit(s, pixels), 1e-5)  # ln_vision
            text_input = tokenizer([text], padding="max_length", truncation=True, max_length=35, return_tensors="pt")
            ids = text_input.input_ids
            emb = F.embedding(ids, s["embeddings.word_embeddings.weight"])
            emb = emb + s["embeddings.position_embeddings.weight"][: ids.shape[1]]
            hidden = torch.cat([s["query_tokens"], emb], dim=1)
            hidden = _ln(s, "qformer.layernorm", hidden, 1e-12)
            attention_mask_all = torch.cat([torch.ones(1, QUERIES, dtype=torch.long), text_input.attention_mask], 1)
            self_mask = (1.0 - attention_mask_all[:, None, None, :].float()) * -10000.0
            cross_mask = torch.zeros(1, 1, 1, image_feat.shape[1])
            for i in range(2):
                p = f"qformer.encoder.layer.{i}"
                att = bert_attention(s, f"{p}.attention", hidden, hidden, self_mask)
                query = att[:, :QUERIES]
                if i % 2 == 0:  # cross_attention_freq 2
                    query = bert_attention(s, f"{p}.crossattention", query, image_feat, cross_mask)
                query = ffn(s, f"{p}.intermediate_query", f"{p}.output_query", query)
                text_part = ffn(s, f"{p}.intermediate", f"{p}.output", att[:, QUERIES:])
                hidden = torch.cat([query, text_part], dim=1)
            itm_logits = _linear(s, "itm_head", hidden[:, :QUERIES]).mean(dim=1)
            out.append(float(F.softmax(itm_logits, dim=-1)[0, 1]))
    return out


def test_blipv2_matches_reference(blip2_folder):
    from evs_aigc.metrics.blipv2 import BLIPv2Score

    folder, state = blip2_folder
    images, prompts = aigc_tiny.images(4), aigc_tiny.PROMPTS[:4]
    expected = reference_scores(state, folder, images, prompts)
    got = BLIPv2Score(weights=str(folder), batch_size=3).score(images, prompts)
    assert got == pytest.approx(expected, abs=1e-5)
    assert max(expected) - min(expected) > 1e-4


def test_blipv2_bad_input(blip2_folder, tmp_path):
    from evs_aigc.metrics.blipv2 import BLIPv2Score

    with pytest.raises(ConfigError, match="does not exist"):
        BLIPv2Score(weights=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="cannot load BLIP-2 ITM"):
        BLIPv2Score(weights=str(tmp_path / "empty"))
    metric = BLIPv2Score(weights=str(blip2_folder[0]))
    with pytest.raises(ConfigError, match="2 images but 1 prompts"):
        metric.score(aigc_tiny.images(2), ["x"])
