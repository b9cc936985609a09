"""CLIP-style retrieval and zero-shot classification with a tiny random ``CLIPModel`` built here
(no CLIP weights ship on PyPI); expected values from the model's own features, ranked by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rag_testlib import one_report, run_evs, write_jsonl

WORDS = ["a", "photo", "of", "red", "green", "blue", "square", "circle", "dog", "cat", "bird", "."]


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_clip")
    vocab = {w: i + 3 for i, w in enumerate(WORDS)} | {"[PAD]": 0, "[UNK]": 1, "[EOS]": 2}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]")
    fast.save_pretrained(str(folder))
    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 16, "eos_token_id": 2},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16)
    CLIPModel(cfg).eval().save_pretrained(str(folder))
    return folder


def _images(folder, n, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        a = (rng.random((32, 32, 3)) * 255).astype("uint8")
        a[: 8 + 3 * i, :, i % 3] = 255  # distinct images
        p = folder / "img" / f"{i}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(p)
        paths.append(p)
    return paths


def _features(folder, image_paths, texts):
    import torch
    from PIL import Image
    from transformers import AutoTokenizer, CLIPModel

    model = CLIPModel.from_pretrained(str(folder)).eval()
    tok = AutoTokenizer.from_pretrained(str(folder))
    mean = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
    std = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
    px = np.stack([((np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255 - mean) / std).transpose(2, 0, 1)
                   for p in image_paths])
    with torch.no_grad():
        im = model.get_image_features(pixel_values=torch.from_numpy(px))
        t = tok(texts, padding=True, return_tensors="pt")
        tx = model.get_text_features(input_ids=t["input_ids"], attention_mask=t["attention_mask"])
    # transformers 5 returns a model output whose pooler_output holds the projected features
    im, tx = (x if torch.is_tensor(x) else x.pooler_output for x in (im, tx))
    im = torch.nn.functional.normalize(im, dim=-1).numpy()
    tx = torch.nn.functional.normalize(tx, dim=-1).numpy()
    return im, tx


def test_clip_retrieval_recall_both_ways(tmp_path, capsys, tiny_clip):
    imgs = _images(tmp_path, 6)
    captions = ["a photo of a red square .", "a photo of a green circle .", "a blue dog", "a cat", "a bird .",
                "red green blue", "a photo of a cat ."]
    owner = [0, 1, 2, 3, 4, 5, 3]  # image 3 has two captions
    data = write_jsonl(tmp_path / "pairs.jsonl", [{"image_path": f"img/{o}.png", "query": c}
                                                 for c, o in zip(captions, owner, strict=True)])
    code, out, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "clip", "--model", str(tiny_clip),
                             "--dataset", str(data), "--batch-size", "4")
    assert code == 0, err
    rep = one_report(tmp_path / "out")
    im, tx = _features(tiny_clip, imgs, captions)
    sim = tx @ im.T
    m = {k: v["score"] for k, v in rep["metrics"].items()}
    for k in (1, 5, 10):
        # text -> image: how many images score above the caption's own image
        t2i = np.mean([(sim[t] > sim[t, owner[t]]).sum() < k for t in range(len(captions))])
        # image -> text: the best-ranked of the image's captions
        i2t = np.mean([min((sim[:, i] > sim[t, i]).sum() for t in range(len(captions)) if owner[t] == i) < k
                       for i in range(len(imgs))])
        assert m[f"image_retrieval_recall@{k}"] == pytest.approx(t2i), k
        assert m[f"text_retrieval_recall@{k}"] == pytest.approx(i2t), k
    assert rep["metric"] == "image_retrieval_recall@1" and rep["num"] == 7
    assert m["image_retrieval_recall@10"] == 1.0 and 0 < m["image_retrieval_recall@5"]


def test_clip_zero_shot_classification(tmp_path, capsys, tiny_clip):
    imgs = _images(tmp_path, 6, seed=3)
    labels = ["dog", "cat", "bird", "dog", "cat", "bird"]
    data = write_jsonl(tmp_path / "cls.jsonl", [{"image_path": f"img/{i}.png", "label": lab} for i, lab in enumerate(labels)])
    code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "clip", "--model", str(tiny_clip),
                           "--dataset", str(data), "--task", "zeroshot_classification", "--template", "a photo of a {} .")
    assert code == 0, err
    rep = one_report(tmp_path / "out")
    classes = ["bird", "cat", "dog"]
    im, tx = _features(tiny_clip, imgs, [f"a photo of a {c} ." for c in classes])
    pred = [classes[int(np.argmax(im[i] @ tx.T))] for i in range(len(imgs))]
    hits = [p == lab for p, lab in zip(pred, labels, strict=True)]
    assert rep["metrics"]["acc1"]["score"] == pytest.approx(sum(hits) / 6)
    per_class = [np.mean([h for h, lab in zip(hits, labels, strict=True) if lab == c]) for c in classes]
    assert rep["metrics"]["mean_per_class_recall"]["score"] == pytest.approx(np.mean(per_class))
    assert rep["metrics"]["acc5"]["score"] == 1.0  # 3 classes: always within the top 5
    reviews = [json.loads(x) for x in next((tmp_path / "out").glob("*/reviews/*/*.jsonl")).read_text().splitlines()]
    assert [r["prediction"] for r in reviews] == pred


def test_clip_bad_inputs(tmp_path, capsys, tiny_clip):
    (tmp_path / "bad.jsonl").write_text(json.dumps({"image_path": "nope.png", "query": "x"}) + "\n")
    for argv, msg in [
        (["--dataset", str(tmp_path / "bad.jsonl")], "image 'nope.png' does not exist"),
        (["--dataset", str(tmp_path / "missing.jsonl")], "does not exist"),
        (["--dataset", str(tmp_path / "bad.jsonl"), "--task", "zeroshot_classification"], "needs 'image_path' and 'label'"),
    ]:
        code, _, err = run_evs(capsys, "rag", "--work-dir", str(tmp_path / "out"), "clip", "--model", str(tiny_clip), *argv)
        assert code == 2 and msg in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()
