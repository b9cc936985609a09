"""LLM judges: any OpenAI-compatible endpoint or local model grades free-form answers.

Configured by ``TaskConfig.judge`` (``--judge-args JSON``)::

    {"model": "qwen2.5-72b-instruct", "api_url": "http://host/v1", "api_key": "...",
     "strategy": "llm_when_rule_fails", "generation_config": {"temperature": 0}}

Keys: ``model`` (required), ``api_url``, ``api_key``, ``model_type`` (``openai_api``,
``transformers``, ``mock``…; inferred as for the evaluated model), ``model_args``,
``generation_config``, ``strategy`` (``rule``, ``llm``, ``llm_when_rule_fails``),
``concurrency``, ``timeout``, ``retries``. An unknown key stops the run before any model call.

The judge model is built through the model registry, so it is the same adapter (and the same
HTTP client, retries and reasoning split) as an evaluated model. :meth:`Judge.grade` returns a
:class:`Verdict`; a reply that cannot be parsed gives ``score=None``: benchmarks record such a
sample as an error (``JudgeUnparsable``), excluded from the scores and counted, never scored 0.
:meth:`Judge.ask` sends a benchmark's own messages and reads the reply with the benchmark's
parser (pairwise and rubric judges), counted the same way. :meth:`Judge.summary` gives the per-dataset counts written to the report's ``judge`` field.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evs_core.errors import ConfigError, suggest
from evs_core.models import Request
from evs_core.schema import ModelOutput

JUDGE_KEYS = ("model", "api_url", "api_key", "model_type", "model_args", "generation_config", "strategy",
              "concurrency", "timeout", "retries")
STRATEGIES = ("rule", "llm", "llm_when_rule_fails")
DEFAULT_STRATEGY = "llm_when_rule_fails"
DEFAULT_GENERATION = {"temperature": 0.0, "max_tokens": 1024}

#: The default grading template: is the prediction equivalent to the reference? (A/B)
DEFAULT_TEMPLATE = """You are grading the answer of a model to a question against a reference answer.

[Question]
{question}

[Reference Answer]
{reference}

[Predicted Answer]
{prediction}

Decide whether the predicted answer means the same as the reference answer. Ignore differences \
of formatting, wording, units written or omitted, and equivalent mathematical forms; a predicted \
answer that hedges between several answers, or that contradicts the reference, is incorrect.
Grade the predicted answer as one of:
A: CORRECT
B: INCORRECT

Just return the letter "A" or "B", with no text around it."""

DEFAULT_LABELS: dict[str, tuple[str, float]] = {"A": ("CORRECT", 1.0), "B": ("INCORRECT", 0.0)}


@dataclass
class Verdict:
    """A judge's decision. ``score=None`` means the reply could not be parsed (or the call failed)."""

    score: float | None
    explanation: str = ""
    error: str | None = None
    label: str | None = None

    @property
    def parsed(self) -> bool:
        return self.score is not None


def parse_label(text: str, labels: dict[str, tuple[str, float]]) -> str | None:
    """The letter of ``labels`` a judge reply chooses, or None when it is absent or ambiguous.

    Accepted: the reply is the letter, possibly with its label (``"A"``, ``"A: CORRECT"``,
    ``"**B**"``); or one letter stands alone in the reply and no other does; or one label name
    (``CORRECT``…) appears and no other does. Anything else (two letters, no letter) is None.
    """
    if not text:
        return None
    letters = "".join(re.escape(k) for k in labels)
    clean = text.strip().strip("*`\"' ")
    names_re = "|".join(re.escape(name).replace("_", "[_ ]") for name, _ in labels.values())
    m = re.fullmatch(rf"(?i:grade|answer|verdict)?\s*[:：]?\s*[\*\(\[]*([{letters}])[\*\)\]\.]*"
                     rf"(?:\s*[:：\-–]?\s*(?i:{names_re})[\.\*]*)?", clean)
    if m:
        return m.group(1)
    alone = set(re.findall(rf"(?<![A-Za-z])([{letters}])(?![A-Za-z'])", text))
    if len(alone) == 1:
        return alone.pop()
    names = {name.upper(): key for key, (name, _) in labels.items()}
    found = set()
    upper = text.upper()
    for name, key in names.items():
        # "INCORRECT" contains "CORRECT": match whole words only.
        pattern = re.escape(name).replace("_", "[_ ]")  # NOT_ATTEMPTED or NOT ATTEMPTED
        if re.search(rf"(?<![A-Z_]){pattern}(?![A-Z_])", upper):
            found.add(key)
    if len(found) == 1:
        return found.pop()
    return None


def _fill(template: str, question: str, reference: str, prediction: str) -> str:
    values = {"question": question, "reference": reference, "prediction": prediction,
              "gold": reference, "target": reference, "pred": prediction, "predicted_answer": prediction,
              "answer": prediction}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"judge template has a bad placeholder: {exc}; use {{question}}, {{reference}}, "
                          "{prediction}") from None


class _Counts:
    def __init__(self) -> None:
        self.asked = 0
        self.parsed = 0
        self.unparsable = 0
        self.errors = 0
        self.labels: dict[str, int] = {}

    def as_dict(self) -> dict[str, Any]:
        return {"asked": self.asked, "parsed": self.parsed, "unparsable": self.unparsable, "errors": self.errors,
                "labels": dict(sorted(self.labels.items()))}


class Judge:
    """The run's judge: a model adapter, a strategy, per-dataset counters."""

    def __init__(self, model, *, model_name: str, strategy: str = DEFAULT_STRATEGY, concurrency: int = 4,
                 generation: dict[str, Any] | None = None) -> None:
        self.model = model
        self.model_name = model_name
        self.strategy = strategy
        self.generation = dict(generation if generation is not None else DEFAULT_GENERATION)
        self._concurrency = max(1, int(concurrency))
        self._sem: asyncio.Semaphore | None = None
        self._counts: dict[str, _Counts] = {}
        self.dataset = "default"

    def for_dataset(self, name: str) -> _JudgeView:
        """A view of this judge that records its calls under dataset ``name``."""
        return _JudgeView(self, name)

    def _count(self, dataset: str | None) -> _Counts:
        return self._counts.setdefault(dataset or self.dataset, _Counts())

    async def complete(self, messages: list[dict[str, Any]]) -> ModelOutput:
        """One call of the judge model (bounded by the judge's concurrency)."""
        if self._sem is None:
            self._sem = asyncio.Semaphore(self._concurrency)
        async with self._sem:
            try:
                return await self.model.agenerate(Request(messages=messages, generation=dict(self.generation)))
            except Exception as exc:  # noqa: BLE001 - adapters should not raise; be safe
                return ModelOutput(error=f"{type(exc).__name__}: {exc}")

    async def grade(self, *, question: str, reference: str, prediction: str, template: str | None = None,
                    labels: dict[str, tuple[str, float]] | None = None, dataset: str | None = None) -> Verdict:
        """Ask the judge whether ``prediction`` answers ``question`` as ``reference`` does.

        ``template`` uses ``{question}``, ``{reference}`` and ``{prediction}``; ``labels`` maps
        the letters the template asks for to (label, score), default A = CORRECT (1),
        B = INCORRECT (0).
        """
        labels = labels or DEFAULT_LABELS
        prompt = _fill(template or DEFAULT_TEMPLATE, question, str(reference), prediction)
        counts = self._count(dataset)
        counts.asked += 1
        out = await self.complete([{"role": "user", "content": prompt}])
        if out.error:
            counts.errors += 1
            return Verdict(score=None, explanation="", error=f"JudgeError: {out.error}")
        key = parse_label(out.text, labels)
        if key is None:
            counts.unparsable += 1
            snippet = " ".join(out.text.split())[:120]
            return Verdict(score=None, explanation=out.text, error=f"JudgeUnparsable: {snippet!r}")
        counts.parsed += 1
        label, score = labels[key]
        counts.labels[label] = counts.labels.get(label, 0) + 1
        return Verdict(score=score, explanation=out.text, label=label)

    async def ask(self, messages: list[dict[str, Any]], parse: Callable[[str], tuple[str, float] | None], *,
                  dataset: str | None = None) -> Verdict:
        """One judge call with a benchmark's own messages and reply parser, counted as :meth:`grade` is.

        ``parse(reply) -> (label, score)`` or None when the reply cannot be read (then
        ``score=None`` and a ``JudgeUnparsable`` error, as for :meth:`grade`)."""
        counts = self._count(dataset)
        counts.asked += 1
        out = await self.complete(messages)
        if out.error:
            counts.errors += 1
            return Verdict(score=None, explanation="", error=f"JudgeError: {out.error}")
        got = parse(out.text)
        if got is None:
            counts.unparsable += 1
            snippet = " ".join(out.text.split())[:120]
            return Verdict(score=None, explanation=out.text, error=f"JudgeUnparsable: {snippet!r}")
        counts.parsed += 1
        label, score = got
        counts.labels[label] = counts.labels.get(label, 0) + 1
        return Verdict(score=float(score), explanation=out.text, label=label)

    def summary(self, dataset: str) -> dict[str, Any]:
        c = self._counts.get(dataset, _Counts())
        return {"model": self.model_name, "strategy": self.strategy, **c.as_dict()}

    async def aclose(self) -> None:
        await self.model.aclose()


class _JudgeView:
    """The judge as seen by one dataset: same model and strategy, its own counters."""

    def __init__(self, judge: Judge, dataset: str) -> None:
        self._judge = judge
        self.dataset = dataset

    @property
    def strategy(self) -> str:
        return self._judge.strategy

    @property
    def model_name(self) -> str:
        return self._judge.model_name

    async def complete(self, messages):
        return await self._judge.complete(messages)

    async def grade(self, *, dataset: str | None = None, **kwargs) -> Verdict:
        return await self._judge.grade(dataset=dataset or self.dataset, **kwargs)

    async def ask(self, messages, parse, *, dataset: str | None = None) -> Verdict:
        return await self._judge.ask(messages, parse, dataset=dataset or self.dataset)

    def for_dataset(self, name: str) -> _JudgeView:
        return _JudgeView(self._judge, name)

    def summary(self, dataset: str | None = None) -> dict[str, Any]:
        return self._judge.summary(dataset or self.dataset)


def normalize_strategy(value: Any) -> str:
    s = str(value).strip().lower().replace("-", "_")
    if s not in STRATEGIES:
        raise ConfigError(f"bad judge strategy '{value}'{suggest(s, STRATEGIES)} (valid: {', '.join(STRATEGIES)})")
    return s


def make_judge(cfg, registries) -> Judge:
    """Build the run's judge from ``cfg.judge``; every check happens here, before any model call."""
    from evs_core.config import make_config

    raw = dict(cfg.judge or {})
    for key in raw:
        if key not in JUDGE_KEYS:
            raise ConfigError(f"unknown judge key '{key}'{suggest(key, JUDGE_KEYS)} (valid: {', '.join(JUDGE_KEYS)})")
    if not raw.get("model"):
        raise ConfigError("the judge needs a model: --judge-args '{\"model\": \"NAME\", \"api_url\": \"URL\"}'")
    strategy = normalize_strategy(raw.get("strategy", DEFAULT_STRATEGY))
    for key in ("model_args", "generation_config"):
        if key in raw and not isinstance(raw[key], dict):
            raise ConfigError(f"judge.{key} must be a mapping, not {type(raw[key]).__name__}")
    concurrency = raw.get("concurrency", min(cfg.concurrency, 8))
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ConfigError(f"judge.concurrency must be a positive integer, not {concurrency!r}")
    data = {"model": raw["model"], "datasets": ["judge"], "concurrency": concurrency,
            "timeout": raw.get("timeout", cfg.timeout), "retries": raw.get("retries", cfg.retries),
            "model_args": raw.get("model_args", {}), "generation_config": {}}
    for key in ("api_url", "api_key", "model_type"):
        if raw.get(key) is not None:
            data[key] = raw[key]
    try:
        judge_cfg = make_config(data)
    except ConfigError as exc:
        raise ConfigError(f"judge: {exc}") from None
    model_type = judge_cfg.resolved_model_type()
    if model_type not in registries.models:
        raise ConfigError(f"unknown judge model_type '{model_type}'{suggest(model_type, registries.models.names())}")
    model = registries.models.load(model_type)(judge_cfg)
    generation = {**DEFAULT_GENERATION, **raw.get("generation_config", {})}
    return Judge(model, model_name=str(raw["model"]), strategy=strategy, concurrency=concurrency,
                 generation=generation)
