"""Function-calling benchmarks: ``general_fc``, ``tool_bench`` and ``bfcl_v3``.

Tools are sent as OpenAI ``tools`` and the calls read from the reply's ``tool_calls``
(:mod:`evs_core.tools`); a model served without a tool parser can have its calls read from its text
with ``--model-args '{"tool_call_parser": "text"}'`` (the rule lands in each review). Scoring follows
EvalScope's adapters of the same names; see ``docs/benchmarks-function-calling.md``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT, Benchmark, RunContext, failed_review, make_review
from evs_core.data import load_hub
from evs_core.errors import ConfigError
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore, ToolCall
from evs_core.tools import RULE_NATIVE, check_tools

from evs_native.benchmarks.general import _CustomFiles


# -- shared helpers ------------------------------------------------------------------------------
def evalscope_arguments(call: ToolCall, tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A call's arguments as EvalScope's ``parse_tool_call`` reads them.

    JSON text starting with ``{`` is decoded (``{}`` when it does not parse); any other text is read
    as YAML and given to the tool's first parameter (the raw text when YAML fails too).
    """
    text = (call.arguments or "").strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    fn = next((t["function"] for t in tools or [] if t.get("function", {}).get("name") == call.name
               and (t["function"].get("parameters") or {}).get("properties")), None)
    if fn is None:
        return {}
    first = next(iter(fn["parameters"]["properties"]))
    import yaml

    try:
        return {first: yaml.safe_load(text)}
    except yaml.YAMLError:
        return {first: text}


def validate_tool_calls(calls: list[ToolCall], tools: list[dict[str, Any]]) -> tuple[bool, str]:
    """``(valid, reason)``: every call names a declared tool and its arguments satisfy its JSON schema.

    As EvalScope's ``FunctionCallAdapter.validate_tool_call`` (a tool with an empty ``parameters``
    schema counts as having none).
    """
    from jsonschema import ValidationError, validate

    name = ""
    try:
        for call in calls:
            name = call.name
            schema = next((t["function"]["parameters"] for t in tools if t["function"]["name"] == name), None)
            if not schema:
                return False, f"No schema found for tool '{name}'"
            validate(instance=evalscope_arguments(call, tools), schema=schema)
    except ValidationError as exc:
        return False, f"Schema validation failed for tool '{name}': {exc.message}"
    except KeyError as exc:
        return False, f"Tool call format error, missing field: {exc}"
    except Exception as exc:  # noqa: BLE001 - a bad schema fails this call, as in the reference
        return False, f"Unexpected error during validation: {exc}"
    return True, ""


def _calls_dump(calls: list[ToolCall] | None) -> list[dict[str, Any]] | None:
    return [{"name": c.name, "arguments": c.arguments} for c in calls] if calls else None


class _FCBase(Benchmark):
    """ModelScope-hosted data: the hub path uses ModelScope when no Hugging Face id exists."""

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        if self.local_root() is None and not self.hf_id and not self.args.get("dataset_id") and self.ms_id:
            hub_subset = self.hub_subset.get(subset, None if subset == DEFAULT else subset)
            return load_hub(self.ms_id, hub_subset, split, "modelscope")
        return super().load_rows(split, subset)


# -- general_fc ---------------------------------------------------------------------------------
class GeneralFC(_CustomFiles, _FCBase):
    name = "general_fc"
    version = "1"
    description = (
        "Your own function-calling data: rows with OpenAI 'messages', 'tools' and 'should_call_tool' "
        "(optionally 'expected_tool_calls'), sent with the tools as OpenAI tools; scoring as EvalScope's "
        "general_fc adapter: a call is finish_reason 'tool_calls', valid when every call names a tool and its "
        "arguments pass the JSON schema; tool_call_f1 (F1 of calling vs should_call_tool, primary), "
        "schema_accuracy, call counts. Deviations: a failed request is excluded and counted (EvalScope scores "
        "it as no call); calls read from text (model_args.tool_call_parser=text) count as calls; "
        "'expected_tool_calls' adds call_exact_match (evs's own)."
    )
    tags = ["function-calling", "agent", "custom"]
    ms_id = "evalscope/GeneralFunctionCall-Test"
    eval_split = "test"
    num_samples = None
    metrics = ["tool_call_f1", "schema_accuracy", "count_finish_reason_tool_call", "count_successful_tool_call"]
    primary_metric = "tool_call_f1"
    required_hint = " (general_fc rows need 'messages', 'tools' and 'should_call_tool')"

    # Local files (one subset per file, as general_qa), else EvalScope's dataset on ModelScope.
    def selected_subsets(self) -> list[str]:
        if self.local_root() is None:
            return [DEFAULT]
        return super().selected_subsets()

    def subset_samples(self, subset: str) -> list[Sample]:
        if self.local_root() is None:
            return Benchmark.subset_samples(self, subset)
        return super().subset_samples(subset)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        messages = record["messages"]
        if isinstance(messages, str):
            messages = json.loads(messages)
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and "role" in m
                                                                     for m in messages):
            raise ValueError("'messages' must be a non-empty list of {role, content} objects")
        try:
            tools = check_tools(record["tools"], "'tools'")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        should = record["should_call_tool"]
        if isinstance(should, str) and should.lower() in ("true", "false"):
            should = should.lower() == "true"
        if not isinstance(should, bool):
            raise ValueError(f"'should_call_tool' must be true or false, not {should!r}")
        expected = record.get("expected_tool_calls")
        if isinstance(expected, str):
            expected = json.loads(expected)
        if expected is not None:
            if not isinstance(expected, list) or not all(isinstance(c, dict) and "name" in c for c in expected):
                raise ValueError("'expected_tool_calls' must be a list of {name, arguments} objects")
            expected = [{"name": c["name"], "arguments": c.get("arguments") or {}} for c in expected]
        question = next((str(m.get("content")) for m in reversed(messages) if m["role"] == "user"), "")
        return Sample(id=self._id(record, index, subset), input=question, target=should, subset=subset,
                      metadata={"messages": messages, "tools": tools, "should_call_tool": should,
                                "expected_tool_calls": expected})

    def build_request(self, sample: Sample) -> Request:
        messages = [dict(m) for m in sample.metadata["messages"]]
        system = self.args.get("system_prompt")
        if system and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": system}, *messages]
        generation = {**self.generation, **self.user_generation, **self.args.get("generation_config", {})}
        return Request(messages=messages, tools=sample.metadata["tools"], generation=generation)

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        tools = sample.metadata["tools"]
        calls = output.tool_calls or []
        from_text = bool(calls) and output.tool_call_rule not in (None, RULE_NATIVE)
        is_call = output.finish_reason == "tool_calls" or from_text
        valid, reason = validate_tool_calls(calls, tools)
        success = is_call and valid
        should = bool(sample.metadata["should_call_tool"])
        scores = {"passed": float(success if should else not is_call), "finish_reason_tool_call": float(is_call),
                  "successful_tool_call": float(success), "should_call_tool": float(should)}
        expected = sample.metadata.get("expected_tool_calls")
        if expected is not None:
            got = sorted(json.dumps([c.name, evalscope_arguments(c, tools)], sort_keys=True) for c in calls) \
                if is_call else []
            want = sorted(json.dumps([c["name"], c["arguments"]], sort_keys=True) for c in expected)
            scores["call_exact_match"] = float(got == want)
        return make_review(sample, output, ctx, extracted=_calls_dump(calls) if is_call else None,
                           extraction_rule=(output.tool_call_rule or "finish_reason") if is_call else "no_call",
                           scores=scores, metadata={"error_reason": reason} if reason else {})

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        scored = [r for r in reviews if r.error is None]
        order = list(dict.fromkeys(r.subset for r in scored))
        subsets = []
        for sub in order:
            stats = self._fc_stats([r for r in scored if r.subset == sub])
            subsets.append(SubsetScore(name=sub, num=stats[self.primary].num, score=stats[self.primary].score,
                                       metrics=stats))
        return self._fc_stats(scored), subsets

    @staticmethod
    def _fc_stats(reviews: list[Review]) -> dict[str, Stat]:
        """EvalScope's general_fc aggregation: counts, schema accuracy among attempts, decision F1."""
        n = len(reviews)
        tp = fp = fn = 0
        attempted = valid = 0
        for r in reviews:
            pred, ok, label = (int(r.scores.get(k, 0)) for k in
                               ("finish_reason_tool_call", "successful_tool_call", "should_call_tool"))
            attempted += pred
            valid += pred and ok
            tp += pred and label
            fp += pred and not label
            fn += (not pred) and label
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out = {
            "tool_call_f1": Stat(score=f1, num=n),
            "schema_accuracy": Stat(score=valid / attempted if attempted else 0.0, num=n),
            "count_finish_reason_tool_call": Stat(score=float(attempted), num=n),
            "count_successful_tool_call": Stat(score=float(valid), num=n),
        }
        matched = [r.scores["call_exact_match"] for r in reviews if "call_exact_match" in r.scores]
        if matched:
            out["call_exact_match"] = Stat(score=sum(matched) / len(matched), num=len(matched))
        return out
