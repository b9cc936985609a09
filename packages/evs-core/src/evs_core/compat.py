"""EvalScope compatibility: what each ``evalscope eval`` argument / TaskConfig key means in evs.

:data:`EVAL_ARGS` is the single table behind three things: the ``evs eval`` options that accept
EvalScope's names, :func:`normalize_task` (EvalScope TaskConfig keys in a dict, YAML or JSON task
become evs keys), and the migration page ``docs/migrating-from-evalscope.md``
(:func:`migration_table`). An argument is either *accepted* (same meaning, possibly under another
evs name) or *refused* with one line that says what to use instead and why.

Import-light: only the standard library and evs-core.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

from evs_core.errors import ConfigError


@dataclass(frozen=True)
class Arg:
    """One EvalScope argument. ``name`` is the TaskConfig key; the flag is ``--name-with-dashes``."""

    name: str
    evs: str  # the evs option or config key with the same meaning ("" when refused)
    note: str  # how the value maps, or why it is refused and what to use instead
    refused: bool = False
    flag: bool = False  # a switch without a value on EvalScope's command line
    #: Values of a refused key that mean "feature off": accepted silently, so a task config saved
    #: by EvalScope (which writes every key with its default) still loads.
    inert: tuple = (None, False, "", {}, [])

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


#: ``--eval-type`` values and the evs model adapter (``--model-type``) they select.
EVAL_TYPES = {
    "openai_api": "openai_api",
    "service": "openai_api",
    "server": "openai_api",
    "llm_ckpt": "transformers",
    "checkpoint": "transformers",
    "mock_llm": "mock",
}
#: ``--eval-type`` values evs has no adapter for, with what to do instead.
EVAL_TYPES_REFUSED = {
    "openai_responses_api": "evs speaks the OpenAI chat/completions protocol; serve the model behind an "
                            "OpenAI-compatible /v1/chat/completions endpoint",
    "anthropic_api": "evs speaks the OpenAI chat/completions protocol; use Anthropic's OpenAI-compatible endpoint "
                     "(https://api.anthropic.com/v1/) as --api-url",
    "litellm": "run the LiteLLM proxy and give its OpenAI-compatible URL as --api-url",
    "text2image": "text-to-image models are evaluated by `evs aigc`",
    "image_editing": "image-editing models are evaluated by `evs aigc`",
    "text2speech": "evs has no text-to-speech evaluation",
    "custom": "register a model adapter with the evs_register_models hook and pass its name as --model-type",
}

_SANDBOX = ("evs runs code benchmarks in its own kernel sandbox (namespaces, unprivileged uid, limits); "
            "there is no Docker/Volcengine engine to configure")

EVAL_ARGS: tuple[Arg, ...] = (
    Arg("model", "--model", "same: API model id, local folder or hub id"),
    Arg("model_id", "--model-id", "same: the model name shown in reports and used for the output folders"),
    Arg("model_args", "--model-args", "same; JSON or k=v,k=v (values parsed as Python literals); local models "
        "take revision, precision (torch.float16 → dtype float16), device_map (→ device)"),
    Arg("model_task", "--model-task", "text_generation only; image_generation models are evaluated by `evs aigc`",
        inert=(None, "text_generation")),
    Arg("chat_template", "--chat-template", "same for local models (→ model_args.chat_template); an API server "
        "applies its own template"),
    Arg("datasets", "--datasets", "same: space- or comma-separated"),
    Arg("dataset_args", "--dataset-args", "same; also EvalScope's keys few_shot_random, dataset_id, extra_params, "
        "filters, metric_list, aggregation, shuffle_choices, review_timeout, …"),
    Arg("dataset_dir", "--dataset-dir", "same (a local data root; never downloads)"),
    Arg("dataset_hub", "--dataset-hub", "same: modelscope, huggingface; 'local' means --dataset-dir"),
    Arg("generation_config", "--generation-config", "same keys, JSON or k=v; validated: sampling keys go to the "
        "server, timeout/retries/retry_interval/stream/n/batch_size configure the client, extra_body merges into "
        "the request body"),
    Arg("eval_type", "--eval-type", "alias of --model-type: openai_api → openai_api, llm_ckpt/checkpoint → "
        "transformers, mock_llm → mock"),
    Arg("eval_backend", "--eval-backend", "Native only; OpenCompass/VLMEvalKit/RAGEval are evs's own commands "
        "(`evs vlm`, `evs rag`) when installed", inert=(None, "Native", "native")),
    Arg("eval_config", "", "a third-party backend's config file; evs has no third-party backends, use --config "
        "for a YAML/JSON task", refused=True),
    Arg("eval_batch_size", "--concurrency", "alias of --concurrency: samples in flight (API) or batch size (local)"),
    Arg("limit", "--limit", "same: samples per subset, or a fraction 0<x<1"),
    Arg("repeats", "--repeats", "same: generations per sample (pass@k, maj@n)"),
    Arg("use_cache", "--use-cache", "same: resume an earlier run folder by sample id"),
    Arg("rerun_review", "--rerun-review", "with --use-cache: reuse predictions, recompute reviews and reports "
        "(evs's --rescore)", flag=True),
    Arg("work_dir", "--work-dir", "same: where run folders are written"),
    Arg("no_timestamp", "--no-timestamp", "same: write the run into --work-dir itself, not a timestamped "
        "sub-folder (refused when it already holds a run: resume it with --use-cache)", flag=True),
    Arg("enable_progress_tracker", "", "evs shows a live progress bar and appends every finished sample to "
        "predictions/*.jsonl, which is the progress record to watch", refused=True, flag=True),
    Arg("ignore_errors", "--ignore-errors", "always on in evs: a failed request or sample is recorded and counted, "
        "never aborts the run (a saved EvalScope config's false loads too)", flag=True),
    Arg("debug", "--debug", "same: debug-level messages in logs/eval_log.log and on the terminal", flag=True),
    Arg("seed", "--seed", "same"),
    Arg("api_url", "--api-url", "same"),
    Arg("api_key", "--api-key", "same; never written to any output"),
    Arg("timeout", "--timeout", "same (EvalScope deprecates it for generation_config.timeout, which evs also takes)"),
    Arg("stream", "--stream", "same as generation_config.stream=true: streamed responses, TTFT recorded per "
        "sample", flag=True),
    Arg("judge", "--judge", "alias of --judge-args; EvalScope's typed form (strategy, models: [{model_id, api_url, "
        "api_key, generation_config}]) is accepted"),
    Arg("judge_strategy", "--judge-strategy", "same (deprecated in EvalScope): auto, rule, llm, llm_recall → "
        "judge.strategy"),
    Arg("judge_model_args", "--judge-model-args", "same (deprecated in EvalScope): {model_id, api_url, api_key, "
        "generation_config} → --judge-args"),
    Arg("analysis_report", "", "evs writes no LLM-written analysis; compare runs with `evs viz` instead",
        refused=True, flag=True),
    Arg("collect_perf", "--collect-perf", "same: latency and token usage per sample in predictions (always), TTFT "
        "when streaming; --no-collect-perf drops the timings", flag=True, inert=(None, True, False)),
    Arg("agent_config", "", "no separate agent configuration: evs's agent benchmarks (tau_bench, bfcl_v3's "
        "multi-turn categories) run their own loop, set in --dataset-args", refused=True),
    Arg("sandbox", "", _SANDBOX, refused=True),
    Arg("use_sandbox", "", _SANDBOX, refused=True, flag=True),
    Arg("sandbox_type", "", _SANDBOX, refused=True, inert=(None, "", "docker")),
    Arg("sandbox_manager_config", "", _SANDBOX, refused=True),
)

#: TaskConfig keys EvalScope writes into saved configs that carry no setting.
IGNORED_KEYS = {"evalscope_version"}

BY_NAME = {a.name: a for a in EVAL_ARGS}


def refusal(name: str) -> str:
    """The one-line refusal of EvalScope argument ``name``."""
    a = BY_NAME[name]
    return f"EvalScope's {a.option} ('{a.name}') is not supported: {a.note}"


def parse_dict_arg(name: str, value: str | None) -> dict[str, Any] | None:
    """A dict-valued flag as EvalScope reads it: JSON first, else ``k=v,k=v`` with literal values.

    ``revision=master,precision=torch.float16,device_map=auto`` gives
    ``{"revision": "master", "precision": "torch.float16", "device_map": "auto"}``; ``true``/``false``
    become booleans and ``1``, ``0.5``, ``[1, 2]`` Python literals.
    """
    if value is None:
        return None
    text = value.strip()
    if text.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name} is not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{name} must be a JSON object or k=v pairs")
        return data
    out: dict[str, Any] = {}
    for part in _split_pairs(text):
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError(f"{name}: '{part.strip()}' is neither JSON nor key=value")
        key, raw = (s.strip() for s in part.split("=", 1))
        if not key:
            raise ConfigError(f"{name}: empty key in '{part.strip()}'")
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            low = raw.lower()
            out[key] = True if low == "true" else False if low == "false" else None if low in ("none", "null") else raw
    if not out:
        raise ConfigError(f"{name} is empty")
    return out


def _split_pairs(text: str) -> list[str]:
    """Split at commas that are outside brackets and quotes (``stop=['a','b'],n=1``)."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def eval_type_to_model_type(value: str) -> str:
    v = str(value).strip()
    if v in EVAL_TYPES:
        return EVAL_TYPES[v]
    if v in EVAL_TYPES_REFUSED:
        raise ConfigError(f"eval_type '{v}' is not supported: {EVAL_TYPES_REFUSED[v]}")
    return v  # an evs adapter name (transformers, mock, a plugin's); checked against the registry later


def convert_judge(judge: dict[str, Any], where: str = "judge") -> dict[str, Any]:
    """EvalScope's typed judge dict (``strategy``, ``models``, ``contract``…) as evs's judge keys.

    evs's own form (``model``, ``api_url``…) passes through unchanged.
    """
    if not isinstance(judge, dict):
        raise ConfigError(f"{where} must be a mapping, not {type(judge).__name__}")
    es_keys = {"models", "contract", "repeats", "position_swap", "aggregation", "min_valid_judges", "model_id"}
    if not es_keys & set(judge):
        return dict(judge)
    out = {k: v for k, v in judge.items() if k not in es_keys}
    models = judge.get("models")
    if "model_id" in judge:  # a bare JudgeModelConfig (judge_model_args)
        models = [{k: judge[k] for k in judge if k not in ("strategy",)}]
        out = {"strategy": judge["strategy"]} if "strategy" in judge else {}
    if isinstance(models, dict):
        models = [models]
    if models is not None:
        if not isinstance(models, list):
            raise ConfigError(f"{where}.models must be a list of judge models")
        if len(models) > 1:
            raise ConfigError(f"{where}.models: evs grades with one judge model, not {len(models)}; keep one entry")
        if models:
            m = models[0]
            if not isinstance(m, dict):
                raise ConfigError(f"{where}.models[0] must be a mapping")
            for key, value in m.items():
                if key == "model_id":
                    out["model"] = value
                elif key == "judge_id":
                    continue
                elif key == "eval_type":
                    out["model_type"] = eval_type_to_model_type(value)
                elif key in ("api_url", "api_key", "model_args", "generation_config", "model", "model_type"):
                    out[key] = value
                else:
                    raise ConfigError(f"unknown key '{key}' in {where}.models[0] (valid: model_id, api_url, "
                                      "api_key, eval_type, model_args, generation_config)")
    for key in ("repeats", "min_valid_judges"):
        if key in judge and judge[key] not in (1, None):
            raise ConfigError(f"{where}.{key}: evs asks the judge once per sample (1), not {judge[key]!r}")
    for key in ("position_swap", "aggregation"):
        if key in judge and judge[key] not in ("auto", "mean", None):
            raise ConfigError(f"{where}.{key}='{judge[key]}' applies to several judges or pairwise judging; evs "
                              "grades with one judge (pairwise battles: `evs arena`)")
    contract = judge.get("contract") or {}
    if not isinstance(contract, dict):
        raise ConfigError(f"{where}.contract must be a mapping")
    bad = [k for k, v in contract.items() if v not in (None, "pattern")]
    if bad:
        raise ConfigError(f"{where}.contract.{bad[0]}: evs uses each benchmark's own grading template and labels; "
                          "a custom judge contract is not supported")
    if "strategy" in out:
        out["strategy"] = judge_strategy(out["strategy"])
    return out


def judge_strategy(value: Any) -> Any:
    """EvalScope's strategy names as evs's (auto → llm_when_rule_fails, llm_recall → llm_when_rule_fails)."""
    return {"auto": "llm_when_rule_fails", "llm_recall": "llm_when_rule_fails"}.get(str(value).strip().lower(), value)


def normalize_task(data: dict[str, Any]) -> dict[str, Any]:
    """EvalScope TaskConfig keys in ``data`` as evs keys; refused keys stop with their reason.

    evs's own keys pass through; validation of the result is :func:`evs_core.config.make_config`'s.
    """
    d = dict(data)
    for key in IGNORED_KEYS:
        d.pop(key, None)
    for a in EVAL_ARGS:
        if a.name not in d:
            continue
        if a.refused:
            value = d.pop(a.name)
            if not _inert(value, a.inert):
                raise ConfigError(refusal(a.name))
    if "model_task" in d:
        v = d.pop("model_task")
        if not _inert(v, BY_NAME["model_task"].inert):
            raise ConfigError(f"model_task '{v}' is not supported: {BY_NAME['model_task'].note}")
    if "eval_backend" in d:
        v = d.pop("eval_backend")
        if not _inert(v, BY_NAME["eval_backend"].inert):
            raise ConfigError(f"eval_backend '{v}' is not supported: {BY_NAME['eval_backend'].note}")
    if "eval_type" in d:
        v = d.pop("eval_type")
        if v is not None:
            mt = eval_type_to_model_type(v)
            if d.get("model_type") not in (None, mt):
                raise ConfigError(f"eval_type '{v}' selects model_type '{mt}', but model_type is '{d['model_type']}'")
            d["model_type"] = mt
    if "eval_batch_size" in d:
        v = d.pop("eval_batch_size")
        if "concurrency" not in d:
            d["concurrency"] = v
    if "rerun_review" in d:
        if d.pop("rerun_review"):
            d["rescore"] = True
    if d.get("dataset_hub") == "local":
        d.pop("dataset_hub")
        if not d.get("dataset_dir"):
            raise ConfigError("dataset_hub 'local' needs --dataset-dir (a local data root)")
    if "chat_template" in d:
        v = d.pop("chat_template")
        if v:
            d["model_args"] = {**(d.get("model_args") or {}), "chat_template": v}
    if "stream" in d:
        v = d.pop("stream")
        if v is not None:
            d["generation_config"] = {**(d.get("generation_config") or {}), "stream": bool(v)}
    if "collect_perf" in d and d["collect_perf"] is None:
        d.pop("collect_perf")
    legacy = {k: d.pop(k) for k in ("judge_strategy", "judge_model_args") if k in d}
    legacy = {k: v for k, v in legacy.items() if v not in (None, {}, "")}
    if legacy:
        if d.get("judge"):
            raise ConfigError("give either judge (--judge-args) or the older judge_strategy/judge_model_args, "
                              "not both")
        judge = dict(legacy.get("judge_model_args") or {})
        if not isinstance(judge, dict):
            raise ConfigError("judge_model_args must be a mapping")
        if "judge_strategy" in legacy:
            judge["strategy"] = legacy["judge_strategy"]
        d["judge"] = judge
    if "judge" in d:
        if d["judge"] in (None, {}):
            d["judge"] = {}
        else:
            d["judge"] = convert_judge(d["judge"])
    return d


def _inert(value: Any, inert: tuple) -> bool:
    return any(value == v and type(value) is type(v) or (value is None and v is None) for v in inert)


def migration_table() -> str:
    """The Markdown table of every ``evalscope eval`` argument and its evs counterpart."""
    lines = ["| EvalScope | evs | Meaning in evs |", "|---|---|---|"]
    for a in EVAL_ARGS:
        evs = f"`{a.evs}`" if a.evs and not a.refused else "refused"
        note = a.note.replace("|", "\\|")
        lines.append(f"| `{a.option}` | {evs} | {note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # regenerate the table of docs/migrating-from-evalscope.md
    print(migration_table(), end="")
