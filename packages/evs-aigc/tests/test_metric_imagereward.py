"""ImageReward on a tiny random BLIP (ViT + BERT cross-encoder) + MLP, against the image-reward package.

The reference runs the image-reward wheel's own BLIP modules (``ImageReward/models/BLIP/vit.py`` and
``med.py``, installed with --no-deps), imported without the package ``__init__``; the few timm /
fairscale helpers vit.py imports (patch embedding, identity drop-path, registry) are stand-ins
written here, since timm does not import beside the CPU torch. The preprocessing and the scoring
steps of ``ImageReward.score`` are re-expressed: Resize(224, bicubic) + CenterCrop(224) + RGB +
OpenAI normalisation, tokenizer padded to 35, ``(mlp(cls) - mean) / std``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import aigc_tiny  # noqa: E402

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from evs_core.errors import ConfigError  # noqa: E402
from PIL import Image  # noqa: E402

VISION = dict(img_size=224, patch_size=32, embed_dim=64, depth=2, num_heads=1)


def _stub(name: str, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


class PatchEmbed(torch.nn.Module):
    """timm's PatchEmbed (flatten, no norm) as vit.py uses it."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = torch.nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class DropPath(torch.nn.Identity):
    def __init__(self, drop_prob=0.0):
        super().__init__()


def find_pruneable_heads_and_indices(heads, n_heads, head_size, already_pruned_heads):
    """transformers 4's helper: the heads left to prune and the flat indices of the kept units."""
    mask = torch.ones(n_heads, head_size)
    heads = set(heads) - already_pruned_heads
    for head in heads:
        head = head - sum(1 if h < head else 0 for h in already_pruned_heads)
        mask[head] = 0
    mask = mask.view(-1).contiguous().eq(1)
    index = torch.arange(len(mask))[mask].long()
    return heads, index


def invert_attention_mask(self, encoder_attention_mask):
    """transformers 4's ``PreTrainedModel.invert_attention_mask``: 1/0 keep mask -> additive mask."""
    if encoder_attention_mask.dim() == 3:
        extended = encoder_attention_mask[:, None, :, :]
    else:
        extended = encoder_attention_mask[:, None, None, :]
    extended = extended.to(dtype=self.dtype)
    return (1.0 - extended) * torch.finfo(self.dtype).min


def get_head_mask(self, head_mask, num_hidden_layers, is_attention_chunked=False):
    """transformers 4's ``PreTrainedModel.get_head_mask`` for the no-head-mask case the score takes."""
    if head_mask is not None:
        raise NotImplementedError("head masks are not part of the ImageReward score")
    return [None] * num_hidden_layers


@pytest.fixture(scope="module")
def ir_ref():
    if importlib.util.find_spec("ImageReward") is None:
        pytest.skip("the reference needs the image-reward wheel: pip install --no-deps image-reward")
    return load_reference()


def load_reference():
    """The image-reward wheel's BLIP ``vit`` and ``med`` modules."""
    spec = importlib.util.find_spec("ImageReward")
    root = Path(list(spec.submodule_search_locations)[0])
    stubs = {
        "timm": _stub("timm"), "timm.models": _stub("timm.models"),
        "timm.models.vision_transformer": _stub("timm.models.vision_transformer", _cfg=lambda **kw: kw, PatchEmbed=PatchEmbed),
        "timm.models.registry": _stub("timm.models.registry", register_model=lambda fn: fn),
        "timm.models.layers": _stub("timm.models.layers", trunc_normal_=torch.nn.init.trunc_normal_, DropPath=DropPath),
        "timm.models.helpers": _stub("timm.models.helpers", named_apply=None, adapt_input_conv=None),
        "fairscale": _stub("fairscale"), "fairscale.nn": _stub("fairscale.nn"),
        "fairscale.nn.checkpoint": _stub("fairscale.nn.checkpoint"),
        "fairscale.nn.checkpoint.checkpoint_activations": _stub(
            "fairscale.nn.checkpoint.checkpoint_activations", checkpoint_wrapper=lambda m, **kw: m),
    }
    for name, path in (("ImageReward", root), ("ImageReward.models", root / "models"),
                       ("ImageReward.models.BLIP", root / "models/BLIP")):
        stubs[name] = _stub(name, __path__=[str(path)])
    saved = {k: sys.modules.get(k) for k in stubs}
    # med.py imports three helpers from transformers.modeling_utils that moved to pytorch_utils
    # (transformers 5 dropped find_pruneable_heads_and_indices: head pruning, which the scoring
    # never calls, gets the stand-in below)
    import transformers.modeling_utils as modeling_utils
    import transformers.pytorch_utils as pytorch_utils

    helpers = {"find_pruneable_heads_and_indices": find_pruneable_heads_and_indices}
    added = [n for n in ("apply_chunking_to_forward", "find_pruneable_heads_and_indices", "prune_linear_layer")
             if not hasattr(modeling_utils, n)]
    for n in added:
        setattr(modeling_utils, n, getattr(pytorch_utils, n, None) or helpers[n])
    try:
        sys.modules.update(stubs)
        vit = importlib.import_module("ImageReward.models.BLIP.vit")
        med = importlib.import_module("ImageReward.models.BLIP.med")
        if hasattr(transformers.PreTrainedModel, "get_expanded_tied_weights_keys"):
            # transformers 5: a model's tied-weight map is built by post_init, which med.py's
            # BertModel (written for 4.x) never calls; its init_weights builds it first here
            def init_weights(self):
                self.all_tied_weights_keys = self.get_expanded_tied_weights_keys(all_submodels=False)
                transformers.PreTrainedModel.init_weights(self)

            med.BertPreTrainedModel.init_weights = init_weights
        for name, helper in (("invert_attention_mask", invert_attention_mask), ("get_head_mask", get_head_mask)):
            if not hasattr(med.BertPreTrainedModel, name):  # removed from PreTrainedModel in transformers 5
                setattr(med.BertPreTrainedModel, name, helper)
    finally:
        for n in added:
            delattr(modeling_utils, n)
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        for name in [k for k in sys.modules if k.startswith("ImageReward")]:
            sys.modules.pop(name, None)
    return vit, med


def write_bert_vocab(folder: Path) -> int:
    words = sorted({w for p in aigc_tiny.PROMPTS for w in p.lower().replace(",", " ").split() if w.isalpha()})
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *("##" + c for c in letters),
             *"0123456789", *",.&;!?'-", *words]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return len(vocab)


class MLP(torch.nn.Module):
    """ImageReward.MLP (its layer list, dropouts included)."""

    def __init__(self, input_size):
        super().__init__()
        nn = torch.nn
        self.layers = nn.Sequential(nn.Linear(input_size, 1024), nn.Dropout(0.2), nn.Linear(1024, 128), nn.Dropout(0.2),
                                    nn.Linear(128, 64), nn.Dropout(0.1), nn.Linear(64, 16), nn.Linear(16, 1))


def build(ir_ref, folder: Path, seed: int = 0, vision=VISION, text_width: int = 32, text_layers: int = 2):
    vit, med = ir_ref
    folder.mkdir(parents=True, exist_ok=True)
    vocab_size = write_bert_vocab(folder) + 2  # + [DEC], [ENC]
    med_config = {
        "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "hidden_size": text_width, "initializer_range": 0.02,
        "intermediate_size": 2 * text_width,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 40, "model_type": "bert", "num_attention_heads": 2,
        "num_hidden_layers": text_layers, "pad_token_id": 0, "type_vocab_size": 2, "vocab_size": vocab_size,
        "encoder_width": vision["embed_dim"], "add_cross_attention": True,
    }
    (folder / "med_config.json").write_text(json.dumps(med_config))
    torch.manual_seed(seed)
    visual = vit.VisionTransformer(**vision).eval()
    config = med.BertConfig.from_json_file(str(folder / "med_config.json"))
    config.encoder_width = vision["embed_dim"]
    text = med.BertModel(config=config, add_pooling_layer=False).eval()
    mlp = MLP(text_width).eval()
    with torch.no_grad():
        for module in (visual, text, mlp):
            for param in module.parameters():
                param.add_(torch.randn_like(param) * 0.05)
    state = {f"blip.visual_encoder.{k}": v for k, v in visual.state_dict().items()}
    state.update({f"blip.text_encoder.{k}": v for k, v in text.state_dict().items()})
    state.update({f"mlp.{k}": v for k, v in mlp.state_dict().items()})
    state["blip.vision_proj.weight"] = torch.randn(8, vision["embed_dim"])  # present in the real checkpoint, unused by the score
    torch.save(state, folder / "ImageReward.pt")
    return visual, text, mlp


def reference_scores(folder, visual, text, mlp, images, prompts):
    tokenizer = transformers.BertTokenizer.from_pretrained(str(folder), local_files_only=True)
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})
    tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    mean = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(3, 1, 1)
    std = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(3, 1, 1)
    out = []
    for pil, prompt in zip(images, prompts, strict=True):
        # Resize(224, BICUBIC): shorter side 224, the other int(224 * long / short)
        w, h = pil.size
        size = (224, int(224 * h / w)) if w <= h else (int(224 * w / h), 224)
        img = pil if min(w, h) == 224 else pil.resize(size, Image.BICUBIC)
        w, h = img.size
        top, left = int(round((h - 224) / 2.0)), int(round((w - 224) / 2.0))
        img = img.crop((left, top, left + 224, top + 224)).convert("RGB")
        pixels = ((torch.ByteTensor(bytearray(img.tobytes())).view(224, 224, 3).permute(2, 0, 1).float() / 255 - mean) / std)
        text_input = tokenizer(prompt, padding="max_length", truncation=True, max_length=35, return_tensors="pt")
        with torch.no_grad():
            image_embeds = visual(pixels.unsqueeze(0))
            image_atts = torch.ones(image_embeds.size()[:-1], dtype=torch.long)
            text_output = text(text_input.input_ids, attention_mask=text_input.attention_mask,
                               encoder_hidden_states=image_embeds, encoder_attention_mask=image_atts, return_dict=True)
            txt_features = text_output.last_hidden_state[:, 0, :].float()
            rewards = (mlp.layers(txt_features) - 0.16717362830052426) / 1.0333394966054072
        out.append(rewards.item())
    return out


def test_image_reward_matches_reference(ir_ref, tmp_path):
    from evs_aigc.metrics.imagereward import ImageReward

    visual, text, mlp = build(ir_ref, tmp_path / "w")
    images, prompts = aigc_tiny.images(5), aigc_tiny.PROMPTS[:5]
    expected = reference_scores(tmp_path / "w", visual, text, mlp, images, prompts)
    got = ImageReward(weights=str(tmp_path / "w"), batch_size=2).score(images, prompts)
    assert got == pytest.approx(expected, abs=1e-5)
    assert max(expected) - min(expected) > 1e-3


def test_image_reward_bad_input(ir_ref, tmp_path):
    from evs_aigc.metrics.imagereward import ImageReward

    with pytest.raises(ConfigError, match="does not exist"):
        ImageReward(weights=str(tmp_path / "nope"))
    build(ir_ref, tmp_path / "w")
    (tmp_path / "w" / "vocab.txt").rename(tmp_path / "vocab.txt")
    with pytest.raises(ConfigError, match="no vocab.txt; give tokenizer="):
        ImageReward(weights=str(tmp_path / "w"))
    (tmp_path / "tok").mkdir()
    (tmp_path / "vocab.txt").rename(tmp_path / "tok" / "vocab.txt")
    metric = ImageReward(weights=str(tmp_path / "w"), tokenizer=str(tmp_path / "tok"))
    with pytest.raises(ConfigError, match="1 images but 2 prompts"):
        metric.score(aigc_tiny.images(1), ["a", "b"])
    (tmp_path / "w" / "med_config.json").unlink()
    with pytest.raises(ConfigError, match="has no med_config.json"):
        ImageReward(weights=str(tmp_path / "w"))
