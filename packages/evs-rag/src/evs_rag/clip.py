"""CLIP-style multimodal evaluation (as EvalScope's CLIP_Benchmark tool): zero-shot image
classification and image-text retrieval (recall@k both ways), on local image-text files.

Images are preprocessed with PIL and numpy (shortest side resized to the model's image size with
bicubic resampling, centre crop, the model's mean/std from ``preprocessor_config.json`` or
CLIP's), so torchvision is never needed.

Data (JSONL, image paths relative to the file):

* retrieval / captions: ``{"image_path": "img/1.jpg", "query": "a caption"}`` — an image may
  appear on several lines (several captions);
* classification: ``{"image_path": "img/1.jpg", "label": "cat"}``; the class names are the labels,
  turned into prompts with ``--template`` (default ``"a photo of a {}."``).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError
from evs_core.outputs import atomic_write_jsonl, atomic_write_text, new_run_dir, safe_name
from evs_core.schema import Report, Review, Stat

from evs_rag.offline import is_local, offline, quiet_libraries, require_hub
from evs_rag.reports import package_versions, write_report

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
TASKS = ("zeroshot_retrieval", "zeroshot_classification")


def read_pairs(path: str, kind: str) -> list[dict[str, Any]]:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"dataset file '{path}' does not exist")
    key = "query" if kind == "zeroshot_retrieval" else "label"
    rows = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except ValueError:
            raise ConfigError(f"{p}:{n}: not a JSON line") from None
        if not isinstance(r, dict) or not isinstance(r.get("image_path"), str) or not isinstance(r.get(key), str):
            raise ConfigError(f"{p}:{n}: needs 'image_path' and '{key}' strings")
        img = (p.parent / r["image_path"]).resolve() if not Path(r["image_path"]).is_absolute() else Path(r["image_path"])
        if not img.is_file():
            raise ConfigError(f"{p}:{n}: image '{r['image_path']}' does not exist")
        rows.append({"image": str(img), "text": r[key]})
    if not rows:
        raise ConfigError(f"dataset '{path}' is empty")
    return rows


def preprocess(paths: list[str], size: int, mean, std):
    import numpy as np
    from PIL import Image

    out = []
    for path in paths:
        try:
            im = Image.open(path).convert("RGB")
        except OSError as exc:
            raise EvsError(f"cannot read image {path}: {exc}") from None
        w, h = im.size
        scale = size / min(w, h)
        im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
        w, h = im.size
        left, top = (w - size) // 2, (h - size) // 2
        im = im.crop((left, top, left + size, top + size))
        a = np.asarray(im, dtype=np.float32) / 255.0
        a = (a - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
        out.append(a.transpose(2, 0, 1))
    return np.stack(out)


def _as_tensor(out):
    """Features as a tensor: some transformers versions return a model output from
    ``get_*_features`` (the projected features in ``pooler_output``) instead of a tensor."""
    import torch

    if torch.is_tensor(out):
        return out
    for name in ("image_embeds", "text_embeds", "pooler_output"):
        v = getattr(out, name, None)
        if torch.is_tensor(v):
            return v
    return out[0]


class ClipModel:
    """A transformers ``CLIPModel`` (or any model with get_image/get_text_features) and its tokenizer."""

    def __init__(self, path: str, device: str | None = None):
        quiet_libraries()
        local = is_local(path)
        if not local:
            require_hub("CLIP model", path)
        try:
            with offline(local):
                from transformers import AutoModel, AutoTokenizer

                self.model = AutoModel.from_pretrained(path).eval()
                self.tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise EvsError(f"cannot load CLIP model '{path}': {str(exc).splitlines()[0]}") from None
        if not hasattr(self.model, "get_image_features") or not hasattr(self.model, "get_text_features"):
            raise ConfigError(f"model '{path}' is not CLIP-like (no get_image_features/get_text_features)")
        if device:
            self.model.to(device)
        cfg = self.model.config
        self.size = int(getattr(getattr(cfg, "vision_config", cfg), "image_size", 224))
        self.mean, self.std = CLIP_MEAN, CLIP_STD
        pp = Path(path) / "preprocessor_config.json"
        if local and pp.is_file():
            d = json.loads(pp.read_text())
            self.mean = tuple(d.get("image_mean", self.mean))
            self.std = tuple(d.get("image_std", self.std))
            crop = d.get("crop_size")
            if isinstance(crop, dict):
                crop = crop.get("height")
            if isinstance(crop, int):
                self.size = crop
        self.max_len = int(getattr(getattr(cfg, "text_config", cfg), "max_position_embeddings", 77))

    def encode_images(self, paths: list[str], batch_size: int):
        import torch

        feats = []
        with torch.inference_mode():
            for i in range(0, len(paths), batch_size):
                px = torch.from_numpy(preprocess(paths[i:i + batch_size], self.size, self.mean, self.std))
                f = self.model.get_image_features(pixel_values=px.to(self.model.device))
                feats.append(torch.nn.functional.normalize(_as_tensor(f).float(), dim=-1).cpu())
        return torch.cat(feats).numpy()

    def encode_texts(self, texts: list[str], batch_size: int):
        import torch

        feats = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                tok = self.tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=self.max_len,
                                     return_tensors="pt")
                tok = {k: v.to(self.model.device) for k, v in tok.items() if k in ("input_ids", "attention_mask")}
                f = self.model.get_text_features(**tok)
                feats.append(torch.nn.functional.normalize(_as_tensor(f).float(), dim=-1).cpu())
        return torch.cat(feats).numpy()


def retrieval_metrics(sim, text_to_image: list[int], ks=(1, 5, 10)) -> dict[str, float]:
    """``sim`` is texts × images. Text→image: the text's image within the top k images.
    Image→text: any of the image's texts within the top k texts."""
    import numpy as np

    n_text, n_img = sim.shape
    out = {}
    order_t2i = np.argsort(-sim, axis=1, kind="stable")
    order_i2t = np.argsort(-sim.T, axis=1, kind="stable")
    texts_of = [set() for _ in range(n_img)]
    for t, i in enumerate(text_to_image):
        texts_of[i].add(t)
    for k in ks:
        out[f"image_retrieval_recall@{k}"] = float(np.mean([text_to_image[t] in order_t2i[t, :k] for t in range(n_text)]))
        out[f"text_retrieval_recall@{k}"] = float(np.mean([bool(texts_of[i] & set(order_i2t[i, :k].tolist()))
                                                           for i in range(n_img)]))
    return out


def classification_metrics(logits, labels: list[int]) -> dict[str, float]:
    import numpy as np

    order = np.argsort(-logits, axis=1, kind="stable")
    top1 = order[:, 0] == np.asarray(labels)
    out = {"acc1": float(top1.mean())}
    k5 = min(5, logits.shape[1])
    out["acc5"] = float(np.mean([labels[i] in order[i, :k5] for i in range(len(labels))]))
    per_class = [float(top1[np.asarray(labels) == c].mean()) for c in sorted(set(labels))]
    out["mean_per_class_recall"] = float(np.mean(per_class))
    return out


def run_clip(model_path: str, dataset: str, task: str, work_dir: str, *, batch_size: int = 64,
             template: str = "a photo of a {}.", device: str | None = None):
    if task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, not '{task}'")
    if task == "zeroshot_classification" and "{}" not in template:
        raise ConfigError("--template must contain {} where the class name goes")
    if batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    rows = read_pairs(dataset, task)
    model = ClipModel(model_path, device=device)
    start = time.perf_counter()
    name = Path(dataset).stem
    reviews: list[Review] = []
    if task == "zeroshot_retrieval":
        images = list(dict.fromkeys(r["image"] for r in rows))
        index = {p: i for i, p in enumerate(images)}
        t2i = [index[r["image"]] for r in rows]
        img = model.encode_images(images, batch_size)
        txt = model.encode_texts([r["text"] for r in rows], batch_size)
        sim = txt @ img.T
        metrics = retrieval_metrics(sim, t2i)
        main = "image_retrieval_recall@1"
        n = len(rows)
        for t, r in enumerate(rows):
            rank = int((sim[t] > sim[t, t2i[t]]).sum()) + 1
            reviews.append(Review(sample_id=str(t), target=Path(r["image"]).name, prediction=r["text"],
                                  scores={"image_retrieval_recall@1": float(rank == 1)},
                                  metadata={"rank_of_image": rank}))
    else:
        classes = sorted(dict.fromkeys(r["text"] for r in rows))
        labels = [classes.index(r["text"]) for r in rows]
        img = model.encode_images([r["image"] for r in rows], batch_size)
        txt = model.encode_texts([template.format(c) for c in classes], batch_size)
        logits = img @ txt.T
        metrics = classification_metrics(logits, labels)
        main = "acc1"
        n = len(rows)
        for i, r in enumerate(rows):
            pred = classes[int(logits[i].argmax())]
            reviews.append(Review(sample_id=str(i), target=r["text"], prediction=pred, extracted=pred,
                                  scores={"acc1": float(pred == r["text"])}))
    elapsed = time.perf_counter() - start
    run_dir = new_run_dir(work_dir)
    cfg = {"tool": "clip_benchmark", "model": model_path, "dataset": dataset, "task": task, "batch_size": batch_size}
    if task == "zeroshot_classification":
        cfg["template"] = template
    import yaml

    atomic_write_text(run_dir / "configs" / "task_config.yaml", yaml.safe_dump(cfg, sort_keys=False))
    mname = Path(model_path).name if is_local(model_path) else model_path
    atomic_write_jsonl(run_dir / "reviews" / safe_name(mname) / f"{safe_name(name)}_{task}.json".replace(".json", ".jsonl"),
                       reviews)
    stats = {k: Stat(score=v, num=n) for k, v in metrics.items() if math.isfinite(v)}
    rep = Report(model=mname, dataset=f"{name}_{task}", benchmark_version="evs clip 1", metric=main,
                 score=metrics[main], num=n, num_samples=n, num_errors=0, metrics=stats,
                 usage={"elapsed_s": elapsed}, config=cfg,
                 packages=package_versions("transformers", "torch"), created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return run_dir, [write_report(run_dir, rep)], []
