"""VQAScore (Lin et al., 2024) with CLIP-FlanT5, as t2v_metrics computes it.

Reference: ``CLIPT5Model.forward`` of t2v_metrics (linzhiqiu/t2v_metrics; EvalScope's copy in
``metrics/vision/t2v_metrics``). The prompt becomes the question ``Does this figure show "{prompt}"?
Please answer yes or no.`` in the ``t5_chat`` conversation (``<system message> USER: <image>\\n<question>
ASSISTANT: ``); each side of ``<image>`` is tokenized on its own (the T5 tokenizer appends ``</s>`` to
both) and the image's place is taken by its 576 features: the CLIP ViT-L/14-336 second-to-last hidden
states without the CLS token, through the 2-layer GELU projector. The image is padded to a square
with the processor's mean colour first. The score is the probability of the answer ``Yes``:
``exp(-mean cross-entropy)`` of the answer tokens (``Yes </s>``) under FlanT5 given that input.
t2v_metrics runs in bfloat16 on a GPU; evs runs in float32.

Weights: the CLIP-FlanT5 folder (hub ``zhiqiulin/clip-flant5-xxl``: a T5 config and checkpoint with
``mm_projector.*`` weights, and its tokenizer) and the vision tower in ``vision_tower=`` (a folder or
hub id; default the config's ``mm_vision_tower``, ``openai/clip-vit-large-patch14-336``).
"""

from __future__ import annotations

import json
from pathlib import Path

from evs_core.errors import ConfigError, require

from ._common import check_inputs, resolve_weights, torch_device, unknown_options
from .base import ImageMetric, offline_for

SYSTEM_MSG = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
QUESTION = 'Does this figure show "{}"? Please answer yes or no.'
ANSWER = "Yes"
CONTEXT_LEN = 2048
IMAGE_TOKEN_INDEX = -200
IGNORE_INDEX = -100


def projector_weights(metric: str, folder: Path) -> dict:
    """The ``mm_projector.*`` tensors of a (possibly sharded) safetensors or PyTorch checkpoint."""
    import torch

    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = folder / index_name
        if index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
            files = sorted({folder / f for k, f in weight_map.items() if k.startswith("mm_projector.")})
            break
    out = {}
    for path in files:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as handle:
                for key in handle.keys():
                    if key.startswith("mm_projector."):
                        out[key.removeprefix("mm_projector.")] = handle.get_tensor(key)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            out.update({k.removeprefix("mm_projector."): v for k, v in state.items() if k.startswith("mm_projector.")})
    if not out:
        raise ConfigError(f"metric {metric}: no mm_projector weights in {str(folder)!r} (not a CLIP-FlanT5 checkpoint)")
    return out


class VQAScore(ImageMetric):
    name = "vqascore"
    default_weights = "zhiqiulin/clip-flant5-xxl"

    def __init__(self, weights: str | None = None, device: str = "cpu", **options):
        unknown_options(self.name, options, ("vision_tower", "question_template", "answer_template", "batch_size"))
        super().__init__(weights, device, **options)
        torch = require("torch", f"metric {self.name}", "evs-aigc[metrics]")
        transformers = require("transformers", f"metric {self.name}", "evs-aigc[metrics]")
        self.question = str(options.get("question_template") or QUESTION)
        self.answer = str(options.get("answer_template") or ANSWER)
        if "{}" not in self.question:
            raise ConfigError(f"metric {self.name}: question_template needs a {{}} for the prompt")
        self.batch_size = int(options.get("batch_size", 4))
        if self.batch_size < 1:
            raise ConfigError(f"metric {self.name}: batch_size must be at least 1")
        self._device = torch_device(self.name, device)
        folder, hub_id = resolve_weights(self.name, weights, self.default_weights)
        if folder is None:
            hub = require("huggingface_hub", f"metric {self.name}", "evs-aigc[metrics]")
            try:
                folder = Path(hub.snapshot_download(hub_id))
            except Exception as exc:
                raise ConfigError(f"metric {self.name}: cannot fetch hub repo {hub_id!r}: {exc}") from exc
        config_path = folder / "config.json"
        if not config_path.is_file():
            raise ConfigError(f"metric {self.name}: weights folder {str(folder)!r} has no config.json")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        if config.get("mm_projector_type", "mlp2x_gelu") != "mlp2x_gelu":
            raise ConfigError(f"metric {self.name}: projector {config.get('mm_projector_type')!r} is not supported")
        self.select_layer = int(config.get("mm_vision_select_layer", -2))
        with offline_for(str(folder)):
            try:
                self.t5 = transformers.T5ForConditionalGeneration.from_pretrained(str(folder), local_files_only=True)
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    str(folder), local_files_only=True, model_max_length=CONTEXT_LEN
                )
            except (OSError, ValueError) as exc:
                raise ConfigError(f"metric {self.name}: cannot load CLIP-FlanT5 from {str(folder)!r}: "
                                  f"{str(exc).splitlines()[0]}") from exc
        # t2v_metrics' load_pretrained_model resizes the embeddings (and the untied LM head) to the
        # tokenizer's length, which drops the padding rows of T5's vocabulary from the softmax
        if len(self.tokenizer) != self.t5.get_input_embeddings().weight.shape[0]:
            self.t5.resize_token_embeddings(len(self.tokenizer))
        tower = options.get("vision_tower") or config.get("mm_vision_tower") or "openai/clip-vit-large-patch14-336"
        tower_folder, tower_hub = resolve_weights(self.name, tower, None)
        where = str(tower_folder) if tower_folder is not None else tower_hub
        try:
            with offline_for(str(tower_folder) if tower_folder is not None else None):
                kw = {"local_files_only": True} if tower_folder is not None else {}
                self.vision = transformers.CLIPVisionModel.from_pretrained(where, **kw)
                self.image_processor = transformers.CLIPImageProcessor.from_pretrained(where, **kw)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"metric {self.name}: cannot load the vision tower from {where!r}: "
                              f"{str(exc).splitlines()[0]}") from exc
        proj = projector_weights(self.name, folder)
        d_vision, d_model = self.vision.config.hidden_size, self.t5.config.d_model
        self.projector = torch.nn.Sequential(torch.nn.Linear(d_vision, d_model), torch.nn.GELU(),
                                             torch.nn.Linear(d_model, d_model))
        try:
            self.projector.load_state_dict(proj)
        except RuntimeError as exc:
            raise ConfigError(f"metric {self.name}: mm_projector does not fit: {str(exc).splitlines()[0]}") from exc
        for module in (self.t5, self.vision, self.projector):
            module.eval().to(self._device)

    def _ids(self, text: str):
        """t2v_metrics' t5_tokenizer_image_token: each side of <image> tokenized alone, -200 between."""
        import torch

        ids: list[int] = []
        for i, chunk in enumerate(text.split("<image>")):
            if i:
                ids.append(IMAGE_TOKEN_INDEX)
            ids.extend(self.tokenizer(chunk).input_ids)
        return torch.tensor(ids, dtype=torch.long)

    def _pixels(self, image):
        from PIL import Image

        image = image.convert("RGB")
        width, height = image.size
        if width != height:  # expand2square with the processor's mean colour
            side = max(width, height)
            fill = tuple(int(x * 255) for x in self.image_processor.image_mean)
            square = Image.new(image.mode, (side, side), fill)
            square.paste(image, ((side - width) // 2, (side - height) // 2))
            image = square
        return self.image_processor.preprocess(image, return_tensors="pt")["pixel_values"][0]

    def score(self, images, prompts=None, references=None) -> list[float]:
        import torch
        from torch.nn.utils.rnn import pad_sequence

        check_inputs(self.name, images, prompts, prompt=True)
        out: list[float] = []
        pad = self.tokenizer.pad_token_id
        for start in range(0, len(images), self.batch_size):
            chunk, texts = images[start : start + self.batch_size], prompts[start : start + self.batch_size]
            questions = [f"{SYSTEM_MSG} USER: <image>\n{self.question.format(t)} ASSISTANT: " for t in texts]
            input_ids = pad_sequence([self._ids(q) for q in questions], batch_first=True, padding_value=pad)
            labels = pad_sequence([self._ids(self.answer.format(t)) for t in texts], batch_first=True,
                                  padding_value=IGNORE_INDEX)
            input_ids, labels = input_ids[:, :CONTEXT_LEN], labels[:, :CONTEXT_LEN]
            with torch.no_grad():
                pixels = torch.stack([self._pixels(im) for im in chunk]).to(self._device)
                hidden = self.vision(pixel_values=pixels, output_hidden_states=True).hidden_states[self.select_layer]
                features = self.projector(hidden[:, 1:])
                embeds, masks = [], []
                for row, ids in enumerate(input_ids):
                    at = int((ids == IMAGE_TOKEN_INDEX).nonzero()[0, 0])
                    embed = self.t5.get_input_embeddings()
                    embeds.append(torch.cat([embed(ids[:at].to(self._device)), features[row],
                                             embed(ids[at + 1 :].to(self._device))]))
                    masks.append(torch.cat([torch.ones(features.shape[1], dtype=torch.bool),
                                            ids[:at].ne(pad), ids[at + 1 :].ne(pad)]))
                # t2v_metrics marks the image positions visible and keeps the token mask (pads at the end)
                logits = self.t5(
                    inputs_embeds=torch.stack(embeds), attention_mask=torch.stack(masks).to(self._device),
                    decoder_attention_mask=labels.ne(IGNORE_INDEX).to(self._device), labels=labels.to(self._device),
                    return_dict=True,
                ).logits
                loss = torch.nn.CrossEntropyLoss(reduction="mean")
                for k in range(logits.shape[0]):
                    out.append(float((-loss(logits[k], labels[k].to(self._device))).exp()))
        return out
