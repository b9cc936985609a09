"""Tiny randomly initialised models of the real architectures, and test images, built offline."""

from __future__ import annotations

import gzip
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

PROMPTS = [
    "a photo of a red cat sitting on a wooden chair",
    "A MOUNTAIN at sunset, oil painting &amp; gold frame",
    "two dogs",
    "an astronaut riding a horse on the moon, highly detailed, 4k, trending on artstation " * 3,
    "café  with   neon signs",
]


def images(n: int = 5) -> list[Image.Image]:
    """Deterministic images of different sizes and aspect ratios (noise over a gradient)."""
    sizes = [(256, 256), (300, 200), (180, 333), (224, 224), (97, 150), (640, 480)]
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h) + 60 * i], -1)
        noise = rng.integers(-40, 40, size=(h, w, 3))
        out.append(Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB"))
    return out


@lru_cache
def bpe_vocab() -> Path:
    """open_clip's BPE vocabulary file, shipped inside the open-clip-torch (or hpsv2) wheel."""
    for package, sub in (("open_clip", ""), ("hpsv2", "src/open_clip")):
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            path = Path(list(spec.submodule_search_locations)[0]) / sub / "bpe_simple_vocab_16e6.txt.gz"
            if path.is_file():
                return path
    raise FileNotFoundError("bpe_simple_vocab_16e6.txt.gz: pip install --no-deps open-clip-torch")


def _bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def write_clip_tokenizer(folder: Path) -> None:
    """The real 49408-token CLIP BPE as Hugging Face CLIPTokenizer files (vocab.json, merges.txt)."""
    merges = gzip.open(bpe_vocab()).read().decode("utf-8").split("\n")
    merges = merges[1 : 49152 - 256 - 2 + 1]
    vocab = list(_bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab.extend("".join(m.split()) for m in merges)
    vocab.extend(["<|startoftext|>", "<|endoftext|>"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")


def clip_config(projection_dim=16, hidden=32, layers=2, heads=2, image_size=224, patch=32, act="gelu"):
    from transformers import CLIPConfig

    return CLIPConfig(
        text_config=dict(
            vocab_size=49408, hidden_size=hidden, intermediate_size=hidden * 4, num_hidden_layers=layers,
            num_attention_heads=heads, max_position_embeddings=77, hidden_act=act,
            bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
        ),
        vision_config=dict(
            hidden_size=hidden, intermediate_size=hidden * 4, num_hidden_layers=layers, num_attention_heads=heads,
            image_size=image_size, patch_size=patch, hidden_act=act,
        ),
        projection_dim=projection_dim,
    )


def projected(output):
    """The projected embedding ``CLIPModel.get_image_features`` / ``get_text_features`` return: the
    tensor itself in transformers 4, the ``pooler_output`` of the output object in transformers 5."""
    import torch

    return output if isinstance(output, torch.Tensor) else output.pooler_output


class ClipFeaturesAsTensors:
    """A ``CLIPModel`` whose ``get_*_features`` return tensors, as transformers 4's did: what reference
    code written against transformers 4 (torchmetrics' CLIPScore) expects of the model it is given."""

    def __init__(self, model) -> None:
        self.model = model

    def __getattr__(self, name):
        return getattr(self.model, name)

    def to(self, *args, **kwargs):
        self.model = self.model.to(*args, **kwargs)
        return self

    def get_image_features(self, *args, **kwargs):
        return projected(self.model.get_image_features(*args, **kwargs))

    def get_text_features(self, *args, **kwargs):
        return projected(self.model.get_text_features(*args, **kwargs))
