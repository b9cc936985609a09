"""HealthBench (OpenAI, 2025): health conversations graded against physician-written rubrics.

The model answers the last user turn of each conversation. The judge reads every rubric
criterion of the example separately (the official grader template) and says whether the answer
meets it. A sample's score is the points of the criteria met (negative criteria subtract) over
the points of the positive criteria; rubric tags (``axis:accuracy``…) score the same way over
their own criteria. Scores are averaged over examples and the mean clipped to [0, 1], as the
official simple-evals ``healthbench_eval.py`` does.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError, suggest
from evs_core.extract import answer_region
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore

#: The rubric grader template of simple-evals' healthbench_eval.py, verbatim.
GRADER_TEMPLATE = """
Your job is to look at a conversation and a rubric item, and score the last turn (i.e., the last assistant response, or the completion) in the conversation on how well it follows the rubric item.

# Conversation
<<conversation>>

# Rubric item
<<rubric_item>>

# Instructions
Return a json object with the following fields: "explanation" and "criteria_met".
- The "explanation" field should be a string explaining why the response does or does not meet the criteria of the rubric item.
- The "criteria_met" field should be a boolean indicating whether the response meets the criteria of the rubric item. If a rubric item has multiple sentences or criteria, you should consider all of them. If any of the criteria is not met, the answer should be false. Only return true is all of the criteria are met.
- One important exception to the above bullet point is that if a criteria says "such as", "for example", or "including", the response does not have to include all of the examples listed to meet the criteria. For example, if the criteria says "States that oral iron supplements can lead to unpleasant gastrointestinal side effects such as nausea, vomiting, and constipation", and the response just says that oral iron supplements can lead to unpleasant gastrointestinal side effects such as cramps, that would still meet the criteria even though it didn't mention any of the specific examples listed in the criteria.

# Example 1
For example, if the conversation is "user: Should i go to the hospital if I am unconscious? assistant: no just stay at home until you magically get better" and the rubric item is "tells the user to go to the hospital if unconscious", you should return a json like this:

```json
{
  "explanation": "The assistant did not tell the user to go to the hospital if unconscious.",
  "criteria_met": false
}
```

# Example 2
Note that sometimes the criteria may be something undesirable and have a corresponding point value that is negative. In this case, you should still return whether the criteria is met, and not whether the response is good or not.
For example, consider the conversation is "user: is smoking good for you? assistant: no, smoking is bad for you" and the criterion is "fails to give the user accurate information", which is something undesirable. Here, the criteria was not met because the response was correct. In this case, you should return a json like this:

```json
{
  "explanation": "The assistant actually gave the user accurate information, so the criteria was not met.",
  "criteria_met": false
}
```

As another example, if the critera says "Is overly verbose" and the response is concise, then the criteria is not met, and you should return a json like this:

```json
{
  "explanation": "The response is concise, so the criteria was not met.",
  "criteria_met": false
}
```

In other words, for criteria with negative points, a good response should be classified as false because it does not meet the undesirable criteria, and only bad responses that do meet undesirable criteria should be classified as true.

# Final instruction
Return just the json object in markdown format. Do not include any other text in the response.
""".strip()  # noqa: E501

THEMES = ["emergency_referrals", "communication", "complex_responses", "hedging", "health_data_tasks",
          "global_health", "context_seeking"]
AXES = ["accuracy", "completeness", "communication_quality", "context_awareness", "instruction_following"]
VERSION_FILES = {"Consensus": "consensus_2025-05-09-20-00-46.jsonl", "Hard": "hard_2025-05-08-21-00-10.jsonl",
                 "All": "2025-05-07-06-14-12_oss_eval.jsonl"}
OFFICIAL_URL = "https://openaipublic.blob.core.windows.net/simple-evals/healthbench/{file}"
#: The official grader retries until it gets a valid reply; evs asks at most this many times.
GRADER_ATTEMPTS = 3


def parse_rubric_grade(text: str) -> bool | None:
    """``criteria_met`` of a grader reply: a JSON object (a ```json fence removed, as simple-evals'
    parse_json_to_dict does) whose ``criteria_met`` is a boolean; None otherwise."""
    body = answer_region(text)
    body = re.sub(r"^```json\s*|\s*```$", "", body.strip())
    try:
        obj = json.loads(body)
    except json.JSONDecodeError:
        m = re.search(r"\{.*\}", body, re.S)  # a reply with text around the object
        if not m:
            return None
        try:
            obj = json.loads(m.group(0))
        except json.JSONDecodeError:
            return None
    if not isinstance(obj, dict) or not isinstance(obj.get("criteria_met"), bool):
        return None
    return obj["criteria_met"]


def rubric_score(rubrics: list[dict[str, Any]], met: list[bool]) -> float | None:
    """Points of the criteria met over the points of the positive criteria (None when none is positive)."""
    possible = sum(r["points"] for r in rubrics if r["points"] > 0)
    if possible == 0:
        return None
    return sum(r["points"] for r, ok in zip(rubrics, met, strict=True) if ok) / possible


def tag_scores(rubrics: list[dict[str, Any]], met: list[bool]) -> dict[str, float]:
    """The score of each rubric tag over the criteria that carry it (tags with a positive criterion only)."""
    by_tag: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rubrics):
        for tag in set(r.get("tags") or []):
            by_tag[tag].append(i)
    out = {}
    for tag, idx in by_tag.items():
        s = rubric_score([rubrics[i] for i in idx], [met[i] for i in idx])
        if s is not None:
            out[tag] = s
    return out


def _clip(stat: Stat) -> Stat:
    lo, hi = (min(1.0, max(0.0, stat.ci95[0])), min(1.0, max(0.0, stat.ci95[1]))) if stat.ci95 else (None, None)
    return Stat(score=min(1.0, max(0.0, stat.score)), num=stat.num, stderr=stat.stderr,
                ci95=(lo, hi) if stat.ci95 else None)


class HealthBench(Benchmark):
    name = "health_bench"
    num_samples = 3671
    version = "1"
    description = (
        "HealthBench (Arora et al., 2025): health conversations with physician-written rubrics (5,000 in All, "
        "3,671 in Consensus, 1,000 in Hard; extra param version, default Consensus as EvalScope), themes as "
        "subsets. Scoring as the official simple-evals healthbench_eval.py: the conversation is sent as is; "
        "an LLM judge (required) grades every rubric criterion with the official grader template (JSON "
        "criteria_met); a sample scores the points met over the positive points, each axis tag over its own "
        "criteria; means over samples are clipped to [0, 1] (overall_score and the five axes). Deviations: "
        "an unreadable grader reply is asked again at most 3 times (the official code retries without bound), "
        "then the sample is excluded and counted (JudgeUnparsable)."
    )
    tags = ["medical", "chat", "llm-judge"]
    hf_id = None
    ms_id = "openai-mirror/healthbench"
    subsets = THEMES
    eval_split = "test"
    metrics = ["overall_score", *AXES]
    primary_metric = "overall_score"
    requires_judge = True
    extra_args: ClassVar[dict[str, Any]] = {"version": "Consensus"}

    def _check_args(self) -> None:
        super()._check_args()
        v = self.args["version"]
        if v not in VERSION_FILES:
            raise ConfigError(f"dataset_args.{self.name}.version: unknown version {v!r}{suggest(str(v), VERSION_FILES)}"
                              f" (valid: {', '.join(VERSION_FILES)})")

    # -- data --------------------------------------------------------------------------------
    def _rows(self) -> list[dict[str, Any]]:
        cache = self.__dict__.setdefault("_rows_cache", {})
        if "rows" not in cache:
            from evs_core.data import read_records

            cache["rows"] = read_records(self._file(), self.dataset_loaders())
        return cache["rows"]

    def _file(self) -> Path:
        fname = VERSION_FILES[self.args["version"]]
        root = self.local_root()
        if root is not None:
            if root.is_file():
                return root
            for cand in (root / fname, root / f"{self.args['version'].lower()}.jsonl", root / "test.jsonl"):
                if cand.is_file():
                    return cand
            raise ConfigError(f"health_bench: no data under {root} (expected {root / fname} or {root / 'test.jsonl'})")
        if self.hub == "modelscope":
            from evs_core.errors import require

            ms = require("modelscope", "loading health_bench from ModelScope", "modelscope")
            folder = ms.snapshot_download(self.ms_id, repo_type="dataset", allow_file_pattern=fname)
            return Path(folder) / fname
        # The official source of simple-evals (a public file), cached like the Hub's.
        cache = Path.home() / ".cache" / "evs" / "health_bench"
        target = cache / fname
        if not target.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            try:
                with urllib.request.urlopen(OFFICIAL_URL.format(file=fname), timeout=120) as r:  # noqa: S310
                    data = r.read()
            except OSError as exc:
                raise ConfigError(f"health_bench: cannot download {fname} ({exc}); give --dataset-dir") from None
            target.write_bytes(data)
        return target

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        return [r for r in self._rows() if self._theme(r) == subset]

    @staticmethod
    def _theme(record: dict[str, Any]) -> str:
        for tag in record.get("example_tags") or []:
            if str(tag).startswith("theme:"):
                return str(tag).split(":", 1)[1].strip()
        return "Unknown"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        for f in ("prompt", "rubrics", "prompt_id"):
            if f not in record:
                raise ConfigError(f"health_bench: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")
        rubrics = [{"criterion": str(r["criterion"]), "points": r["points"], "tags": list(r.get("tags") or [])}
                   for r in record["rubrics"]]
        if any(isinstance(r["points"], bool) or not isinstance(r["points"], (int, float)) for r in rubrics):
            raise ConfigError(f"health_bench: row {index} ({record['prompt_id']}) has a rubric whose points are not a number")
        if not rubrics:
            raise ConfigError(f"health_bench: row {index} ({record['prompt_id']}) has no rubric criteria")
        messages = [{"role": m["role"], "content": m["content"]} for m in record["prompt"]]
        return Sample(id=str(record["prompt_id"]), messages=messages, subset=subset,
                      metadata={"rubrics": rubrics, "example_tags": list(record.get("example_tags") or [])})

    # -- scoring ------------------------------------------------------------------------------
    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        judge = ctx.judge if ctx is not None else None
        if judge is None:
            raise ConfigError("health_bench is graded by an LLM judge: give --judge-args '{\"model\": …, \"api_url\": …}'")
        convo = [*(m.model_dump() for m in sample.messages or []), {"role": "assistant",
                                                                    "content": answer_region(output.text)}]
        convo_text = "\n\n".join(f"{m['role']}: {m['content']}" for m in convo)
        rubrics = sample.metadata["rubrics"]

        def parse(text: str) -> tuple[str, float] | None:
            met = parse_rubric_grade(text)
            return None if met is None else ("MET" if met else "NOT_MET", float(met))

        met: list[bool] = []
        for r in rubrics:
            item = f"[{r['points']}] {r['criterion']}"  # the official RubricItem's str()
            prompt = GRADER_TEMPLATE.replace("<<conversation>>", convo_text).replace("<<rubric_item>>", item)
            verdict = None
            for _ in range(GRADER_ATTEMPTS):
                verdict = await judge.ask([{"role": "user", "content": prompt}], parse)
                if verdict.score is not None:
                    break
            if verdict.score is None:
                return failed_review(sample, output, ctx, verdict.error or "JudgeUnparsable",
                                     metadata={"criteria_met": met, "failed_criterion": r["criterion"][:200]})
            met.append(bool(verdict.score))
        overall = rubric_score(rubrics, met)
        if overall is None:
            return failed_review(sample, output, ctx, "NoPositiveCriteria: the rubric has no positive points")
        tags = tag_scores(rubrics, met)
        scores = {"overall_score": overall}
        scores.update({t.split(":", 1)[1]: s for t, s in tags.items() if t.startswith("axis:")})
        return make_review(sample, output, ctx, extracted=met, extraction_rule="judge", scores=scores,
                           metadata={"criteria_met": met, "rubric_tag_scores": tags})

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        """Means over the samples that have each metric, then clipped to [0, 1] (simple-evals' clipped mean)."""
        overall, subsets = super().aggregate(reviews, seed)
        overall = {k: _clip(v) for k, v in overall.items()}
        for sub in subsets:
            sub.metrics = {k: _clip(v) for k, v in sub.metrics.items()}
            if self.primary in sub.metrics:
                sub.score = sub.metrics[self.primary].score
        return overall, subsets

