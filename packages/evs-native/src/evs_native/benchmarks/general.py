"""Custom data: ``general_mcq`` (multiple choice) and ``general_qa`` (free-form answers).

Point ``dataset_args.<name>.local_path`` at one file or a folder of files (``.jsonl``, ``.json``,
``.csv``, ``.tsv``, ``.parquet``); each file is a subset named after its stem. In a folder,
``<subset>_dev.*`` / ``<subset>_train.*`` hold few-shot examples and ``<subset>_val.*`` /
``<subset>_test.*`` the questions (EvalScope's layout); any other file is a subset of questions.
A row missing a required field stops the run before any model call, naming the field and the file.
See ``docs/benchmarks-knowledge.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT, Benchmark, RunContext
from evs_core.data import loader_table, read_records
from evs_core.errors import ConfigError, suggest
from evs_core.extract import Extraction, answer_region
from evs_core.schema import Message, ModelOutput, Review, Sample, Stat, SubsetScore

from evs_native.benchmarks._knowledge_mcq import LetterMCQ, letter_of
from evs_native.benchmarks._mcq import LETTERS
from evs_native.benchmarks.text_metrics import text_scores

_FEWSHOT_SUFFIXES = ("_dev", "_train")
_EVAL_SUFFIXES = ("_val", "_test")


class _CustomFiles(Benchmark):
    """Subsets discovered from local files (see the module docstring)."""

    required_hint: ClassVar[str] = ""
    fewshot_split = "dev"

    def _check_args(self) -> None:
        saved = self.args["subset_list"]
        self.args["subset_list"] = [DEFAULT]
        super()._check_args()
        self.args["subset_list"] = [saved] if isinstance(saved, str) else saved

    def _layout(self) -> dict[str, dict[str, list[Path]]]:
        cache = self.__dict__.get("_layout_cache")
        if cache is not None:
            return cache
        root = self.local_root()
        if root is None:
            raise ConfigError(f"{self.name} needs local data: dataset_args.{self.name}.local_path (a file or a "
                              f"folder of files) or --dataset-dir holding a {self.name}/ folder")
        layout: dict[str, dict[str, list[Path]]] = {}
        files = [root] if root.is_file() else sorted(p for p in root.iterdir() if p.is_file())
        table = loader_table(self.dataset_loaders())
        suffixes = sorted(table, key=len, reverse=True)
        for f in files:
            suffix = next((s for s in suffixes if f.name.lower().endswith(s)), None)
            if suffix is None:
                if root.is_file():
                    raise ConfigError(f"dataset_args.{self.name}.local_path: unsupported file type {f.name} "
                                      f"(registered loaders read {', '.join(sorted(table))})")
                continue
            stem = f.name[: -len(suffix)]
            kind, subset = "eval", stem
            for s in _FEWSHOT_SUFFIXES:
                if stem.endswith(s) and len(stem) > len(s):
                    kind, subset = "fewshot", stem[: -len(s)]
            for s in _EVAL_SUFFIXES:
                if stem.endswith(s) and len(stem) > len(s):
                    subset = stem[: -len(s)]
            layout.setdefault(subset, {"eval": [], "fewshot": []})[kind].append(f)
        layout = {k: v for k, v in layout.items() if v["eval"]}
        if not layout:
            raise ConfigError(f"{self.name}: no data files under {root} (expected e.g. {root}/my_subset.jsonl)")
        self.__dict__["_layout_cache"] = layout
        return layout

    def selected_subsets(self) -> list[str]:
        layout = self._layout()
        wanted = self.args["subset_list"]
        if not wanted or wanted == [DEFAULT]:
            return list(layout)
        for s in wanted:
            if s not in layout:
                raise ConfigError(f"unknown subset '{s}' of {self.name}{suggest(s, layout)} "
                                  f"(found: {', '.join(layout)})")
        return list(wanted)

    def _samples_from(self, files: list[Path], subset: str) -> list[Sample]:
        out = []
        i = 0
        for f in files:
            for row in read_records(f, self.dataset_loaders()):
                try:
                    out.append(self.record_to_sample(row, i, subset))
                except KeyError as exc:
                    raise ConfigError(f"{f}: row {i + 1} has no '{exc.args[0]}' field{self.required_hint}") from None
                except (ValueError, TypeError) as exc:
                    raise ConfigError(f"{f}: row {i + 1}: {exc}") from None
                i += 1
        return out

    def subset_samples(self, subset: str) -> list[Sample]:
        return self._samples_from(self._layout()[subset]["eval"], subset)

    def fewshot_samples(self, subset: str) -> list[Sample]:
        n = self.args["few_shot_num"]
        if not n:
            return []
        cache = self.__dict__.setdefault("_fewshot_cache", {})
        if subset not in cache:
            files = self._layout().get(subset, {}).get("fewshot") or []
            if not files:
                import logging

                logging.getLogger("evs.eval").warning("%s: subset '%s' has no %s_dev file; asking it zero-shot",
                                                      self.name, subset, subset)
            cache[subset] = self._samples_from(files, subset)[:n] if files else []
        return cache[subset]

    @staticmethod
    def _id(record: dict[str, Any], index: int, subset: str) -> str:
        rid = record.get("id")
        return f"{subset}_{rid}" if rid not in (None, "") else f"{subset}_{index}"


class GeneralMCQ(_CustomFiles, LetterMCQ):
    name = "general_mcq"
    version = "1"
    description = (
        "Your own multiple-choice questions: rows with 'question', options 'A', 'B', … (up to 'J', consecutive, "
        "empty trailing options dropped) and 'answer' (a letter). Each file is a subset; <subset>_dev files give "
        "few-shot examples (a subset without one is asked zero-shot). mode=generate: the single-answer chain-of-thought template ('ANSWER: [LETTER]', "
        "override with prompt_template using {question}, {choices}, {letters}), the last explicit letter "
        "extracted; mode=loglikelihood: the option letters scored after 'Answer:'. Metric: acc."
    )
    tags = ["custom", "multiple-choice"]
    few_shot_num = 0
    required_hint = " (general_mcq rows need 'question', options 'A', 'B', … and 'answer')"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        question = record["question"]
        choices = []
        for letter in LETTERS[:10]:
            value = record.get(letter)
            if value is None or str(value).strip() == "":
                break
            choices.append(str(value))
        if len(choices) < 2:
            raise KeyError("A" if not choices else "B")
        answer = record["answer"]
        return Sample(id=self._id(record, index, subset), input=str(question), choices=choices,
                      target=letter_of(str(answer), len(choices)), subset=subset)


class GeneralQA(_CustomFiles):
    name = "general_qa"
    version = "1"
    description = (
        "Your own free-form questions: rows with 'query' (or 'question'), or 'messages' (OpenAI chat format; "
        "a final assistant message is the reference), and the reference answer 'response' (or 'answer'); "
        "optional 'system'. Without a judge: BLEU-1/BLEU-4 and ROUGE-1/2/L F against the reference "
        "(primary rouge-l; CJK scored per character). With a judge configured (--judge-*), the judge grades "
        "each answer against the reference and 'judge' becomes the primary metric; unparsable verdicts are "
        "excluded and counted."
    )
    tags = ["custom", "qa"]
    few_shot_num = 0
    metrics = ["rouge-l", "rouge-1", "rouge-2", "bleu-1", "bleu-4"]
    primary_metric = "rouge-l"
    required_hint = " (general_qa rows need 'query' or 'messages', and 'response')"
    extra_args: ClassVar[dict[str, Any]] = {"judge_template": None}
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 1024}

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        messages = record.get("messages")
        reference = record.get("response", record.get("answer"))
        if messages is not None:
            if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
                raise ValueError("'messages' must be a list of {role, content} objects")
            msgs = [Message(role=m["role"], content=m.get("content", "")) for m in messages]
            if msgs and msgs[-1].role == "assistant":
                if reference is None:
                    reference = msgs[-1].content
                msgs = msgs[:-1]
            if not msgs:
                raise ValueError("'messages' has no user message")
            question = next((str(m.content) for m in reversed(msgs) if m.role == "user"), str(msgs[-1].content))
        else:
            question = record.get("query", record.get("question"))
            if question is None:
                raise KeyError("query")
            msgs = None
        if reference is None:
            raise KeyError("response")
        system = record.get("system")
        if msgs is None:
            msgs = [Message(role="user", content=str(question))]
        if system and msgs[0].role != "system":
            msgs = [Message(role="system", content=str(system)), *msgs]
        return Sample(id=self._id(record, index, subset), input=str(question), messages=msgs,
                      target=str(reference), subset=subset)

    def build_request(self, sample: Sample):
        request = super().build_request(sample)
        shots = self.fewshot_samples(sample.subset)
        if shots and request.messages:
            examples: list[dict[str, Any]] = []
            for s in shots:
                examples += [{"role": "user", "content": s.input}, {"role": "assistant", "content": s.target}]
            k = 1 if request.messages[0]["role"] == "system" else 0
            request.messages = request.messages[:k] + examples + request.messages[k:]
        return request

    def extract(self, text: str, sample: Sample) -> Any:
        """The whole reply without its reasoning blocks (references are free-form answers)."""
        reply = answer_region(text)
        return Extraction(reply, "whole_reply") if reply else Extraction(None, "none")

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return text_scores(extracted or "", sample.target)

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        review = await super().score(sample, output, ctx)
        judge = ctx.judge if ctx is not None else None
        if judge is None or review.error is not None:
            return review
        verdict = await judge.grade(question=sample.input or "", reference=str(sample.target),
                                    prediction=output.text, template=self.args.get("judge_template"))
        meta = {**review.metadata, "judge_explanation": getattr(verdict, "explanation", "")}
        if getattr(verdict, "error", None):
            return review.model_copy(update={"error": f"JudgeError: {verdict.error}", "metadata": meta})
        if verdict.score is None:
            return review.model_copy(update={"error": "JudgeUnparsable: the judge's verdict has no score",
                                             "metadata": meta})
        return review.model_copy(update={"scores": {**review.scores, "judge": float(verdict.score)},
                                         "metadata": meta})

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        if any("judge" in r.scores for r in reviews if r.error is None):
            self.primary_metric = "judge"  # instance attribute; the report reads it after aggregating
        return super().aggregate(reviews, seed)
