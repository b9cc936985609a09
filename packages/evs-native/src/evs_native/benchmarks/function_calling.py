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
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore, ToolCall, Usage
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
        meta = {"messages": messages, "tools": tools, "should_call_tool": should, "expected_tool_calls": expected}
        if record.get("tool_choice") is not None:  # evs's addition: sent as OpenAI's tool_choice
            meta["tool_choice"] = record["tool_choice"]
        return Sample(id=self._id(record, index, subset), input=question, target=should, subset=subset,
                      metadata=meta)

    def build_request(self, sample: Sample) -> Request:
        messages = [dict(m) for m in sample.metadata["messages"]]
        system = self.args.get("system_prompt")
        if system and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": system}, *messages]
        generation = {**self.generation, **self.user_generation, **self.args.get("generation_config", {})}
        return Request(messages=messages, tools=sample.metadata["tools"], tool_choice=sample.metadata.get("tool_choice"),
                       generation=generation)

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


# -- tool_bench ---------------------------------------------------------------------------------
def _toolbench_action(text: str) -> tuple[str, str]:
    """(action, action input) of a ReAct reply: the text after the last 'Action:' / 'Action Input:'."""
    action_input = "{}"
    if "Action Input:" in text:
        action_input = text[text.rindex("Action Input:") + len("Action Input:"):].strip()
    if "Action:" in text:
        action = text[text.rindex("Action:") + len("Action:"):].strip()
        if "Action Input:" in action:
            action = action[:action.index("Action Input:")].strip()
    else:
        action = "none"
    return action, action_input


def _toolbench_parse(text: str) -> tuple[str, Any, Any, Any]:
    """(plan, action, action input, answer): 'finish' with the final answer, 'give up', or 'call'."""
    action, action_input = _toolbench_action(text)
    if action != "Finish":
        return "call", action, action_input, None
    try:
        value = json.loads(action_input)
        if value["return_type"] != "give_answer":
            return "give up", None, None, None
        answer = str(value["final_answer"]) if "final_answer" in value else "None"
        if "final_answer" in value and answer.strip() in ("", ".", ","):
            answer = "None"
        return "finish", action, value, answer
    except Exception:  # noqa: BLE001 - any unreadable Finish is a give-up, as in the reference
        return "give up", None, None, None


def _toolbench_input_f1(pred_action: str, ref_action: str, cand: str, ref: str) -> tuple[list, list, list]:
    """Easy (empty reference input), hard and overall argument F1 of one call (half credit for a
    key with a different value); a reference input that is not JSON scores nothing."""
    easy: list[float] = []
    hard: list[float] = []
    f1: list[float] = []
    if ref_action != pred_action:
        return [0], [0], [0]
    try:
        ref_json = json.loads(ref)
    except Exception:  # noqa: BLE001
        return easy, hard, f1
    try:
        cand_json = json.loads(cand)
        if ref_json == {}:
            (easy.append(1), f1.append(1)) if cand_json == {} else (easy.append(0), f1.append(0))
        else:
            full = sum(1 for k, v in ref_json.items() if k in cand_json.keys() and cand_json[k] == v)
            half = sum(1 for k, v in ref_json.items() if k in cand_json.keys() and cand_json[k] != v)
            recall = (0.5 * half + full) / (len(ref_json) + 1e-30)
            precision = (0.5 * half + full) / (len(cand_json) + 1e-30)
            value = 2 * recall * precision / (recall + precision)
            hard.append(value)
            f1.append(value)
    except Exception:  # noqa: BLE001 - the candidate input is not JSON (or the F1 divides by zero)
        (easy if ref_json == {} else hard).append(0)
        f1.append(0)
    return easy, hard, f1


def _whitespace_rouge_l(prediction: str, reference: str) -> float:
    from evs_native.benchmarks.text_metrics import lcs_length

    p, r = prediction.split(), reference.split()
    lcs = lcs_length(p, r)
    if not lcs:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def toolbench_metrics(target: str, prediction: str, tools: list[dict[str, Any]]) -> dict[str, float]:
    """One sample's ToolBench-Static scores, as EvalScope's tool_bench ``calculate_metrics``.

    ``{}`` (the sample is not scored) when the reference calls a hallucinated function or a tool
    that is not offered.
    """
    ref_plan, ref_action, ref_input, ref_ans = _toolbench_parse(target)
    pred_plan, pred_action, pred_input, pred_ans = _toolbench_parse(prediction)
    names = [t["name"] for t in tools]
    if ref_action is not None and ref_action == "invalid_hallucination_function_name":
        return {}
    if pred_action is not None and ref_action != "none" and ref_action not in names:
        return {}
    hallu = int(pred_action is not None and pred_action != "none" and pred_action not in names)
    answer_ref, answer_pred, action_ref, action_pred, input_ref, input_pred = [], [], [], [], [], []
    if ref_plan == "finish":
        answer_ref.append(ref_ans)
        answer_pred.append("none" if pred_ans is None else pred_ans)
    elif ref_plan != "give up":
        action_ref.append(ref_action)
        input_ref.append(ref_input)
        action_pred.append("none" if pred_action is None else pred_action)
        input_pred.append("{}" if pred_input is None else pred_input)
    rouge = _whitespace_rouge_l(answer_pred[-1], answer_ref[-1]) if answer_ref else 0.0
    plan_em = float(pred_plan == ref_plan)
    action_em = float(sum(c == r for c, r in zip(action_pred, action_ref)) / len(action_pred)) if action_ref else 0.0
    easy = hard = f1 = []
    if action_ref:
        easy, hard, f1 = _toolbench_input_f1(action_pred[0], action_ref[0], input_pred[0], input_ref[0])

    def avg(xs):
        return sum(xs) / len(xs) if xs else 0.0

    return {"Act.EM": action_em, "F1": avg(f1), "HalluRate": float(hallu), "plan_em": plan_em,
            "Easy_F1": avg(easy), "Hard_F1": avg(hard), "Rouge-L": rouge}


class ToolBench(_FCBase):
    name = "tool_bench"
    version = "1"
    description = (
        "ToolBench-Static: the next step of a ReAct tool-use conversation ('Action:' / 'Action Input:' or "
        "Finish with a final answer), in-domain and out-of-domain tools; scoring as EvalScope's tool_bench "
        "adapter: Act.EM, argument F1 (primary; half credit for a wrong value), Easy_F1/Hard_F1, plan_em, "
        "HalluRate and whitespace-token Rouge-L of final answers; samples whose reference calls an unoffered "
        "tool are not scored. Deviations: a failed request is excluded and counted."
    )
    tags = ["function-calling", "agent", "reasoning"]
    ms_id = "AI-ModelScope/ToolBench-Static"
    subsets = ["in_domain", "out_of_domain"]
    eval_split = "test"
    num_samples = None
    metrics = ["F1", "Act.EM", "plan_em", "HalluRate", "Rouge-L", "Easy_F1", "Hard_F1"]
    primary_metric = "F1"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        messages = []
        for m in record["messages"]:
            msg = {k: v for k, v in dict(m).items() if k != "name"}
            if msg.get("role") == "function":
                msg = {"role": "user", "content": json.dumps(msg, ensure_ascii=False)}
            messages.append({"role": msg["role"], "content": msg.get("content") or ""})
        tools = record["tools"]
        if isinstance(tools, str):
            tools = json.loads(tools)
        if not isinstance(tools, list) or not all(isinstance(t, dict) and "name" in t for t in tools):
            raise ValueError("'tools' must be a list of tools with a 'name'")
        target = record["target"]
        if not isinstance(target, str):
            raise ValueError("'target' must be the reference reply (text)")
        rid = record.get("id")
        question = next((str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        return Sample(id=f"{subset}_{rid if rid not in (None, '') else index}", input=question, target=target,
                      subset=subset, metadata={"messages": messages, "tools": tools})

    def build_request(self, sample: Sample) -> Request:
        generation = {**self.generation, **self.user_generation, **self.args.get("generation_config", {})}
        return Request(messages=[dict(m) for m in sample.metadata["messages"]], generation=generation)

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        action, action_input = _toolbench_action(output.text)
        scores = toolbench_metrics(sample.target, output.text, sample.metadata["tools"])
        rule = "action" if "Action:" in output.text else "none"
        return make_review(sample, output, ctx, extracted={"action": action, "action_input": action_input},
                           extraction_rule=rule, scores=scores,
                           metadata={} if scores else {"not_scored": "the reference calls a tool not offered"})


# -- bfcl_v3 ------------------------------------------------------------------------------------
#: EvalScope's subsets of BFCL v3 and the category of each.
BFCL_CATEGORIES = {
    "simple": "AST_NON_LIVE", "multiple": "AST_NON_LIVE", "parallel": "AST_NON_LIVE",
    "parallel_multiple": "AST_NON_LIVE", "java": "AST_NON_LIVE", "javascript": "AST_NON_LIVE",
    "live_simple": "AST_LIVE", "live_multiple": "AST_LIVE", "live_parallel": "AST_LIVE",
    "live_parallel_multiple": "AST_LIVE",
    "irrelevance": "RELEVANCE", "live_relevance": "RELEVANCE", "live_irrelevance": "RELEVANCE",
    "multi_turn_base": "MULTI_TURN", "multi_turn_miss_func": "MULTI_TURN", "multi_turn_miss_param": "MULTI_TURN",
    "multi_turn_long_context": "MULTI_TURN",
}
_BFCL_V4_NAMES = {"simple": "simple_python", "java": "simple_java", "javascript": "simple_javascript"}
_BFCL_RELEVANCE = {"irrelevance", "live_irrelevance", "live_relevance"}
_BFCL_PIN = "bfcl-eval==2025.10.27.1"
#: The model names EvalScope hands the checker (only their underscore_to_dot setting matters).
_BFCL_DUMMY = {True: "gpt-4o-2024-11-20-FC", False: "meta-llama/Llama-3.3-70B-Instruct-FC"}


def bfcl_checker():
    """bfcl-eval's AST checker and empty-output test, imported once.

    bfcl-eval creates ``result/`` and ``score/`` folders under ``$BFCL_PROJECT_ROOT`` when imported
    (by default beside the installed package, i.e. in site-packages): evs points it at its cache
    folder unless it is set. bfcl-eval's model table imports every vendor SDK its handlers use;
    the checker only reads each model's ``underscore_to_dot`` from it. When those SDKs are not installed (bfcl-eval
    installed without its dependencies, whose pins clash with current numpy), a table holding
    the two models evs names stands in, with bfcl-eval's own values for them.
    """
    import importlib
    import os
    import sys

    if "BFCL_PROJECT_ROOT" not in os.environ:  # bfcl-eval makes result/ and score/ there on import
        from evs_core import cache_dir

        os.environ["BFCL_PROJECT_ROOT"] = str(cache_dir() / "bfcl")
    try:
        importlib.import_module("bfcl_eval")
    except ImportError:
        raise ConfigError(f"bfcl_v3 is scored by bfcl-eval's checkers: pip install --no-deps {_BFCL_PIN} "
                          "(or pip install 'evs-native[bfcl]' in an environment that accepts its pins)") from None
    name = "bfcl_eval.constants.model_config"
    if name not in sys.modules:
        try:
            importlib.import_module(name)
        except ImportError:
            import types
            from dataclasses import dataclass

            @dataclass
            class _Config:
                underscore_to_dot: bool

            shim = types.ModuleType(name)
            shim.MODEL_CONFIG_MAPPING = {_BFCL_DUMMY[True]: _Config(True), _BFCL_DUMMY[False]: _Config(False)}
            sys.modules[name] = shim
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
    from bfcl_eval.utils import is_empty_output

    return ast_checker, is_empty_output, Language


def bfcl_score(row: dict[str, Any], generation: list, underscore_to_dot: bool = True) -> dict[str, Any]:
    """``{"valid", "error_message", "error_type"}`` of a single-turn BFCL v3 entry in FC mode.

    ``generation`` is the first turn's responses as EvalScope records them: a ``{name: arguments}``
    dict per tool call, or the reply's text when it made none. Relevance categories check only
    whether a call was made; the others go through bfcl-eval's ``ast_checker``.
    """
    import traceback

    ast_checker, is_empty_output, Language = bfcl_checker()
    category = _BFCL_V4_NAMES.get(row["test_category"], row["test_category"])
    model = _BFCL_DUMMY[bool(underscore_to_dot)]
    if category in _BFCL_RELEVANCE:
        error = None
        try:
            decoded = [{list(c.keys())[0]: c[list(c.keys())[0]]} for c in generation]
            contains = not is_empty_output(decoded)
            if not contains:
                error = "Empty decoded output."
        except Exception:  # noqa: BLE001 - a text reply is no call
            contains = False
            error = f"Failed to decode with traceback: {traceback.format_exc()}"
        valid = contains if category == "live_relevance" else not contains
        return {"valid": valid, "error_message": error}
    try:
        decoded = [{list(c.keys())[0]: c[list(c.keys())[0]]} for c in generation]
        language = {"python": Language.PYTHON, "java": Language.JAVA,
                    "javascript": Language.JAVASCRIPT}[row["language"].lower()]
        return ast_checker(row["functions"], decoded, row["ground_truth"], language, category, model)
    except Exception:  # noqa: BLE001 - as the reference: an undecodable reply is invalid
        return {"valid": False, "error_message": f"Invalid syntax. Failed to decode AST. Traceback: "
                f"{traceback.format_exc()}", "error_type": "ast_decoder:decoder_failed"}


def bfcl_generation(output: ModelOutput, tools: list[dict[str, Any]]) -> list:
    """The first turn's responses as EvalScope's BFCL loop records them (FC mode, one step)."""
    if output.tool_calls:
        return [{c.name: evalscope_arguments(c, tools)} for c in output.tool_calls]
    return [output.text]


class BFCLV3(_FCBase):
    name = "bfcl_v3"
    version = "1"
    description = (
        "Berkeley Function Calling Leaderboard v3 (AST non-live and live, relevance, multi-turn), tools sent as "
        "OpenAI tools; scored by the bfcl-eval package's ast_checker and multi_turn_checker (its executable "
        "environments) exactly as EvalScope's bfcl_v3 adapter (FC mode, underscore_to_dot), with its category "
        "rows NON_LIVE, LIVE, MULTI_TURN and OVERALL. Deviations: prompting mode (is_fc_model=false) is not "
        "supported; a model's call is executed only when it is a plain call of an environment method with "
        "literal arguments (others give an execution error, as an unknown call does); a failed request is "
        "excluded and counted."
    )
    tags = ["function-calling", "agent"]
    ms_id = "AI-ModelScope/bfcl_v3"
    subsets = list(BFCL_CATEGORIES)
    eval_split = "train"
    num_samples = 4441
    metrics = ["acc"]
    primary_metric = "acc"
    extra_args: ClassVar[dict[str, Any]] = {"underscore_to_dot": True, "is_fc_model": True}

    def _check_args(self) -> None:
        if self.args.get("is_fc_model") is not True:
            raise ConfigError("dataset_args.bfcl_v3.is_fc_model: evs runs BFCL in function-calling mode only "
                              "(tools sent as OpenAI tools); prompting mode is not supported")
        if not isinstance(self.args.get("underscore_to_dot"), bool):
            raise ConfigError("dataset_args.bfcl_v3.underscore_to_dot must be true or false")
        super()._check_args()
        bfcl_checker()  # a missing bfcl-eval stops the run before any request

    def subset_samples(self, subset: str) -> list[Sample]:
        """The rows of one category: the data is one table whose 'subset' field names it (as EvalScope)."""
        cache = self.__dict__.setdefault("_rows", None)
        if cache is None:
            cache = self.__dict__["_rows"] = self.load_rows(self.args["split"], DEFAULT)
        out = []
        for i, row in enumerate(cache):
            if row.get("subset", row.get("test_category")) != subset:
                continue
            try:
                out.append(self.record_to_sample(row, i, subset))
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
                raise ConfigError(self._row_error(row, i, subset, exc)) from None
        return out

    def _source(self, subset: str) -> str:
        return super()._source(DEFAULT)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        def js(key, default=None):
            value = record.get(key, default) if default is not None else record[key]
            return json.loads(value) if isinstance(value, str) else value

        turns = [[dict(m) for m in t] for t in js("turns")]
        for t in turns:  # FC mode: the tools replace the system prompt
            if t and t[0].get("role") == "system":
                del t[0]
        messages = turns[0] if turns else []
        tools = js("tools")
        row = {"id": record["id"], "test_category": record["test_category"], "language": record["language"],
               "functions": js("functions"), "ground_truth": js("ground_truth"),
               "multi_turn": bool(record.get("multi_turn"))}
        if row["multi_turn"]:
            row.update(turns=turns, missing_functions=js("missed_functions", "{}"),
                       initial_config=js("initial_config", "{}"), involved_classes=js("involved_classes", "[]"))
        return Sample(id=str(record["id"]), input=next((str(m.get("content")) for m in reversed(messages)
                                                        if m.get("role") == "user"), ""),
                      target=json.dumps(row["ground_truth"], ensure_ascii=False), subset=subset,
                      metadata={"messages": messages, "tools": tools, "row": row})

    def build_request(self, sample: Sample) -> Request:
        generation = {**self.generation, **self.user_generation, **self.args.get("generation_config", {})}
        return Request(messages=[dict(m) for m in sample.metadata["messages"]], tools=sample.metadata["tools"],
                       generation=generation)

    async def solve(self, sample: Sample, model: Any, ctx: RunContext) -> tuple[ModelOutput, dict[str, Any]]:
        """One request (single-turn entries), or BFCL's multi-turn loop against its environments."""
        request = self.build_request(sample)
        if not sample.metadata["row"]["multi_turn"]:
            return await model.agenerate(request), request.to_dict()
        return await bfcl_multi_turn_episode(sample.metadata["row"], sample.metadata["tools"], model,
                                             request.generation), {**request.to_dict(), "kind": "agent_episode"}

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        row = sample.metadata["row"]
        if row["multi_turn"]:
            import asyncio

            generation = json.loads(output.text)
            result = await asyncio.to_thread(bfcl_multi_turn_score, row, generation)
            meta = {"error_type": result.get("error_type", ""), "test_category": row["test_category"]}
            if not result["valid"]:
                meta["error_message"] = str(result.get("error_message", ""))[:2000]
            calls = sum(1 for turn in generation for g in turn if isinstance(g, dict))
            return make_review(sample, output, ctx, extracted=generation,
                               extraction_rule="tool_calls" if calls else "none",
                               scores={"acc": float(bool(result["valid"]))}, metadata=meta)
        generation = bfcl_generation(output, sample.metadata["tools"])
        result = bfcl_score(sample.metadata["row"], generation, self.args["underscore_to_dot"])
        meta = {"error_type": result.get("error_type", ""), "test_category": sample.metadata["row"]["test_category"]}
        if not result["valid"]:
            errors = result.get("error_message") or result.get("error")
            meta["error_message"] = errors if isinstance(errors, str) else json.dumps(errors, default=str)[:2000]
        return make_review(sample, output, ctx, extracted=generation if output.tool_calls else None,
                           extraction_rule=output.tool_call_rule or "none",
                           scores={"acc": float(bool(result["valid"]))}, metadata=meta)

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        by = {s.name: (s.score, s.num) for s in subsets}
        rows = bfcl_overall(by)
        subsets = subsets + [SubsetScore(name=k, num=n, score=v, kind="category",
                                         metrics={"acc": Stat(score=v, num=n)}) for k, (v, n) in rows.items()]
        if "acc" in overall:
            overall["acc_micro"] = overall["acc"]
            overall["acc"] = Stat(score=rows["OVERALL"][0], num=overall["acc"].num)
        return overall, subsets


def bfcl_overall(by: dict[str, tuple[float, int]]) -> dict[str, tuple[float, int]]:
    """BFCL's summary rows from per-category (accuracy, count), as EvalScope's report computes them."""
    d = dict(by)

    def unweighted(names):
        vals = [d[n] for n in names if n in d and d[n][1] > 0]
        return (sum(v for v, _ in vals) / len(vals) if vals else 0.0, sum(n for _, n in vals))

    def weighted(names):
        vals = [d[n] for n in names if n in d]
        total = sum(n for _, n in vals)
        return (sum(v * n for v, n in vals) / total if total else 0.0, total)

    d["simple_ast"] = unweighted(["simple", "java", "javascript"])
    d["ast_non_live"] = unweighted(["simple_ast", "multiple", "parallel", "parallel_multiple"])
    d["ast_live"] = weighted(["live_simple", "live_multiple", "live_parallel", "live_parallel_multiple"])
    d["hallucination_non_live"] = d.get("irrelevance", (0.0, 0))
    d["hallucination_live"] = weighted(["live_irrelevance", "live_relevance"])
    d.setdefault("multi_turn_base", (0.0, 0))
    d["multi_turn_augmented"] = weighted(["multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context"])
    d["non_live"] = unweighted(["ast_non_live", "hallucination_non_live"])
    d["live"] = weighted(["ast_live", "hallucination_live"])
    d["multi_turn"] = unweighted(["multi_turn_base", "multi_turn_augmented"])
    d["overall"] = unweighted(["non_live", "live", "multi_turn"])
    return {k.upper(): d[k] for k in ("non_live", "live", "multi_turn", "overall")}


# -- bfcl_v3 multi-turn -------------------------------------------------------------------------
_MAX_STEPS = 20  # bfcl-eval's MAXIMUM_STEP_LIMIT
_ADDED_FUNCTIONS = "I have updated some more functions you can choose from. What about now?"


def _call_text(call: dict[str, Any]) -> list[str]:
    """bfcl-eval's ``convert_to_function_call`` of one ``{name: arguments}`` (``name(k=repr(v), ...)``)."""
    out = []
    for key, value in call.items():
        if isinstance(value, str):
            value = json.loads(value)
        out.append(f"{key}({','.join(f'{k}={v!r}' for k, v in value.items())})")
    return out


def _methods(classes: list[str]) -> set[str]:
    """Public methods of BFCL's environment classes (what a model's call may name)."""
    import importlib
    import inspect

    from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING

    names: set[str] = set()
    for cls_name in classes:
        cls = getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[cls_name]), cls_name)
        names |= {n for n, _ in inspect.getmembers(cls, predicate=inspect.isfunction) if not n.startswith("_")}
    return names


def _safe_call(text: str, methods: set[str]) -> str:
    """``text`` when it is one call of an environment method with literal arguments, else a call that
    fails harmlessly: bfcl-eval ``eval``s these strings in its own process."""
    import ast

    rejected = "evs_rejected_call()"  # a NameError, recorded as an execution error
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):
        return rejected
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in methods):
        return rejected
    try:
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            ast.literal_eval(arg)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return rejected
    if any(k.arg is None for k in node.keywords):  # **kwargs
        return rejected
    return text


class _Instances:
    """bfcl-eval keeps each environment in its module's globals under a model name and entry id: a
    fresh name per episode or check keeps repeats and re-scoring apart, and the instances are
    dropped afterwards."""

    def __init__(self) -> None:
        import uuid

        self.name = f"evs_{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> str:
        return self.name

    def __exit__(self, *exc: Any) -> None:
        from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils

        for key in [k for k in vars(multi_turn_utils) if k.startswith(self.name)]:
            del vars(multi_turn_utils)[key]


async def bfcl_multi_turn_episode(row: dict[str, Any], tools: list[dict[str, Any]], model: Any,
                                  generation: dict[str, Any]) -> ModelOutput:
    """EvalScope's BFCL FC multi-turn loop: each turn's user message (or, for a turn that adds
    functions, bfcl's prompt and the new tools), then model calls executed in BFCL's environments
    until the model answers without calls (at most 20 steps a turn). ``text`` is the JSON of each
    turn's responses (``{name: arguments}`` per call, or the reply's text), as EvalScope records it."""
    import copy as _copy

    bfcl_checker()
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

    tools = _copy.deepcopy(tools)
    methods = _methods(row["involved_classes"])
    long_context = "long_context" in row["test_category"] or "composite" in row["test_category"]
    messages: list[dict[str, Any]] = []
    responses: list[list[Any]] = []
    usage = Usage()
    last = ModelOutput()
    with _Instances() as name:
        for turn_idx, turn in enumerate(row["turns"]):
            messages += _copy.deepcopy(turn)
            added = row["missing_functions"].get(str(turn_idx))
            if added is not None:
                for new in added:
                    fn = _copy.deepcopy(new[0])
                    fn["parameters"]["type"] = "object"
                    tools.append({"type": "function", "function": fn})
                messages.append({"role": "user", "content": _ADDED_FUNCTIONS})
            current: list[Any] = []
            steps = 0
            while True:
                last = await model.agenerate(Request(messages=_copy.deepcopy(messages), tools=_copy.deepcopy(tools),
                                                     generation=generation))
                if last.error:
                    return ModelOutput(error=last.error, usage=usage, trajectory=messages)
                if last.usage:
                    usage = Usage(**{k: getattr(usage, k) + getattr(last.usage, k) for k in
                                     ("prompt_tokens", "completion_tokens", "total_tokens")})
                if not last.tool_calls:
                    current.append(last.text)
                    messages.append({"role": "assistant", "content": last.text})
                    break
                calls = [{c.name: evalscope_arguments(c, tools)} for c in last.tool_calls]
                current.extend(calls)
                messages.append({"role": "assistant", "content": last.text or None,
                                 "tool_calls": [c.to_openai() for c in last.tool_calls]})
                texts = [_safe_call(t, methods) for c in calls for t in _call_text(c)]
                results, _ = execute_multi_turn_func_call(texts, initial_config=row["initial_config"],
                                                          involved_classes=row["involved_classes"], model_name=name,
                                                          test_entry_id=str(row["id"]), long_context=long_context,
                                                          is_evaL_run=False)
                for call, result in zip(last.tool_calls, results, strict=False):
                    messages.append({"role": "tool", "tool_call_id": call.id or "",
                                     "content": json.dumps({"response": result})})
                steps += 1
                if steps > _MAX_STEPS:
                    break
            responses.append(current)
    return ModelOutput(text=json.dumps(responses, ensure_ascii=False), usage=usage, finish_reason=last.finish_reason,
                       model=last.model, trajectory=messages)


def bfcl_multi_turn_score(row: dict[str, Any], generation: list[list[Any]]) -> dict[str, Any]:
    """bfcl-eval's ``multi_turn_checker`` on an episode's responses, decoded as EvalScope decodes them
    (a call becomes its ``name(k=v)`` text, a text reply stays as it is)."""
    import traceback

    bfcl_checker()
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    methods = _methods(row["involved_classes"])
    decoded = []
    for turn in generation:
        steps = []
        for g in turn:
            try:
                steps.append([_safe_call(t, methods) for t in _call_text(g)])
            except Exception:  # noqa: BLE001 - a text reply: kept, as the reference (it fails to execute)
                steps.append([_safe_call(str(g), methods)])
        decoded.append(steps)
    entry = {"id": str(row["id"]), "initial_config": row["initial_config"], "involved_classes": row["involved_classes"]}
    category = _BFCL_V4_NAMES.get(row["test_category"], row["test_category"])
    with _Instances() as name:
        try:
            return multi_turn_checker(decoded, row["ground_truth"], entry, category, name)
        except Exception:  # noqa: BLE001 - as the reference: a checker failure is a fail
            return {"valid": False, "error_type": "multi_turn:checker_failed",
                    "error_message": f"Failed to grade multi-turn. Traceback: {traceback.format_exc()}"}
