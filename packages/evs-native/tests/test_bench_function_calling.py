"""Function-calling benchmarks end to end against a fake OpenAI server that answers with tool_calls:
general_fc, tool_bench, bfcl_v3 (parity with bfcl-eval's checker)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput, ToolCall
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.engine import run_task


def pick(key: str, n: int) -> int:
    """A reproducible choice among n behaviours, from a hash of the gold data."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % n


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _run(srv, tmp_path, datasets, **kw):
    cfg = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": datasets,
           "work_dir": str(tmp_path / "out"), "concurrency": 4, "no_progress": True, "retries": 0}
    cfg.update(kw)
    return run_task(cfg)


def _reviews(tmp_path, name):
    path = next((tmp_path / "out").glob(f"*/reviews/*/{name}.jsonl"))
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


# -- general_fc -----------------------------------------------------------------------------------
def _tool(name, props, required):
    return {"type": "function", "function": {"name": name, "description": f"{name} tool", "parameters": {
        "type": "object", "properties": props, "required": required, "additionalProperties": False}}}


ADD = _tool("add", {"a": {"type": "number"}, "b": {"type": "number"}}, ["a", "b"])
WEATHER = _tool("get_weather", {"city": {"type": "string"}}, ["city"])

FC_ROWS = {
    "arith": [("Please add 2 and 3 [q0]", [ADD], True, {"a": 2, "b": 3}),
              ("Let's just chat about the weather being nice [q1]", [ADD], False, None),
              ("What is 10 plus 32? [q2]", [ADD], True, {"a": 10, "b": 32}),
              ("Tell me a joke [q3]", [ADD], False, None),
              ("Sum 7 and 8 for me [q4]", [ADD], True, {"a": 7, "b": 8})],
    "weather": [("Weather in Paris? [q5]", [WEATHER, ADD], True, {"city": "Paris"}),
                ("How do clouds form? [q6]", [WEATHER], False, None),
                ("Is it raining in Oslo? [q7]", [WEATHER], True, {"city": "Oslo"}),
                ("Weather in Rome? [q8]", [WEATHER], True, {"city": "Rome"})],
}
# behaviours of the fake model: a valid call, a call whose arguments break the schema, a call to an
# undeclared tool, a plain answer, the call written as text (a server without a tool parser)
BEHAVIOURS = ["valid", "bad_args", "unknown_tool", "text", "text_call"]


def _fc_rows():
    out = {}
    for sub, rows in FC_ROWS.items():
        out[sub] = [{"id": f"r{i}", "messages": [{"role": "system", "content": "You are an assistant"},
                                                {"role": "user", "content": q}],
                     "tools": tools if i % 2 else json.dumps(tools), "should_call_tool": should,
                     "expected_tool_calls": [{"name": tools[0]["function"]["name"], "arguments": args}] if args else [],
                     **({"tool_choice": "auto"} if i == 0 else {})}
                    for i, (q, tools, should, args) in enumerate(rows)]
    return out


def _behaviour(question: str, should: bool) -> str:
    return BEHAVIOURS[pick(question + str(should), len(BEHAVIOURS))]


def _fc_answer(question, tools, args, behaviour):
    name = tools[0]["function"]["name"]
    params = tools[0]["function"]["parameters"]
    good = args or {p: "x" if params["properties"][p]["type"] == "string" else 1 for p in params["required"]}
    if behaviour == "valid":
        return {"content": None, "tool_calls": [{"name": name, "arguments": good}]}
    if behaviour == "bad_args":
        return {"content": "", "tool_calls": [{"name": name, "arguments": {"wrong": "x"}}]}
    if behaviour == "unknown_tool":
        return {"content": None, "tool_calls": [{"name": "search_web", "arguments": {"q": question}}]}
    if behaviour == "text":
        return "I can answer that directly: it depends."
    return f'<tool_call>\n{json.dumps({"name": name, "arguments": good})}\n</tool_call>'


class FCResponder:
    def __init__(self, fail: str | None = None):
        self.index = {q: (tools, should, args) for rows in FC_ROWS.values() for q, tools, should, args in rows}
        self.fail = fail

    def __call__(self, body):
        q = last_user_text(body)
        assert body["tools"] and body["messages"][0]["role"] == "system"
        if self.fail and self.fail in q:
            raise RuntimeError("injected")
        tools, should, args = self.index[q]
        return _fc_answer(q, tools, args, _behaviour(q, should))


def _fc_expected(text_parser: bool, skip: str | None = None):
    """tool_call_f1, schema_accuracy and counts, computed from the behaviours, not from evs."""
    per = {}
    for sub, rows in FC_ROWS.items():
        tp = fp = fn = attempted = valid = 0
        exact = []
        for q, _tools, should, args in rows:
            if skip and skip in q:
                continue
            b = _behaviour(q, should)
            call = b in ("valid", "bad_args", "unknown_tool") or (text_parser and b == "text_call")
            ok = call and b in ("valid", "text_call")
            attempted += call
            valid += ok
            tp += call and should
            fp += call and not should
            fn += (not call) and should
            exact.append(float((ok and should) or (not call and not should)))
        per[sub] = (tp, fp, fn, attempted, valid, exact)
    return per


def _f1(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


@pytest.mark.parametrize("stream,text_parser", [(False, False), (True, True)])
def test_general_fc_end_to_end(tmp_path, stream, text_parser):
    data = tmp_path / "data" / "general_fc"
    for sub, rows in _fc_rows().items():
        _jsonl(data / f"{sub}.jsonl", rows)
    kw = {"generation_config": {"stream": True}} if stream else {}
    if text_parser:
        kw["model_args"] = {"tool_call_parser": "text"}
    with FakeOpenAIServer(FCResponder(fail="[q4]")) as srv:
        rep = _run(srv, tmp_path, ["general_fc"], dataset_dir=str(tmp_path / "data"), **kw)["general_fc"]
    per = _fc_expected(text_parser, skip="[q4]")
    behaviours = {_behaviour(q, s) for rows in FC_ROWS.values() for q, _t, s, _a in rows}
    assert len(behaviours) >= 3  # the data exercises several behaviours
    tot = [sum(v[i] for v in per.values()) for i in range(5)]
    assert rep.metric == "tool_call_f1" and rep.num_errors == 1 and rep.num == 8
    assert rep.score == pytest.approx(_f1(*tot[:3]))
    assert rep.metrics["count_finish_reason_tool_call"].score == tot[3]
    assert rep.metrics["count_successful_tool_call"].score == tot[4]
    assert rep.metrics["schema_accuracy"].score == pytest.approx(tot[4] / tot[3] if tot[3] else 0.0)
    subs = {s.name: s for s in rep.subsets}
    assert set(subs) == {"arith", "weather"}
    for sub, (tp, fp, fn, attempted, valid, exact) in per.items():
        assert subs[sub].score == pytest.approx(_f1(tp, fp, fn))
        assert subs[sub].metrics["count_successful_tool_call"].score == valid
        assert subs[sub].metrics["call_exact_match"].score == pytest.approx(sum(exact) / len(exact))
    reviews = {r["sample_id"]: r for r in _reviews(tmp_path, "general_fc")}
    rules = {r["extraction_rule"] for r in reviews.values() if r["error"] is None}
    assert "no_call" in rules and ("text_tool_call_tag" in rules) == text_parser
    pred_path = next((tmp_path / "out").glob("*/predictions/*/general_fc.jsonl"))
    preds = [json.loads(x) for x in pred_path.read_text().splitlines()]
    assert all("tools" in p["request"] for p in preds)
    assert sorted(p["request"].get("tool_choice", "-") for p in preds) == ["-"] * 7 + ["auto"] * 2
    assert any(p["output"]["tool_calls"] for p in preds)  # the calls are recorded with the prediction


def test_general_fc_schema_checks():
    from evs_native.benchmarks.function_calling import evalscope_arguments, validate_tool_calls

    tools = [ADD, WEATHER, {"type": "function", "function": {"name": "ping", "parameters": {}}}]
    assert validate_tool_calls([ToolCall(name="add", arguments='{"a": 1, "b": 2.5}')], tools) == (True, "")
    ok, why = validate_tool_calls([ToolCall(name="add", arguments='{"a": "1", "b": 2}')], tools)
    assert not ok and "Schema validation failed for tool 'add'" in why
    ok, why = validate_tool_calls([ToolCall(name="add", arguments='{"a": 1, "b": 2, "c": 3}')], tools)
    assert not ok  # additionalProperties: false
    assert validate_tool_calls([ToolCall(name="nope", arguments="{}")], tools)[1] == "No schema found for tool 'nope'"
    assert not validate_tool_calls([ToolCall(name="ping", arguments="{}")], tools)[0]  # empty schema: as EvalScope
    # EvalScope's argument parsing: bad JSON -> {}, a bare value -> the first parameter (YAML)
    assert evalscope_arguments(ToolCall(name="add", arguments='{"a": 1')) == {}
    assert evalscope_arguments(ToolCall(name="get_weather", arguments="Paris"), tools) == {"city": "Paris"}
    assert validate_tool_calls([], tools) == (True, "")


def test_general_fc_bad_rows_stop_before_any_request(tmp_path):
    data = tmp_path / "data" / "general_fc"
    _jsonl(data / "x.jsonl", [{"messages": [{"role": "user", "content": "q"}], "tools": [{"description": "d"}],
                               "should_call_tool": True}])
    with FakeOpenAIServer(lambda b: "x") as srv:
        with pytest.raises(ConfigError, match=r"x.jsonl: row 1: 'tools': tool 1 is not a function definition"):
            _run(srv, tmp_path, ["general_fc"], dataset_dir=str(tmp_path / "data"))
        _jsonl(data / "x.jsonl", [{"messages": [{"role": "user", "content": "q"}], "tools": [ADD]}])
        with pytest.raises(ConfigError, match="has no 'should_call_tool' field"):
            _run(srv, tmp_path, ["general_fc"], dataset_dir=str(tmp_path / "data"))
    assert srv.requests == []


# -- tool_bench -----------------------------------------------------------------------------------
TB_SYSTEM = ("You are AutoGPT, you can use many tools(functions) to do the following task. At each step, give "
             "your thought, then the action to take and its input:\nThought:\nAction:\nAction Input:\n")
TB_TOOLS = [{"name": "search_flights", "description": "Search flights",
             "parameters": {"type": "object", "properties": {"origin": {"type": "string"},
                                                             "destination": {"type": "string"}}}},
            {"name": "get_hotels", "description": "List hotels",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
            {"name": "Finish", "description": "Finish the task", "parameters": {"type": "object", "properties": {}}}]
FINISH = {"return_type": "give_answer", "final_answer": "The cheapest flight costs 200 dollars"}
# (marker, reference action, reference input); "Finish" rows end with a final answer
TB_ROWS = {
    "in_domain": [("tb0", "search_flights", {"origin": "NYC", "destination": "LA"}),
                  ("tb1", "get_hotels", {"city": "Paris"}),
                  ("tb2", "Finish", FINISH),
                  ("tb3", "search_flights", {"origin": "SFO", "destination": "SEA"}),
                  ("tb4", "book_taxi", {"to": "airport"})],  # a tool not offered: not scored
    "out_of_domain": [("tb5", "get_hotels", {"city": "Rome"}),
                      ("tb6", "Finish", FINISH),
                      ("tb7", "search_flights", {"origin": "BOS", "destination": "MIA"})],
}
TB_BEHAVIOURS = ["exact", "half", "other_tool", "hallucinated", "finish"]
# each behaviour's scores, worked out by hand from ToolBench's definitions
TB_EXPECT_CALL = {  # reference is a call with a two-key (or one-key) input
    "exact": {"Act.EM": 1, "F1": 1, "plan_em": 1, "HalluRate": 0},
    "other_tool": {"Act.EM": 0, "F1": 0, "plan_em": 1, "HalluRate": 0},
    "hallucinated": {"Act.EM": 0, "F1": 0, "plan_em": 1, "HalluRate": 1},
    "finish": {"Act.EM": 0, "F1": 0, "plan_em": 0, "HalluRate": 0},
}


def _tb_reply(action, args, behaviour):
    thought = "Thought: I should use a tool for this.\n"
    if action == "Finish" or behaviour == "finish":
        answer = "The cheapest flight costs about 200 dollars" if action == "Finish" else "I do not know"
        return thought + "Action: Finish\nAction Input: " + json.dumps({"return_type": "give_answer",
                                                                       "final_answer": answer})
    if behaviour == "exact":
        return thought + f"Action: {action}\nAction Input: {json.dumps(args)}"
    if behaviour == "half":  # the first value wrong, the rest right
        k = next(iter(args))
        return thought + f"Action: {action}\nAction Input: {json.dumps({**args, k: args[k] + 'x'})}"
    if behaviour == "other_tool":
        other = "get_hotels" if action != "get_hotels" else "search_flights"
        return thought + f"Action: {other}\nAction Input: {json.dumps(args)}"
    return thought + f"Action: call_travel_agent\nAction Input: {json.dumps(args)}"


def _tb_behaviour(marker, action):
    return TB_BEHAVIOURS[pick(marker + action, len(TB_BEHAVIOURS))]


def _tb_expected(action, args, behaviour):
    if action == "book_taxi":
        return {}
    if action == "Finish":  # every reply to a Finish row finishes (see _tb_reply)
        # the 6 reference tokens all in order among the 7 predicted: F = 2*(6/7)*1 / (6/7 + 1) = 12/13
        return {"Act.EM": 0, "F1": 0, "plan_em": 1, "HalluRate": 0, "Rouge-L": 12 / 13}
    if behaviour == "half":
        n = len(args)  # one of n keys half right: recall = precision = (n - 0.5) / n
        f1 = (n - 0.5) / n
        return {"Act.EM": 1, "F1": f1, "plan_em": 1, "HalluRate": 0, "Rouge-L": 0}
    return {**TB_EXPECT_CALL[behaviour], "Rouge-L": 0}


def _tb_rows():
    out = {}
    for sub, rows in TB_ROWS.items():
        out[sub] = []
        for marker, action, args in rows:
            messages = [{"role": "system", "content": TB_SYSTEM},
                        {"role": "user", "content": f"Plan my trip, please [{marker}]\nBegin!\n"}]
            if action == "Finish":
                messages += [{"role": "assistant", "content": "Thought: search\nAction: search_flights\n"
                              'Action Input: {"origin": "NYC", "destination": "LA"}'},
                             {"role": "function", "name": "search_flights",
                              "content": '{"error": "", "response": "cheapest: 200 dollars"}'}]
            target = f"Thought: done\nAction: {action}\nAction Input: {json.dumps(args)}"
            out[sub].append({"id": marker, "messages": messages, "target": target, "tools": TB_TOOLS})
    return out


def _tb_responder(body):
    text = " ".join(str(m.get("content")) for m in body["messages"])
    assert "tools" not in body  # ToolBench-Static asks in text (ReAct), as the reference
    assert all(m["role"] != "function" and "name" not in m for m in body["messages"])
    for rows in TB_ROWS.values():
        for marker, action, args in rows:
            if f"[{marker}]" in text:
                return _tb_reply(action, args, _tb_behaviour(marker, action))
    raise AssertionError("unknown question")


def test_tool_bench_end_to_end(tmp_path):
    for sub, rows in _tb_rows().items():
        _jsonl(tmp_path / "data" / "tool_bench" / sub / "test.jsonl", rows)
    with FakeOpenAIServer(_tb_responder) as srv:
        rep = _run(srv, tmp_path, ["tool_bench"], dataset_dir=str(tmp_path / "data"))["tool_bench"]
    want = {sub: [_tb_expected(a, g, _tb_behaviour(m, a)) for m, a, g in rows] for sub, rows in TB_ROWS.items()}
    assert len({_tb_behaviour(m, a) for rows in TB_ROWS.values() for m, a, _ in rows}) >= 3

    def mean(rows, k):
        vals = [r[k] for r in rows if k in r]
        return sum(vals) / len(vals)

    every = [r for rows in want.values() for r in rows]
    assert rep.metric == "F1" and rep.num == 7 and rep.num_samples == 8  # tb4 is not scored
    for k in ("F1", "Act.EM", "plan_em", "HalluRate", "Rouge-L"):
        assert rep.metrics[k].score == pytest.approx(mean(every, k)), k
    subs = {s.name: s for s in rep.subsets}
    for sub, rows in want.items():
        assert subs[sub].score == pytest.approx(mean(rows, "F1"))
        assert subs[sub].metrics["Act.EM"].score == pytest.approx(mean(rows, "Act.EM"))


@pytest.mark.parametrize("pred,scores", [
    ("Thought: x\nAction: get_hotels\nAction Input: not json", {"Act.EM": 1, "F1": 0, "Hard_F1": 0}),
    ("Action: get_hotels\nAction Input: {}", {"Act.EM": 1, "F1": 0, "Hard_F1": 0}),  # precision 0
    ("**Action:** get_hotels", {"Act.EM": 0, "F1": 0}),  # 'Action:' then '** get_hotels': another name
    ("I would look up hotels in Paris.", {"Act.EM": 0, "F1": 0, "HalluRate": 0, "plan_em": 1}),
    ("Action: Finish\nAction Input: {\"return_type\": \"give_up_and_restart\"}", {"plan_em": 0, "Act.EM": 0}),
])
def test_tool_bench_extraction(pred, scores):
    from evs_native.benchmarks.function_calling import toolbench_metrics

    got = toolbench_metrics('Thought: t\nAction: get_hotels\nAction Input: {"city": "Paris"}', pred, TB_TOOLS)
    for k, v in scores.items():
        assert got[k] == pytest.approx(v), (k, got)
    empty = toolbench_metrics('Action: get_hotels\nAction Input: {}', "Action: get_hotels\nAction Input: {}", TB_TOOLS)
    assert empty["Easy_F1"] == 1 and empty["F1"] == 1


# -- bfcl_v3 --------------------------------------------------------------------------------------
# evs v3 category -> bfcl-eval's v4 data file of the same entries
BFCL_FILES = {"simple": "simple_python", "multiple": "multiple", "parallel": "parallel",
              "parallel_multiple": "parallel_multiple", "live_simple": "live_simple", "live_multiple": "live_multiple",
              "live_parallel": "live_parallel", "irrelevance": "irrelevance", "live_irrelevance": "live_irrelevance",
              "live_relevance": "live_relevance"}
BFCL_RELEVANCE = {"irrelevance", "live_irrelevance", "live_relevance"}
_OPENAPI = {"dict": "object", "float": "number", "tuple": "array", "any": "string"}


def _bfcl_data():
    pytest.importorskip("bfcl_eval")  # CI installs it (tools/dev-install.sh)
    import bfcl_eval

    return Path(bfcl_eval.__file__).parent / "data"


def _scalar_answer(gt) -> bool:
    return all(all(not isinstance(v, (dict, list)) for v in vals)
               for call in gt for params in call.values() for vals in params.values())


def _openapi(schema):
    if isinstance(schema, dict):
        return {k: (_OPENAPI.get(v, v) if k == "type" and isinstance(v, str) else _openapi(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_openapi(v) for v in schema]
    return schema


def _bfcl_rows(per_category=2):
    """Hub-schema rows (AI-ModelScope/bfcl_v3) built from bfcl-eval's own copy of the BFCL entries."""
    data = _bfcl_data()
    rows = []
    for v3, v4 in BFCL_FILES.items():
        entries = [json.loads(x) for x in (data / f"BFCL_v4_{v4}.json").read_text().splitlines()]
        answers = {}
        if v3 not in BFCL_RELEVANCE:
            answers = {a["id"]: a["ground_truth"] for a in (json.loads(x) for x in
                       (data / "possible_answer" / f"BFCL_v4_{v4}.json").read_text().splitlines())}
        taken = 0
        for e in entries:
            gt = answers.get(e["id"], [])
            if v3 not in BFCL_RELEVANCE and not _scalar_answer(gt):
                continue
            tools = [{"type": "function", "function": {
                "name": f["name"].replace(".", "_"),
                "description": f["description"] + " Note that the provided function is in Python 3 syntax.",
                "parameters": _openapi(f["parameters"])}} for f in e["function"]]
            rows.append({"id": e["id"].replace(v4, v3, 1), "multi_turn": False, "functions": json.dumps(e["function"]),
                         "tools": json.dumps(tools), "missed_functions": "{}", "initial_config": "{}",
                         "involved_classes": [], "turns": json.dumps(e["question"]), "language": "Python",
                         "test_category": v3, "subset": v3, "ground_truth": json.dumps(gt)})
            taken += 1
            if taken == per_category:
                break
    return rows


BFCL_BEHAVIOURS = ["right", "wrong_value", "text", "wrong_name"]


def _bfcl_behaviour(row):
    return BFCL_BEHAVIOURS[pick(row["id"] + row["ground_truth"], len(BFCL_BEHAVIOURS))]


def _bfcl_reply(row, behaviour):
    """A reply built from the gold answer: the right call(s), or one spoiled in a known way."""
    tools = json.loads(row["tools"])
    if row["test_category"] in BFCL_RELEVANCE:
        if behaviour in ("right", "wrong_value"):  # a call (right only for live_relevance)
            return {"content": None, "tool_calls": [{"name": tools[0]["function"]["name"], "arguments": {}}]}
        return "None of the provided functions can answer this; I cannot help with that request."
    if behaviour == "text":
        return "I would call the function with the values you gave."
    calls = []
    for call in json.loads(row["ground_truth"]):
        (name, params), = call.items()
        args = {k: next(v for v in vals if v != "") for k, vals in params.items() if any(v != "" for v in vals)}
        calls.append({"name": name.replace(".", "_"), "arguments": args})
    if behaviour == "wrong_value":
        k, v = next(iter(calls[0]["arguments"].items()))
        calls[0]["arguments"][k] = (not v) if isinstance(v, bool) else v + 12345 if isinstance(v, (int, float)) \
            else str(v) + " zz wrong"
    if behaviour == "wrong_name":
        calls[0]["name"] = "not_a_declared_function"
    return {"content": None, "tool_calls": calls}


def _bfcl_right(row, behaviour) -> bool:
    if row["test_category"] == "live_relevance":
        return behaviour in ("right", "wrong_value")
    if row["test_category"] in BFCL_RELEVANCE:
        return behaviour not in ("right", "wrong_value")
    return behaviour == "right"


def _bfcl_responder(rows):
    by_q = {json.dumps([m for m in json.loads(r["turns"])[0] if m["role"] != "system"]): r for r in rows}

    def respond(body):
        assert body["tools"]
        row = by_q[json.dumps(body["messages"])]
        return _bfcl_reply(row, _bfcl_behaviour(row))

    return respond


def test_bfcl_v3_end_to_end_and_parity_with_bfcl_eval(tmp_path):
    rows = _bfcl_rows()
    _jsonl(tmp_path / "data" / "bfcl_v3" / "train.jsonl", rows)
    subsets = list(BFCL_FILES)
    with FakeOpenAIServer(_bfcl_responder(rows)) as srv:
        rep = _run(srv, tmp_path, ["bfcl_v3"], dataset_dir=str(tmp_path / "data"),
                   dataset_args={"bfcl_v3": {"subset_list": subsets}},
                   generation_config={"stream": True})["bfcl_v3"]
    assert rep.num == len(rows) and rep.num_errors == 0
    assert len({_bfcl_behaviour(r) for r in rows}) == len(BFCL_BEHAVIOURS)
    right = {r["id"]: _bfcl_right(r, _bfcl_behaviour(r)) for r in rows}
    acc = {}
    for sub in subsets:
        ids = [r["id"] for r in rows if r["subset"] == sub]
        acc[sub] = (sum(right[i] for i in ids) / len(ids), len(ids))
    subs = {s.name: s for s in rep.subsets}
    for sub, (a, n) in acc.items():
        assert subs[sub].score == pytest.approx(a) and subs[sub].num == n, sub

    def mean(names):
        return sum(acc[n][0] for n in names) / len(names)

    def weighted(names):
        return sum(acc[n][0] * acc[n][1] for n in names) / sum(acc[n][1] for n in names)

    non_live = (mean(["simple", "multiple", "parallel", "parallel_multiple"]) + acc["irrelevance"][0]) / 2
    live_names = ["live_simple", "live_multiple", "live_parallel", "live_irrelevance", "live_relevance"]
    live = weighted(live_names)
    assert subs["NON_LIVE"].score == pytest.approx(non_live) and subs["NON_LIVE"].kind == "category"
    assert subs["LIVE"].score == pytest.approx(live)
    assert subs["MULTI_TURN"].num == 0
    assert rep.score == pytest.approx((non_live + live) / 2) and rep.metric == "acc"
    assert rep.metrics["acc_micro"].score == pytest.approx(sum(right.values()) / len(rows))

    # parity: bfcl-eval's checker, called as EvalScope calls it, on the predictions evs recorded
    from evs_native.benchmarks.function_calling import bfcl_checker

    ast_checker, is_empty_output, Language = bfcl_checker()
    preds = {p["sample_id"]: p for p in (json.loads(x) for x in
             next((tmp_path / "out").glob("*/predictions/*/bfcl_v3.jsonl")).read_text().splitlines())}
    reviews = {r["sample_id"]: r for r in _reviews(tmp_path, "bfcl_v3")}
    v4 = {"simple": "simple_python"}
    for row in rows:
        out = preds[row["id"]]["output"]
        generation = [{c["name"]: json.loads(c["arguments"])} for c in out["tool_calls"] or []] or [out["text"]]
        cat = v4.get(row["test_category"], row["test_category"])
        if cat in BFCL_RELEVANCE:
            try:
                made = not is_empty_output([{list(c.keys())[0]: c[list(c.keys())[0]]} for c in generation])
            except AttributeError:
                made = False
            valid = made if cat == "live_relevance" else not made
        else:
            try:
                valid = ast_checker(json.loads(row["functions"]), generation, json.loads(row["ground_truth"]),
                                    Language.PYTHON, cat, "gpt-4o-2024-11-20-FC")["valid"]
            except AttributeError:
                valid = False
        assert reviews[row["id"]]["scores"]["acc"] == float(valid) == float(right[row["id"]]), row["id"]


def test_bfcl_v3_refuses_what_it_cannot_run(tmp_path):
    _bfcl_data()
    _jsonl(tmp_path / "data" / "bfcl_v3" / "train.jsonl", [])
    with FakeOpenAIServer(lambda b: "x") as srv:
        with pytest.raises(ConfigError, match="unknown subset 'multi_turn_bse'"):
            _run(srv, tmp_path, ["bfcl_v3"], dataset_dir=str(tmp_path / "data"),
                 dataset_args={"bfcl_v3": {"subset_list": ["simple", "multi_turn_bse"]}})
        with pytest.raises(ConfigError, match="function-calling mode only"):
            _run(srv, tmp_path, ["bfcl_v3"], dataset_dir=str(tmp_path / "data"),
                 dataset_args={"bfcl_v3": {"extra_params": {"is_fc_model": False}}})
    assert srv.requests == []


def test_bfcl_generation_and_text_replies():
    from evs_native.benchmarks.function_calling import bfcl_generation, bfcl_score

    _bfcl_data()
    tools = [{"type": "function", "function": {"name": "math_factorial", "parameters": {
        "type": "object", "properties": {"number": {"type": "integer"}}}}}]
    row = {"test_category": "simple", "language": "Python", "ground_truth": [{"math.factorial": {"number": [5]}}],
           "functions": [{"name": "math.factorial", "description": "d", "parameters": {
               "type": "dict", "properties": {"number": {"type": "integer"}}, "required": ["number"]}}]}
    call = ModelOutput(tool_calls=[ToolCall(name="math_factorial", arguments='{"number": 5}')],
                       finish_reason="tool_calls")
    assert bfcl_generation(call, tools) == [{"math_factorial": {"number": 5}}]
    assert bfcl_score(row, bfcl_generation(call, tools))["valid"] is True
    # underscore_to_dot off: the gold's dotted name no longer matches the underscored call
    assert bfcl_score(row, bfcl_generation(call, tools), underscore_to_dot=False)["valid"] is False
    text = ModelOutput(text="<think>call math_factorial(5)</think>The factorial of 5 is 120.")
    result = bfcl_score(row, bfcl_generation(text, tools))
    assert result["valid"] is False and result["error_type"] == "ast_decoder:decoder_failed"
    irrelevant = {**row, "test_category": "irrelevance"}
    assert bfcl_score(irrelevant, bfcl_generation(text, tools))["valid"] is True
    assert bfcl_score(irrelevant, bfcl_generation(call, tools))["valid"] is False


# -- tau_bench ------------------------------------------------------------------------------------
SHOP_DOMAIN = '''
import copy, json
from evs_native.benchmarks.tau_bench import TauDomain

DB = {"orders": {"W1": {"user": "u1", "status": "pending", "total": 50},
                 "W2": {"user": "u2", "status": "pending", "total": 75},
                 "W3": {"user": "u3", "status": "delivered", "total": 20},
                 "W4": {"user": "u4", "status": "pending", "total": 99}}}


def _tool(name, props):
    return {"type": "function", "function": {"name": name, "description": name, "parameters": {
        "type": "object", "properties": {p: {"type": "string"} for p in props}, "required": list(props)}}}


class Shop(TauDomain):
    wiki = "You are a shop agent. Cancel pending orders only, after looking them up."
    tools = [_tool("get_order", ["order_id"]), _tool("cancel_order", ["order_id", "reason"]),
             _tool("transfer_to_human_agents", ["summary"])]
    terminate_tools = ["transfer_to_human_agents"]

    def load_data(self):
        return copy.deepcopy(DB)

    def invoke(self, data, name, **kw):
        if name == "get_order":
            return json.dumps(data["orders"][kw["order_id"]])
        if name == "cancel_order":
            order = data["orders"][kw["order_id"]]
            if order["status"] != "pending":
                raise ValueError("order is not pending")
            order["status"] = "cancelled"
            order["reason"] = kw["reason"]
            return "cancelled"
        return "Transfer successful"
'''
# task marker -> (order, reason, expected outputs)
TAU_TASKS = {"t0": ("W1", "no longer needed", ["50"]), "t1": ("W2", "ordered by mistake", []),
             "t2": ("W4", "no longer needed", ["99"]), "t3": ("W1", "found it cheaper", []),
             "t4": ("W2", "no longer needed", ["75"]), "t5": ("W4", "ordered by mistake", [])}
TAU_BEHAVIOURS = ["right", "wrong_reason", "silent", "transfer", "bad_args"]


def _tau_behaviour(marker):
    order, reason, outputs = TAU_TASKS[marker]
    return TAU_BEHAVIOURS[pick(marker + order + reason, len(TAU_BEHAVIOURS))]


def _tau_reward(marker):
    b, outputs = _tau_behaviour(marker), TAU_TASKS[marker][2]
    return float(b == "right" or (b == "silent" and not outputs))


def _tau_marker(messages):
    text = " ".join(str(m.get("content")) for m in messages)
    return next(k for k in TAU_TASKS if f"[{k}]" in text)


def _tau_agent(body):
    msgs = body["messages"]
    assert msgs[0]["content"].startswith("You are a shop agent") and len(body["tools"]) == 3
    marker = _tau_marker(msgs)
    order, reason, _ = TAU_TASKS[marker]
    b = _tau_behaviour(marker)
    turn = sum(1 for m in msgs if m["role"] == "assistant")
    if turn == 0:
        return {"content": "Let me look that up.",
                "tool_calls": [{"name": "get_order", "arguments": {"order_id": order}}]}
    if turn == 1:
        assert msgs[-1]["role"] == "tool" and msgs[-1]["content"].startswith("{")
        if b == "transfer":
            return {"tool_calls": [{"name": "transfer_to_human_agents", "arguments": {"summary": "cancel"}}]}
        if b == "bad_args":
            return {"tool_calls": [{"name": "cancel_order", "arguments": '{"order_id": "' + order}]}
        why = "changed my mind" if b == "wrong_reason" else reason
        return {"tool_calls": [{"name": "cancel_order", "arguments": {"order_id": order, "reason": why}}]}
    if turn == 2:
        total = {"W1": 50, "W2": 75, "W4": 99}[order]
        return "Your order is cancelled." if b == "silent" else \
            f"Done: order {order} is cancelled, and a refund of ${total:,} is on its way."
    return "Is there anything else I can help with?"


def _tau_user(body):
    msgs = body["messages"]
    assert msgs[0]["role"] == "system" and msgs[0]["content"].startswith("You are a user interacting with an agent.")
    assert "Instruction: " in msgs[0]["content"]
    assert msgs[1] == {"role": "user", "content": "Hi! How can I help you today?"}
    marker = _tau_marker(msgs[:1])
    if len(msgs) == 2:
        return f"Hi, I'd like to cancel order {TAU_TASKS[marker][0]} please. [{marker}]"
    return "###STOP###" if "cancelled" in msgs[-1]["content"] else "Okay, go on."


def _tau_setup(tmp_path, monkeypatch):
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "shop_domain.py").write_text(SHOP_DOMAIN)
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    rows = [{"user_id": f"u{i}", "instruction": f"You want order {o} cancelled because: {r}. [{m}]",
             "actions": [{"name": "get_order", "kwargs": {"order_id": o}},
                         {"name": "cancel_order", "kwargs": {"order_id": o, "reason": r}}], "outputs": outs}
            for i, (m, (o, r, outs)) in enumerate(TAU_TASKS.items())]
    _jsonl(tmp_path / "data" / "tau_bench" / "shop" / "test.jsonl", rows)


def test_tau_bench_end_to_end(tmp_path, monkeypatch):
    _tau_setup(tmp_path, monkeypatch)
    assert len({_tau_behaviour(m) for m in TAU_TASKS}) >= 3
    with FakeOpenAIServer(_tau_user, model="user-sim") as user, FakeOpenAIServer(_tau_agent) as agent:
        # EvalScope's form: the user model's name, api_base and api_key, and its generation_config
        args = {"domains": {"shop": "shop_domain:Shop"}, "extra_params": {
            "user_model": "user-sim", "api_base": user.url, "api_key": "sk-user-secret-123",
            "generation_config": {"temperature": 0.0, "top_p": 0.5}}}
        rep = _run(agent, tmp_path, ["tau_bench"], dataset_dir=str(tmp_path / "data"), repeats=2,
                   dataset_args={"tau_bench": args})["tau_bench"]
    want = [_tau_reward(m) for m in TAU_TASKS]
    assert rep.num_errors == 0 and rep.num == len(TAU_TASKS) and rep.metric == "acc"
    assert all(b["model"] == "user-sim" and b["top_p"] == 0.5 and b["temperature"] == 0.0 for b in user.requests)
    assert all("top_p" not in b for b in agent.requests)  # the agent keeps its own generation settings
    assert rep.score == pytest.approx(sum(want) / len(want))
    # deterministic episodes: both repeats agree, so pass^1 = pass^2 = the mean reward
    assert rep.metrics["pass^1"].score == pytest.approx(rep.score)
    assert rep.metrics["pass^2"].score == pytest.approx(rep.score)
    assert [s.name for s in rep.subsets] == ["shop"]
    reviews = _reviews(tmp_path, "tau_bench")
    by = {r["sample_id"]: r for r in reviews}
    for i, m in enumerate(TAU_TASKS):
        r = by[f"shop_{i}"]
        assert r["scores"]["acc"] == _tau_reward(m), (m, _tau_behaviour(m), r["metadata"])
        if _tau_behaviour(m) == "bad_args":
            assert r["extraction_rule"] == "bad_tool_arguments"
    # the episode is recorded with the prediction; re-scoring from the files gives the same reviews
    out_dir = next((tmp_path / "out").iterdir())
    pred = json.loads((out_dir / "predictions" / "m" / "tau_bench.jsonl").read_text().splitlines()[0])
    assert pred["output"]["trajectory"][0]["role"] == "system" and pred["request"]["kind"] == "agent_episode"
    assert "sk-user-secret-123" not in "".join(p.read_text() for p in out_dir.rglob("*") if p.is_file())
    with FakeOpenAIServer() as idle:
        rescored = _run(idle, tmp_path, ["tau_bench"], dataset_dir=str(tmp_path / "data"), repeats=2,
                        dataset_args={"tau_bench": args}, use_cache=str(out_dir), rescore=True)["tau_bench"]
    assert rescored.score == rep.score and idle.requests == []


def test_tau_bench_user_failure_is_counted_and_config_is_checked(tmp_path, monkeypatch):
    _tau_setup(tmp_path, monkeypatch)
    with FakeOpenAIServer(_tau_user, fail_rate=1.0) as user, FakeOpenAIServer(_tau_agent) as agent:
        args = {"domains": {"shop": "shop_domain:Shop"},
                "user_model": {"model": "user-sim", "api_url": user.url, "retries": 0}}
        rep = _run(agent, tmp_path, ["tau_bench"], dataset_dir=str(tmp_path / "data"),
                   dataset_args={"tau_bench": args})["tau_bench"]
        assert rep.num_errors == len(TAU_TASKS) and rep.errors == {"UserSimulatorError": len(TAU_TASKS)}
        assert agent.requests == []  # the episode never reached the agent
        for bad, msg in [({"user_model": args["user_model"]}, "needs its domains"),
                         ({"domains": {"shop": "shop_domain:Nope"}, "user_model": args["user_model"]}, "cannot load"),
                         ({"domains": {"shop": "shop_domain:Shop"}}, "user simulator is a second model"),
                         ({**args, "user_model": {"model": "x", "api_url": user.url, "temprature": 0}},
                          "unknown judge key 'temprature'")]:
            with pytest.raises(ConfigError, match=msg):
                _run(agent, tmp_path, ["tau_bench"], dataset_dir=str(tmp_path / "data"),
                     dataset_args={"tau_bench": bad})
    assert agent.requests == []


def test_tau_reward_rules():
    from evs_native.benchmarks.tau_bench import data_hash, tau_reward

    class D:
        tools = [{"type": "function", "function": {"name": "set"}}]
        terminate_tools = []

        def load_data(self):
            return {"x": 0, "log": []}

        def invoke(self, data, name, **kw):
            data["x"] = kw["v"]
            return "ok"

    task = {"actions": [{"name": "set", "kwargs": {"v": 2}}], "outputs": ["1,000 dollars"]}
    said = ("respond", {"content": "That will be 1,000 dollars."})  # commas are removed from answers only
    assert tau_reward(D(), task, [("set", {"v": 2}), said], True)[0] == 0.0
    ok = {**task, "outputs": ["1000 dollars"]}
    assert tau_reward(D(), ok, [("set", {"v": 2}), said], True) == (1.0, {"done": True, "r_actions": True,
                                                                        "outputs": {"1000 dollars": True}})
    assert tau_reward(D(), ok, [("set", {"v": 3}), said], True)[0] == 0.0
    assert tau_reward(D(), ok, [("set", {"v": 2}), said], False)[0] == 0.0  # never ended
    assert tau_reward(D(), {"actions": [], "outputs": []}, [("unknown", {})], True)[0] == 1.0
    assert data_hash({"a": [1, 2], "b": 1}) == data_hash({"b": 1, "a": [1, 2]}) != data_hash({"a": [2, 1], "b": 1})


# -- bfcl_v3 multi-turn: BFCL's executable environments -------------------------------------------------
MT_FILES = {"multi_turn_base": "multi_turn_base", "multi_turn_miss_func": "multi_turn_miss_func"}
MT_BEHAVIOURS = ["right", "skip", "unsafe_extra"]


def _mt_rows(per_category=3):
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    data = _bfcl_data()
    docs = {}
    for cls, fname in MULTI_TURN_FUNC_DOC_FILE_MAPPING.items():
        path = data / "multi_turn_func_doc" / fname
        if path.exists():
            docs[cls] = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    rows = []
    firsts = set()  # the fake model tells the entries apart by their first message
    for v3, v4 in MT_FILES.items():
        entries = []
        for e in (json.loads(x) for x in (data / f"BFCL_v4_{v4}.json").read_text().splitlines()):
            if e["question"][0][0]["content"] not in firsts and len(entries) < per_category:
                firsts.add(e["question"][0][0]["content"])
                entries.append(e)
        answers = {a["id"]: a["ground_truth"] for a in (json.loads(x) for x in
                   (data / "possible_answer" / f"BFCL_v4_{v4}.json").read_text().splitlines())}
        for e in entries:
            missed = {k: set(v) for k, v in (e.get("missed_function") or {}).items()}
            hidden = set().union(*missed.values()) if missed else set()
            functions = [f for c in e["involved_classes"] for f in docs[c]]
            tools = [{"type": "function", "function": {"name": f["name"], "description": f["description"],
                                                       "parameters": _openapi(f["parameters"])}}
                     for f in functions if f["name"] not in hidden]
            added = {k: [[{**f, "parameters": _openapi(f["parameters"])}] for f in functions if f["name"] in names]
                     for k, names in missed.items()}
            rows.append({"id": e["id"], "multi_turn": True, "functions": json.dumps(functions),
                         "tools": json.dumps(tools), "missed_functions": json.dumps(added),
                         "initial_config": json.dumps(e["initial_config"]), "involved_classes": e["involved_classes"],
                         "turns": json.dumps(e["question"]), "language": "Python", "test_category": v3,
                         "subset": v3, "ground_truth": json.dumps(answers[e["id"]])})
    return rows


def _gt_call(text, classes):
    """A ground-truth call string as an OpenAI tool call (positional arguments named by the method)."""
    import ast
    import importlib
    import inspect

    from bfcl_eval.constants.executable_backend_config import CLASS_FILE_PATH_MAPPING

    node = ast.parse(text, mode="eval").body
    name = node.func.id
    owners = [getattr(importlib.import_module(CLASS_FILE_PATH_MAPPING[c]), c) for c in classes]
    method = next(getattr(cls, name) for cls in owners if hasattr(cls, name))
    params = [p for p in inspect.signature(method).parameters if p != "self"]
    args = {params[i]: ast.literal_eval(a) for i, a in enumerate(node.args)}
    args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
    return {"name": name, "arguments": args}


def _mt_behaviour(row):
    return MT_BEHAVIOURS[pick(row["id"] + row["ground_truth"], len(MT_BEHAVIOURS))]


def _mt_responder(rows):
    by_first = {json.loads(r["turns"])[0][0]["content"]: r for r in rows}

    def respond(body):
        msgs = body["messages"]
        row = by_first[msgs[0]["content"]]
        b = _mt_behaviour(row)
        turn = sum(1 for m in msgs if m["role"] == "assistant" and not m.get("tool_calls"))
        gt = json.loads(row["ground_truth"])[turn]
        if msgs[-1]["role"] == "tool" or not gt or b == "skip":
            return "Done."
        calls = [_gt_call(t, row["involved_classes"]) for t in gt]
        offered = {t["function"]["name"] for t in body["tools"]}
        assert all(c["name"] in offered for c in calls)  # the missed functions were added in time
        if b == "unsafe_extra":  # a call bfcl-eval would eval: evs refuses to run it
            calls.append({"name": "__import__('os').system", "arguments": {"command": "touch /tmp/evs_pwned"}})
        return {"content": None, "tool_calls": calls}

    return respond


def test_bfcl_v3_multi_turn_end_to_end(tmp_path):
    import os

    rows = _mt_rows()
    _jsonl(tmp_path / "data" / "bfcl_v3" / "train.jsonl", rows)
    with FakeOpenAIServer(_mt_responder(rows)) as srv:
        rep = _run(srv, tmp_path, ["bfcl_v3"], dataset_dir=str(tmp_path / "data"), repeats=2,
                   dataset_args={"bfcl_v3": {"subset_list": list(MT_FILES)}})["bfcl_v3"]
    assert not os.path.exists("/tmp/evs_pwned")
    assert len({_mt_behaviour(r) for r in rows}) >= 2
    right = {r["id"]: float(_mt_behaviour(r) != "skip") for r in rows}
    assert rep.num_errors == 0 and rep.num == len(rows)
    subs = {s.name: s for s in rep.subsets}
    for sub in MT_FILES:
        ids = [r["id"] for r in rows if r["subset"] == sub]
        assert subs[sub].score == pytest.approx(sum(right[i] for i in ids) / len(ids)), sub
    base = subs["multi_turn_base"].score
    augmented = subs["multi_turn_miss_func"].score
    assert subs["MULTI_TURN"].score == pytest.approx((base + augmented) / 2)
    assert rep.score == pytest.approx(subs["MULTI_TURN"].score)  # the only non-empty summary row
    reviews = _reviews(tmp_path, "bfcl_v3")
    assert all(r["scores"]["acc"] == right[r["sample_id"]] for r in reviews)  # both repeats, state kept apart
    pred = json.loads(next((tmp_path / "out").glob("*/predictions/*/bfcl_v3.jsonl")).read_text().splitlines()[0])
    assert pred["output"]["trajectory"] and any(m["role"] == "tool" for m in pred["output"]["trajectory"])


def test_bfcl_safe_call():
    from evs_native.benchmarks.function_calling import _safe_call

    methods = {"cd", "ls"}
    assert _safe_call("cd(folder='document')", methods) == "cd(folder='document')"
    assert _safe_call("ls(a=True)", methods) == "ls(a=True)"
    for bad in ["__import__('os').system('id')", "cd(folder=open('/etc/passwd').read())", "exec('1')",
                "cd(**{'folder': 'x'})", "I moved the file for you.", "cd(folder='a'); ls()"]:
        assert _safe_call(bad, methods) == "evs_rejected_call()", bad


# -- local transformers models: tools through the chat template, calls read from the text ---------------
TOOLS_TEMPLATE = ("{% if tools %}<s>tools: {{ tools | tojson }}</s>{% endif %}"
                  "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}"
                  "{% if m.tool_calls %}{{ m.tool_calls | tojson }}{% endif %}</s>{% endfor %}"
                  "{% if add_generation_prompt %}<s>assistant:{% endif %}")


@pytest.fixture(scope="module")
def tiny_tool_model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    path = tmp_path_factory.mktemp("tiny-tool-llama")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"],
                                             initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["get the weather of a city", '{"name": "x", "arguments": {}}'] * 20, trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                                unk_token="<unk>", pad_token="</s>")
    fast.chat_template = TOOLS_TEMPLATE
    fast.save_pretrained(path)
    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                   num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                                   bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                                   pad_token_id=fast.pad_token_id)
    transformers.LlamaForCausalLM(cfg).save_pretrained(path)
    return path


def test_local_model_renders_tools_and_reads_calls_from_text(tiny_tool_model, monkeypatch):
    import asyncio

    from evs_core.config import make_config
    from evs_core.models import Request
    from evs_native.local_model import TransformersModel

    model = TransformersModel(make_config({"model": str(tiny_tool_model), "datasets": ["x"]}))
    asyncio.run(model.preflight())
    history = [{"role": "user", "content": "weather in Oslo?"},
               {"role": "assistant", "content": "", "tool_calls": [
                   {"id": "c0", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
               {"role": "tool", "tool_call_id": "c0", "content": "sunny"}]
    prompt = model.render(Request(messages=history, tools=[WEATHER]))
    assert '"name": "get_weather"' in prompt and '"arguments": {"city": "Oslo"}' in prompt  # not encoded twice
    reply = '<think>use the tool</think><tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
    monkeypatch.setattr(model.tokenizer, "decode", lambda *a, **k: reply)

    async def go(requests):
        try:
            return await asyncio.gather(*(model.agenerate(r) for r in requests))
        finally:
            await model.aclose()

    with_tools, without = asyncio.run(go([Request(messages=history[:1], tools=[WEATHER], generation={"max_tokens": 2}),
                                          Request(messages=history[:1], generation={"max_tokens": 2})]))
    assert with_tools.error is None and with_tools.tool_call_rule == "text_tool_call_tag"
    assert [(c.name, c.arguments) for c in with_tools.tool_calls] == [("get_weather", '{"city": "Rome"}')]
    assert without.tool_calls is None  # no tools offered: the text stays text
    model.tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    refused, = asyncio.run(go([Request(messages=history[:1], tools=[WEATHER], generation={"max_tokens": 2})]))
    assert refused.error.startswith("ToolsUnsupported")


def test_tau_bench_episode_that_never_ends_scores_zero(tmp_path, monkeypatch):
    _tau_setup(tmp_path, monkeypatch)
    with FakeOpenAIServer(_tau_user) as user, FakeOpenAIServer(lambda b: "Could you tell me more?") as agent:
        args = {"domains": {"shop": "shop_domain:Shop"}, "max_num_steps": 3,
                "user_model": {"model": "user-sim", "api_url": user.url}}
        rep = _run(agent, tmp_path, ["tau_bench"], dataset_dir=str(tmp_path / "data"),
                   dataset_args={"tau_bench": args}, limit=2)["tau_bench"]
    assert rep.score == 0.0 and rep.num == 2 and rep.num_errors == 0
    assert len(agent.requests) == 2 * 3  # max_num_steps agent turns per episode
    reviews = _reviews(tmp_path, "tau_bench")
    assert {r["extraction_rule"] for r in reviews} == {"max_steps"}
    assert all(r["metadata"] == {"done": False, "num_turns": 3} for r in reviews)
