"""Pairwise judged benchmarks: the model's answer against a baseline's, read by an LLM judge.

* ``arena_hard`` — Arena-Hard-Auto v0.1: 500 hard prompts against gpt-4-0314's answers, two games
  per prompt (the baseline in position A, then in position B), the official judge instruction and
  its ``[[A>>B]]`` five-point scale; a strong verdict counts three battles. The win rate against
  the baseline comes from the Bradley–Terry fit of :mod:`evs_core.stats` with its bootstrap.
* ``alpaca_eval`` — AlpacaEval 2.0: 805 instructions against gpt-4-turbo's outputs, the official
  ``alpaca_eval_clf_gpt4_turbo`` prompt (the judge names the better output ``m`` or ``M``), the
  outputs' order randomised as the official annotator does, the win rate and the
  length-controlled win rate (:mod:`evs_native.benchmarks.alpaca_lc`).

Judge calls go through :meth:`evs_core.judge.Judge.ask`; an unreadable verdict excludes the
sample (``JudgeUnparsable``) and is counted, never scored and never fatal.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT, Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.extract import answer_region
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore

log = logging.getLogger("evs.eval")


def _need_judge(name: str, ctx: RunContext | None):
    judge = ctx.judge if ctx is not None else None
    if judge is None:
        raise ConfigError(f"{name} is graded by an LLM judge: give --judge-args '{{\"model\": …, \"api_url\": …}}'")
    return judge


class _ModelScopeOnly(Benchmark):
    """A dataset published on ModelScope only (with the baseline's answers merged in)."""

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        if self.local_root() is None and not self.args.get("dataset_id") and self.hf_id is None:
            from evs_core.data import load_hub

            return load_hub(self.ms_id, None if subset == DEFAULT else self.hub_subset.get(subset, subset), split,
                            "modelscope")
        return super().load_rows(split, subset)


# ------------------------------------------------------------------------------------------------
# Arena-Hard-Auto

#: The judge instruction of Arena-Hard-Auto (utils/judge_utils.py, OG_ARENA_HARD_PROMPT).
ARENA_HARD_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to "
    "the user prompt displayed below. You will be given assistant A's answer and assistant B's answer. Your job is "
    "to evaluate which assistant's answer is better.\n\nBegin your evaluation by generating your own answer to the "
    "prompt. You must provide your answers before judging any answers.\n\nWhen evaluating the assistants' answers, "
    "compare both assistants' answers with your answer. You must identify and correct any mistakes or inaccurate "
    "information.\n\nThen consider if the assistant's answers are helpful, relevant, and concise. Helpful means the "
    "answer correctly responds to the prompt or follows the instructions. Note when user prompt has any ambiguity "
    "or more than one interpretation, it is more helpful and appropriate to ask for clarifications or more "
    "information from the user than providing an answer based on assumptions. Relevant means all parts of the "
    "response closely connect or are appropriate to what is being asked. Concise means the response is clear and "
    "not verbose or excessive.\n\nThen consider the creativity and novelty of the assistant's answers when needed. "
    "Finally, identify any missing important information in the assistants' answers that would be beneficial to "
    "include when responding to the user prompt.\n\nAfter providing your explanation, you must output only one of "
    "the following choices as your final verdict with a label:\n\n1. Assistant A is significantly better: "
    "[[A>>B]]\n2. Assistant A is slightly better: [[A>B]]\n3. Tie, relatively the same: [[A=B]]\n4. Assistant B is "
    "slightly better: [[B>A]]\n5. Assistant B is significantly better: [[B>>A]]\n\nExample output: \"My final "
    "verdict is tie: [[A=B]]\"."
)
#: The user message of the arena-hard-v0.1 config (prompt_template).
ARENA_HARD_TEMPLATE = (
    "<|User Prompt|>\n{question}\n\n<|The Start of Assistant A's Answer|>\n{answer_a}\n<|The End of Assistant A's "
    "Answer|>\n\n<|The Start of Assistant B's Answer|>\n{answer_b}\n<|The End of Assistant B's Answer|>"
)
#: The config's regex_patterns, tried in order on the upper-cased judgement; the last match wins.
ARENA_HARD_PATTERNS = (re.compile(r"\[\[([AB<>=]+)\]\]"), re.compile(r"\[([AB<>=]+)\]"))
STRONG_WEIGHT = 3
#: show_result.py's label_to_score: the battles a label stands for, scored for the answer in position A.
LABEL_TO_SCORE: dict[str, list[float]] = {
    "A>B": [1.0], "A>>B": [1.0] * STRONG_WEIGHT, "A=B": [0.5], "A<<B": [0.0] * STRONG_WEIGHT, "A<B": [0.0],
    "B>A": [0.0], "B>>A": [0.0] * STRONG_WEIGHT, "B=A": [0.5], "B<<A": [1.0] * STRONG_WEIGHT, "B<A": [1.0],
}


def parse_arena_verdict(text: str) -> str | None:
    """The verdict label of a judgement as gen_judgment.py's get_score reads it (None: no usable label)."""
    upper = answer_region(text).upper()
    for pattern in ARENA_HARD_PATTERNS:
        matches = [m for m in pattern.findall(upper) if m != ""]
        if matches:
            label = matches[-1].strip("\n")
            return label if label in LABEL_TO_SCORE else None
    return None


def battle_scores(game1: str, game2: str) -> list[float]:
    """The model's battle scores of one prompt (show_result.py's ``scores``): game 2 has the model in
    position A, game 1 in position B."""
    return LABEL_TO_SCORE[game2] + [1.0 - s for s in LABEL_TO_SCORE[game1]]


class ArenaHard(_ModelScopeOnly):
    name = "arena_hard"
    num_samples = 500
    version = "1"
    description = (
        "Arena-Hard-Auto v0.1 (Li et al., 2024): 500 hard user prompts judged against gpt-4-0314's answers, "
        "as the official arena-hard-auto code: two games per prompt (baseline as assistant A, then as "
        "assistant B), the official judge instruction and [[A>>B]]…[[B>>A]] labels read by its regex patterns "
        "(last match), a strong verdict = 3 battles, a prompt with an unreadable game left out. win_rate: the "
        "model's chance to beat the baseline from a Bradley–Terry fit of the battles (evs_core.stats; with one "
        "model and the baseline it equals the mean battle score the official show_result.py reports), with a "
        "100-round bootstrap: win_rate_lower/upper are its 5th/95th percentiles as the official CI. "
        "Deviations: the score is the point estimate (the official prints the mean of the bootstrap means); "
        "the judge is not asked again when a judgement has no label; no style control. Give the judge "
        "max_tokens 4096 (generation_config) as the official config does."
    )
    tags = ["instruction-following", "chat", "arena", "llm-judge"]
    hf_id = None
    ms_id = "AI-ModelScope/arena-hard-auto-v0.1"
    subsets = [DEFAULT]
    eval_split = "test"
    metrics = ["win_rate", "win_rate_lower", "win_rate_upper"]
    primary_metric = "win_rate"
    requires_judge = True
    baseline_model = "gpt-4-0314"
    extra_args: ClassVar[dict[str, Any]] = {"bootstrap_rounds": 100}
    prompt_template = "{question}"

    def _check_args(self) -> None:
        super()._check_args()
        n = self.args["bootstrap_rounds"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"dataset_args.{self.name}.bootstrap_rounds must be a positive integer, not {n!r}")

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        for f in ("question", "prediction"):
            if f not in record:
                raise ConfigError(f"{self.name}: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")
        rid = record.get("question_id", record.get("uid", index))
        return Sample(id=str(rid), input=record["question"], target=record["prediction"], subset=subset,
                      metadata={"category": record.get("category", record.get("capability", ""))})

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        judge = _need_judge(self.name, ctx)
        answer = answer_region(output.text)

        def parse(text: str) -> tuple[str, float] | None:
            label = parse_arena_verdict(text)
            return None if label is None else (label, 1.0)

        games = []
        for a, b in ((sample.target, answer), (answer, sample.target)):  # game 1: baseline is A; game 2: model is A
            user = ARENA_HARD_TEMPLATE.format(question=sample.input, answer_a=a, answer_b=b)
            games.append(await judge.ask([{"role": "system", "content": ARENA_HARD_SYSTEM},
                                          {"role": "user", "content": user}], parse))
        meta = {"games": [g.label for g in games], "judge_explanation": [g.explanation[-1000:] for g in games]}
        bad = next((g for g in games if g.score is None), None)
        if bad is not None:
            return failed_review(sample, output, ctx, bad.error or "JudgeUnparsable", metadata=meta)
        scores = battle_scores(games[0].label, games[1].label)
        meta["battles"] = scores
        return make_review(sample, output, ctx, extracted=f"{games[0].label} | {games[1].label}",
                           extraction_rule="judge", scores={"win_rate": sum(scores) / len(scores)}, metadata=meta)

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        ok = [r for r in reviews if r.error is None and "battles" in r.metadata]
        if ok:
            overall.update(self.rate(ok, seed))
        for sub in subsets:
            rs = [r for r in ok if r.subset == sub.name]
            if rs:
                sub.metrics.update(self.rate(rs, seed))
                sub.score = sub.metrics["win_rate"].score
        return overall, subsets

    def rate(self, reviews: list[Review], seed: int) -> dict[str, Stat]:
        """Bradley–Terry win rate against the baseline over all battles, with bootstrap percentiles."""
        import numpy as np
        from evs_core import stats as S

        ys = [float(y) for r in reviews for y in r.metadata["battles"]]
        n = len(ys)
        games = S.Games([self.baseline_model, "model"], np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                        np.asarray(ys), np.ones(n), np.arange(n))
        rating = S.rate(games, self.baseline_model, rounds=self.args["bootstrap_rounds"], seed=seed, by="battle",
                        level=0.90)
        base = rating.rating[self.baseline_model]

        def wr(x: float | None) -> float:
            return S.win_rate(x, base) if x is not None else float("nan")

        point = wr(rating.rating["model"])
        lo, hi = wr(rating.lower["model"]), wr(rating.upper["model"])
        boot = rating.boot[:, 1] if rating.boot is not None else np.array([])
        boot = boot[~np.isnan(boot)]
        ci95 = (wr(float(np.percentile(boot, 2.5))), wr(float(np.percentile(boot, 97.5)))) if len(boot) else None
        k = len(reviews)
        return {"win_rate": Stat(score=point, num=k, ci95=ci95),
                "win_rate_lower": Stat(score=lo, num=k), "win_rate_upper": Stat(score=hi, num=k)}


# ------------------------------------------------------------------------------------------------
# AlpacaEval 2.0

#: The alpaca_eval_clf_gpt4_turbo prompt of the alpaca_eval package (the annotator of AlpacaEval 2.0).
ALPACA_SYSTEM = (
    "You are a highly efficient assistant, who evaluates and selects the best large language model (LLMs) based on "
    "the quality of their responses to a given instruction. This process will be used to create a leaderboard "
    "reflecting the most accurate and human-preferred answers."
)
ALPACA_TEMPLATE = '''I require a leaderboard for various large language models. I'll provide you with prompts given to these models and their corresponding outputs. Your task is to assess these responses, and select the model that produces the best output from a human perspective.

## Instruction

{{
    "instruction": """{instruction}""",
}}

## Model Outputs

Here are the unordered outputs from the models. Each output is associated with a specific model, identified by a unique model identifier.

{{
    {{
        "model_identifier": "m",
        "output": """{output_1}"""
    }},
    {{
        "model_identifier": "M",
        "output": """{output_2}"""
    }}
}}

## Task

Evaluate the models based on the quality and relevance of their outputs, and select the model that generated the best output. Answer by providing the model identifier of the best model. We will use your output as the name of the best model, so make sure your output only contains one of the following model identifiers and nothing else (no quotes, no spaces, no new lines, ...): m or M.

## Best Model Identifier'''  # noqa: E501
#: The annotator's seed (alpaca_eval's processors: BaseProcessor seed=123).
ALPACA_SWITCH_SEED = 123


def alpaca_is_switched(instruction: str, seed: int = ALPACA_SWITCH_SEED) -> bool:
    """Whether the official annotator shows the model's output first (RandomSwitchTwoColumnsProcessor)."""
    return random.Random("is_switched_outputs" + instruction + str(seed)).choices([False, True], k=1)[0]


def parse_alpaca_choice(text: str) -> str | None:
    """``m`` or ``M`` when the reply is that identifier alone (quotes, bold and spaces tolerated)."""
    m = re.fullmatch(r"[\s\"'`*]*(?:model_identifier\s*[:=]\s*)?[\"'`*]*([mM])[\"'`*.]*\s*", answer_region(text))
    return m.group(1) if m else None


class AlpacaEval(_ModelScopeOnly):
    name = "alpaca_eval"
    num_samples = 805
    version = "1"
    description = (
        "AlpacaEval 2.0 (Dubois et al., 2024): 805 instructions judged against gpt-4-turbo's outputs with the "
        "alpaca_eval package's alpaca_eval_clf_gpt4_turbo prompt (the judge names the better output m or M; the "
        "two outputs' order randomised per instruction exactly as the package's annotator, seed 123). Metrics: "
        "win_rate (mean preference, a tie counting half, as alpaca_eval's get_winrate), discrete_win_rate, and "
        "length_controlled_winrate with lc_standard_error, the package's length_controlled_v1 GLM (tanh of the "
        "standardised length difference + instruction difficulty + baseline indicator, regularised toward the "
        "gamed baselines of df_gamed.csv, fitted by cross-validated L1 logistic regression; needs "
        "scikit-learn: pip install 'evs-native[alpaca_eval]'). Deviation: the official annotator reads the "
        "judge's log-probabilities of m and M (a soft preference); evs reads the judge's answer (a hard "
        "preference), as the package's binarised parsers do."
    )
    tags = ["instruction-following", "chat", "arena", "llm-judge"]
    hf_id = None
    ms_id = "AI-ModelScope/alpaca_eval"
    subsets = ["alpaca_eval_gpt4_baseline"]
    eval_split = "eval"
    metrics = ["win_rate", "discrete_win_rate", "length_controlled_winrate", "lc_standard_error"]
    primary_metric = "length_controlled_winrate"
    requires_judge = True
    extra_args: ClassVar[dict[str, Any]] = {"length_controlled": True, "df_gamed_path": None}
    prompt_template = "{instruction}"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._gamed = None
        if self.args["length_controlled"]:
            from evs_native.benchmarks import alpaca_lc

            alpaca_lc.check_available()
            self._gamed_path = self._find_gamed()  # a missing file stops the run before any model call

    def _check_args(self) -> None:
        super()._check_args()
        if not isinstance(self.args["length_controlled"], bool):
            raise ConfigError(f"dataset_args.{self.name}.length_controlled must be true or false")

    def _find_gamed(self) -> Path:
        given = self.args.get("df_gamed_path")
        if given:
            p = Path(given).expanduser()
            if not p.is_file():
                raise ConfigError(f"dataset_args.{self.name}.df_gamed_path does not exist: {p}")
            return p
        root = self.local_root()
        if root is not None:
            p = root / "df_gamed.csv"
            if not p.is_file():
                raise ConfigError(f"alpaca_eval: the length-controlled win rate needs {p} (df_gamed.csv of the "
                                  "tatsu-lab/alpaca_eval dataset); add it, or set dataset_args.alpaca_eval."
                                  "length_controlled to false")
            return p
        from evs_native.benchmarks import alpaca_lc

        return alpaca_lc.download_gamed()

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        for f in ("instruction", "output"):
            if f not in record:
                raise ConfigError(f"{self.name}: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")
        return Sample(id=str(index), input=record["instruction"], target=record["output"], subset=subset,
                      metadata={"index": index, "generator": record.get("generator", ""),
                                "dataset": record.get("dataset", "")})

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        judge = _need_judge(self.name, ctx)
        answer = answer_region(output.text)
        switched = alpaca_is_switched(sample.input or "")
        out1, out2 = (answer, sample.target) if switched else (sample.target, answer)
        user = ALPACA_TEMPLATE.format(instruction=sample.input, output_1=out1, output_2=out2)

        def parse(text: str) -> tuple[str, float] | None:
            c = parse_alpaca_choice(text)
            return None if c is None else (c, 1.0)

        verdict = await judge.ask([{"role": "system", "content": ALPACA_SYSTEM}, {"role": "user", "content": user}],
                                  parse)
        # Lengths and index are kept on a failed judgement too: the GLM still predicts for that instruction.
        meta = {"judge_label": verdict.label, "switched": switched, "judge_explanation": verdict.explanation[:500],
                "len_baseline": len(sample.target), "len_model": len(answer), "index": sample.metadata["index"]}
        if verdict.score is None:
            return failed_review(sample, output, ctx, verdict.error or "JudgeUnparsable", metadata=meta)
        shown = 1.0 if verdict.label == "m" else 2.0  # the preference as the judge saw the outputs
        preference = 3.0 - shown if switched else shown  # undone as the annotator does: 2 = the model wins
        meta["preference"] = preference
        return make_review(sample, output, ctx, extracted=verdict.label, extraction_rule="judge",
                           scores={"win_rate": preference - 1.0, "discrete_win_rate": float(preference > 1.5)},
                           metadata=meta)

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        ok = [r for r in reviews if "index" in r.metadata and r.repeat == 0]
        if any("preference" in r.metadata for r in ok) and self.args["length_controlled"]:
            from evs_native.benchmarks import alpaca_lc

            if self._gamed is None:
                self._gamed = alpaca_lc.read_gamed(self._gamed_path)
            try:
                lc, sem = alpaca_lc.length_controlled_winrate(
                    [r.metadata.get("preference") for r in ok], [r.metadata["len_baseline"] for r in ok],
                    [r.metadata["len_model"] for r in ok], [r.metadata["index"] for r in ok], self._gamed)
            except ValueError as exc:  # e.g. a single annotated instruction: the GLM cannot be fitted
                log.warning("alpaca_eval: no length-controlled win rate (%s); the report's score is win_rate", exc)
                self._no_lc = True
                return overall, subsets
            self._no_lc = False
            num = sum("preference" in r.metadata for r in ok)
            overall["length_controlled_winrate"] = Stat(score=lc, num=num, stderr=sem)
            overall["lc_standard_error"] = Stat(score=sem, num=num)
            for sub in subsets:
                sub.metrics.update({k: overall[k] for k in ("length_controlled_winrate", "lc_standard_error")})
                sub.score = lc
        return overall, subsets

    @property
    def primary(self) -> str:
        """length_controlled_winrate, or win_rate when it is off or could not be fitted."""
        if not self.args["length_controlled"] or getattr(self, "_no_lc", False):
            return "win_rate"
        return self.primary_metric
