"""think_eval: the thinking efficiency of a reasoning model on a math benchmark.

After EvalScope's ThinkEval (its ``thinkbench`` tool), itself after the "Overthinking" (Chen et al.,
2024) and "Underthinking" (Wang et al., 2025) papers. The model answers the problems of an inner
benchmark (``math_500`` by default), which scores them as usual; then each reply's reasoning is
measured:

* ``reasoning_tokens``: tokens of the reasoning (``reasoning_content``, else the text before the
  last ``</think>``, else the whole reply);
* the reasoning is split into steps (``split_strategy``: ``separator`` = blank lines, ``keywords``
  = before each switch word, ``llm`` = the judge re-paragraphs it with EvalScope's reformat
  prompt), and the judge model names the first step that states the correct answer
  (ProcessBench-style critique prompt, the index in ``\\boxed{}``);
* ``first_correct_tokens``: tokens up to the end of that step (0 when none has it);
  ``reflection_tokens`` = the rest; ``token_efficiency`` = first_correct / reasoning tokens;
  ``thought_num``: occurrences of the approach-switch words ("alternatively", "but wait", …);
  ``think_accuracy``: 1 when the judge found the correct answer in the reasoning.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT, Benchmark, RunContext, failed_review
from evs_core.errors import ConfigError, require, suggest
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample

SWITCH_TOKENS = ["alternatively", "but wait", "let me reconsider", "another way", "another approach",
                 "another method", "another angle"]
STRATEGIES = ("separator", "keywords", "llm")
THINK_METRICS = ["reasoning_tokens", "first_correct_tokens", "reflection_tokens", "token_efficiency", "thought_num",
                 "think_accuracy"]

REFORMAT_TEMPLATE = """I will present you with a solution to a math problem. Unfortunately, the solution lacks proper paragraphing, making it hard to read. Your task is to improve readability by reformatting the solution into well-structured paragraphs. Follow these specific guidelines:

* Insert \\n\\n for paragraph breaks within the original solution. Do **NOT** alter any content of the original solution (the only exception is for itemized lists; see below).

  - Each paragraph should represent a distinct, concise reasoning step that logically advances the solution.

  - Reasoning steps can include case discussions, formula simplifications, or formula derivations. Each of these should be treated as an individual reasoning step and paragraphed accordingly.

  - If an introductory analysis exists in the original solution, treat it as an initial reasoning step and place it as the first paragraph.

  - Do **NOT** place any mathematical formulas in their own separate paragraphs; instead, include them within the same paragraph as the preceding text to form a cohesive reasoning step.

* For any itemized lists (ordered or unordered), convert them into a written format, such as "First/Second/Third." This is the **ONLY** content modification allowed.

* Avoid making paragraphs too lengthy, as long paragraphs might contain multiple reasoning steps that should be paragraphed separately.

* Disregard the accuracy of the solution content. Do **NOT** alter any of the original solution's content; focus solely on structuring it into logical, readable paragraphs.

* Reply with the reformatted solution directly.

--------------------------------------------------

Here is the math problem, and the solution that needs to be reformatted:

[Math Problem]

{problem}

[Solution]

{response}"""  # noqa: E501

CRITIQUE_TEMPLATE = """The following is a math problem and a solution (split into paragraphs, enclosed with tags and indexed from 0):

[Math Problem]

{problem}

[Correct Answer]

{answer}

[Solution]

{tagged_response}

Your task is to review and critique the solution paragraph by paragraph. Once you identify an correct answer in a paragraph, return the index of the paragraph where the earliest correct answer occurs. Otherwise, return the index of -1 (which typically denotes "not found").

Please put your final answer (i.e., the index) in \\boxed{{}}."""  # noqa: E501


def think_part(output: ModelOutput) -> str:
    """The reasoning of a reply: ``reasoning_content``, else the text before the last ``</think>``, else all."""
    if output.reasoning:
        return output.reasoning
    text = output.text or ""
    end = text.rfind("</think>")
    return text if end == -1 else text[:end]


def thought_num(reasoning: str) -> int:
    """Occurrences of the approach-switch words (case-insensitive substrings, as EvalScope counts them)."""
    low = reasoning.lower()
    return sum(low.count(t) for t in SWITCH_TOKENS)


def split_by_separator(text: str) -> list[str]:
    return text.split("\n\n")


def split_by_keywords(text: str) -> list[str]:
    pattern = r"(?=\b(?:{})\b)".format("|".join(map(re.escape, SWITCH_TOKENS)))
    parts = [p.strip() for p in re.split(pattern, text) if p.strip()]
    return parts or [text]


def critique_index(reply: str) -> int | None:
    """The step index of a critique reply: the last integer in its last ``\\boxed{}`` (None without one)."""
    boxed = re.findall(r"\\boxed\{([^}]*)\}", reply or "")
    if not boxed:
        return None
    nums = re.findall(r"-?\d+", boxed[-1])
    return int(nums[-1]) if nums else None


def load_counter(name: str) -> Any:
    """``count(text) -> int`` with a Hugging Face tokenizer (a local folder never downloads) or tiktoken."""
    path = Path(str(name)).expanduser()
    if path.suffix == ".tiktoken" or name in _tiktoken_names():
        from evs_native.benchmarks.long_context import load_encoding

        enc = load_encoding(str(name))
        return lambda text: len(enc.encode(text, disallowed_special=()))
    if not path.exists() and str(name).startswith(("/", ".", "~")):
        raise ConfigError(f"think_eval: cannot load the tokenizer '{name}' (no such folder)")
    transformers = require("transformers", "think_eval's token counts", "evs-native[local]")
    try:
        tok = transformers.AutoTokenizer.from_pretrained(str(path) if path.exists() else name,
                                                         local_files_only=path.exists(), trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 - transformers raises OSError, ValueError, hub errors
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"think_eval: cannot load the tokenizer '{name}' ({msg})") from None
    return lambda text: len(tok.encode(text, add_special_tokens=False))


def _tiktoken_names() -> list[str]:
    try:
        import tiktoken

        return list(tiktoken.list_encoding_names())
    except ImportError:
        return []


class ThinkEval(Benchmark):
    name = "think_eval"
    version = "1"
    description = (
        "Thinking efficiency of reasoning models (EvalScope's ThinkEval, after the Overthinking and "
        "Underthinking papers): the model solves an inner math benchmark (extra_params.dataset, default "
        "math_500, scored by its own rule without the judge: acc); its reasoning is split into steps (separator / keywords / "
        "llm) and a judge (required) names the first step stating the correct answer with EvalScope's "
        "critique prompt. Per sample and subset: reasoning_tokens, first_correct_tokens, reflection_tokens, "
        "token_efficiency (primary), thought_num (switch words), think_accuracy. Tokens are counted with "
        "extra_params.tokenizer (the model's tokenizer, required). Deviations: first_correct_tokens counts up "
        "to the end of the named step (EvalScope stops before it, so an answer in step 0 counts as none); "
        "an unparsable critique is an error, excluded and counted (EvalScope takes it as not found)."
    )
    tags = ["reasoning", "math", "llm-judge", "thinking-efficiency"]
    hf_id = None
    ms_id = None
    num_samples = None
    subsets = [DEFAULT]
    metrics = ["acc", *THINK_METRICS]
    primary_metric = "token_efficiency"
    requires_judge = True
    extra_args: ClassVar[dict[str, Any]] = {"dataset": "math_500", "dataset_args": {}, "tokenizer": None,
                                            "split_strategy": "separator", "max_tokens": None}

    def __init__(self, args: dict[str, Any] | None = None, dataset_dir: str | None = None, hub: str = "huggingface",
                 seed: int = 42, generation_config: dict[str, Any] | None = None, registries: Any = None) -> None:
        given = dict(args or {})
        super().__init__(args, dataset_dir=dataset_dir, hub=hub, seed=seed, generation_config=generation_config,
                         registries=registries)
        a = self.args
        if a["split_strategy"] not in STRATEGIES:
            raise ConfigError(f"dataset_args.think_eval.split_strategy must be one of {', '.join(STRATEGIES)}"
                              f"{suggest(str(a['split_strategy']), STRATEGIES)}, not {a['split_strategy']!r}")
        if not a["tokenizer"] or not isinstance(a["tokenizer"], str):
            raise ConfigError("think_eval counts tokens with the evaluated model's tokenizer: give "
                              "dataset_args.think_eval.extra_params.tokenizer (a local tokenizer folder, a hub id, "
                              "or a tiktoken encoding)")
        m = a["max_tokens"]
        if m is not None and (not isinstance(m, int) or isinstance(m, bool) or m <= 0):
            raise ConfigError(f"dataset_args.think_eval.max_tokens must be a positive integer or null, not {m!r}")
        if not isinstance(a["dataset_args"], dict):
            raise ConfigError("dataset_args.think_eval.dataset_args must be a mapping (the inner benchmark's arguments)")
        if self.registries is None:
            from evs_core.registry import get_registries

            self.registries = get_registries()
        known = self.registries.benchmarks
        inner_name = a["dataset"]
        if inner_name == self.name or inner_name not in known:
            raise ConfigError(f"dataset_args.think_eval.dataset: unknown benchmark '{inner_name}'"
                              f"{suggest(str(inner_name), known.names())}")
        inner_args = dict(a["dataset_args"])
        if "subset_list" in given:
            inner_args["subset_list"] = given["subset_list"]
        for key in ("few_shot_num", "system_prompt", "generation_config", "shuffle"):
            if key in given:
                inner_args.setdefault(key, given[key])
        self.inner = known.load(inner_name)(inner_args, dataset_dir=dataset_dir, hub=hub, seed=seed,
                                            generation_config=generation_config, registries=self.registries)
        self.args["subset_list"] = list(self.inner.args["subset_list"])
        self._count = load_counter(a["tokenizer"])

    def _check_args(self) -> None:  # the inner benchmark checks subsets and few-shot arguments
        pass

    def selected_subsets(self) -> list[str]:
        return self.inner.selected_subsets()

    def load_samples(self, limit: int | float | None = None) -> list[Sample]:
        return self.inner.load_samples(limit)

    def build_request(self, sample: Sample) -> Request:
        return self.inner.build_request(sample)

    def count(self, text: str) -> int:
        return self._count(text) if text else 0

    async def _ask(self, judge: Any, prompt: str, parse: Any, scores: dict[str, float]) -> Any:
        from evs_native.benchmarks.long_context import ask_judge

        return await ask_judge(judge, [{"role": "user", "content": prompt}], parse, scores)

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        # the inner benchmark scores by its own rule; the judge is for the reasoning only
        review = await self.inner.score(sample, output, replace(ctx, judge=None) if ctx is not None else ctx)
        if review.error is not None:
            return review
        judge = ctx.judge if ctx is not None else None
        if judge is None:
            raise ConfigError("think_eval needs a judge: give --judge-args '{\"model\": …, \"api_url\": …}'")
        reasoning = think_part(output)
        tokens = self.count(reasoning)
        cap = self.args["max_tokens"]
        if cap is not None and self.count(output.text or "") > cap:
            return failed_review(sample, output, ctx, f"Filtered: reply over max_tokens ({cap})",
                                 extracted=review.extracted, scores=review.scores)
        problem = str(sample.metadata.get("question") or sample.metadata.get("problem") or sample.input or "")
        strategy = self.args["split_strategy"]
        if strategy == "separator":
            steps = split_by_separator(reasoning)
        elif strategy == "keywords":
            steps = split_by_keywords(reasoning)
        else:
            flat = reasoning.replace("\n", " ")
            v = await self._ask(judge, REFORMAT_TEMPLATE.format(problem=problem, response=flat),
                                lambda t: "reformatted" if t.strip() else None, {"reformatted": 1.0})
            if v.score is None and (v.error or "").startswith("JudgeError"):
                return failed_review(sample, output, ctx, v.error, extracted=review.extracted, scores=review.scores)
            steps = v.explanation.split("\n\n") if v.score is not None else [flat]
        tagged = "\n\n".join(f"<paragraph_{i}>\n{s}\n</paragraph_{i}>" for i, s in enumerate(steps))
        holder: dict[str, int] = {}

        def parse(reply: str) -> str | None:
            idx = critique_index(reply)
            if idx is None:
                return None
            holder["index"] = idx
            return "found" if 0 <= idx < len(steps) else "not_found"

        v = await self._ask(judge, CRITIQUE_TEMPLATE.format(problem=problem, answer=sample.target,
                                                            tagged_response=tagged),
                            parse, {"found": 1.0, "not_found": 0.0})
        meta = {**review.metadata, "think_steps": len(steps), "first_correct_step": holder.get("index"),
                "critique": v.explanation[:2000]}
        if v.score is None:
            return failed_review(sample, output, ctx, v.error or "JudgeUnparsable", extracted=review.extracted,
                                 scores=review.scores, metadata=meta)
        idx = holder["index"]
        useful = self.count("\n\n".join(steps[: idx + 1])) if v.score else 0
        useful = min(useful, tokens)
        think = {"reasoning_tokens": float(tokens), "first_correct_tokens": float(useful),
                 "reflection_tokens": float(tokens - useful),
                 "token_efficiency": useful / tokens if tokens > 0 else 0.0,
                 "thought_num": float(thought_num(reasoning)), "think_accuracy": 1.0 if useful > 0 else 0.0}
        inner_primary = self.inner.primary
        scores = {"acc": float(review.scores.get(inner_primary, 0.0)), **think}
        return review.model_copy(update={"scores": scores, "metadata": meta})
