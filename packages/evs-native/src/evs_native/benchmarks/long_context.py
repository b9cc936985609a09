"""Long-context benchmarks: LongBench v2, OpenAI MRCR, FRAMES, DocMath-Eval and AA-LCR.

Each follows EvalScope's adapter of the same name (prompt, extraction, metric); deviations are
stated in the class's ``description``. The documents travel in the prompt, so a sample's
request is as long as its context; nothing here truncates it.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
import string
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError, require
from evs_core.extract import answer_region
from evs_core.schema import Message, ModelOutput, Review, Sample, Stat, SubsetScore
from evs_core.stats import aggregate_values

from evs_native.benchmarks._knowledge_mcq import LetterMCQ
from evs_native.benchmarks._mcq import LETTERS
from evs_native.benchmarks.mmlu import _FilteredByField

# -- LongBench v2 --------------------------------------------------------------------------------

LONGBENCH_V2_TEMPLATE = (
    "Please read the following text and answer the questions below.\n\n<text>\n{document}\n</text>\n\n"
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{choices}"
)


class LongBenchV2(_FilteredByField, LetterMCQ):
    name = "longbench_v2"
    version = "1"
    description = (
        "LongBench v2 (Bai et al., 2024): 503 four-option questions over documents of 8k to 2M words "
        "(single/multi-document QA, long in-context learning, dialogue history, structured data, code "
        "repositories); subsets are the 'length' field (short, medium, long), as EvalScope's longbench_v2 "
        "adapter. Prompt: EvalScope's template (the document in <text>, then the single-answer "
        "chain-of-thought instruction 'ANSWER: [LETTER]'); the last explicit answer letter is extracted; "
        "metric acc. Addition: report rows per difficulty (easy, hard), as the official leaderboard. "
        "The context is sent whole: a model with a shorter window fails those samples (counted as errors)."
    )
    tags = ["long-context", "multiple-choice", "reading-comprehension"]
    hf_id = "THUDM/LongBench-v2"
    ms_id = "ZhipuAI/LongBench-v2"
    subsets = ["short", "medium", "long"]
    eval_split = "train"
    num_samples = 503
    subset_field = "length"
    hub_per_subset = False
    prompt_template = LONGBENCH_V2_TEMPLATE
    def _check_args(self) -> None:
        super()._check_args()
        if self.args["mode"] != "generate":
            raise ConfigError(f"dataset_args.{self.name}.mode: {self.name} is scored on generated answers only "
                              "(mode 'generate')")

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = [str(record[f"choice_{x}"]) for x in "ABCD"]
        answer = str(record["answer"]).strip().upper()
        if answer not in "ABCD" or len(answer) != 1:
            raise ValueError(f"answer {record['answer']!r} is not one of A, B, C, D")
        return Sample(id=str(record.get("_id") or f"{subset}_{index}"), input=str(record["question"]),
                      choices=choices, target=answer, subset=subset,
                      metadata={"document": str(record.get("context") or ""), "domain": record.get("domain", ""),
                                "sub_domain": record.get("sub_domain", ""),
                                "difficulty": record.get("difficulty", "")})

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        template = self.args.get("prompt_template") or self.prompt_template
        choices = sample.choices or []
        return template.format(document=sample.metadata.get("document", ""), question=sample.input or "",
                               choices=self.format_choices(choices), letters=",".join(LETTERS[: len(choices)]))

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        review = await super().score(sample, output, ctx)
        review.metadata["difficulty"] = sample.metadata.get("difficulty", "")
        return review

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        subsets += _rows_by(reviews, lambda r: r.metadata.get("difficulty") or None, ("easy", "hard"), seed)
        return overall, subsets


def _rows_by(reviews: list[Review], key, order: tuple[str, ...] | None, seed: int,
             names: dict[Any, str] | None = None) -> list[SubsetScore]:
    """Report rows (kind "category") of each metric's mean over the reviews sharing ``key(review)``.

    A sample's repeats are averaged first, as :meth:`Benchmark.aggregate` does."""
    groups: dict[Any, dict[str, dict[str, list[float]]]] = {}
    for r in reviews:
        if r.error is not None:
            continue
        k = key(r)
        if k is None:
            continue
        d = groups.setdefault(k, {}).setdefault(r.sample_id, {})
        for m, v in r.scores.items():
            d.setdefault(m, []).append(v)
    keys = [k for k in order if k in groups] if order is not None else sorted(groups)
    rows = []
    for k in keys:
        per_sample = [{m: sum(v) / len(v) for m, v in d.items()} for d in groups[k].values()]
        metrics = {m: aggregate_values([s[m] for s in per_sample if m in s], "mean", seed)
                   for m in sorted({m for s in per_sample for m in s})}
        first = next(iter(metrics.values()), None)
        rows.append(SubsetScore(name=(names or {}).get(k, str(k)), num=len(per_sample),
                                score=first.score if first else 0.0, metrics=metrics, kind="category"))
    return rows


# -- OpenAI MRCR ---------------------------------------------------------------------------------

#: Token-count bins of EvalScope's openai_mrcr adapter (input + answer tokens).
MRCR_BINS = [(4096, 8192), (8192, 16384), (16384, 32768), (32768, 65536), (65536, 131072), (131072, 262144),
             (262144, 524288), (524288, 1048576)]

#: GPT-2's pre-tokenisation pattern, for a local ``.tiktoken`` file given as ``tik_enc``.
_GPT2_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def mrcr_bin(total_tokens: int) -> int:
    """EvalScope's bin of a token count: first and last bins closed, the others [l, r); 0 outside."""
    last = len(MRCR_BINS) - 1
    for i, (lo, hi) in enumerate(MRCR_BINS):
        if (i in (0, last) and lo <= total_tokens <= hi) or lo <= total_tokens < hi:
            return i
    return 0


def mrcr_grade(response: str, answer: str, random_string_to_prepend: str | None) -> float:
    """OpenAI's MRCR grader: 0 without the random prefix, else SequenceMatcher's ratio without it."""
    if random_string_to_prepend:
        if not response.startswith(random_string_to_prepend):
            return 0.0
        response = response.removeprefix(random_string_to_prepend)
        answer = answer.removeprefix(random_string_to_prepend)
    return float(SequenceMatcher(None, response, answer).ratio())


def load_encoding(name: str) -> Any:
    """A tiktoken encoding by name (tiktoken's cache or download), or from a local ``.tiktoken`` file."""
    tiktoken = require("tiktoken", "openai_mrcr's token counts", "evs-native[long]")
    path = Path(str(name)).expanduser()
    try:
        if path.suffix == ".tiktoken" or path.is_file():
            from tiktoken.load import load_tiktoken_bpe

            return tiktoken.Encoding(name=path.stem, pat_str=_GPT2_PAT, mergeable_ranks=load_tiktoken_bpe(str(path)),
                                     special_tokens={})
        return tiktoken.get_encoding(str(name))
    except Exception as exc:  # noqa: BLE001 - tiktoken raises ValueError, OSError, requests errors
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"openai_mrcr: cannot load the tiktoken encoding '{name}' ({msg}); offline, put it in "
                          "TIKTOKEN_CACHE_DIR or give dataset_args.openai_mrcr.extra_params.tik_enc a local "
                          ".tiktoken file") from None


class OpenAIMRCR(Benchmark):
    name = "openai_mrcr"
    version = "1"
    description = (
        "OpenAI MRCR (multi-round co-reference, 2025): a long multi-turn chat with 2, 4 or 8 identical "
        "requests hidden in it; the model must reproduce the asked one, prefixed by a random string. "
        "The conversation is sent as chat messages. Scoring as EvalScope's openai_mrcr adapter and OpenAI's "
        "grader: 0 unless the reply (leading whitespace stripped) starts with the random prefix, else "
        "difflib SequenceMatcher ratio to the answer without it; metric mrcr_score (mean), with rows per "
        "token bin (input + answer tokens, tiktoken o200k_base: 4096-8192 … 524288-1048576) as EvalScope. "
        "Addition: rows per needle count. Deviation: a bad extra_params value stops the run (EvalScope "
        "warns and ignores it)."
    )
    tags = ["long-context", "retrieval"]
    hf_id = "openai/mrcr"
    ms_id = "openai-mirror/mrcr"
    eval_split = "train"
    num_samples = 2400
    metrics = ["mrcr_score"]
    primary_metric = "mrcr_score"
    extra_args: ClassVar[dict[str, Any]] = {"max_context_size": None, "min_context_size": None,
                                            "needle_count": None, "tik_enc": "o200k_base", "prefix_filter": None}

    def _check_args(self) -> None:
        super()._check_args()
        a = self.args
        for key in ("max_context_size", "min_context_size"):
            v = a[key]
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ConfigError(f"dataset_args.{self.name}.{key} must be a non-negative integer or null, not {v!r}")
        n = a["needle_count"]
        if n is not None and (not isinstance(n, list) or not n or any(x not in (2, 4, 8) for x in n)
                              or any(isinstance(x, bool) for x in n)):
            raise ConfigError(f"dataset_args.{self.name}.needle_count must be a list of 2, 4 and/or 8 "
                              f"(e.g. [2, 4]), not {n!r}")
        if not isinstance(a["tik_enc"], str) or not a["tik_enc"]:
            raise ConfigError(f"dataset_args.{self.name}.tik_enc must be a tiktoken encoding name or a .tiktoken file")
        if a["prefix_filter"] is not None and not isinstance(a["prefix_filter"], str):
            raise ConfigError(f"dataset_args.{self.name}.prefix_filter must be a string of characters or null")

    @property
    def encoding(self) -> Any:
        if "_enc" not in self.__dict__:
            self._enc = load_encoding(self.args["tik_enc"])
        return self._enc

    def count(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text or ""))

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample | None:
        needles = self.args["needle_count"]
        if needles is not None and record.get("n_needles") not in needles:
            return None
        try:
            messages = json.loads(record["prompt"]) if isinstance(record["prompt"], str) else record["prompt"]
        except json.JSONDecodeError as exc:
            raise ValueError(f"prompt is not a JSON list of messages ({exc.msg})") from None
        if not isinstance(messages, list):
            raise ValueError("prompt is not a JSON list of messages")
        msgs = [Message(role=m["role"], content=m["content"]) for m in messages
                if isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
                and m.get("content") is not None]
        # tiktoken's batch encoder counts the messages on several threads (contexts reach 1M tokens)
        input_tokens = sum(len(t) for t in self.encoding.encode_ordinary_batch([str(m.content) for m in msgs]))
        lo, hi = self.args["min_context_size"], self.args["max_context_size"]
        if (hi is not None and input_tokens > hi) or (lo is not None and input_tokens <= lo):
            return None
        total = input_tokens + self.count(str(record["answer"]))
        return Sample(id=str(record.get("id", index)), messages=msgs, target=str(record["answer"]), subset=subset,
                      metadata={"random_string_to_prepend": record.get("random_string_to_prepend"),
                                "n_needles": record.get("n_needles"), "desired_msg_index": record.get("desired_msg_index"),
                                "total_messages": record.get("total_messages"), "n_chars": record.get("n_chars"),
                                "input_tokens": input_tokens, "bin_index": mrcr_bin(total)})

    def extract(self, text: str, sample: Sample) -> Any:
        if "</think>" in (text or ""):  # a reasoning block left in the content
            text = text.rsplit("</think>", 1)[-1]
        return (text or "").lstrip(self.args["prefix_filter"])

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        reply = self.extract(output.text, sample)
        ratio = mrcr_grade(reply, str(sample.target), sample.metadata.get("random_string_to_prepend"))
        return make_review(sample, output, ctx, extracted=reply, extraction_rule="none" if not reply else "reply",
                           scores={"mrcr_score": ratio},
                           metadata={"bin_index": sample.metadata["bin_index"], "n_needles": sample.metadata["n_needles"]})

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        names = {i: f"{lo}-{hi}" for i, (lo, hi) in enumerate(MRCR_BINS)}
        subsets += _rows_by(reviews, lambda r: r.metadata.get("bin_index"), tuple(range(len(MRCR_BINS))), seed, names)
        subsets += _rows_by(reviews, lambda r: r.metadata.get("n_needles"), (2, 4, 8), seed,
                            {n: f"{n}needle" for n in (2, 4, 8)})
        return overall, subsets


# -- equivalence judge of FRAMES and DocMath ------------------------------------------------------

ORM_SYSTEM_PROMPT = (
    "You are an expert in verifying if two answers are the same.\n"
    "Your input is a problem and two answers, Answer 1 and Answer 2. You need to check if they are equivalent.\n"
    "Your task is to determine if two answers are equivalent, without attempting to solve the original problem.\n"
    "Compare the answers to verify they represent identical values or meaning, even when written in different "
    "forms or notations.\n\n"
    "Your output must follow the following format:\n"
    "1) Provide an explanation for why the answers are equivalent or not.\n"
    "2) Then provide your final answer in the form of: [[YES]] or [[NO]]\n"
)
ORM_USER_TEMPLATE = "\nProblem: {problem}\nAnswer 1: {answer_1}\nAnswer 2: {answer_2}\n"


async def ask_judge(judge: Any, messages: list[dict[str, Any]], parse: Any, scores: dict[str, float]) -> Any:
    """``judge.ask`` with a parser that names a label of ``scores`` (None: unparsable)."""
    def read(reply: str) -> tuple[str, float] | None:
        label = parse(reply or "")
        return (label, scores[label]) if label in scores else None

    return await judge.ask(messages, read)


def parse_yes_no(reply: str) -> str | None:
    """The last ``[[YES]]`` / ``[[NO]]`` of a judge reply (None when it has neither)."""
    found = re.findall(r"\[\[\s*(YES|NO)\s*\]\]", reply or "", flags=re.I)
    return found[-1].upper() if found else None


async def rule_or_judge(sample: Sample, output: ModelOutput, ctx: RunContext, *, extracted: Any, rule_score: float,
                        question: str, rule: str | None) -> Review:
    """The rule's score, or the equivalence judge's per the judge strategy (EvalScope's ORM prompt)."""
    judge = ctx.judge if ctx is not None else None
    strategy = getattr(judge, "strategy", "rule") if judge is not None else "rule"
    if judge is None or strategy == "rule" or (strategy == "llm_when_rule_fails" and rule_score > 0):
        return make_review(sample, output, ctx, extracted=extracted, extraction_rule=rule,
                           scores={"acc": float(rule_score)}, metadata={"scored_by": "rule"})
    prompt = ORM_USER_TEMPLATE.format(problem=question, answer_1=sample.target, answer_2=extracted or "")
    verdict = await ask_judge(judge, [{"role": "system", "content": ORM_SYSTEM_PROMPT}, {"role": "user", "content": prompt}],
                              parse_yes_no, {"YES": 1.0, "NO": 0.0})
    meta = {"scored_by": "llm", "rule_score": float(rule_score), "judge_label": verdict.label,
            "judge_explanation": verdict.explanation[:2000]}
    if verdict.score is None:
        return failed_review(sample, output, ctx, verdict.error or "JudgeUnparsable", extracted=extracted,
                             extraction_rule=rule, metadata=meta)
    return make_review(sample, output, ctx, extracted=extracted, extraction_rule=rule,
                       scores={"acc": verdict.score}, metadata=meta)


ANSWER_IS_TEMPLATE = (
    "Please read the following text and answer the question below.\n\n<text>\n{context}\n</text>\n\n{question}\n\n"
    "Format your response as follows: \"Therefore, the answer is (insert answer here)\"."
)


# -- FRAMES --------------------------------------------------------------------------------------

def normalize_answer(s: str) -> str:
    """SQuAD-style normalisation: lower case, no punctuation, no articles, single spaces."""
    s = "".join(ch for ch in str(s).lower() if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def frames_extract(text: str) -> str:
    """EvalScope's FRAMES extraction: the text after the last 'the answer is' (case-sensitive), '*' removed."""
    response = answer_region(text).replace("*", "")
    if "the answer is" not in response:
        return ""
    return response.rsplit("the answer is", 1)[-1].strip().strip(".").strip()


class Frames(Benchmark):
    name = "frames"
    version = "1"
    description = (
        "FRAMES (Krishna et al., 2024): 824 multi-hop questions with the Wikipedia articles they need (2-15 "
        "per question) given as context. Prompt as EvalScope's frames adapter (the articles in <text>, "
        "'Therefore, the answer is …'); the text after the last 'the answer is' is extracted and compared by "
        "normalised exact match (acc). With --judge-args the answer is graded by EvalScope's equivalence "
        "prompt ([[YES]]/[[NO]]), per the judge strategy (strategy 'llm' = EvalScope's judged score). "
        "Data with the article texts: ModelScope iic/frames (test.jsonl); the Hugging Face copy "
        "(google/frames-benchmark) has links only, so online use --dataset-hub modelscope. The judge is "
        "shown the question without the articles."
    )
    tags = ["long-context", "reasoning", "rag"]
    hf_id = None
    ms_id = "iic/frames"
    eval_split = "test"
    num_samples = 824
    prompt_template = ANSWER_IS_TEMPLATE
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 2048}

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        if self.local_root() is None and self.hub != "modelscope" and not self.args.get("dataset_id"):
            raise ConfigError("frames' data with the Wikipedia texts is on ModelScope (iic/frames): use "
                              "--dataset-hub modelscope, or --dataset-dir with frames/test.jsonl")
        return super().load_rows(split, subset)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        items = record["wiki_items"]
        if isinstance(items, str):
            items = json.loads(items)
        context = "\n".join(f"{i['title']}\n{i['text']}" for i in items)
        rid = record.get("Unnamed: 0", index)
        return Sample(id=str(rid), input=str(record["Prompt"]), target=str(record["Answer"]), subset=subset,
                      metadata={"context": context, "reasoning_types": record.get("reasoning_types", "")})

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        return self.prompt_template.format(context=sample.metadata["context"], question=sample.input)

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        ans = frames_extract(output.text)
        acc = float(normalize_answer(ans) == normalize_answer(sample.target))
        return await rule_or_judge(sample, output, ctx, extracted=ans, rule_score=acc, question=sample.input or "",
                                   rule="answer_is" if ans else "none")


# -- DocMath-Eval --------------------------------------------------------------------------------

def docmath_extract(response: str) -> str:
    """DocMath-Eval's answer reader: the number after 'the answer is', else the whole reply."""
    response = answer_region(response).replace("*", "").replace("(", "").replace(")", "")
    m = re.search(r"the answer is (\=?\≈?\`?\%?\$?\°?\£?\€?\¥?-?[0-9\.,]+)", response, re.IGNORECASE)
    if m:
        return m.group(1).replace(",", "").rstrip(".")
    return response


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_MATH_FUNCS = {"pow", "sqrt", "exp", "log", "log10", "log2", "ceil", "floor", "fabs"}


def safe_eval(expr: str) -> Any:
    """Python's ``eval`` of DocMath's normaliser, restricted to literals, arithmetic and ``math`` functions.

    Anything else (names, attributes, other calls) raises ``ValueError``, as ``eval`` would raise a
    ``NameError`` for a word; no code runs."""
    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex, str, bool)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else (+v if isinstance(node.op, ast.UAdd) else not v)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 1000:
                raise ValueError("exponent too large")
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = [ev(e) for e in node.elts]
            return tuple(items) if isinstance(node, ast.Tuple) else (set(items) if isinstance(node, ast.Set) else items)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "math" \
                and node.func.attr in _MATH_FUNCS:
            return getattr(math, node.func.attr)(*[ev(a) for a in node.args])
        raise ValueError(f"not a literal expression: {type(node).__name__}")

    return ev(ast.parse(expr, mode="eval"))


def docmath_normalize(prediction: str) -> Any:
    """DocMath-Eval's ``normalize``: units, symbols and words stripped, then the expression evaluated."""
    prediction = prediction.strip().rstrip(".")
    for money in ["£", "€", "¥", "million", "billion", "thousand", "US", "USD", "RMB"]:
        prediction = prediction.replace(money, "")
    if "=" in prediction:
        prediction = prediction.split("=")[-1].strip()
    if "≈" in prediction:
        prediction = prediction.split("≈")[-1].strip()
    for ch in ("`", "%", "$", "°"):
        prediction = prediction.replace(ch, "")
    if prediction in ["true", "yes", "false", "no"]:
        prediction = "True" if prediction in ("true", "yes") else "False"
    if "True" in prediction or "False" in prediction:
        prediction = "True" if "True" in prediction else "False"
    if "approximately" in prediction:
        prediction = prediction.replace("approximately", "").strip()
    if " or " in prediction:
        prediction = prediction.split(" or ")[0]
    if re.match(r"[-+]?(?:[\d,]*\.*\d+) [^0-9 ]+$", prediction):
        prediction = re.search(r"([-+]?(?:[\d,]*\.*\d+)) [^0-9 ]+$", prediction).group(1)
    if re.match(r"[^0-9 ]+ [-+]?(?:[\d,]*\.*\d+)$", prediction):
        prediction = re.search(r"[^0-9 ]+ ([-+]?(?:[\d,]*\.*\d+))$", prediction).group(1)
    if re.match(r"[-+]?(?:[\d,]*\.*\d+)[^\d]{1,2}$", prediction):
        prediction = re.search(r"([-+]?(?:[\d,]*\.*\d+))[^\d]{1,2}$", prediction).group(1)
    if re.match(r"[^-+\d]{1,2}(?:[\d,]*\.*\d+)$", prediction):
        prediction = re.search(r"[^-+\d]{1,2}((?:[\d,]*\.*\d+))$", prediction).group(1)
    if "10^" in prediction:
        prediction = re.sub(r"10\^(-?\d+)", r"math.pow(10, \1)", prediction)
    if " x " in prediction:
        prediction = prediction.replace(" x ", "*")
    if " × " in prediction:
        prediction = prediction.replace(" × ", "*")
    if re.match(r"^[-+]?(\d{1,3}(,\d{3})*|(\d+))(\.\d+)?$", prediction):
        prediction = prediction.replace(",", "")
    if any(o in prediction for o in ("(a)", "(b)", "(c)", "(d)")):
        prediction = '"' + re.search(r"\([a-d]\)", prediction).group(0) + '"'
    if not prediction:
        prediction = "0"
    try:
        value = safe_eval(prediction)
    except Exception:  # noqa: BLE001 - as the reference: anything that does not evaluate is 0
        value = 0
    if isinstance(value, (set, tuple)):
        value = list(value)
        if value and isinstance(value[0], complex):
            value = [v.real for v in value]
    elif isinstance(value, complex):
        value = value.real
    return value


def _round_up(number: float, decimals: int) -> float:
    factor = 10 ** decimals
    return math.ceil(number * factor) / factor


def _within_eps(pred: float, gt: float) -> bool:
    eps = abs(gt) * 0.0015
    return gt - eps <= pred <= gt + eps


def compare_two_numbers(p: Any, gt: float) -> bool:
    """DocMath-Eval's numeric match: powers of ten (percent/units) allowed, 0.15 % relative tolerance."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        return False
    v1, v2 = max(abs(gt), abs(p)), min(abs(gt), abs(p))
    if (v1 != 0 and v2 != 0) and int(math.log10(v1 / v2)) == math.log10(v1 / v2):
        return True
    if v2 <= v1 / 50 and _within_eps(v2 * 100, v1):
        return True
    if v2 <= v1 / 500 and _within_eps(v2 * 1000, v1):
        return True
    if v2 <= v1 / 50000 and _within_eps(v2 * 100000, v1):
        return True
    if _round_up(v1, 2) == _round_up(v2, 2):
        return True
    return _within_eps(p, gt)


def docmath_acc(prediction: str, gt: Any, answer_type: str) -> int:
    """DocMath-Eval's ``get_acc`` (chain-of-thought form); any failure scores 0."""
    try:
        value = docmath_normalize(prediction)
        if answer_type == "bool":
            return int(value == bool(gt))
        if answer_type == "int":
            return int(compare_two_numbers(value, int(gt)))
        if answer_type in ("float", "float64"):
            return int(compare_two_numbers(value, float(gt)))
        return 0
    except Exception:  # noqa: BLE001 - as the reference
        return 0


DOCMATH_SUBSETS = ["complong_testmini", "compshort_testmini", "simplong_testmini", "simpshort_testmini"]


class DocMath(Benchmark):
    name = "docmath"
    version = "1"
    description = (
        "DocMath-Eval (Zhao et al., 2024): numerical reasoning over long financial documents with tables; "
        "subsets complong/compshort/simplong/simpshort (testmini splits), as EvalScope's docmath adapter "
        "(the Hugging Face copy is gated: accept its conditions and log in). "
        "Prompt: the paragraphs in <text>, 'Therefore, the answer is …'; answer read and compared with "
        "DocMath-Eval's official normaliser and tolerance (0.15 %, percent/unit scale allowed); acc. With "
        "--judge-args EvalScope's equivalence prompt grades the extracted answer per the judge strategy. "
        "Deviations: the normaliser's Python eval is a restricted arithmetic evaluator (no code runs; same "
        "values for numbers and arithmetic); boolean answers compare with the real boolean (EvalScope with the "
        "string, always truthy); the judge is shown the question (EvalScope passes an empty one)."
    )
    tags = ["long-context", "math", "reasoning"]
    hf_id = "yale-nlp/DocMath-Eval"
    ms_id = "yale-nlp/DocMath-Eval"
    subsets = DOCMATH_SUBSETS
    eval_split = "test"
    num_samples = 800
    prompt_template = ANSWER_IS_TEMPLATE
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 2048}

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        """Each subset is a split of its own (``<subset>.jsonl`` locally), as EvalScope's split_as_subset."""
        root = self.local_root()
        if root is not None:
            return self.load_local(root, subset, None)
        from evs_core.data import load_hub

        dataset_id = self.args.get("dataset_id") or (self.ms_id if self.hub == "modelscope" else self.hf_id)
        return load_hub(dataset_id, None, subset, self.hub)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        gt = record["ground_truth"]
        paragraphs = record["paragraphs"]
        if isinstance(paragraphs, str):
            paragraphs = [paragraphs]
        context = "\n".join(str(p) for p in paragraphs)
        return Sample(id=str(record.get("question_id") or f"{subset}_{index}"),
                      input=ANSWER_IS_TEMPLATE.format(context=context, question=record["question"]), target=str(gt),
                      subset=subset, metadata={"question": record["question"], "answer_type": type(gt).__name__})

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        ans = docmath_extract(output.text)
        acc = docmath_acc(ans, sample.target if sample.metadata["answer_type"] != "bool" else sample.target == "True",
                          sample.metadata["answer_type"])
        rule = "answer_is" if re.search(r"the answer is", answer_region(output.text), re.I) else "whole_reply"
        if not answer_region(output.text):
            rule = "none"
        return await rule_or_judge(sample, output, ctx, extracted=ans, rule_score=float(acc),
                                   question=sample.metadata["question"], rule=rule)


# -- AA-LCR --------------------------------------------------------------------------------------

AA_LCR_PROMPT = (
    "\nBEGIN INPUT DOCUMENTS\n\n{documents_text}\n\nEND INPUT DOCUMENTS\n\n"
    "Answer the following question using the input documents provided above.\n\n"
    "START QUESTION\n\n{question}\n\nEND QUESTION\n"
)
AA_LCR_JUDGE = (
    "Assess whether the following CANDIDATE ANSWER is CORRECT or INCORRECT. For the CANDIDATE ANSWER to be "
    "correct, it must be consistent with the OFFICIAL ANSWER.\n\n"
    "The question, for reference only: {question}\nThe OFFICIAL ANSWER: {correct_answer}\n"
    "CANDIDATE ANSWER TO ASSESS: {response}\n\nReply only with CORRECT or INCORRECT."
)
AA_LCR_ZIP = "extracted_text/AA-LCR_extracted-text.zip"


def parse_correct(reply: str) -> str | None:
    """CORRECT or INCORRECT: the reply is that word, or only one of the two appears in it."""
    clean = re.sub(r"[^A-Z_ ]", "", (reply or "").upper()).strip()
    if clean in ("CORRECT", "INCORRECT"):
        return clean
    found = set(re.findall(r"(?<![A-Z])(CORRECT|INCORRECT)(?![A-Z])", (reply or "").upper()))
    return found.pop() if len(found) == 1 else None


class AALCR(Benchmark):
    name = "aa_lcr"
    version = "1"
    description = (
        "AA-LCR (Artificial Analysis Long Context Reasoning, 2025): 100 questions over sets of real documents "
        "(~100k tokens each) needing reasoning across them. Prompt, documents and judge as EvalScope's aa_lcr "
        "adapter: the documents as 'BEGIN DOCUMENT i … END DOCUMENT i' blocks, then the question; an LLM judge "
        "(required) answers CORRECT/INCORRECT with the official grading prompt; acc. Document texts: "
        "extra_params.text_dir, else <dataset-dir>/aa_lcr/lcr, else the dataset's extracted-text zip from the "
        "hub. Deviations: the documents of a set are read in file-name order (EvalScope: directory order); a "
        "missing document folder stops the run (EvalScope sends an empty context)."
    )
    tags = ["long-context", "reasoning", "llm-judge"]
    hf_id = "ArtificialAnalysis/AA-LCR"
    ms_id = "evalscope/AA-LCR"
    eval_split = "test"
    num_samples = 100
    requires_judge = True
    metrics = ["acc"]
    extra_args: ClassVar[dict[str, Any]] = {"text_dir": None}
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 4096}

    def text_dir(self) -> Path:
        if "_text_dir" in self.__dict__:
            return self._text_dir
        given = self.args.get("text_dir")
        if given:
            path = Path(given).expanduser()
            if not path.is_dir():
                raise ConfigError(f"dataset_args.aa_lcr.extra_params.text_dir is not a folder: {path}")
        else:
            root = self.local_root()
            if root is not None:
                path = (root if root.is_dir() else root.parent) / "lcr"
                if not path.is_dir():
                    raise ConfigError(f"aa_lcr: no document texts at {path} (unzip AA-LCR_extracted-text.zip there, "
                                      "or give extra_params.text_dir)")
            else:
                path = self._download_texts()
        self._text_dir = path
        return path

    def _download_texts(self) -> Path:
        """The dataset's extracted-text zip from the hub, unpacked once into the evs cache."""
        import zipfile

        from evs_core import cache_dir

        target = cache_dir() / "aa_lcr"
        if (target / "lcr").is_dir():
            return target / "lcr"
        if self.hub == "modelscope":
            ms = require("modelscope", "downloading AA-LCR's documents from ModelScope", "modelscope")
            archive = Path(ms.dataset_snapshot_download(self.ms_id, allow_file_pattern=AA_LCR_ZIP)) / AA_LCR_ZIP
        else:
            hf = require("huggingface_hub", "downloading AA-LCR's documents from the Hugging Face Hub", "datasets")
            archive = Path(hf.hf_hub_download(self.hf_id, AA_LCR_ZIP, repo_type="dataset"))
        part = target.with_name("aa_lcr.part")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(part)
        if not (part / "lcr").is_dir():
            raise ConfigError(f"aa_lcr: {archive.name} holds no 'lcr' folder; unpack the documents yourself and "
                              "give extra_params.text_dir")
        part.replace(target)
        return target / "lcr"

    def documents(self, record: dict[str, Any]) -> str:
        folder = self.text_dir() / str(record["document_category"]) / str(record["document_set_id"])
        if not folder.is_dir():
            raise ConfigError(f"aa_lcr: no documents for question {record.get('question_id', '?')}: {folder} "
                              "does not exist")
        blocks = [p.read_text(encoding="utf-8").strip() for p in sorted(folder.iterdir()) if p.is_file()]
        blocks = [b for b in blocks if b]
        return "\n\n".join(f"BEGIN DOCUMENT {i + 1}:\n{d}\nEND DOCUMENT {i + 1}" for i, d in enumerate(blocks))

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        prompt = AA_LCR_PROMPT.format(documents_text=self.documents(record), question=record["question"])
        return Sample(id=str(record.get("question_id") or index), input=prompt, target=str(record["answer"]),
                      subset=subset, metadata={"question": record["question"],
                                               "document_category": record["document_category"],
                                               "input_tokens": record.get("input_tokens", 0)})

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        judge = ctx.judge if ctx is not None else None
        if judge is None:
            raise ConfigError("aa_lcr is graded by an LLM judge: give --judge-args '{\"model\": …, \"api_url\": …}'")
        answer = answer_region(output.text)
        prompt = AA_LCR_JUDGE.format(question=sample.metadata["question"], correct_answer=sample.target,
                                     response=answer)
        verdict = await ask_judge(judge, [{"role": "user", "content": prompt}], parse_correct,
                                  {"CORRECT": 1.0, "INCORRECT": 0.0})
        meta = {"judge_label": verdict.label, "judge_explanation": verdict.explanation[:2000],
                "document_category": sample.metadata["document_category"]}
        if verdict.score is None:
            return failed_review(sample, output, ctx, verdict.error or "JudgeUnparsable", metadata=meta)
        return make_review(sample, output, ctx, extracted=verdict.label, extraction_rule="judge" if answer else "none",
                           scores={"acc": verdict.score}, metadata=meta)

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        return overall, subsets + _rows_by(reviews, lambda r: r.metadata.get("document_category"), None, seed)





# -- LongBench-Write -----------------------------------------------------------------------------

LONGWRITER_URL = "https://raw.githubusercontent.com/THUDM/LongWriter/main/evaluation/longbench_write.jsonl"
QUALITY_DIMS = ["Relevance", "Accuracy", "Coherence", "Clarity", "Breadth and Depth", "Reading Experience"]
#: The required-length ranges LongWriter's paper reports S_l and S_q for.
LENGTH_RANGES = [(0, 500, "[0,500)"), (500, 2000, "[500,2k)"), (2000, 4000, "[2k,4k)"), (4000, 10 ** 9, "[4k,20k)")]

QUALITY_TEMPLATE = """You are an expert in evaluating text quality. Please evaluate the quality of an AI assistant's response to a user's writing request. Be as strict as possible.

You need to evaluate across the following six dimensions, with scores ranging from 1 to 5. The scoring criteria from 5 to 1 for each dimension are as follows:

1. Relevance: From content highly relevant and fully applicable to the user's request to completely irrelevant or inapplicable.

2. Accuracy: From content completely accurate with no factual errors or misleading information to content with numerous errors and highly misleading.

3. Coherence: From clear structure with smooth logical connections to disorganized structure with no coherence.

4. Clarity: From clear language, rich in detail, and easy to understand to confusing expression with minimal details.

5. Breadth and Depth: From both broad and deep content with a lot of information to seriously lacking breadth and depth with minimal information.

6. Reading Experience: From excellent reading experience, engaging and easy to understand content to very poor reading experience, boring and hard to understand content.

Please evaluate the quality of the following response to a user's request according to the above requirements.

<User Request>

$INST$

</User Request>

<Response>

$RESPONSE$

</Response>

Please evaluate the quality of the response. You must first provide a brief analysis of its quality, then give a comprehensive analysis with scores for each dimension. The output must strictly follow the JSON format: {"Analysis": ..., "Relevance": ..., "Accuracy": ..., "Coherence": ..., "Clarity": ..., "Breadth and Depth": ..., "Reading Experience": ...}. You do not need to consider whether the response meets the user's length requirements in your evaluation. Ensure that only one integer between 1 and 5 is output for each dimension score."""  # noqa: E501


def count_words(text: str) -> int:
    """LongWriter's length: Chinese characters plus English words."""
    return len(re.findall(r"[\u4e00-\u9fff]", text)) + len(re.findall(r"\b[a-zA-Z]+\b", text))


def length_score(required: float, produced: float) -> float:
    """LongWriter's S_l of one response, on 0..1 (the paper's 0..100 divided by 100)."""
    x, y = float(required), float(produced)
    if y > x:
        return max(0.0, 1.0 - (y / x - 1) / 3)
    if y <= 0:
        return 0.0
    return max(0.0, 1.0 - (x / y - 1) / 2)


def parse_quality(reply: str) -> dict[str, float] | None:
    """The six dimension scores of a quality-judge reply (LongWriter's parser), or None."""
    try:
        text = reply
        if "```json" in text:
            m = re.search(r"```json\n(.*?)\n```", text, re.DOTALL)
            text = m.group(1) if m else ""
        scores = json.loads(text.replace("\n", ""))
        if not isinstance(scores, dict) or any(d not in scores for d in QUALITY_DIMS):
            return None
        return {d: float(scores[d]) for d in QUALITY_DIMS}
    except (ValueError, TypeError, AttributeError):
        return None


class LongBenchWrite(Benchmark):
    name = "longbench_write"
    version = "1"
    description = (
        "LongBench-Write (LongWriter, Bai et al., 2024): 120 writing requests (Chinese and English) asking for "
        "100 to 20,000 words. The request is sent as is. Scoring as LongWriter's official scripts (EvalScope's "
        "longbench_write): length = Chinese characters + English words; s_l = 1 - (y/x - 1)/3 when longer, "
        "1 - (x/y - 1)/2 when shorter, floored at 0 (the paper's S_l / 100); with --judge-args, s_q = (mean of "
        "the six 1-5 quality scores of the official judge prompt - 1) / 4 and s = (s_l + s_q) / 2, as the "
        "paper's S. Rows per required-length range ([0,500) … [4k,20k)). The judge is asked up to 5 times for "
        "parsable scores, as the official script; a sample still unparsed is left out of s_q and counted "
        "(EvalScope scores it 3). Data: the file of the LongWriter repository (no dataset hub copy): "
        "downloaded to the evs cache online, or <dataset-dir>/longbench_write/test.jsonl."
    )
    tags = ["long-context", "instruction-following", "long-writing", "llm-judge"]
    hf_id = None
    ms_id = None
    eval_split = "test"
    num_samples = 120
    metrics = ["s_l", "s_q", "s"]
    primary_metric = "s_l"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 32768, "temperature": 0.5}
    extra_args: ClassVar[dict[str, Any]] = {"judge_tries": 5}

    def _check_args(self) -> None:
        super()._check_args()
        n = self.args["judge_tries"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"dataset_args.{self.name}.judge_tries must be a positive integer, not {n!r}")

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        if self.local_root() is not None:
            return super().load_rows(split, subset)
        from evs_core import cache_dir
        from evs_core.data import read_jsonl

        path = cache_dir() / "longbench_write" / "longbench_write.jsonl"
        if not path.exists():
            import urllib.request

            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with urllib.request.urlopen(LONGWRITER_URL, timeout=60) as resp:  # noqa: S310 - a fixed https URL
                    data = resp.read()
            except OSError as exc:
                raise ConfigError(f"longbench_write: cannot download its prompts ({exc}); save LongWriter's "
                                  "evaluation/longbench_write.jsonl as <dataset-dir>/longbench_write/test.jsonl") from None
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return read_jsonl(path)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        length = record["length"]
        if isinstance(length, bool) or not isinstance(length, (int, float)) or length <= 0:
            raise ValueError(f"length {length!r} is not a positive number of words")
        return Sample(id=str(record.get("id", index)), input=str(record["prompt"]), target=str(length), subset=subset,
                      metadata={"length": length, "type": record.get("type", "")})

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        response = answer_region(output.text)
        produced = count_words(response)
        required = sample.metadata["length"]
        scores = {"s_l": length_score(required, produced)}
        meta: dict[str, Any] = {"length": required, "response_length": produced, "type": sample.metadata["type"]}
        judge = ctx.judge if ctx is not None else None
        if judge is not None:
            prompt = QUALITY_TEMPLATE.replace("$INST$", sample.input or "").replace("$RESPONSE$", response)
            holder: dict[str, dict[str, float]] = {}

            def parse(reply: str) -> str | None:
                found = parse_quality(reply)
                if found is None:
                    return None
                holder["scores"] = found
                return "scored"

            verdict = None
            for _ in range(self.args["judge_tries"]):
                verdict = await ask_judge(judge, [{"role": "user", "content": prompt}], parse, {"scored": 1.0})
                if verdict.score is not None:
                    break
            if verdict is not None and verdict.score is not None:
                dims = holder["scores"]
                scores["s_q"] = (sum(dims.values()) / len(dims) - 1) / 4
                scores["s"] = (scores["s_l"] + scores["s_q"]) / 2
                meta["quality"] = dims
            else:
                meta["quality_error"] = (verdict.error if verdict is not None else None) or "JudgeUnparsable"
        return make_review(sample, output, ctx, extracted=produced, extraction_rule="none" if not response else "words",
                           scores=scores, metadata=meta)

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)

        def band(r: Review) -> str | None:
            n = r.metadata.get("length")
            return next((name for lo, hi, name in LENGTH_RANGES if n is not None and lo <= n < hi), None)

        subsets = subsets + _rows_by(reviews, band, tuple(n for _, _, n in LENGTH_RANGES), seed)
        for metrics in [overall] + [sub.metrics for sub in subsets]:
            if "s_l" in metrics and "s_q" in metrics:  # the paper's S: the mean of the two averages
                metrics["s"] = Stat(score=(metrics["s_l"].score + metrics["s_q"].score) / 2, num=metrics["s_q"].num)
        for sub in subsets:
            sub.score = sub.metrics["s_l"].score if "s_l" in sub.metrics else sub.score
        return overall, subsets
