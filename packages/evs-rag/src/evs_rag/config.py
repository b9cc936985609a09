"""Typed configuration of ``evs rag``, and the reading of EvalScope's RAGEval ``eval_config``.

The same models back the command-line options and ``--config rag.yaml``. Config is strict: an
unknown key stops the run before any model is loaded, naming the key and the nearest valid one.
EvalScope keys that have no effect in evs (``verbosity``, ``overwrite_results``) are accepted and
listed as ignored; keys evs does not implement are refused by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from evs_core.errors import ConfigError, suggest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: EvalScope keys accepted and ignored (no effect here), by section.
IGNORED_KEYS = {
    "eval": {"verbosity", "overwrite_results"},
    "model": {"hub_token"},
    "top": {"eval_backend", "use_cache", "eval_type"},
}
#: EvalScope keys evs does not implement: refused with this reason.
UNSUPPORTED_KEYS: dict[str, str] = {
    "task_types": "select tasks by name (eval.tasks) instead",
    "knowledge_graph": "test-set generation builds its knowledge graph in memory",
    "persona": "personas are not configurable",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ModelSpec(_Strict):
    """One embedding model or reranker: local folder, hub id, or an OpenAI-compatible endpoint."""

    model_name_or_path: str | None = None
    is_cross_encoder: bool = False
    pooling_mode: str | None = None
    max_seq_length: int | None = 512
    prompt: str | None = None
    prompts: dict[str, str] | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    encode_kwargs: dict[str, Any] = Field(default_factory=dict)
    hub: Literal["huggingface", "modelscope"] = "huggingface"
    device: str | None = None
    trust_remote_code: bool = False
    # API models
    model_name: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    dimensions: int | None = None
    encoding_format: Literal["float", "base64"] = "float"
    concurrency: int = Field(4, ge=1)
    max_retries: int = Field(3, ge=0)
    timeout: float = Field(120.0, gt=0)

    @model_validator(mode="after")
    def _check(self):
        if self.api_base:
            if not self.model_name:
                self.model_name = self.model_name_or_path
            if not self.model_name:
                raise ValueError("an API model needs model_name (the name sent in requests)")
        elif not self.model_name_or_path:
            raise ValueError("a model needs model_name_or_path (a local folder or hub id) or api_base")
        bs = self.encode_kwargs.get("batch_size", 32)
        if not isinstance(bs, int) or isinstance(bs, bool) or bs < 1:
            raise ValueError(f"encode_kwargs.batch_size must be a positive integer, not {bs!r}")
        return self

    @property
    def is_api(self) -> bool:
        return bool(self.api_base)

    @property
    def batch_size(self) -> int:
        return int(self.encode_kwargs.get("batch_size", 32))

    @property
    def display_name(self) -> str:
        """The model's name in reports: the API model name, a hub id, or a local folder's name
        (with its parent's when the folder has a generic name such as ``model``)."""
        if self.is_api:
            return self.model_name or "model"
        p = Path(str(self.model_name_or_path)).expanduser()
        if not p.exists():
            return str(self.model_name_or_path)
        p = p.resolve()
        if p.name.lower() in {"model", "models", "snapshot", "weights", "checkpoint", "final"} and p.parent.name:
            return f"{p.parent.name}/{p.name}"
        return p.name

    def masked(self) -> dict[str, Any]:
        d = self.model_dump(exclude_defaults=True)
        if d.get("api_key"):
            d["api_key"] = "***"
        return d


class CustomTask(_Strict):
    """Local data in EvalScope's custom layout (see docs/rag.md)."""

    name: str
    type: Literal["Retrieval", "Reranking", "STS"] = "Retrieval"
    data_path: str
    data_format: Literal["jsonl", "json", "csv", "tsv"] = "jsonl"
    eval_splits: list[str] = Field(default_factory=lambda: ["test"])
    language: str = "eng-Latn"
    main_score: str | None = None
    min_score: float | None = None
    max_score: float | None = None

    @field_validator("data_path")
    @classmethod
    def _exists(cls, v: str) -> str:
        if not Path(v).expanduser().exists():
            raise ValueError(f"data_path '{v}' does not exist")
        return v


class MTEBEval(_Strict):
    tasks: list[str] = Field(default_factory=list, alias="task_names")
    languages: list[str] | None = None
    custom_tasks: list[CustomTask] = Field(default_factory=list)
    limits: int | None = Field(None, ge=1)
    top_k: int = Field(10, ge=1)
    eval_splits: list[str] | None = None
    output_folder: str | None = None
    hub: Literal["huggingface", "modelscope"] = "huggingface"
    encode_kwargs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _some(self):
        if not self.tasks and not self.custom_tasks:
            raise ValueError("eval needs tasks (MTEB task names) or custom_tasks")
        return self


class MTEBConfig(_Strict):
    tool: Literal["mteb"] = "mteb"
    models: list[ModelSpec]
    eval: MTEBEval

    @model_validator(mode="after")
    def _stages(self):
        enc = [m for m in self.models if not m.is_cross_encoder]
        if not self.models:
            raise ValueError("models is empty")
        if len(enc) > 1 and len(enc) != len(self.models):
            raise ValueError("two-stage evaluation takes one embedding model followed by rerankers")
        return self

    @property
    def two_stage(self) -> bool:
        return any(m.is_cross_encoder for m in self.models) and any(not m.is_cross_encoder for m in self.models)


class LLMSpec(_Strict):
    """A critic or generator LLM: an OpenAI-compatible endpoint, or a local model evs serves."""

    model_name: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    model_name_or_path: str | None = None
    generation_config: dict[str, Any] = Field(default_factory=dict)
    concurrency: int = Field(4, ge=1)
    max_retries: int = Field(3, ge=0)
    timeout: float = Field(120.0, gt=0)

    @model_validator(mode="after")
    def _check(self):
        if not self.api_base and not self.model_name_or_path:
            raise ValueError("an LLM needs api_base (an OpenAI-compatible URL) or model_name_or_path")
        if self.api_base and not self.model_name:
            raise ValueError("an API LLM needs model_name")
        return self


class RagasEval(_Strict):
    testset_file: str
    critic_llm: LLMSpec
    embeddings: ModelSpec | None = None
    metrics: list[str] = Field(default_factory=lambda: ["Faithfulness", "AnswerRelevancy"])
    language: str = "english"
    limits: int | None = Field(None, ge=1)


class TestsetGeneration(_Strict):
    docs: list[str]
    test_size: int = Field(10, ge=1)
    output_file: str = "outputs/testset.json"
    generator_llm: LLMSpec
    embeddings: ModelSpec
    language: str = "english"
    distribution: dict[str, float] | None = None


class RagasConfig(_Strict):
    tool: Literal["ragas"] = "ragas"
    eval: RagasEval | None = None
    testset_generation: TestsetGeneration | None = None

    @model_validator(mode="after")
    def _some(self):
        if self.eval is None and self.testset_generation is None:
            raise ValueError("a RAGAS config needs eval or testset_generation")
        return self


def _error(exc: ValidationError, where: str, model: type[BaseModel]) -> ConfigError:
    first = exc.errors()[0]
    loc = ".".join(str(x) for x in first.get("loc", ()))
    msg = first.get("msg", "invalid")
    if first.get("type") == "extra_forbidden":
        leaf = str(first["loc"][-1])
        if leaf in UNSUPPORTED_KEYS:
            return ConfigError(f"'{where}{loc}' is not supported by evs rag: {UNSUPPORTED_KEYS[leaf]}")
        return ConfigError(f"unknown key '{where}{loc}'{suggest(leaf, _all_fields())}")
    msg = msg.removeprefix("Value error, ")
    return ConfigError(f"{where}{loc}: {msg}" if loc else f"{where.rstrip('.')}: {msg}")


def _all_fields() -> set[str]:
    out: set[str] = set()
    for m in (ModelSpec, CustomTask, MTEBEval, MTEBConfig, LLMSpec, RagasEval, TestsetGeneration, RagasConfig):
        out |= set(m.model_fields)
        out |= {f.alias for f in m.model_fields.values() if f.alias}
    return out


def _drop_ignored(d: dict[str, Any], section: str, notes: list[str], where: str) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if k in IGNORED_KEYS.get(section, set()):
            notes.append(f"{where}{k}")
            continue
        if k in UNSUPPORTED_KEYS:
            raise ConfigError(f"'{where}{k}' is not supported by evs rag: {UNSUPPORTED_KEYS[k]}")
        out[k] = v
    return out


def parse_eval_config(raw: Any) -> tuple[MTEBConfig | RagasConfig, list[str], dict[str, Any]]:
    """Read an evs or EvalScope RAGEval config. Returns (config, ignored keys, top-level extras).

    Accepted shapes: EvalScope's ``{eval_backend: RAGEval, eval_config: {tool: MTEB|RAGAS, …},
    work_dir}``, or the inner ``eval_config`` mapping itself. EvalScope's older forms are read
    too: ``model:`` for ``models:``, ``eval.tasks`` for ``eval.task_names``, and a custom
    retrieval folder as ``eval.dataset_path`` with task ``CustomRetrieval``.
    """
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping (YAML or JSON object)")
    notes: list[str] = []
    top: dict[str, Any] = {}
    if "eval_config" in raw:
        backend = raw.get("eval_backend", "RAGEval")
        if str(backend).lower() != "rageval":
            raise ConfigError(f"eval_backend '{backend}' is not handled by evs rag (expected RAGEval)")
        rest = _drop_ignored({k: v for k, v in raw.items() if k != "eval_config"}, "top", notes, "")
        for k in list(rest):
            if k == "work_dir":
                top["work_dir"] = rest.pop(k)
        if rest:
            k = next(iter(rest))
            raise ConfigError(f"unknown key '{k}'{suggest(k, ['eval_backend', 'eval_config', 'work_dir'])}")
        raw = raw["eval_config"]
        if not isinstance(raw, dict):
            raise ConfigError("eval_config must be a mapping")
    raw = dict(raw)
    tool = str(raw.pop("tool", "")).lower()
    if tool in ("mteb", "cmteb"):
        if "model" in raw and "models" not in raw:
            raw["models"] = raw.pop("model")
        models = raw.get("models")
        if isinstance(models, dict):
            models = [models]
        if not isinstance(models, list) or not models:
            raise ConfigError("eval_config.models: give a list of models (model_name_or_path or api_base)")
        raw["models"] = [_drop_ignored(m, "model", notes, f"models[{i}].") if isinstance(m, dict) else m
                         for i, m in enumerate(models)]
        ev = raw.get("eval")
        if not isinstance(ev, dict):
            raise ConfigError("eval_config.eval: a mapping with tasks is required")
        ev = _drop_ignored(ev, "eval", notes, "eval.")
        if "tasks" in ev and "task_names" not in ev:
            ev["task_names"] = ev.pop("tasks")
        if "splits" in ev and "eval_splits" not in ev:
            ev["eval_splits"] = ev.pop("splits")
        if "dataset_path" in ev:
            path = ev.pop("dataset_path")
            names = [t for t in ev.get("task_names", []) if t in ("CustomRetrieval", "CustomReranking", "CustomSTS")]
            if not names:
                names = ["CustomRetrieval"]
            ev["task_names"] = [t for t in ev.get("task_names", []) if t not in names]
            ev.setdefault("custom_tasks", [])
            for t in names:
                ev["custom_tasks"].append({"name": t, "type": t.removeprefix("Custom"), "data_path": path})
        raw["eval"] = ev
        try:
            return MTEBConfig.model_validate(raw), notes, top
        except ValidationError as exc:
            raise _error(exc, "eval_config.", MTEBConfig) from None
    if tool == "ragas":
        for section in ("eval", "testset_generation"):
            if isinstance(raw.get(section), dict):
                raw[section] = _drop_ignored(raw[section], "eval", notes, f"{section}.")
        try:
            return RagasConfig.model_validate(raw), notes, top
        except ValidationError as exc:
            raise _error(exc, "eval_config.", RagasConfig) from None
    if tool in ("clip_benchmark", "clip"):
        raise ConfigError("tool CLIP_Benchmark is run with `evs rag clip` (see docs/rag.md); "
                          "evs rag --config reads tool MTEB or RAGAS")
    raise ConfigError(f"eval_config.tool must be MTEB or RAGAS, not '{tool or '(missing)'}'")


def load_config_file(path: str) -> tuple[MTEBConfig | RagasConfig, list[str], dict[str, Any]]:
    import json

    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file '{path}' does not exist")
    text = p.read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file '{path}' cannot be parsed: {str(exc).splitlines()[0]}") from None
    return parse_eval_config(raw)
