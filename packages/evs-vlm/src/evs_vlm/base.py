"""Base classes of the vision-language benchmarks.

A vision sample is a :class:`~evs_core.schema.Sample` whose ``messages`` hold OpenAI content parts
(text and ``image_url``); ``input`` keeps the text alone. Images from Hub rows (``Image()`` cells
with bytes) become base64 data URLs; images given as paths stay paths and are read when the
request is sent, so a missing or unreadable file fails that sample alone.

``subset_field``: benchmarks whose "subsets" are a column of one Hub split (MMStar's category,
ChartQA's type…) load the split once and partition it, as EvalScope's ``reformat_subset`` does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT, Benchmark
from evs_core.errors import ConfigError
from evs_core.images import content_text, image_part, interleave, text_part
from evs_core.models import Request
from evs_core.schema import Message, ModelOutput, Review, Sample

from evs_vlm.extract import LETTERS, extract_option

#: EvalScope's single-answer chain-of-thought multiple-choice template.
MCQ_COT_PROMPT = (
    "Answer the following multiple choice question. The last line of your response should be of the following "
    "format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. Think step by step before "
    "answering.\n\n{question}\n\n{choices}"
)


def format_mcq(question: str, choices: list[str], template: str = MCQ_COT_PROMPT) -> str:
    letters = ",".join(LETTERS[: len(choices)])
    options = "\n".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(choices))
    return template.format(question=question, choices=options, letters=letters)


def images_of(record: dict[str, Any], *fields: str) -> list[Any]:
    """The non-empty image cells of ``record`` among ``fields``."""
    out = []
    for f in fields:
        v = record.get(f)
        if v is None or v == "" or v == {}:
            continue
        if isinstance(v, dict) and not (v.get("bytes") or v.get("path")):
            continue
        out.append(v)
    return out


class VisionBenchmark(Benchmark):
    """A benchmark whose samples carry images (see the module docstring)."""

    tags: ClassVar[list[str]] = ["multimodal"]
    #: A column of the split whose values are the subsets (None: subsets are Hub configs).
    subset_field: ClassVar[str | None] = None
    #: The Hub config holding every subset when ``subset_field`` is set.
    hub_config: ClassVar[str | None] = None
    #: Image before the text (OCRBench) or after it (most benchmarks, as EvalScope sends them).
    image_first: ClassVar[bool] = False
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 2048, "temperature": 0.0}

    # -- data --------------------------------------------------------------------------------
    def subset_of(self, record: dict[str, Any]) -> str:
        return str(record.get(self.subset_field)) if self.subset_field else DEFAULT

    def _all_rows(self, split: str) -> list[dict[str, Any]]:
        cache = self.__dict__.setdefault("_rows_cache", {})
        if split not in cache:
            root = self.local_root()
            if root is not None:
                from evs_core.data import load_local

                cache[split] = load_local(root, split, None)
            else:
                dataset_id = self.ms_id if self.hub == "modelscope" and self.ms_id else self.hf_id
                from evs_core.data import load_hub

                cache[split] = load_hub(dataset_id, self.hub_config, split, self.hub)
        return cache[split]

    def subset_samples(self, subset: str) -> list[Sample]:
        if not self.subset_field:
            return super().subset_samples(subset)
        rows = self._all_rows(self.args["split"])
        out = []
        for i, r in enumerate(rows):
            if self.subset_of(r) != subset:
                continue
            s = self.record_to_sample(r, i, subset)
            if s is not None:
                out.append(s)
        return out

    def fewshot_samples(self, subset: str) -> list[Sample]:
        if not self.subset_field or not self.args["few_shot_num"]:
            return super().fewshot_samples(subset)
        cache = self.__dict__.setdefault("_fewshot_cache", {})
        if subset not in cache:
            rows = [r for r in self._all_rows(self.fewshot_split) if self.subset_of(r) == subset]
            cache[subset] = [self.record_to_sample(r, i, subset) for i, r in enumerate(rows[: self.args["few_shot_num"]])]
        return cache[subset]

    # -- samples -----------------------------------------------------------------------------
    def make_sample(self, sid: str, text: str, images: list[Any], subset: str, target: Any,
                    choices: list[str] | None = None, metadata: dict[str, Any] | None = None,
                    interleaved: dict[int, Any] | None = None) -> Sample:
        """A sample of one user message: the text and its images (``interleaved``: ``<image N>``
        placeholders in ``text`` replaced by image N)."""
        if interleaved is not None:
            parts = interleave(text, interleaved)
        else:
            imgs = [image_part(im) for im in images]
            parts = [*imgs, text_part(text)] if self.image_first else [text_part(text), *imgs]
        return Sample(id=sid, input=text, messages=[Message(role="user", content=parts)], choices=choices,
                      target=target, subset=subset, metadata=metadata or {})

    def record_id(self, record: dict[str, Any], index: int, subset: str, *fields: str) -> str:
        for f in fields:
            v = record.get(f)
            if v not in (None, ""):
                return f"{subset}_{v}" if subset != DEFAULT else str(v)
        return f"{subset}_{index}" if subset != DEFAULT else str(index)

    # -- prompting: image-aware few-shot -----------------------------------------------------
    def fewshot_answer(self, sample: Sample) -> str:
        return f"ANSWER: {sample.target}"

    def build_request(self, sample: Sample) -> Request:
        request = super().build_request(sample)
        shots = self.fewshot_samples(sample.subset)
        if shots and request.messages:
            turns: list[dict[str, Any]] = []
            for s in shots:
                for m in s.messages or [Message(role="user", content=s.input or "")]:
                    turns.append(m.model_dump())
                turns.append({"role": "assistant", "content": self.fewshot_answer(s)})
            k = 1 if request.messages[0]["role"] == "system" else 0
            request.messages = request.messages[:k] + turns + request.messages[k:]
        return request

    # -- scoring -----------------------------------------------------------------------------
    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        return text.strip(), "full_text"

    def extract(self, text: str, sample: Sample) -> Any:
        from evs_core.extract import Extraction

        answer, rule = self.extract_with_rule(text, sample)
        return Extraction(answer, rule)

    async def score(self, sample: Sample, output: ModelOutput, ctx: Any) -> Review:
        review = await super().score(sample, output, ctx)
        meta = self.review_metadata(sample)
        if meta and review.error is None:
            review = review.model_copy(update={"metadata": {**review.metadata, **meta}})
        return review

    def review_metadata(self, sample: Sample) -> dict[str, Any]:
        return {}


class VisionMCQ(VisionBenchmark):
    """Multiple choice with letters; the target is a letter, scored by exact letter match."""

    metrics: ClassVar[list[str]] = ["acc"]

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        return extract_option(text, sample.choices or [])

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(extracted is not None and extracted == sample.target)}


def letter_target(answer: Any, choices: list[str], where: str) -> str:
    """A gold letter from a letter, a 0-based index, or the text of an option."""
    a = str(answer).strip()
    if len(a) == 1 and a.upper() in LETTERS[: len(choices)]:
        return a.upper()
    if a.isdigit() and int(a) < len(choices):
        return LETTERS[int(a)]
    if a in choices:
        return LETTERS[choices.index(a)]
    raise ConfigError(f"{where}: answer {answer!r} is not one of the {len(choices)} options")


def text_of(sample: Sample) -> str:
    return content_text(sample.messages[-1].content) if sample.messages else (sample.input or "")
