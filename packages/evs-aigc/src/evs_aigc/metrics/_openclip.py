"""open_clip checkpoints on transformers' CLIP classes (open_clip itself does not import beside CPU torch).

Three pieces, each matching open_clip exactly: the BPE tokenizer (``open_clip.tokenizer.tokenize``),
the model configuration (``open_clip_config.json`` or a named architecture such as ViT-H-14), and the
conversion of an open_clip ``CLIP`` state dict to ``transformers.CLIPModel``'s layout.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

from evs_core.errors import ConfigError, require

BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"

#: open_clip's model_configs/ViT-H-14.json (the HPSv2 / MPS backbone)
VIT_H_14 = {
    "embed_dim": 1024,
    "vision_cfg": {"image_size": 224, "layers": 32, "width": 1280, "head_width": 80, "patch_size": 14},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 1024, "heads": 16, "layers": 24},
}


def find_bpe(metric: str, folder: Path | None) -> Path:
    """The BPE vocabulary: in the weights folder, else the copy inside an installed open_clip or hpsv2."""
    if folder is not None and (folder / BPE_FILE).is_file():
        return folder / BPE_FILE
    for package, sub in (("open_clip", ""), ("hpsv2", "src/open_clip")):
        try:
            spec = importlib.util.find_spec(package)  # locates the package without importing it
        except (ImportError, ValueError):
            spec = None
        if spec and spec.submodule_search_locations:
            path = Path(list(spec.submodule_search_locations)[0]) / sub / BPE_FILE
            if path.is_file():
                return path
    raise ConfigError(
        f"metric {metric}: no {BPE_FILE}; put it in the weights folder or pip install --no-deps open-clip-torch"
    )


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table (printable bytes map to themselves)."""
    keys = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    keys += list(range(ord("®"), ord("ÿ") + 1))
    values = keys[:]
    for b in range(256):
        if b not in keys:
            keys.append(b)
            values.append(256 + len(values) - 188)
    return dict(zip(keys, map(chr, values), strict=True))


class OpenCLIPTokenizer:
    """open_clip's SimpleTokenizer + ``tokenize``: ftfy and HTML clean-up, lower case, byte-level BPE,
    ``<start_of_text> ... <end_of_text>`` padded with 0 to the context length (truncated keeping the end token)."""

    def __init__(self, bpe_path: Path, context_length: int = 77):
        self.ftfy = require("ftfy", "open_clip tokenizer", "evs-aigc[metrics]")
        self.re = require("regex", "open_clip tokenizer", "evs-aigc[metrics]")
        self.context_length = context_length
        self.byte_encoder = _bytes_to_unicode()
        lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
        vocab = list(self.byte_encoder.values())
        vocab += [v + "</w>" for v in vocab]
        vocab += ["".join(m) for m in merges]
        specials = ["<start_of_text>", "<end_of_text>"]
        vocab += specials
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {merge: i for i, merge in enumerate(merges)}
        self.cache = {t: t for t in specials}
        self.sot, self.eot = self.encoder[specials[0]], self.encoder[specials[1]]
        self.pattern = self.re.compile(
            "|".join(specials) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            self.re.IGNORECASE,
        )

    def _bpe(self, token: str) -> str:
        if token in self.cache:
            return self.cache[token]
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == best[0] and word[i + 1] == best[1]:
                    merged.append(best[0] + best[1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        out = " ".join(word)
        self.cache[token] = out
        return out

    def encode(self, text: str) -> list[int]:
        text = html.unescape(html.unescape(self.ftfy.fix_text(text))).strip()
        text = self.re.sub(r"\s+", " ", text).strip().lower()
        ids: list[int] = []
        for token in self.re.findall(self.pattern, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[piece] for piece in self._bpe(token).split(" "))
        return ids

    def __call__(self, texts: list[str]):
        import torch

        result = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        for row, text in enumerate(texts):
            tokens = [self.sot] + self.encode(text) + [self.eot]
            if len(tokens) > self.context_length:
                tokens = tokens[: self.context_length]
                tokens[-1] = self.eot
            result[row, : len(tokens)] = torch.tensor(tokens)
        return result


@lru_cache(maxsize=4)
def cached_tokenizer(bpe_path: str, context_length: int = 77) -> OpenCLIPTokenizer:
    return OpenCLIPTokenizer(Path(bpe_path), context_length)


def model_config(metric: str, folder: Path | None, default: dict) -> dict:
    """``open_clip_config.json``'s ``model_cfg`` (the hub layout of open_clip repositories) or ``default``."""
    path = folder / "open_clip_config.json" if folder is not None else None
    if path is None or not path.is_file():
        return default
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"metric {metric}: {path.name} is not valid JSON: {exc}") from exc
    cfg = data.get("model_cfg", data)
    if not isinstance(cfg, dict) or "vision_cfg" not in cfg or "text_cfg" not in cfg:
        raise ConfigError(f"metric {metric}: {path.name} has no model_cfg with vision_cfg and text_cfg")
    return cfg


def hf_clip_config(cfg: dict):
    """A ``transformers.CLIPConfig`` of the same shape as an open_clip ``CLIP(**cfg)`` (ViT tower, GELU)."""
    from transformers import CLIPConfig

    vision, text = cfg["vision_cfg"], cfg["text_cfg"]
    for key in ("timm_model_name", "hf_model_name", "attentional_pool", "global_average_pool", "ls_init_value",
                "input_patchnorm"):
        if vision.get(key) or text.get(key):
            raise ConfigError(f"open_clip model option {key} is not supported")
    v_width = vision.get("width", 768)
    t_width = text.get("width", 512)
    act = "quick_gelu" if cfg.get("quick_gelu") else "gelu"
    return CLIPConfig(
        text_config=dict(
            vocab_size=text.get("vocab_size", 49408),
            hidden_size=t_width,
            intermediate_size=int(t_width * text.get("mlp_ratio", 4.0)),
            num_hidden_layers=text.get("layers", 12),
            num_attention_heads=text.get("heads", 8),
            max_position_embeddings=text.get("context_length", 77),
            hidden_act=act,
            layer_norm_eps=1e-5,
            bos_token_id=49406,
            eos_token_id=49407,
            pad_token_id=0,
        ),
        vision_config=dict(
            hidden_size=v_width,
            intermediate_size=int(v_width * vision.get("mlp_ratio", 4.0)),
            num_hidden_layers=vision.get("layers", 12),
            num_attention_heads=v_width // vision.get("head_width", 64),
            image_size=vision.get("image_size", 224),
            patch_size=vision.get("patch_size", 16),
            hidden_act=act,
            layer_norm_eps=1e-5,
        ),
        projection_dim=cfg["embed_dim"],
    )


def _blocks(out: dict, state: dict, src: str, dst: str, layers: int) -> None:
    for i in range(layers):
        s, d = f"{src}.{i}", f"{dst}.{i}"
        q, k, v = state[f"{s}.attn.in_proj_weight"].chunk(3, dim=0)
        qb, kb, vb = state[f"{s}.attn.in_proj_bias"].chunk(3, dim=0)
        for name, w, b in (("q_proj", q, qb), ("k_proj", k, kb), ("v_proj", v, vb)):
            out[f"{d}.self_attn.{name}.weight"] = w
            out[f"{d}.self_attn.{name}.bias"] = b
        pairs = {
            "attn.out_proj": "self_attn.out_proj", "ln_1": "layer_norm1", "ln_2": "layer_norm2",
            "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2",
        }
        for a, b in pairs.items():
            out[f"{d}.{b}.weight"] = state[f"{s}.{a}.weight"]
            out[f"{d}.{b}.bias"] = state[f"{s}.{a}.bias"]


def convert_state_dict(state: dict, cfg: dict) -> dict:
    """An open_clip ``CLIP`` state dict in ``transformers.CLIPModel``'s names (raises KeyError when keys lack)."""
    state = {k.removeprefix("module."): v for k, v in state.items()}
    out = {
        "logit_scale": state["logit_scale"].reshape(()),
        "text_model.embeddings.token_embedding.weight": state["token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": state["positional_embedding"],
        "text_model.final_layer_norm.weight": state["ln_final.weight"],
        "text_model.final_layer_norm.bias": state["ln_final.bias"],
        "text_projection.weight": state["text_projection"].t().contiguous(),
        "vision_model.embeddings.class_embedding": state["visual.class_embedding"],
        "vision_model.embeddings.patch_embedding.weight": state["visual.conv1.weight"],
        "vision_model.embeddings.position_embedding.weight": state["visual.positional_embedding"],
        "vision_model.pre_layrnorm.weight": state["visual.ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": state["visual.ln_pre.bias"],
        "vision_model.post_layernorm.weight": state["visual.ln_post.weight"],
        "vision_model.post_layernorm.bias": state["visual.ln_post.bias"],
        "visual_projection.weight": state["visual.proj"].t().contiguous(),
    }
    _blocks(out, state, "transformer.resblocks", "text_model.encoder.layers", cfg["text_cfg"].get("layers", 12))
    _blocks(out, state, "visual.transformer.resblocks", "vision_model.encoder.layers", cfg["vision_cfg"].get("layers", 12))
    return out


def build_clip(metric: str, state: dict, cfg: dict):
    """A ``transformers.CLIPModel`` holding an open_clip checkpoint; a mismatch is one ConfigError line."""
    import torch
    from transformers import CLIPModel

    config = hf_clip_config(cfg)
    try:
        converted = convert_state_dict(state, cfg)
    except KeyError as exc:
        raise ConfigError(f"metric {metric}: checkpoint is not an open_clip ViT CLIP (no {exc.args[0]})") from exc
    with torch.device("meta"):
        model = CLIPModel(config)
    try:
        missing, unexpected = model.load_state_dict(converted, strict=False, assign=True)
    except RuntimeError as exc:
        raise ConfigError(f"metric {metric}: checkpoint does not fit the model: {str(exc).splitlines()[0]}") from exc
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ConfigError(f"metric {metric}: checkpoint does not fit the model (missing {missing[:3]}, unexpected {unexpected[:3]})")
    for module in model.modules():  # non-persistent buffers stay on meta: rebuild them
        for name, buf in list(module.named_buffers(recurse=False)):
            if buf.is_meta and name == "position_ids":
                module.register_buffer(name, torch.arange(buf.shape[-1]).expand(buf.shape), persistent=False)
    return model.float().eval()


def features(output):
    """The projected embedding from ``get_image_features`` / ``get_text_features`` (a tensor in
    transformers 4, possibly an output object in later versions)."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    for name in ("image_embeds", "text_embeds", "pooler_output"):
        value = getattr(output, name, None)
        if value is not None:
            return value
    raise TypeError(f"unexpected features output {type(output).__name__}")
