"""GEdit-Bench (Liu et al., 2025, "Step1X-Edit"): image editing in 11 real-world categories, judged
by a vision-language model with the VIEScore prompts, as EvalScope and the official code do.

Each sample is an instruction and an input image; the model (an image-edit pipeline or an
``/images/edits`` endpoint) returns the edited image, written into the run folder. The judge
(``--judge-args``, an OpenAI-compatible VLM, through ``evs_core.judge``) is asked twice:

* semantic consistency (SC): the input and the edited image + the two-image edit rules; its reply
  ``{"score": [editing success, overediting], ...}`` gives SC = min of the list;
* perceptual quality (PQ): the edited image alone; ``[naturalness, artifacts]``, PQ = min.

Scores: ``semantic_consistency``, ``perceptual_similarity`` (EvalScope's name for PQ) and
``normalized_score`` = √(SC·PQ), the official Overall (primary). A judge reply with no score list
fails the sample (``JudgeUnparsable``), counted, never scored 0.

Data: ``stepfun-ai/GEdit-Bench`` split ``train`` (``key``, ``task_type``, ``instruction``,
``instruction_language``, ``input_image``); subsets are the ``task_type`` values; ``language``
(``en`` or ``cn``) keeps the instructions of one language. Offline: ``--dataset-dir DIR`` reads
``DIR/gedit/`` (the parquet snapshot, or JSONL rows whose ``input_image`` is a path relative to the
file, or ``{"bytes": ...}``).
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.images import image_part, text_part
from evs_core.schema import Review, Sample

from evs_aigc.benchmarks.base import ImageBenchmark
from evs_aigc.requests import IMAGE_EDIT, ImageRequest

SUBSETS = ["background_change", "color_alter", "material_alter", "motion_change", "ps_human", "style_change",
           "subject-add", "subject-remove", "subject-replace", "text_change", "tone_transfer"]
LANGUAGES = ("en", "cn")

CONTEXT = (
    "You are a professional digital artist. You will have to evaluate the effectiveness of the AI-generated image(s) "
    "based on given rules.\nAll the input images are AI-generated. All human in the images are AI-generated too. so "
    "you need not worry about the privacy confidentials.\n\nYou will have to give your output in this way (Keep your "
    "reasoning concise and short.):\n{\n\"score\" : [...],\n\"reasoning\" : \"...\"\n}")
TWO_IMAGE_EDIT_RULE = (
    "RULES:\n\nTwo images will be provided: The first being the original AI-generated image and the second being an "
    "edited version of the first.\nThe objective is to evaluate how successfully the editing instruction has been "
    "executed in the second image.\n\nNote that sometimes the two images might look identical due to the failure of "
    "image edit.\n")
TIE_RULE_SC = (
    "\nFrom scale 0 to 10:\nA score from 0 to 10 will be given based on the success of the editing. (0 indicates that "
    "the scene in the edited image does not follow the editing instruction at all. 10 indicates that the scene in the "
    "edited image follow the editing instruction text perfectly.)\nA second score from 0 to 10 will rate the degree of "
    "overediting in the second image. (0 indicates that the scene in the edited image is completely different from the "
    "original. 10 indicates that the edited image can be recognized as a minimal edited yet effective version of "
    "original.)\nPut the score in a list such that output score = [score1, score2], where 'score1' evaluates the "
    "editing success and 'score2' evaluates the degree of overediting.\n\nEditing instruction: <instruction>\n")
RULE_PQ = (
    "RULES:\n\nThe image is an AI-generated image.\nThe objective is to evaluate how successfully the image has been "
    "generated.\n\nFrom scale 0 to 10:\nA score from 0 to 10 will be given based on image naturalness.\n(\n    0 "
    "indicates that the scene in the image does not look natural at all or give a unnatural feeling such as wrong "
    "sense of distance, or wrong shadow, or wrong lighting.\n    10 indicates that the image looks natural.\n)\nA "
    "second score from 0 to 10 will rate the image artifacts.\n(\n    0 indicates that the image contains a large "
    "portion of distortion, or watermark, or scratches, or blurred faces, or unusual body parts, or subjects not "
    "harmonized.\n    10 indicates the image has no artifacts.\n)\nPut the score in a list such that output score = "
    "[naturalness, artifacts]\n")
SC_PROMPT = "\n".join([CONTEXT, TWO_IMAGE_EDIT_RULE, TIE_RULE_SC])
PQ_PROMPT = "\n".join([CONTEXT, RULE_PQ])
DELIMITER = "||V^=^V||"


def parse_scores(text: str) -> list[float] | None:
    """The score list of a VIEScore judge reply, read as the official parser does: the JSON between
    the delimiters, else the outermost ``{...}``, else a bare ``[a, b]`` list or a single number."""
    s = (text or "").strip()
    if s.count(DELIMITER) == 2:
        body = s[s.find(DELIMITER) + len(DELIMITER): s.rfind(DELIMITER)]
    else:
        start, end = s.find("{"), s.rfind("}") + 1
        if start == -1 or end == 0:
            start, end = s.find("["), s.rfind("]") + 1
            if re.match(r"^\[\d+, ?\d+\]$", s[start:end] if start != -1 else ""):
                return [float(v) for v in json.loads(s[start:end])]
            if re.fullmatch(r"-?\d+", s) and 0 <= int(s) <= 10:
                return [float(int(s))]
            return None
        body = s[start:end]
    body = body.strip().replace("\n", "")
    data: Any = None
    try:
        data = json.loads(body)
    except ValueError:
        try:
            data = json.loads(_fix_json(body))
        except ValueError:
            return None
    if not isinstance(data, dict) or "score" not in data:
        return None
    scores = data["score"]
    if not isinstance(scores, list):
        scores = [scores]
    try:
        out = [float(v) for v in scores]
    except (TypeError, ValueError):
        return None
    return out or None


def _fix_json(s: str) -> str:
    """Quote bare keys and wrap bare numbers in lists (the official parser's repair of loose JSON)."""
    s = re.sub(r"(\w+):", r'"\1":', s)

    def value(m: re.Match) -> str:
        key, val, comma = m.groups()
        val = val.strip()
        if re.match(r"^-?\d+(\.\d+)?$", val):
            val = f"[{val}]"
        elif not re.match(r"^(true|false|null)$", val, re.IGNORECASE):
            val = json.dumps(val)
        return f"{key}: {val}{comma}"

    return re.sub(r'(".*?"):(.*?)(,|})', value, s)


class GEdit(ImageBenchmark):
    name = "gedit"
    description = "GEdit-Bench: 11 edit categories, VLM judge (semantic consistency, perceptual quality)"
    tags: ClassVar[list[str]] = ["image-editing"]
    hf_id = "stepfun-ai/GEdit-Bench"
    ms_id = "stepfun-ai/GEdit-Bench"
    subsets = SUBSETS
    eval_split = "train"
    metrics = ["semantic_consistency", "perceptual_similarity", "normalized_score"]
    primary_metric = "normalized_score"
    requires_judge = True
    extra_args: ClassVar[dict[str, Any]] = {**ImageBenchmark.extra_args, "language": "en"}

    def judged_scores(self) -> tuple[str, ...]:
        return tuple(type(self).metrics)

    def _check_args(self) -> None:
        super()._check_args()
        if self.args.get("language") not in LANGUAGES:
            raise ConfigError(f"dataset_args.gedit.language must be one of {', '.join(LANGUAGES)}, "
                              f"not {self.args.get('language')!r}")

    def _all_rows(self) -> list[dict[str, Any]]:
        cache = self.__dict__.get("_rows")
        if cache is None:
            cache = self.__dict__["_rows"] = super().load_rows(self.args["split"], DEFAULT)
        return cache

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        lang = self.args.get("language", "en")
        rows = []
        for r in self._all_rows():
            if r.get("task_type") == subset and r.get("instruction_language", "en") == lang:
                rows.append(r)
        return rows

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        instruction = record["instruction"]
        image = record["input_image"]
        if isinstance(image, dict) and image.get("bytes"):
            src = "data:image/png;base64," + base64.b64encode(image["bytes"]).decode()
        elif isinstance(image, dict) and image.get("path"):
            src = self.resolve_file(image["path"])
        elif isinstance(image, (bytes, bytearray)):
            src = "data:image/png;base64," + base64.b64encode(bytes(image)).decode()
        elif isinstance(image, str) and image:
            src = image if image.startswith("data:") else self.resolve_file(image)
        else:
            raise ValueError("field 'input_image' holds no image")
        return Sample(id=str(record["key"]), input=instruction, subset=subset,
                      metadata={"prompt": instruction, "input_image": src, "category": subset,
                                "language": record.get("instruction_language", "en")})

    def build_request(self, sample: Sample) -> ImageRequest:
        return ImageRequest(prompt=sample.input, kind=IMAGE_EDIT, dataset=self.name, sample_id=sample.id,
                            input_images=[sample.metadata["input_image"]])

    async def score_image(self, sample, output, ctx, image, meta) -> Review:
        judge = ctx.judge if ctx is not None else None
        if judge is None:
            return failed_review(sample, output, ctx, "NoJudge: gedit is scored by a VLM judge (--judge-args)",
                                 extracted=output.text, metadata=meta)
        edited = str(self.image_file(output.text, ctx))
        source = sample.metadata["input_image"]
        sc_msg = [{"role": "user", "content": [image_part(source), image_part(edited),
                                               text_part(SC_PROMPT.replace("<instruction>", sample.input or ""))]}]
        pq_msg = [{"role": "user", "content": [image_part(edited), text_part(PQ_PROMPT)]}]
        values = {}
        replies = {}
        for kind, msgs in (("SC", sc_msg), ("PQ", pq_msg)):
            out = await judge.complete(msgs)
            if out.error:
                return failed_review(sample, output, ctx, f"JudgeError: {kind}: {out.error}",
                                     extracted=output.text, metadata=meta)
            scores = parse_scores(out.text)
            replies[kind] = out.text
            if not scores:
                snippet = " ".join((out.text or "").split())[:120]
                return failed_review(sample, output, ctx, f"JudgeUnparsable: {kind}: {snippet!r}",
                                     extracted=output.text, metadata={**meta, "judge": replies})
            values[kind] = min(scores)
        sc, pq = values["SC"], values["PQ"]
        scores = {"semantic_consistency": float(sc), "perceptual_similarity": float(pq),
                  "normalized_score": math.sqrt(sc * pq) if sc * pq > 0 else 0.0}
        if self.metric_options and set(self.metric_options) != set(self.judged_scores()):
            scores = {k: v for k, v in scores.items() if k in self.metric_options}
        return make_review(sample, output, ctx, extracted=output.text, scores=scores,
                           metadata={**meta, "judge": replies})

