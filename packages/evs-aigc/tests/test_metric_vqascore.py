"""VQAScore (CLIP-FlanT5) on a tiny random CLIP vision tower + projector + T5, against t2v_metrics.

t2v-metrics pins its own torch and imports open_clip, so it is not installed: the reference here
re-expresses t2v_metrics' ``CLIPT5Model.forward`` (question formatting in the ``t5_chat`` style,
``t5_tokenizer_image_token``, ``expand2square``, the vision tower's ``feature_select``, the
``prepare_inputs_labels_for_multimodal`` splice, the per-sample ``exp(-CrossEntropy)``) on
transformers' ``T5ForConditionalGeneration``, its base class.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import aigc_tiny  # noqa: E402

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from evs_core.errors import ConfigError  # noqa: E402
from PIL import Image  # noqa: E402

SYSTEM_MSG = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
              "detailed, and polite answers to the user's questions.")
IMAGE_TOKEN_INDEX, IGNORE_INDEX = -200, -100


def write_t5_tokenizer(folder: Path):
    """A word-level tokenizer that, like T5's, appends </s> to every text (pad 0, </s> 1, <unk> 2)."""
    import re

    text = " ".join([SYSTEM_MSG, 'USER: ASSISTANT: Does this figure show "x"? Please answer yes or no. Yes', *aigc_tiny.PROMPTS])
    words = sorted(set(re.findall(r"\w+|[^\w\s]", text.lower())))
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(words)}}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = tokenizers.normalizers.Lowercase()
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.post_processor = tokenizers.processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(folder)
    return len(vocab)


@pytest.fixture(scope="module")
def vqa_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("vqa")
    tower_dir, model_dir = root / "clip-vit-336", root / "clip-flant5"
    torch.manual_seed(0)
    vision_cfg = transformers.CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                               num_attention_heads=2, image_size=336, patch_size=56)
    tower = transformers.CLIPVisionModel(vision_cfg).eval()
    tower.save_pretrained(tower_dir)
    transformers.CLIPImageProcessor(
        size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}, resample=3,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
    ).save_pretrained(tower_dir)
    vocab_size = write_t5_tokenizer(model_dir)
    # the checkpoint's vocabulary is larger than the tokenizer's, as FlanT5's (32128 rows, 32100 tokens)
    t5_cfg = transformers.T5Config(vocab_size=vocab_size + 8, d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                   num_decoder_layers=2, num_heads=4, feed_forward_proj="gated-gelu",
                                   tie_word_embeddings=False, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    t5 = transformers.T5ForConditionalGeneration(t5_cfg).eval()
    projector = torch.nn.Sequential(torch.nn.Linear(32, 32), torch.nn.GELU(), torch.nn.Linear(32, 32))
    with torch.no_grad():
        for module in (tower, t5, projector):
            for param in module.parameters():
                param.add_(torch.randn_like(param) * 0.05)
        t5.lm_head.weight.mul_(0.02)  # keep P(Yes) away from 0 so an absolute tolerance means something
    tower.save_pretrained(tower_dir)
    t5.save_pretrained(model_dir, safe_serialization=False)  # transformers 5 writes safetensors whatever this says
    projector_state = {f"mm_projector.{k}": v for k, v in projector.state_dict().items()}
    if (model_dir / "model.safetensors").is_file():
        from safetensors.torch import load_file, save_file

        state = load_file(str(model_dir / "model.safetensors"))
        state.update(projector_state)
        save_file(state, str(model_dir / "model.safetensors"), metadata={"format": "pt"})
    else:
        state = torch.load(model_dir / "pytorch_model.bin", weights_only=True)
        state.update(projector_state)
        torch.save(state, model_dir / "pytorch_model.bin")
    config = json.loads((model_dir / "config.json").read_text())
    config.update(model_type="clip_t5", mm_vision_tower="openai/clip-vit-large-patch14-336",
                  mm_projector_type="mlp2x_gelu", mm_vision_select_layer=-2, mm_vision_select_feature="patch",
                  mm_hidden_size=32, use_mm_proj=True)
    (model_dir / "config.json").write_text(json.dumps(config))
    return model_dir, tower_dir, tower, t5, projector


def t5_tokenizer_image_token(prompt, tokenizer):
    prompt_chunks = [tokenizer(chunk).input_ids for chunk in prompt.split("<image>")]
    input_ids = []
    for x in [ele for sub in zip(prompt_chunks, [[IMAGE_TOKEN_INDEX]] * len(prompt_chunks), strict=True) for ele in sub][:-1]:
        input_ids.extend(x)
    return torch.tensor(input_ids, dtype=torch.long)


def expand2square(pil_img, background_color):
    width, height = pil_img.size
    if width == height:
        return pil_img
    if width > height:
        result = Image.new(pil_img.mode, (width, width), background_color)
        result.paste(pil_img, (0, (width - height) // 2))
        return result
    result = Image.new(pil_img.mode, (height, height), background_color)
    result.paste(pil_img, ((height - width) // 2, 0))
    return result


def reference_scores(model_dir, tower_dir, tower, t5, projector, images, texts):
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir), model_max_length=2048)
    t5 = transformers.T5ForConditionalGeneration.from_pretrained(str(model_dir)).eval()
    t5.resize_token_embeddings(len(tokenizer))  # load_pretrained_model does this
    processor = transformers.CLIPImageProcessor.from_pretrained(str(tower_dir))
    questions = [f'Does this figure show "{t}"? Please answer yes or no.' for t in texts]
    questions = [SYSTEM_MSG + " USER: " + "<image>" + "\n" + q + " ASSISTANT: " for q in questions]
    answers = ["Yes" for _ in texts]
    pil = [expand2square(im.convert("RGB"), tuple(int(x * 255) for x in processor.image_mean)) for im in images]
    pixels = torch.stack([processor.preprocess(im, return_tensors="pt")["pixel_values"][0] for im in pil])
    input_ids = torch.nn.utils.rnn.pad_sequence([t5_tokenizer_image_token(q, tokenizer) for q in questions],
                                                batch_first=True, padding_value=tokenizer.pad_token_id)
    labels = torch.nn.utils.rnn.pad_sequence([t5_tokenizer_image_token(a, tokenizer) for a in answers],
                                             batch_first=True, padding_value=IGNORE_INDEX)
    attention_mask = input_ids.ne(tokenizer.pad_token_id)
    decoder_attention_mask = labels.ne(IGNORE_INDEX)
    with torch.no_grad():
        image_features = projector(tower(pixels, output_hidden_states=True).hidden_states[-2][:, 1:])
        new_input_embeds = []
        for idx, cur_input_ids in enumerate(input_ids):
            image_token_start = torch.where(cur_input_ids == IMAGE_TOKEN_INDEX)[0][0]
            new_input_embeds.append(torch.cat([t5.encoder.embed_tokens(cur_input_ids[:image_token_start]),
                                               image_features[idx],
                                               t5.encoder.embed_tokens(cur_input_ids[image_token_start + 1:])]))
        new_input_embeds = torch.stack(new_input_embeds, dim=0)
        pad_left = torch.full((attention_mask.shape[0], new_input_embeds.shape[1] - input_ids.shape[1]), True)
        attention_mask = torch.cat((pad_left, attention_mask), dim=1)
        logits = t5(inputs_embeds=new_input_embeds, attention_mask=attention_mask,
                    decoder_attention_mask=decoder_attention_mask, labels=labels, return_dict=True).logits
        loss_fct = torch.nn.CrossEntropyLoss(reduction="mean")
        return [float((-loss_fct(logits[k], labels[k])).exp()) for k in range(logits.shape[0])]


def test_vqascore_matches_reference(vqa_folders):
    from evs_aigc.metrics.vqascore import VQAScore

    model_dir, tower_dir, tower, t5, projector = vqa_folders
    images, prompts = aigc_tiny.images(4), aigc_tiny.PROMPTS[:4]
    expected = reference_scores(model_dir, tower_dir, tower, t5, projector, images, prompts)
    metric = VQAScore(weights=str(model_dir), vision_tower=str(tower_dir), batch_size=3)
    got = metric.score(images, prompts)
    assert got == pytest.approx(expected, abs=1e-5, rel=1e-5)
    assert all(1e-3 < g < 1 for g in got) and max(expected) - min(expected) > 1e-4


def test_vqascore_bad_input(vqa_folders, tmp_path):
    from evs_aigc.metrics.vqascore import VQAScore

    model_dir, tower_dir = vqa_folders[:2]
    with pytest.raises(ConfigError, match="does not exist"):
        VQAScore(weights=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="has no config.json"):
        VQAScore(weights=str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="vision tower .*does not exist|does not exist"):
        VQAScore(weights=str(model_dir), vision_tower=str(tmp_path / "no-tower"))
    with pytest.raises(ConfigError, match="question_template needs a"):
        VQAScore(weights=str(model_dir), vision_tower=str(tower_dir), question_template="no slot")
    metric = VQAScore(weights=str(model_dir), vision_tower=str(tower_dir))
    with pytest.raises(ConfigError, match="needs a prompt"):
        metric.score(aigc_tiny.images(1))
