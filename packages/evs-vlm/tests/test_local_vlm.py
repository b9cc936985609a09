"""A local vision-language model end to end: a tiny randomly initialised LLaVA (CLIP vision tower,
Llama text model, a BPE tokenizer trained here, a real LlavaProcessor and chat template) saved to
a folder and run through the adapter: images go through the processor, requests are batched."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("torch", reason="local models need torch (tools/dev-install.sh installs it)")
pytest.importorskip("transformers", reason="local models need transformers (evs-vlm[local])")

from helpers import png  # noqa: E402

TEMPLATE = ("{% for m in messages %}<s>{{ m['role'] }}: {% if m['content'] is string %}{{ m['content'] }}"
            "{% else %}{% for p in m['content'] %}{% if p['type'] == 'image' %}<image>{% else %}{{ p['text'] }}"
            "{% endif %}{% endfor %}{% endif %}</s>{% endfor %}{% if add_generation_prompt %}<s>assistant: {% endif %}")


def build_tiny_llava(folder, text_only_folder=None):
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlamaForCausalLM,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<unk>", "<pad>", "<s>", "</s>", "<image>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(["Answer the following multiple choice question. ANSWER: A B C D red green blue "
                             "yellow user assistant What colour?"] * 5, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                  eos_token="</s>", additional_special_tokens=["<image>"])
    processor = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 28},
                                                                  crop_size={"height": 28, "width": 28}),
                               tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
                               num_additional_image_tokens=1, chat_template=TEMPLATE)
    text = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                       pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              image_size=28, patch_size=14)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=tok.convert_tokens_to_ids("<image>"),
                         vision_feature_layer=-1, vision_feature_select_strategy="default")
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    if text_only_folder is not None:
        LlamaForCausalLM(text).save_pretrained(text_only_folder)
        tok.chat_template = TEMPLATE
        tok.save_pretrained(text_only_folder)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny_llava")
    build_tiny_llava(base / "vlm", base / "text")
    return base


def _config(model, **kw):
    from evs_core.config import make_config

    return make_config({"model": str(model), "model_type": "transformers_vlm", "datasets": ["general_vmcq"],
                        "concurrency": 4, "generation_config": {"max_tokens": 4}, **kw})


def _run(adapter, requests):
    async def go():
        try:
            return await asyncio.gather(*(adapter.agenerate(r) for r in requests))
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def test_tiny_llava_through_processor_batched(tiny, tmp_path):
    from evs_core.registry import get_registries

    from evs_vlm.local import TransformersVLM

    d = tmp_path / "general_vmcq"
    d.mkdir()
    for c in ("red", "green"):
        (d / f"{c}.png").write_bytes(png(c, size=(40, 30)))
    rows = [{"id": str(i), "question": "<image 1> What colour?", "options": ["red", "green"], "answer": "A",
             "image_1": f"{c}.png"} for i, c in enumerate(["red", "green", "red"])]
    rows.append({"id": "two", "question": "<image 1> or <image 2>?", "options": ["red", "green"], "answer": "A",
                 "image_1": "red.png", "image_2": "green.png"})
    rows.append({"id": "gone", "question": "<image 1>?", "options": ["red", "green"], "answer": "A",
                 "image_1": "missing.png"})
    (d / "c.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    cls = get_registries().benchmarks.load("general_vmcq")
    bench = cls(None, dataset_dir=str(tmp_path))
    samples = bench.load_samples()
    adapter = get_registries().models.load("transformers_vlm")(_config(tiny / "vlm"))
    assert isinstance(adapter, TransformersVLM)
    outs = _run(adapter, [bench.build_request(s) for s in samples])
    assert [o.error is None for o in outs] == [True, True, True, True, False]
    assert outs[4].error.startswith("ImageError: image 1: image file not found")
    assert adapter.accepts_images and max(adapter.batch_sizes) > 1 and sum(adapter.batch_sizes) == 4
    # each image expands to the processor's 4 patch tokens: the two-image prompt is 4 tokens + the
    # second placeholder's text longer than a one-image prompt of the same text
    one = adapter.processor(text=[adapter.render(adapter.convert(bench.build_request(samples[0]))[0])],
                            images=[adapter.convert(bench.build_request(samples[0]))[1][0]], return_tensors="pt")
    image_id = adapter.tokenizer.convert_tokens_to_ids("<image>")
    assert int((one["input_ids"] == image_id).sum()) == 4
    assert outs[0].usage.prompt_tokens == int(one["attention_mask"].sum())
    review = asyncio.run(bench.score(samples[0], outs[0], None))
    assert review.error is None and review.extraction_rule is not None


def test_text_only_local_model_refuses_images(tiny):
    from evs_core.images import image_part
    from evs_core.models import Request

    from evs_vlm.local import TransformersVLM

    adapter = TransformersVLM(_config(tiny / "text"))
    outs = _run(adapter, [Request(messages=[{"role": "user", "content": "What colour?"}], generation={"max_tokens": 3}),
                          Request(messages=[{"role": "user", "content": [image_part(png("red")),
                                                                         {"type": "text", "text": "?"}]}])])
    assert outs[0].error is None and outs[0].usage.completion_tokens >= 1
    assert outs[1].error.startswith("ImageUnsupported: the local model") and "1 image(s)" in outs[1].error
    assert not adapter.accepts_images


def test_bad_model_args_are_config_errors(tiny):
    from evs_core.errors import ConfigError

    from evs_vlm.local import TransformersVLM

    with pytest.raises(ConfigError, match="unknown model_args key 'batchsize'.*did you mean 'batch_size'"):
        TransformersVLM(_config(tiny / "vlm", model_args={"batchsize": 2}))
