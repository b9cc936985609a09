"""Your own image data: ``general_vmcq`` (multiple choice) and ``general_vqa`` (open answers).

Point ``dataset_args.<name>.local_path`` (or ``--dataset-dir`` holding a ``<name>/`` folder) at
one file or a folder of ``.jsonl``/``.json``/``.csv``/``.tsv``/``.parquet`` files; each file is a
subset named after its stem (``<subset>_val``/``<subset>_test`` name questions, ``<subset>_dev``
few-shot examples, whose images are sent too). Image paths are relative to the file's folder, or
absolute, or data URLs. A row missing a required field stops the run before any model call; a
missing or unreadable image fails only its sample. See ``docs/vlm.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT
from evs_core.data import SUFFIXES, read_records
from evs_core.errors import ConfigError, suggest
from evs_core.images import content_text, image_part, interleave
from evs_core.schema import Message, ModelOutput, Sample

from evs_vlm.base import VisionBenchmark, format_mcq, letter_target
from evs_vlm.benchmarks.mcq import parse_list
from evs_vlm.extract import extract_marked, extract_option, norm_text
from evs_vlm.metrics import anls, rouge_scores

_FEWSHOT = ("_dev", "_train")
_EVAL = ("_val", "_test")


class _CustomImages(VisionBenchmark):
    fewshot_split = "dev"
    required_hint: ClassVar[str] = ""

    def _check_args(self) -> None:
        saved = self.args["subset_list"]
        self.args["subset_list"] = [DEFAULT]
        super()._check_args()
        self.args["subset_list"] = [saved] if isinstance(saved, str) else saved

    def _layout(self) -> dict[str, dict[str, list[Path]]]:
        cache = self.__dict__.get("_layout_cache")
        if cache is not None:
            return cache
        root = self.local_root()
        if root is None:
            raise ConfigError(f"{self.name} needs local data: dataset_args.{self.name}.local_path (a file or a folder "
                              f"of files) or --dataset-dir holding a {self.name}/ folder")
        layout: dict[str, dict[str, list[Path]]] = {}
        files = [root] if root.is_file() else sorted(p for p in root.iterdir() if p.is_file())
        for f in files:
            suffix = next((s for s in SUFFIXES if f.name.lower().endswith(s)), None)
            if suffix is None:
                if root.is_file():
                    raise ConfigError(f"dataset_args.{self.name}.local_path: unsupported file type {f.name} "
                                      f"(use one of {', '.join(SUFFIXES)})")
                continue
            stem, kind = f.name[: -len(suffix)], "eval"
            for s in _FEWSHOT:
                if stem.endswith(s) and len(stem) > len(s):
                    kind, stem = "fewshot", stem[: -len(s)]
            for s in _EVAL:
                if stem.endswith(s) and len(stem) > len(s):
                    stem = stem[: -len(s)]
            layout.setdefault(stem, {"eval": [], "fewshot": []})[kind].append(f)
        layout = {k: v for k, v in layout.items() if v["eval"]}
        if not layout:
            raise ConfigError(f"{self.name}: no data files under {root} (expected e.g. {root}/my_subset.jsonl)")
        self.__dict__["_layout_cache"] = layout
        return layout

    def selected_subsets(self) -> list[str]:
        layout = self._layout()
        wanted = self.args["subset_list"]
        if not wanted or wanted == [DEFAULT]:
            return list(layout)
        for s in wanted:
            if s not in layout:
                raise ConfigError(f"unknown subset '{s}' of {self.name}{suggest(s, layout)} (found: {', '.join(layout)})")
        return list(wanted)

    def _samples_from(self, files: list[Path], subset: str) -> list[Sample]:
        out, i = [], 0
        for f in files:
            for row in read_records(f):
                try:
                    out.append(self.row_to_sample(row, i, subset, f.parent))
                except KeyError as exc:
                    raise ConfigError(f"{f}: row {i + 1} has no '{exc.args[0]}' field{self.required_hint}") from None
                except (ValueError, TypeError, SyntaxError) as exc:
                    raise ConfigError(f"{f}: row {i + 1}: {exc}") from None
                i += 1
        return out

    def subset_samples(self, subset: str) -> list[Sample]:
        return self._samples_from(self._layout()[subset]["eval"], subset)

    def fewshot_samples(self, subset: str) -> list[Sample]:
        n = self.args["few_shot_num"]
        if not n:
            return []
        cache = self.__dict__.setdefault("_fewshot_cache", {})
        if subset not in cache:
            files = self._layout().get(subset, {}).get("fewshot") or []
            cache[subset] = self._samples_from(files, subset)[:n] if files else []
        return cache[subset]

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        return self.row_to_sample(record, index, subset, None)

    def row_to_sample(self, record: dict[str, Any], index: int, subset: str, base: Path | None) -> Sample:
        raise NotImplementedError

    @staticmethod
    def _id(record: dict[str, Any], index: int, subset: str) -> str:
        rid = record.get("id")
        return f"{subset}_{rid}" if rid not in (None, "") else f"{subset}_{index}"


def _row_images(record: dict[str, Any]) -> dict[int, Any]:
    """Images of a row: ``image`` / ``image_1`` … ``image_N`` columns, or an ``images`` list."""
    images: dict[int, Any] = {}
    if record.get("image") not in (None, ""):
        images[1] = record["image"]
    for key, v in record.items():
        m = re.fullmatch(r"image_(\d+)", key)
        if m and v not in (None, ""):
            images[int(m.group(1))] = v
    lst = record.get("images")
    if isinstance(lst, str) and lst.strip().startswith("["):
        lst = json.loads(lst)
    if isinstance(lst, list):
        for i, v in enumerate(lst, 1):
            if v not in (None, ""):
                images.setdefault(i, v)
    return images


class GeneralVMCQ(_CustomImages):
    name = "general_vmcq"
    version = "1"
    description = ("Your own image multiple-choice questions: rows with 'question' (optional <image N> marks), "
                   "'options' (a list or JSON list), 'answer' (a letter) and images in 'image', 'image_1'…, or "
                   "'images' (paths relative to the file, or data URLs). Metric: acc.")
    tags = ["multimodal", "custom", "multiple-choice"]
    required_hint = " (general_vmcq rows need 'question', 'options' and 'answer')"

    def row_to_sample(self, record: dict[str, Any], index: int, subset: str, base: Path | None) -> Sample:
        choices = parse_list(record["options"])
        if len(choices) < 2:
            raise ValueError("'options' needs at least two options")
        text = format_mcq(str(record["question"]), choices)
        images = {k: (image_part(v, base)["image_url"]["url"]) for k, v in _row_images(record).items()}
        sid = self._id(record, index, subset)
        target = letter_target(record["answer"], choices, "answer")
        return self.make_sample(sid, text, [], subset, target, choices, interleaved=images)

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        return extract_option(text, sample.choices or [])

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(extracted is not None and extracted == sample.target)}


class GeneralVQA(_CustomImages):
    name = "general_vqa"
    version = "1"
    description = ("Your own image questions in OpenAI chat format: rows with 'messages' (image_url parts with "
                   "local paths relative to the file, or data URLs; '<image N>' marks in text filled from "
                   "'image_N' columns) and the reference 'answer'. Metrics: rouge-l-r (primary, as EvalScope), "
                   "rouge-l-f, rouge-1-f, anls, exact_match.")
    tags = ["multimodal", "custom", "qa"]
    metrics = ["rouge-l-r", "rouge-l-f", "rouge-1-f", "anls", "exact_match"]
    primary_metric = "rouge-l-r"
    eval_split = "test"
    required_hint = " (general_vqa rows need 'messages' and 'answer')"

    def row_to_sample(self, record: dict[str, Any], index: int, subset: str, base: Path | None) -> Sample:
        messages = record["messages"]
        if isinstance(messages, str):
            messages = json.loads(messages)
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
            raise ValueError("'messages' must be a list of {role, content} objects")
        answer = record.get("answer", record.get("response"))
        if messages and messages[-1]["role"] == "assistant":
            if answer is None:
                answer = content_text(messages[-1].get("content"))
            messages = messages[:-1]
        if answer is None:
            raise KeyError("answer")
        if not any(m["role"] == "user" for m in messages):
            raise ValueError("'messages' has no user message")
        columns = _row_images(record)
        msgs = []
        for m in messages:
            content = m.get("content", "")
            if isinstance(content, str) and columns and re.search(r"<image\s*\d+>", content):
                content = interleave(content, {k: image_part(v, base)["image_url"]["url"] for k, v in columns.items()})
            elif isinstance(content, list):
                parts = []
                for p in content:
                    if isinstance(p, dict) and p.get("type") == "image_url":
                        inner = p.get("image_url")
                        url = inner.get("url") if isinstance(inner, dict) else inner
                        if not url:
                            raise ValueError("an image_url part has no url")
                        part = image_part(url, base)
                        if isinstance(inner, dict) and inner.get("detail"):
                            part["image_url"]["detail"] = inner["detail"]
                        parts.append(part)
                    elif isinstance(p, dict) and p.get("type") == "text":
                        parts.append({"type": "text", "text": str(p.get("text", ""))})
                    else:
                        raise ValueError(f"unsupported content part {str(p)[:60]!r} (use text or image_url)")
                content = parts
            msgs.append(Message(role=m["role"], content=content))
        question = next((content_text(m.content) for m in reversed(msgs) if m.role == "user"), "")
        return Sample(id=self._id(record, index, subset), input=question, messages=msgs, target=str(answer),
                      subset=subset)

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        return text.strip(), "full_text"

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        r = rouge_scores(extracted, sample.target)
        marked, _ = extract_marked(extracted)
        return {"rouge-l-r": r["rouge-l-r"], "rouge-l-f": r["rouge-l-f"], "rouge-1-f": r["rouge-1-f"],
                "anls": anls(marked, [sample.target]),
                "exact_match": float(norm_text(marked) == norm_text(sample.target))}
