"""The result schema: samples, model outputs, per-sample reviews and reports.

These are the files evs writes (JSONL predictions and reviews, JSON reports). Viewers and
re-scoring read the files, never live objects. ``SCHEMA_VERSION`` changes when a field changes
meaning or is removed; adding an optional field keeps it. See ``docs/output-format.md``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Message(_Model):
    role: str
    content: Any  # str, or a list of OpenAI content parts (text, image_url)


class Sample(_Model):
    """One unit of evaluation: an input, a reference answer, and what scoring needs."""

    id: str
    input: str | None = None  # plain prompt (completions / local models)
    messages: list[Message] | None = None  # chat form; built from ``input`` when missing
    choices: list[str] | None = None  # answer options of a multiple-choice question
    target: Any = None  # gold answer: letter, number, text, list of texts
    subset: str = "default"
    metadata: dict[str, Any] = Field(default_factory=dict)


class Usage(_Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ToolCall(_Model):
    """One function call a model asked for (OpenAI's ``tool_calls`` entry, flattened).

    ``arguments`` is the JSON text exactly as the model wrote it (it may not parse: scorers decide).
    """

    id: str | None = None
    name: str
    arguments: str = "{}"

    def to_openai(self) -> dict[str, Any]:
        """The call in the shape of an OpenAI assistant message's ``tool_calls`` entry."""
        return {"id": self.id or "", "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


class ModelOutput(_Model):
    """What a model returned for one request (or the error it raised)."""

    text: str = ""
    reasoning: str | None = None
    usage: Usage | None = None
    latency_s: float | None = None
    ttft_s: float | None = None  # time to the first content token, when the response was streamed
    finish_reason: str | None = None
    logprobs: list[float] | None = None  # log-likelihood of each choice, for MC scoring
    error: str | None = None
    model: str | None = None
    #: The function calls of the reply, when the request offered tools (``None``: no call).
    tool_calls: list[ToolCall] | None = None
    #: Where ``tool_calls`` came from: ``"tool_calls"`` (the API's field) or the text rule that read
    #: them from the reply (``"text_tool_call_tag"``, ``"text_json"``; see :mod:`evs_core.tools`).
    tool_call_rule: str | None = None
    #: The whole conversation of a multi-turn episode (agent benchmarks), OpenAI messages in order;
    #: scorers replay it, so a stored prediction can be scored again.
    trajectory: list[dict[str, Any]] | None = None


class Prediction(_Model):
    """A line of ``predictions/<model>/<dataset>.jsonl``."""

    schema_version: str = SCHEMA_VERSION
    sample_id: str
    repeat: int = 0
    subset: str = "default"
    request: dict[str, Any] = Field(default_factory=dict)
    output: ModelOutput
    time: float = 0.0


class Review(_Model):
    """A line of ``reviews/<model>/<dataset>.jsonl``: the score of one prediction."""

    schema_version: str = SCHEMA_VERSION
    sample_id: str
    repeat: int = 0
    subset: str = "default"
    target: Any = None
    prediction: str = ""
    reasoning_chars: int | None = None
    extracted: Any = None
    #: How ``extracted`` was read from the reply: the name of the extraction rule that matched
    #: (e.g. ``"explicit_statement"``, ``"option_text"``), ``"none"`` when no answer was found.
    extraction_rule: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    error: str | None = None  # the model call or the scoring failed; excluded from scores
    metadata: dict[str, Any] = Field(default_factory=dict)


class Stat(_Model):
    """A score with its uncertainty."""

    score: float
    num: int
    stderr: float | None = None
    ci95: tuple[float, float] | None = None


class SubsetScore(_Model):
    name: str
    num: int
    score: float
    metrics: dict[str, Stat] = Field(default_factory=dict)
    #: "subset" (a plain subset), or a row that aggregates several subsets: "category" (e.g. MMLU's
    #: STEM), "benchmark" or "group" (collections; the name is the path, e.g. "reasoning/gsm8k").
    kind: str = "subset"


class Report(_Model):
    """``reports/<model>/<dataset>.json``: the scores of one model on one benchmark."""

    schema_version: str = SCHEMA_VERSION
    model: str
    dataset: str
    benchmark_version: str
    metric: str  # the primary metric, whose value is ``score``
    score: float  # primary metric over all scored samples, 0..1
    num: int  # samples scored
    num_samples: int  # samples asked (including failed ones)
    num_errors: int  # samples whose model call or scoring failed
    stderr: float | None = None
    ci95: tuple[float, float] | None = None
    metrics: dict[str, Stat] = Field(default_factory=dict)
    subsets: list[SubsetScore] = Field(default_factory=list)
    errors: dict[str, int] = Field(default_factory=dict)  # error kind -> count
    reasoning: dict[str, float] | None = None  # reasoning length statistics (characters)
    usage: dict[str, float] = Field(default_factory=dict)
    #: Share of scored samples with no extracted answer (``extraction_rule == "none"``), when known.
    no_answer_rate: float | None = None
    judge: dict[str, Any] | None = None  # judge summary: strategy, asked, parsed, unparsable, errors
    config: dict[str, Any] = Field(default_factory=dict)
    packages: dict[str, str] = Field(default_factory=dict)
    created_at: str = ""
