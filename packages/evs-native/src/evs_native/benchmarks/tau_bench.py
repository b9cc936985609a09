"""``tau_bench``: τ-bench's tool-agent-user loop and reward, over a domain you supply.

τ-bench (Sierra) has an agent serve a simulated user through a domain's tools under a policy
(the wiki). evs runs the official loop: the user simulator (a second model, configured like a
judge) opens with τ-bench's user prompt; each agent turn either calls one tool (the first of its
``tool_calls``), whose result goes back as a ``tool`` message, or answers the user, whose reply
comes back as the next user message; the episode ends when the user says ``###STOP###``, a
terminating tool is called, or after ``max_num_steps`` agent turns. The reward is τ-bench's: 1
when the database after the episode equals the database after the task's gold actions (same
hash) and every expected output appears in one of the agent's answers (lower-cased, commas
removed), else 0; an episode that never ended scores 0.

τ-bench's airline and retail domains are not on PyPI, so a domain is given as
``dataset_args.tau_bench.domains: {subset: "module:attr"}``, an object with the shape of
:class:`TauDomain`; tasks are τ-bench ``Task`` rows (``user_id``, ``actions``, ``instruction``,
``outputs``) in ``<dataset_dir>/tau_bench/<subset>/test.jsonl``. See
``docs/benchmarks-function-calling.md``.
"""

from __future__ import annotations

import copy
import json
from hashlib import sha256
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore, ToolCall, Usage

RESPOND = "respond"
STOP = "###STOP###"
USER_OPENING = "Hi! How can I help you today?"


def user_system_prompt(instruction: str | None) -> str:
    """τ-bench's LLM user simulator prompt (``LLMUserSimulationEnv.build_system_prompt``)."""
    shown = ("\n\nInstruction: " + instruction + "\n") if instruction is not None else ""
    return f"""You are a user interacting with an agent.{shown}
Rules:
- Just generate one line at a time to simulate the user's message.
- Do not give away all the instruction at once. Only provide the information that is necessary for the current step.
- Do not hallucinate information that is not provided in the instruction. For example, if the agent asks for the order id but it is not mentioned in the instruction, do not make up an order id, just say you do not remember or have it.
- If the instruction goal is satisified, generate '###STOP###' as a standalone message without anything else to end the conversation.
- Do not repeat the exact instruction in the conversation. Instead, use your own words to convey the same information.
- Try to make the conversation as natural as possible, and stick to the personalities in the instruction."""  # noqa: E501


class TauDomain:
    """What a τ-bench domain provides (subclass it, or give any object of this shape).

    ``wiki``: the agent's policy (its system prompt); ``tools``: OpenAI tool definitions;
    ``terminate_tools``: tools that end the episode (τ-bench: ``transfer_to_human_agents``);
    :meth:`load_data` a fresh copy of the database; :meth:`invoke` runs one tool on it (it may
    change ``data`` in place) and returns its observation text; an exception becomes
    ``"Error: <message>"``, as in τ-bench.
    """

    wiki: str = ""
    tools: list[dict[str, Any]] = []
    terminate_tools: list[str] = []

    def load_data(self) -> dict[str, Any]:
        raise NotImplementedError

    def invoke(self, data: dict[str, Any], name: str, **kwargs: Any) -> str:
        raise NotImplementedError


def to_hashable(item: Any) -> Any:
    """τ-bench's canonical form of a database (sorted mappings, tuples for lists)."""
    if isinstance(item, dict):
        return tuple((key, to_hashable(value)) for key, value in sorted(item.items()))
    if isinstance(item, list):
        return tuple(to_hashable(element) for element in item)
    if isinstance(item, set):
        return tuple(sorted(to_hashable(element) for element in item))
    return item


def data_hash(data: dict[str, Any]) -> str:
    return sha256(str(to_hashable(data)).encode("utf-8")).hexdigest()


def _step_tool(domain: Any, data: dict[str, Any], name: str, kwargs: dict[str, Any]) -> str:
    if name not in {t["function"]["name"] for t in domain.tools}:
        return f"Unknown action {name}"
    try:
        return str(domain.invoke(data, name, **kwargs))
    except Exception as exc:  # noqa: BLE001 - a failing tool is an observation, as in τ-bench
        return f"Error: {exc}"


def episode_actions(trajectory: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The agent's actions of a recorded episode: (tool name, arguments) or ("respond", {"content"})."""
    actions = []
    for m in trajectory:
        if m.get("role") != "assistant":
            continue
        calls = m.get("tool_calls") or []
        if calls:
            fn = calls[0]["function"]
            actions.append((fn["name"], json.loads(fn["arguments"])))
        else:
            actions.append((RESPOND, {"content": m.get("content") or ""}))
    return actions


def tau_reward(domain: Any, task: dict[str, Any], actions: list[tuple[str, dict[str, Any]]],
               done: bool) -> tuple[float, dict[str, Any]]:
    """τ-bench's reward of an episode, computed by replaying its actions on a fresh database."""
    if not done:
        return 0.0, {"done": False}
    data = domain.load_data()
    for name, kwargs in actions:
        if name != RESPOND:
            _step_tool(domain, data, name, kwargs)
    gold = domain.load_data()
    responses = [kw.get("content") or "" for name, kw in actions if name == RESPOND]
    for action in task["actions"]:
        name, kwargs = action["name"], action.get("kwargs") or {}
        if name == RESPOND:  # τ-bench's replay records a gold answer among the answers searched
            responses.append(kwargs.get("content") or "")
        elif name not in domain.terminate_tools:
            _step_tool(domain, gold, name, kwargs)
    r_actions = data_hash(data) == data_hash(gold)
    reward = 1.0 if r_actions else 0.0
    info: dict[str, Any] = {"done": True, "r_actions": r_actions}
    if task.get("outputs"):
        found = {o: any(o.lower() in r.lower().replace(",", "") for r in responses) for o in task["outputs"]}
        info["outputs"] = found
        if not all(found.values()):
            reward = 0.0
    return reward, info


class TauBench(Benchmark):
    name = "tau_bench"
    version = "1"
    description = (
        "τ-bench: an agent serves a simulated user (a second model, configured like a judge: "
        "dataset_args.tau_bench.user_model) through a domain's tools under its policy; τ-bench's official loop "
        "and reward (database hash equal to the gold actions' and every expected output said), acc and pass^k "
        "over repeats, as EvalScope's tau_bench adapter. Deviations: τ-bench's airline/retail data and tools are "
        "not on PyPI, so the domain is yours (dataset_args.tau_bench.domains, module:attr); a failed request of "
        "the agent or the user ends the episode as an error, excluded and counted."
    )
    tags = ["agent", "function-calling", "reasoning"]
    subsets = ["airline", "retail"]
    eval_split = "test"
    num_samples = None
    metrics = ["acc"]
    primary_metric = "acc"
    extra_args: ClassVar[dict[str, Any]] = {"domains": None, "user_model": None, "api_base": None, "api_key": None,
                                            "max_num_steps": 30}

    def _evalscope_args(self) -> None:
        """EvalScope's ``extra_params.generation_config`` is the user simulator's, not the agent's."""
        extra = dict(self.args.get("extra_params") or {})
        gen = extra.pop("generation_config", None)
        if isinstance(gen, dict) and {"value", "type"} <= set(gen):
            gen = gen["value"]
        if gen is not None and not isinstance(gen, dict):
            raise ConfigError("dataset_args.tau_bench.extra_params.generation_config must be a mapping")
        self._user_generation = gen or {}
        self.args["extra_params"] = extra
        super()._evalscope_args()

    def _check_args(self) -> None:
        domains = self.args.get("domains")
        if not isinstance(domains, dict) or not domains:
            raise ConfigError("tau_bench needs its domains' tools and databases: dataset_args.tau_bench.domains "
                              "{SUBSET: 'module:attr'} (τ-bench's airline and retail are not on PyPI)")
        if not self.args["subset_list"] or self.args["subset_list"] == list(type(self).subsets):
            self.args["subset_list"] = list(domains)  # the default: every domain given
        saved, self.subsets = self.subsets, list(dict.fromkeys([*domains]))
        try:
            super()._check_args()
        finally:
            self.subsets = saved
        self._domains = {name: self._load_domain(name, target) for name, target in domains.items()}
        steps = self.args.get("max_num_steps")
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ConfigError(f"dataset_args.tau_bench.max_num_steps must be a positive integer, not {steps!r}")
        self._user_config = self._user_judge_config()
        self._make_user()  # every check of the user model happens now, before any request

    def _load_domain(self, name: str, target: Any) -> Any:
        if not isinstance(target, str) or ":" not in target:
            raise ConfigError(f"dataset_args.tau_bench.domains.{name} must be 'module:attr', not {target!r}")
        import importlib

        module, attr = target.split(":", 1)
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"dataset_args.tau_bench.domains.{name}: cannot load {target} ({exc})") from None
        domain = obj() if isinstance(obj, type) else obj
        for field in ("wiki", "tools", "load_data", "invoke"):
            if not hasattr(domain, field):
                raise ConfigError(f"dataset_args.tau_bench.domains.{name}: {target} has no '{field}' "
                                  "(see evs_native.benchmarks.tau_bench.TauDomain)")
        if not hasattr(domain, "terminate_tools"):
            domain.terminate_tools = []
        return domain

    def _user_judge_config(self) -> dict[str, Any]:
        """The user simulator's configuration, in the judge's keys (``--judge-args``'s form).

        ``user_model`` is such a mapping, or, as EvalScope's extra_params, a model name with
        ``api_base`` and ``api_key`` beside it.
        """
        user = self.args.get("user_model")
        if isinstance(user, str) and user:
            user = {"model": user, "api_url": self.args.get("api_base"), "api_key": self.args.get("api_key")}
            user = {k: v for k, v in user.items() if v is not None}
        if not isinstance(user, dict) or not user.get("model"):
            raise ConfigError("tau_bench's user simulator is a second model: dataset_args.tau_bench.user_model "
                              "{\"model\": NAME, \"api_url\": URL, \"api_key\": KEY, \"generation_config\": {...}}")
        user = dict(user)
        user["generation_config"] = {"temperature": 0.0, "max_tokens": 4096, **self._user_generation,
                                     **(user.get("generation_config") or {})}
        return user

    def _make_user(self):
        from types import SimpleNamespace

        from evs_core.judge import make_judge

        if self.registries is None:
            from evs_core.registry import get_registries

            self.registries = get_registries()
        cfg = SimpleNamespace(judge=self._user_config, concurrency=4, timeout=120.0, retries=2)
        try:
            return make_judge(cfg, self.registries)
        except ConfigError as exc:
            raise ConfigError(f"dataset_args.tau_bench.user_model: {str(exc).removeprefix('judge: ')}") from None

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        actions = record["actions"]
        if isinstance(actions, str):
            actions = json.loads(actions)
        if not isinstance(actions, list) or not all(isinstance(a, dict) and "name" in a for a in actions):
            raise ValueError("'actions' must be a list of {name, kwargs}")
        outputs = record.get("outputs") or []
        if isinstance(outputs, str):
            outputs = json.loads(outputs)
        task = {"user_id": record.get("user_id"), "instruction": str(record["instruction"]),
                "actions": [{"name": a["name"], "kwargs": a.get("kwargs") or {}} for a in actions],
                "outputs": [str(o) for o in outputs]}
        return Sample(id=f"{subset}_{record.get('task_index', index)}", input=task["instruction"],
                      target=json.dumps(task["actions"]), subset=subset, metadata={"task": task})

    def build_request(self, sample: Sample) -> Request:
        """The agent's first request shape (the episode itself runs in :meth:`solve`)."""
        domain = self._domains[sample.subset]
        return Request(messages=[{"role": "system", "content": domain.wiki}], tools=list(domain.tools))

    async def solve(self, sample: Sample, model: Any, ctx: RunContext) -> tuple[ModelOutput, dict[str, Any]]:
        """One episode: agent and simulated user take turns until it ends (see the module docstring)."""
        domain = self._domains[sample.subset]
        task = sample.metadata["task"]
        user = self._make_user()
        usage = Usage()
        generation = {**self.generation, **self.user_generation, **self.args.get("generation_config", {})}
        request_info = {"kind": "agent_episode", "tools": list(domain.tools), "generation": generation}
        try:
            user_messages = [{"role": "system", "content": user_system_prompt(task["instruction"])},
                             {"role": "user", "content": USER_OPENING}]

            async def user_says() -> str:
                out = await user.complete(user_messages)
                if out.error:
                    raise _EpisodeError(f"UserSimulatorError: {out.error}")
                user_messages.append({"role": "assistant", "content": out.text})
                return out.text

            data = domain.load_data()
            messages = [{"role": "system", "content": domain.wiki}, {"role": "user", "content": await user_says()}]
            done, finish = False, "max_steps"
            last = ModelOutput()
            for _ in range(self.args["max_num_steps"]):
                last = await model.agenerate(Request(messages=copy.deepcopy(messages), tools=list(domain.tools),
                                                     generation=generation))
                if last.error:
                    raise _EpisodeError(last.error)
                if last.usage:
                    usage = Usage(**{k: getattr(usage, k) + getattr(last.usage, k) for k in
                                     ("prompt_tokens", "completion_tokens", "total_tokens")})
                if last.tool_calls:
                    call: ToolCall = last.tool_calls[0]
                    try:
                        kwargs = json.loads(call.arguments or "{}")
                    except ValueError:  # τ-bench's loop fails on it: the episode ends unrewarded
                        messages.append({"role": "assistant", "content": last.text or None,
                                         "tool_calls": [call.to_openai()]})
                        finish = "bad_tool_arguments"
                        break
                    observation = _step_tool(domain, data, call.name, kwargs)
                    messages += [{"role": "assistant", "content": last.text or None, "tool_calls": [call.to_openai()]},
                                 {"role": "tool", "tool_call_id": call.id or "", "name": call.name,
                                  "content": observation}]
                    done = call.name in domain.terminate_tools
                else:
                    messages.append({"role": "assistant", "content": last.text})
                    user_messages.append({"role": "user", "content": last.text})
                    observation = await user_says()
                    messages.append({"role": "user", "content": observation})
                    done = STOP in observation
                if done:
                    finish = "done"
                    break
        except _EpisodeError as exc:
            return ModelOutput(error=str(exc), usage=usage), request_info
        finally:
            await user.aclose()
        return ModelOutput(text=last.text, usage=usage, finish_reason=finish, model=last.model,
                           trajectory=messages), request_info

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        trajectory = output.trajectory or []
        try:
            actions = episode_actions(trajectory)
        except ValueError:  # the episode stopped at a call whose arguments are not JSON
            actions, done = [], False
        else:
            done = output.finish_reason == "done"
        reward, info = tau_reward(self._domains[sample.subset], sample.metadata["task"], actions, done)
        return make_review(sample, output, ctx, extracted=[a[0] for a in actions],
                           extraction_rule=output.finish_reason or "none", scores={"acc": reward},
                           metadata={**info, "num_turns": len(actions)})

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        """Mean reward, and with repeats τ-bench's pass^k: the chance that k draws of a task's n
        attempts all succeed, C(c, k) / C(n, k), averaged over tasks."""
        from math import comb

        overall, subsets = super().aggregate(reviews, seed)
        by: dict[str, list[float]] = {}
        subset_of: dict[str, str] = {}
        for r in reviews:
            if r.error is None and "acc" in r.scores:
                by.setdefault(r.sample_id, []).append(r.scores["acc"])
                subset_of[r.sample_id] = r.subset
        n = max((len(v) for v in by.values()), default=0)

        def pass_hat(ids: list[str], k: int) -> Stat | None:
            vals = [comb(sum(1 for x in by[i] if x >= 1.0), k) / comb(len(by[i]), k) for i in ids if len(by[i]) >= k]
            return Stat(score=sum(vals) / len(vals), num=len(vals)) if vals else None

        for k in range(1, n + 1) if n > 1 else []:
            stat = pass_hat(list(by), k)
            if stat is not None:
                overall[f"pass^{k}"] = stat
            for s in subsets:
                stat = pass_hat([i for i in by if subset_of[i] == s.name], k)
                if stat is not None:
                    s.metrics[f"pass^{k}"] = stat
        return overall, subsets


class _EpisodeError(Exception):
    """A request of the episode failed (the agent's or the user simulator's)."""
