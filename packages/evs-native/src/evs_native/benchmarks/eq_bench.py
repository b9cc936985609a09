"""EQ-Bench v2: predicting the intensity of four emotions of a character in a dialogue (Paech, 2023).

The model rates four named emotions 0–10; the reply is read as ``emotion: score`` pairs and
compared with the reference intensities by the official v2 "full-scale" rule: per emotion the
absolute difference ``d`` counts 0 when 0, ``6.5 / (1 + e^(-1.2 (d - 4)))`` when ``d <= 5``, ``d``
above; the question scores ``10 - 0.7477 * sum`` (the constant puts random answers at 0).
"""

from __future__ import annotations

import ast
import json
import math
import re
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark
from evs_core.errors import ConfigError
from evs_core.extract import Extraction, answer_region
from evs_core.schema import ModelOutput, Sample

ADJUST_CONST = 0.7477
_PAIR = re.compile(r"(\w+):\s+(\d+)")


def parse_emotions(text: str) -> dict[str, str]:
    """``{emotion: score}`` of a reply: markdown ``*``/``#`` removed, then every ``word: number`` pair
    (a later pair of the same name replaces an earlier one, as a dict built from them does)."""
    return dict(_PAIR.findall(answer_region(text).replace("*", "").replace("#", "")))


def fullscale_score(reference: dict[str, Any], answer: dict[str, str]) -> float | None:
    """The v2 score of one question (0–10; can be negative), or None when the answer does not give
    exactly the four reference emotions (case-insensitive) with scores in 0–10."""
    if len(answer) != 4:
        return None
    ref = {str(reference[f"emotion{i}"]).lower(): float(reference[f"emotion{i}_score"]) for i in range(1, 5)}
    given = {k.lower(): v for k, v in answer.items()}
    if set(given) != set(ref):
        return None
    tally = 0.0
    for emotion, value in given.items():
        v = float(value)
        if v < 0 or v > 10:
            return None
        d = abs(v - ref[emotion])
        if d == 0:
            scaled = 0.0
        elif d <= 5:
            scaled = 6.5 * (1 / (1 + math.e ** (-1.2 * (d - 4))))
        else:
            scaled = d
        tally += scaled
    return 10 - tally * ADJUST_CONST


def _reference(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    s = str(value).strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        s = s[1:-1]
    try:
        out = ast.literal_eval(s)
    except (ValueError, SyntaxError):
        out = json.loads(s)
    if not isinstance(out, dict):
        raise ValueError("not a mapping")
    return out


class EQBench(Benchmark):
    name = "eq_bench"
    num_samples = 171
    version = "1"
    description = (
        "EQ-Bench v2 (Paech, 2023): 171 dialogues; the model rates the intensity (0-10) of four emotions of a "
        "character. Scoring as EvalScope's eq_bench adapter (the official v2 full-scale rule): the prompt is "
        "sent as is, 'emotion: score' pairs are read after removing markdown '*'/'#', emotions matched "
        "case-insensitively; per question 10 - 0.7477 x the sum of scaled differences, reported /10 and "
        "clipped to [0, 1] (eq_bench_score); an unparseable answer scores 0 and counts against "
        "percent_parseable (lm-eval's second metric). Reasoning blocks are left out before parsing."
    )
    tags = ["instruction-following", "chat", "emotional-intelligence"]
    hf_id = "pbevan11/EQ-Bench"
    ms_id = "evalscope/EQ-Bench"
    subsets = ["default"]
    eval_split = "validation"
    metrics = ["eq_bench_score", "percent_parseable"]
    primary_metric = "eq_bench_score"
    generation: ClassVar[dict[str, Any]] = {"temperature": 0.0}
    prompt_template = "{prompt}"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        for f in ("prompt", "reference_answer_fullscale"):
            if f not in record:
                raise ConfigError(f"eq_bench: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")
        try:
            ref = _reference(record["reference_answer_fullscale"])
            for i in range(1, 5):
                ref[f"emotion{i}"], float(ref[f"emotion{i}_score"])
        except (ValueError, SyntaxError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"eq_bench: row {index}: reference_answer_fullscale cannot be read ({exc})") from None
        return Sample(id=str(record.get("id", index)), input=str(record["prompt"]).strip(), subset=subset,
                      target={f"emotion{i}": ref[f"emotion{i}"] for i in range(1, 5)},
                      metadata={"reference": ref})

    def extract(self, text: str, sample: Sample) -> Any:
        answer = parse_emotions(text)
        if fullscale_score(sample.metadata["reference"], answer) is None:
            return Extraction(None, "none")
        return Extraction(answer, "emotion_pairs")

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        if extracted is None:
            return {"eq_bench_score": 0.0, "percent_parseable": 0.0}
        score = fullscale_score(sample.metadata["reference"], extracted)
        return {"eq_bench_score": max(0.0, min(1.0, score / 10.0)), "percent_parseable": 1.0}
