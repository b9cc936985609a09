"""The task configuration of ``evs eval`` and ``run_task``.

One :class:`TaskConfig` is built from CLI flags, a Python dict, or a YAML/JSON file. It is
strict: an unknown key or a bad value raises :class:`~evs_core.errors.ConfigError` with a
one-line message naming the key and the nearest valid one, before any model is called.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evs_core.errors import ConfigError, suggest

# -- generation_config ------------------------------------------------------------------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and v not in (float("inf"), -float("inf"))


def _check(pred, what: str):
    return (pred, what)


_POS_INT = _check(lambda v: _is_int(v) and v >= 1, "a positive integer")
_NONNEG_INT = _check(lambda v: _is_int(v) and v >= 0, "a non-negative integer")
_NONNEG_NUM = _check(lambda v: _is_num(v) and v >= 0, "a number >= 0")
_POS_NUM = _check(lambda v: _is_num(v) and v > 0, "a number > 0")
_NUM = _check(_is_num, "a number")
_BOOL = _check(lambda v: isinstance(v, bool), "true or false")
_DICT = _check(lambda v: isinstance(v, dict), "a mapping")
_STR = _check(lambda v: isinstance(v, str), "a string")
_STOP = _check(lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
               "a string or a list of strings")

#: Sampling keys sent to the server (or used by a local model), with their checks.
SAMPLING_KEYS: dict[str, tuple] = {
    "max_tokens": _POS_INT, "max_new_tokens": _POS_INT, "max_completion_tokens": _POS_INT, "min_tokens": _NONNEG_INT,
    "temperature": _NONNEG_NUM, "top_p": _check(lambda v: _is_num(v) and 0 < v <= 1, "a number in (0, 1]"),
    "top_k": _check(lambda v: _is_int(v) and v >= -1, "an integer >= -1 (-1: off)"),
    "min_p": _check(lambda v: _is_num(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "stop": _STOP, "stop_seqs": _STOP, "stop_token_ids": _check(lambda v: isinstance(v, list) and all(map(_is_int, v)),
                                                                  "a list of integers"),
    "frequency_penalty": _NUM, "presence_penalty": _NUM, "repetition_penalty": _POS_NUM,
    "logit_bias": _DICT, "seed": _check(_is_int, "an integer"), "do_sample": _BOOL, "logprobs": _BOOL,
    "top_logprobs": _NONNEG_INT, "parallel_tool_calls": _BOOL, "reasoning_effort": _STR,
    "response_format": _DICT, "chat_template_kwargs": _DICT, "ignore_eos": _BOOL, "skip_special_tokens": _BOOL,
    "num_beams": _POS_INT, "stream": _BOOL, "stream_options": _DICT,
    # merged into the request as the OpenAI SDK does
    "extra_body": _DICT, "extra_headers": _check(lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in
                                                                                       v.values()),
                                                 "a mapping of header names to strings"),
    "extra_query": _DICT,
}
#: Keys that configure the client, not the request: taken out of generation_config.
CLIENT_KEYS: dict[str, tuple] = {
    "timeout": _POS_NUM, "retries": _NONNEG_INT, "retry_interval": _NONNEG_NUM, "batch_size": _POS_INT,
    "n": _POS_INT,
}
#: EvalScope generation keys evs does not send, with the reason.
REFUSED_GEN_KEYS = {
    **dict.fromkeys(("height", "width", "num_inference_steps", "guidance_scale"),
                    "image generation settings; text-to-image models are evaluated by `evs aigc`"),
    **dict.fromkeys(("anthropic_cache_control", "anthropic_cache_strategy"),
                    "Anthropic API settings; evs speaks the OpenAI protocol"),
    **dict.fromkeys(("reasoning_tokens", "reasoning_summary", "reasoning_history"),
                    "Anthropic/Responses API settings; for a vLLM/SGLang thinking switch use "
                    "extra_body.chat_template_kwargs (e.g. {\"enable_thinking\": false})"),
    "response_schema": "use the OpenAI key response_format ({\"type\": \"json_schema\", …})",
}


def check_generation(gen: Any, where: str = "generation_config", client: bool = True) -> dict[str, Any]:
    """Validate a generation config; returns it with ``stop_seqs`` renamed ``stop``.

    Unknown keys stop with a suggestion (anything goes inside ``extra_body``); wrong types or values
    stop with the expected form. ``client`` allows the client keys (timeout, retries…), which only
    the run's own generation_config may hold.
    """
    if not isinstance(gen, dict):
        raise ConfigError(f"{where} must be a mapping, not {type(gen).__name__}")
    allowed = {**SAMPLING_KEYS, **(CLIENT_KEYS if client else {})}
    out = {k: v for k, v in gen.items() if v is not None}  # None means "unset", as in EvalScope's dumps
    for key, value in gen.items():
        if key in REFUSED_GEN_KEYS:
            raise ConfigError(f"{where}.{key} is not supported: {REFUSED_GEN_KEYS[key]}")
        if key not in allowed:
            if key in CLIENT_KEYS:
                raise ConfigError(f"{where}.{key} configures the client: set it in the run's --generation-config")
            raise ConfigError(f"unknown key '{key}' in {where}{suggest(key, allowed)}; keys the server should "
                              "receive as they are go inside extra_body")
        pred, what = allowed[key]
        if value is not None and not pred(value):
            shown = json.dumps(value) if isinstance(value, (str, int, float, bool)) else type(value).__name__
            raise ConfigError(f"bad value for {where}.{key} ({shown}): must be {what}")
    if "stop_seqs" in out:
        seqs = out.pop("stop_seqs")
        if "stop" in out and out["stop"] != seqs:
            raise ConfigError(f"{where}: give stop or stop_seqs, not both")
        out["stop"] = seqs
    if out.get("max_tokens") is not None and out.get("max_new_tokens") is not None \
            and out["max_tokens"] != out["max_new_tokens"]:
        raise ConfigError(f"{where}: max_tokens and max_new_tokens disagree; give one")
    return out


class TaskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str = Field(description="Model name: an API model id, a local path, a hub id, or 'mock'.")
    model_id: str | None = Field(None, description="The model name in reports and output folders (default: model).")
    model_type: str | None = Field(
        None, description="Model adapter: openai_api, transformers, mock. Inferred when omitted."
    )
    api_url: str | None = Field(None, description="Base URL of an OpenAI-compatible API (…/v1).")
    api_key: str | None = Field(None, description="API key; 'EMPTY' for local servers.")
    model_args: dict[str, Any] = Field(default_factory=dict, description="Adapter arguments.")
    generation_config: dict[str, Any] = Field(default_factory=dict, description="Sampling parameters.")
    datasets: list[str] = Field(description="Benchmarks to run: registered names or benchmark spec files (.yaml).")
    benchmark_file: list[str] = Field(default_factory=list, description="Benchmark spec files to register and run.")
    dataset_args: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-benchmark arguments.")
    dataset_dir: str | None = Field(None, description="Local data root laid out as DIR/<benchmark>/…; no network.")
    dataset_hub: str = Field("huggingface", description="Where to load data online: huggingface or modelscope.")
    limit: int | float | None = Field(None, description="Samples per benchmark (int) or fraction (0<x<1).")
    work_dir: str = Field("outputs", description="Where run folders are written.")
    concurrency: int = Field(8, ge=1, description="Samples in flight at once (API) or batch size (local).")
    timeout: float = Field(300.0, gt=0, description="Seconds per model request.")
    idle_timeout: float = Field(60.0, gt=0, description="Seconds without a byte before a streamed request is "
                                "given up (and retried).")
    retries: int = Field(3, ge=0, description="Retries of a request on 429/5xx/connection errors.")
    retry_interval: float | None = Field(None, ge=0, description="Base seconds between retries (exponential "
                                         "backoff with jitter; default 0.5).")
    use_cache: str | None = Field(None, description="Resume from (and write into) this earlier run folder.")
    rescore: bool = Field(False, description="Recompute reviews and reports from saved predictions.")
    repeats: int = Field(1, ge=1, description="Generations per sample (pass@k, majority vote).")
    seed: int = Field(42, description="Seed for sampling data and generation.")
    judge: dict[str, Any] = Field(default_factory=dict, description="LLM judge settings.")
    no_progress: bool = Field(False, description="Hide the progress bar.")
    executor: Literal["local", "ray"] = Field("local", description="Where model calls run: this process, or Ray actors.")
    ray_address: str | None = Field(None, description="Ray cluster: auto, HOST:PORT or ray://HOST:PORT (default: start one).")
    replicas: int = Field(1, ge=1, description="With --executor ray: model replicas (Ray actors).")
    ray_resources: dict[str, Any] = Field(default_factory=dict,
                                          description="Ray resources per replica: num_cpus, num_gpus, memory, resources.")
    no_timestamp: bool = Field(False, description="Write the run into work_dir itself, not a timestamped folder.")
    debug: bool = Field(False, description="Debug-level log messages.")
    collect_perf: bool = Field(True, description="Record latency (and TTFT when streaming) per sample.")
    ignore_errors: bool = Field(True, description="EvalScope's key; evs never aborts a run on a failed sample "
                                "(each is recorded and counted), whatever its value.")

    @model_validator(mode="before")
    @classmethod
    def _client_keys(cls, data):
        """EvalScope's TaskConfig keys (``TaskConfig(eval_type=…)`` works as in EvalScope), and
        generation_config's client keys (timeout, retries…), which configure the run."""
        if not isinstance(data, dict):
            return data
        from evs_core.compat import normalize_task

        data = normalize_task(data)
        if not isinstance(data.get("generation_config"), dict):
            return data
        gen = check_generation(data["generation_config"])
        for key in ("timeout", "retries", "retry_interval"):
            if key in gen:
                value = gen.pop(key)
                if data.get(key) is None:  # the top-level key wins, as EvalScope's deprecated one does
                    data[key] = value
        if "batch_size" in gen:
            value = gen.pop("batch_size")
            if data.get("concurrency") is None:
                data["concurrency"] = value
        if "n" in gen:
            value = gen.pop("n")
            if value and value > 1:  # EvalScope: n>1 means repeats
                if data.get("repeats") not in (None, 1, value):
                    raise ValueError(f"generation_config.n ({value}) and repeats ({data['repeats']}) disagree")
                data["repeats"] = value
        data["generation_config"] = gen
        return data

    @field_validator("model_id")
    @classmethod
    def _model_id(cls, v):
        if v is not None and not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("model")
    @classmethod
    def _model(cls, v):
        if not v or not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("benchmark_file", mode="before")
    @classmethod
    def _one_or_many(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("datasets", mode="before")
    @classmethod
    def _split_datasets(cls, v):
        if isinstance(v, str):
            v = v.replace(",", " ").split()
        return v

    @field_validator("datasets")
    @classmethod
    def _non_empty(cls, v):
        if not v:
            raise ValueError("at least one dataset is required")
        return v

    @field_validator("limit")
    @classmethod
    def _limit(cls, v):
        if v is None:
            return v
        if isinstance(v, float) and not v.is_integer():
            if not 0 < v < 1:
                raise ValueError("a fractional limit must lie between 0 and 1")
            return v
        if v < 1:
            raise ValueError("must be at least 1")
        return int(v)

    def resolved_model_type(self) -> str:
        if self.model_type:
            return self.model_type
        if self.api_url:
            return "openai_api"
        if self.model == "mock":
            return "mock"
        if (Path(self.model).expanduser() / "model_index.json").is_file():  # a diffusers pipeline folder
            return "diffusers"
        return "transformers"

    @property
    def display_name(self) -> str:
        """The model's name in reports and output folders."""
        return self.model_id or self.model

    def public_dict(self) -> dict[str, Any]:
        """The config as saved in run folders and reports: keys, credential headers and URL
        passwords are masked (:mod:`evs_core.redact`)."""
        from evs_core.redact import redactor_for

        return redactor_for(self).obj(self.model_dump())


def _format_error(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        key = str(first["loc"][-1])
        return f"unknown config key '{loc}'{suggest(key, TaskConfig.model_fields)}"
    if first["type"] == "missing":
        return f"missing required config key '{loc}'"
    msg = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    shown = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return f"bad value for '{loc}' ({shown}): {msg}"


def make_config(data: dict[str, Any]) -> TaskConfig:
    """Validate a dict into a :class:`TaskConfig`, or raise a one-line ConfigError."""
    from evs_core.compat import normalize_task

    data = normalize_task(data)
    try:
        return TaskConfig(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON task config file into a dict."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {p} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start})") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - one line for any parse error
        raise ConfigError(f"cannot parse config file {p}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping of keys to values")
    return data


def parse_json_arg(name: str, value: str | None) -> dict[str, Any] | None:
    """Parse a JSON-valued CLI flag such as ``--dataset-args``; one-line error when malformed."""
    if value is None:
        return None
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{name} must be a JSON object")
    return data
