"""Text-to-image benchmarks: a prompt per sample, the generated image scored by image metrics.

Data as in EvalScope's ``AI-ModelScope/T2V-Eval-Prompts`` (one subset per benchmark, split
``test``; rows ``{"id", "prompt", "tags", "image_path"?}``). Offline, ``--dataset-dir DIR`` reads
``DIR/<benchmark>/<subset>/test.jsonl`` (or ``DIR/<benchmark>/test.jsonl``); ``general_t2i`` reads
your own file or folder (``local_path``), the subset named after the file. A row's optional
``image_path`` is a pre-generated image (``--model-type image_folder``); a reference image field
(``reference_image_path``…) feeds the full-reference metrics (PSNR, SSIM, LPIPS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from evs_core.schema import Sample

from evs_aigc.benchmarks.base import ImageBenchmark
from evs_aigc.requests import TEXT_TO_IMAGE, ImageRequest

T2V_PROMPTS = "AI-ModelScope/T2V-Eval-Prompts"


class Text2ImageBenchmark(ImageBenchmark):
    """A prompt set scored by image metrics (``metric_list``; the benchmark's default otherwise)."""

    tags: ClassVar[list[str]] = ["text-to-image"]
    hf_id = T2V_PROMPTS
    ms_id = T2V_PROMPTS
    eval_split = "test"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        prompt = record["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("field 'prompt' is empty")
        rid = record.get("id")
        sid = str(rid) if rid not in (None, "") else str(index)
        tags = record.get("tags") or {}
        meta: dict[str, Any] = {"prompt": prompt, "category": self.category_of(record),
                                "tags": tags}
        if record.get("image_path"):
            meta["image_path"] = self.resolve_file(record["image_path"])
        ref = self.reference_of(record)
        if ref:
            meta["reference_image"] = ref
        return Sample(id=sid, input=prompt, subset=subset, metadata=meta)

    def category_of(self, record: dict[str, Any]) -> str:
        cat = record.get("category")
        if isinstance(cat, str) and cat:
            return cat
        tags = record.get("tags")
        if isinstance(tags, dict) and isinstance(tags.get("category"), str):
            return tags["category"]
        return ""

    def build_request(self, sample: Sample) -> ImageRequest:
        return ImageRequest(prompt=sample.input, kind=TEXT_TO_IMAGE, dataset=self.name, sample_id=sample.id,
                            image_path=sample.metadata.get("image_path"))

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        return sample.input or ""


class TIFA160(Text2ImageBenchmark):
    name = "tifa160"
    description = "TIFA-160: 160 prompts scored by PickScore"
    subsets = ["TIFA-160"]
    num_samples = 160
    metrics = ["pickscore"]
    primary_metric = "pickscore"


class GenAIBench(Text2ImageBenchmark):
    name = "genai_bench"
    description = "GenAI-Bench-1600: basic and advanced compositional prompts, VQAScore"
    subsets = ["GenAI-Bench-1600"]
    num_samples = 1600
    metrics = ["vqascore"]
    primary_metric = "vqascore"

    def category_of(self, record: dict[str, Any]) -> str:
        tags = record.get("tags")
        advanced = tags.get("advanced") if isinstance(tags, dict) else None
        return "advanced" if advanced else "basic"


class EvalMuse(Text2ImageBenchmark):
    name = "evalmuse"
    description = "EvalMuse: fine-grained text-image alignment, FGA-BLIP2"
    subsets = ["EvalMuse"]
    metrics = ["fga_blip2"]
    primary_metric = "fga_blip2"


class HPDv2(Text2ImageBenchmark):
    name = "hpdv2"
    description = "HPD v2 prompts (anime, concept-art, paintings, photo), HPSv2.1"
    subsets = ["HPDv2"]
    metrics = ["hpsv2.1"]
    primary_metric = "hpsv2.1"


class GeneralT2I(Text2ImageBenchmark):
    """Your prompts: ``local_path`` a JSONL/CSV/JSON file (or a folder of them) with a ``prompt`` field."""

    name = "general_t2i"
    description = "your own prompts (and images), any registered image metric"
    tags: ClassVar[list[str]] = ["text-to-image", "custom"]
    hf_id = None
    ms_id = None
    metrics = ["pickscore"]
    primary_metric = "pickscore"

    def selected_subsets(self) -> list[str]:
        path = self.args.get("local_path") or self.args.get("dataset_id")
        if path and Path(str(path)).expanduser().is_file() and self.args["subset_list"] == ["default"]:
            return [Path(str(path)).stem]  # EvalScope names the subset after the prompt file
        return super().selected_subsets()

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        root = self.local_root()
        if root is not None and root.is_file():
            return self.load_local(root, split, None)
        return super().load_rows(split, "default" if subset not in self.subsets else subset)
