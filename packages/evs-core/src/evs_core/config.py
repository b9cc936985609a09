"""The task configuration of ``evs eval`` and ``run_task``.

One :class:`TaskConfig` is built from CLI flags, a Python dict, or a YAML/JSON file. It is
strict: an unknown key or a bad value raises :class:`~evs_core.errors.ConfigError` with a
one-line message naming the key and the nearest valid one, before any model is called.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evs_core.errors import ConfigError, suggest


class TaskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: str = Field(description="Model name: an API model id, a local path, a hub id, or 'mock'.")
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
    retries: int = Field(3, ge=0, description="Retries of a request on 429/5xx/connection errors.")
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
        return "transformers"

    def public_dict(self) -> dict[str, Any]:
        """The config as saved in run folders and reports: the API key is masked."""
        d = self.model_dump()
        if d.get("api_key") and d["api_key"] != "EMPTY":
            d["api_key"] = "***"
        judge = d.get("judge") or {}
        if judge.get("api_key") and judge["api_key"] != "EMPTY":
            judge["api_key"] = "***"
        return d


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
    data = dict(data)
    if "eval_batch_size" in data:  # EvalScope's name
        data.setdefault("concurrency", data.pop("eval_batch_size"))
    try:
        return TaskConfig(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON task config file into a dict."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    text = p.read_text(encoding="utf-8")
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
