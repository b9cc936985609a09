"""Judge-graded question answering: Chinese SimpleQA and Humanity's Last Exam (text subset).

Both send the question as the reference does and let the run's LLM judge (``--judge-args``) decide
whether the reply is right, through :meth:`evs_core.judge.Judge.ask` with the reference's judge
prompt and a parser of its reply. A judge reply that cannot be read is an error
(``JudgeUnparsable``), excluded from the scores and counted; it never aborts the run.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT, Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.extract import answer_region
from evs_core.judge import parse_label
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore

from evs_native.benchmarks.simple_qa import derived_metrics


class FieldSubsets(Benchmark):
    """A benchmark stored as one table whose subsets are the values of a field (``subset_field``)."""

    subset_field: ClassVar[str] = ""

    def all_rows(self, split: str) -> list[dict[str, Any]]:
        cache = self.__dict__.setdefault("_all_rows", {})
        if split not in cache:
            root = self.local_root()
            if root is not None:
                rows = self.load_local(root, split, None)
            else:
                rows = super().load_rows(split, DEFAULT)
            cache[split] = [{**r, "_row": i} for i, r in enumerate(rows)]
        return cache[split]

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        rows = self.all_rows(split)
        if subset == DEFAULT:
            return rows
        return [r for r in rows if str(r.get(self.subset_field, "")).strip() == subset]


def _need(name: str, record: dict[str, Any], index: int, *fields: str) -> None:
    for f in fields:
        if f not in record:
            raise ConfigError(f"{name}: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")


# ------------------------------------------------------------------------------------------------
# Chinese SimpleQA

#: The judge's system message of EvalScope's chinese_simpleqa adapter.
CSQA_JUDGE_SYSTEM = "你是一个智能助手，请根据给定问题、标准答案和模型预测的答案来评估模型的回答是否正确。"

#: The grader template of Chinese SimpleQA (EvalScope's adapter; the official OpenStellarTeam prompt).
CSQA_GRADER_TEMPLATE = """
请根据给定问题、标准答案和模型预测的答案来评估模型的回答是否正确。您的任务是将结果评定为：【正确】、【错误】或【未尝试】。

首先，我们将列出每个评定类别的示例，然后请您对新问题的预测答案进行评定。
以下是【正确】的答复示例：
```
问题：贝拉克·奥巴马的孩子叫什么名字？
标准答案：玛丽亚·奥巴马和萨莎·奥巴马
模型预测1：Malia Obama and Sasha Obama
模型预测2：玛丽亚和萨沙
模型预测3：大多数人会说是玛丽亚和萨莎，但我不确定，需要再确认
模型预测4：巴拉克·奥巴马有两个女儿，她们分别是玛丽亚·安和娜塔莎·玛丽安，但通常称作玛丽亚·奥巴马和萨莎·奥巴马。玛丽亚出生于1998年7月4日，萨莎出生于2001年6月10日。
```
这些答复均为【正确】，因为：
    - 完整地包含了标准答案中的重要信息。
    - 不包含任何与标准答案矛盾的信息。
    - 只关注语义内容，中英文，大小写、标点、语法和顺序不重要。
    - 答复中出现模糊语句或猜测是可以接受的，前提是包含了标准答案且不含有不正确信息或矛盾。

以下是【错误】的答复示例：
```
问题：巴拉克·奥巴马的孩子叫什么名字？
标准答案：玛丽亚·奥巴马和萨莎·奥巴马
模型预测1：玛丽亚
模型预测2：玛丽亚、萨莎和苏珊
模型预测3：巴拉克·奥巴马没有孩子
模型预测4：我认为是玛丽亚和萨莎。或者是玛丽亚和杰基。或者是乔伊和玛丽亚。
模型预测5：虽然我不知道他们的确切名字，但能说出巴拉克·奥巴马有三个孩子。
模型预测6：你可能是想说贝茜和奥利维亚。不过您应通过最新的参考资料确认详细信息。那是正确的答案吗？
```
这些答复均为【错误】，因为：
    - 答复中包含与标准答案矛盾的事实陈述。即使在陈述中略带保留（例如："可能是"，"虽然我不确定，但我认为"），也视为错误。

以下是【未尝试】的答复示例：
```
问题：巴拉克·奥巴马的孩子叫什么名字？
标准答案：玛丽亚·奥巴马和萨莎·奥巴马
模型预测1：我不知道。
模型预测2：我需要更多关于您所指奥巴马的上下文。
模型预测3：不查阅网络我无法回答这个问题，不过我知道巴拉克·奥巴马有两个孩子。
模型预测4：巴拉克·奥巴马有两个孩子。我知道其中一个叫玛丽亚，但我不确定另一个的名字。
```
这些答复均为【未尝试】，因为：
    - 没有包含标准答案中的重要信息。
    - 回复中没有与标准答案矛盾的陈述。

另外注意以下几点：
- 对于标准答案为数字的问题，预测答案应和标准答案一致。例如，考虑问题"金山铁路黄浦江特大桥的全长是多少米？"，标准答案为"3518.17"：
    - 预测答案"3518"、"3518.1"、"3518.17"均为【正确】。
    - 预测答案"3520"和"3600"均为【错误】。
    - 预测答案"大约3500米"和"超过3000米"被视为【未尝试】，因为它们既不确认也不与标准答案矛盾。
- 如果标准答案包含比问题更多的信息，预测答案只需包含问题中提到的信息。
    - 例如，考虑问题"菱镁矿的主要化学成分是什么？"标准答案为"碳酸镁（MgCO3）"。"碳酸镁"或"MgCO3"均视为【正确】答案。
- 如果从问题中明显可以推断出预测答案省略的信息，那么算作正确。
    - 例如，问题"巴鲁米尼的努拉吉遗迹在1997年被联合国教科文组织列为世界文化遗产，那么这遗址在哪个地区？"标准答案为"意大利撒丁岛"，预测答案"撒丁岛"被视为【正确】。
- 如果能明显看出名字翻译版本不同但是是同一个人也认为正确。
    - 例如，如果标准答案是"Robinson"，那么回答鲁滨逊或者鲁滨孙均正确。

下面是一个新的问题示例。请只回复A、B、C之一，不要道歉或纠正自己的错误，只需要评估该回答。
```
问题: {question}
正确答案: {target}
预测答案: {predicted_answer}
```

将此新问题的预测答案评定为以下之一：
A:【正确】
B:【错误】
C:【未尝试】
""".strip()  # noqa: E501

CSQA_LABELS: dict[str, tuple[str, float]] = {"A": ("CORRECT", 1.0), "B": ("INCORRECT", 0.0),
                                             "C": ("NOT_ATTEMPTED", 0.0)}
#: The Chinese names of the grades (a judge may answer 【正确】 instead of the letter).
CSQA_NAMES = {"正确": "A", "错误": "B", "未尝试": "C"}
CSQA_SCORES = {"CORRECT": (1.0, 0.0, 0.0), "INCORRECT": (0.0, 1.0, 0.0), "NOT_ATTEMPTED": (0.0, 0.0, 1.0)}
CSQA_SUBSETS = ["中华文化", "人文与社会科学", "工程、技术与应用科学", "生活、艺术与文化", "社会", "自然与自然科学"]


def parse_csqa_grade(text: str) -> tuple[str, float] | None:
    """The grade of a Chinese SimpleQA judge reply: a letter A/B/C (as ``parse_label`` reads it),
    else exactly one of the Chinese grade names. None when absent or ambiguous."""
    body = answer_region(text)
    key = parse_label(body, CSQA_LABELS)
    if key is None:
        # 未尝试 does not contain 正确 or 错误, so the names can be searched independently.
        found = {k for name, k in CSQA_NAMES.items() if name in body}
        if len(found) != 1:
            return None
        key = found.pop()
    return CSQA_LABELS[key]


class ChineseSimpleQA(FieldSubsets):
    name = "chinese_simpleqa"
    num_samples = 3000
    version = "1"
    description = (
        "Chinese SimpleQA (He et al., 2024): 3,000 short factual questions in Chinese, six primary categories "
        "as subsets; scoring as EvalScope's chinese_simpleqa adapter: prompt '请回答问题：\\n\\n{question}', an LLM "
        "judge (required) grades each answer A 正确 / B 错误 / C 未尝试 with the official grader template and "
        "system message. Metrics is_correct, is_incorrect, is_not_attempted (EvalScope's), plus the official "
        "paper's correct_given_attempted and f_score. Deviation: a grade that cannot be read is excluded and "
        "counted (JudgeUnparsable) instead of scored."
    )
    tags = ["knowledge", "qa", "chinese", "llm-judge"]
    hf_id = "OpenStellarTeam/Chinese-SimpleQA"
    ms_id = "AI-ModelScope/Chinese-SimpleQA"
    subsets = CSQA_SUBSETS
    subset_field = "primary_category"
    eval_split = "train"
    metrics = ["is_correct", "is_incorrect", "is_not_attempted", "correct_given_attempted", "f_score"]
    primary_metric = "is_correct"
    requires_judge = True
    prompt_template = "请回答问题：\n\n{question}"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        _need(self.name, record, index, "question", "answer")
        rid = record.get("id", record.get("_row", index))
        return Sample(id=str(rid), input=self.prompt_template.format(question=record["question"]),
                      target=str(record["answer"]), subset=subset,
                      metadata={"question": record["question"],
                                "secondary_category": record.get("secondary_category", "")})

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        judge = ctx.judge if ctx is not None else None
        if judge is None:
            raise ConfigError(f"{self.name} is graded by an LLM judge: give --judge-args '{{\"model\": …, \"api_url\": …}}'")
        prompt = CSQA_GRADER_TEMPLATE.format(question=sample.metadata["question"], target=sample.target,
                                             predicted_answer=answer_region(output.text))
        verdict = await judge.ask([{"role": "system", "content": CSQA_JUDGE_SYSTEM},
                                   {"role": "user", "content": prompt}], parse_csqa_grade)
        meta = {"judge_label": verdict.label, "judge_explanation": verdict.explanation[:2000]}
        if verdict.score is None:
            return failed_review(sample, output, ctx, verdict.error or "JudgeUnparsable", metadata=meta)
        c, i, n = CSQA_SCORES[verdict.label]
        rule = "judge" if answer_region(output.text) else "none"
        return make_review(sample, output, ctx, extracted=verdict.label, extraction_rule=rule,
                           scores={"is_correct": c, "is_incorrect": i, "is_not_attempted": n}, metadata=meta)

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        for metrics in [overall, *(s.metrics for s in subsets)]:
            if "is_correct" in metrics:
                c, i = metrics["is_correct"], metrics.get("is_incorrect")
                given, f = derived_metrics(c.score, i.score if i else 0.0)
                metrics["correct_given_attempted"] = Stat(score=given, num=c.num)
                metrics["f_score"] = Stat(score=f, num=c.num)
        return overall, subsets


# ------------------------------------------------------------------------------------------------
# Humanity's Last Exam

HLE_SUBSETS = ["Biology/Medicine", "Chemistry", "Computer Science/AI", "Engineering", "Humanities/Social Science",
               "Math", "Physics", "Other"]

#: The system prompts of the official hle_eval/run_model_predictions.py.
HLE_SYSTEM_EXACT = ("Your response should be in the following format:\nExplanation: {your explanation for your final "
                    "answer}\nExact Answer: {your succinct, final answer}\nConfidence: {your confidence score between "
                    "0% and 100% for your answer}")
HLE_SYSTEM_MC = ("Your response should be in the following format:\nExplanation: {your explanation for your answer "
                 "choice}\nAnswer: {your chosen answer}\nConfidence: {your confidence score between 0% and 100% for "
                 "your answer}")

#: The judge prompt of the official hle_eval/run_judge_results.py.
HLE_JUDGE_PROMPT = r"""Judge whether the following [response] to [question] is correct or not based on the precise and unambiguous [correct_answer] below.

[question]: {question}

[response]: {response}

Your judgement must be in the format and criteria specified below:

extracted_final_answer: The final exact answer extracted from the [response]. Put the extracted answer as 'None' if there is no exact, final answer to extract from the response.

[correct_answer]: {correct_answer}

reasoning: Explain why the extracted_final_answer is correct or incorrect based on [correct_answer], focusing only on if there are meaningful differences between [correct_answer] and the extracted_final_answer. Do not comment on any background to the problem, do not attempt to solve the problem, do not argue for any answer different than [correct_answer], focus only on whether the answers match.

correct: Answer 'yes' if extracted_final_answer matches the [correct_answer] given above, or is within a small margin of error for numerical problems. Answer 'no' otherwise, i.e. if there if there is any inconsistency, ambiguity, non-equivalency, or if the extracted answer is incorrect.


confidence: The extracted confidence score between 0|\%| and 100|\%| from [response]. Put 100 if there is no confidence score available."""  # noqa: E501

_FIELD = r"(?im)^[\s>*_#-]*{name}[\s*_]*[:：][\s*_]*(.+?)\s*$"


def parse_hle_judgement(text: str) -> dict[str, Any] | None:
    """The official judge's fields (extracted_final_answer, correct, confidence) from its reply.

    The official script asks for a structured output (a JSON object of those fields); a judge
    served without structured outputs writes them as ``field: value`` lines. Both are read.
    ``correct`` must be yes or no; ``confidence`` defaults to 100 as the prompt says.
    None when there is no readable ``correct``."""
    body = answer_region(text)
    data: dict[str, Any] | None = None
    m = re.search(r"\{.*\}", body, flags=re.S)
    if m:
        try:
            obj = json.loads(m.group(0))
            if isinstance(obj, dict) and "correct" in obj:
                data = obj
        except json.JSONDecodeError:
            data = None
    if data is None:
        data = {}
        for name in ("extracted_final_answer", "correct", "confidence"):
            found = re.findall(_FIELD.format(name=name), body)
            if found:
                data[name] = found[-1]
    correct = str(data.get("correct", "")).strip().strip("*'\"`.").lower()
    if correct not in ("yes", "no"):
        return None
    conf = data.get("confidence", 100)
    cm = re.search(r"\d+(?:\.\d+)?", str(conf))
    confidence = min(100.0, float(cm.group(0))) if cm else 100.0
    return {"correct": correct, "confidence": confidence,
            "extracted_final_answer": str(data.get("extracted_final_answer", "")).strip()}


def calibration_error(confidence: list[float], correct: list[float], beta: int = 100) -> float | None:
    """The official RMS calibration error (hle_eval's ``calib_err``, p=2, target bin size ``beta``).

    Confidences (0..1) are sorted and cut into bins of ``beta`` (the last bin takes the rest); as in
    the official code the last bin is left out of the sum. None with fewer than ``beta`` values
    (the official code has no bin then)."""
    n = len(confidence)
    if n < beta or n == 0:
        return None
    order = sorted(range(n), key=lambda i: confidence[i])  # numpy's argsort: ties stay in order
    conf = [confidence[i] for i in order]
    corr = [correct[i] for i in order]
    bins = [[i * beta, (i + 1) * beta] for i in range(n // beta)]
    bins[-1] = [bins[-1][0], n]
    total = 0.0
    for lo, hi in bins[:-1]:
        k = hi - lo
        diff = abs(sum(conf[lo:hi]) / k - sum(corr[lo:hi]) / k)
        total += k / n * diff * diff
    return math.sqrt(total)


class HLE(FieldSubsets):
    name = "hle"
    num_samples = 2158
    version = "1"
    description = (
        "Humanity's Last Exam (Phan et al., 2025), text-only subset (questions without an image): expert-level "
        "questions, eight categories as subsets. Prompt and judge as the official hle_eval scripts: the system "
        "prompt asks for Explanation / Exact Answer (or Answer) / Confidence; an LLM judge (required) reads the "
        "official judge prompt and answers extracted_final_answer, reasoning, correct (yes/no), confidence. "
        "Metrics: acc (share judged correct) and calibration_error (the official RMS calibration error over "
        "bins of 100 answers by the judge-extracted confidence; absent with fewer than 100 judged answers). "
        "Deviations: the judge's fields are read from its text (a JSON object or 'field: value' lines) rather "
        "than an OpenAI structured output; an unreadable or failed judgement is excluded and counted "
        "(the official script leaves it out of the judged set but divides accuracy by all questions). "
        "The dataset is gated on the Hub (accept its terms and log in), or give a local copy."
    )
    tags = ["knowledge", "qa", "reasoning", "llm-judge"]
    hf_id = "cais/hle"
    ms_id = "cais/hle"
    subsets = HLE_SUBSETS
    subset_field = "category"
    eval_split = "test"
    metrics = ["acc", "calibration_error"]
    primary_metric = "acc"
    requires_judge = True
    #: include_multi_modal: EvalScope's switch; evs-native's hle is the text-only subset, so only false.
    extra_args: ClassVar[dict[str, Any]] = {"calibration_bin_size": 100, "include_multi_modal": False}
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 8192}
    prompt_template = "{question}"

    def _check_args(self) -> None:
        super()._check_args()
        beta = self.args["calibration_bin_size"]
        if not isinstance(beta, int) or isinstance(beta, bool) or beta < 1:
            raise ConfigError(f"dataset_args.{self.name}.calibration_bin_size must be a positive integer, not {beta!r}")
        if self.args["include_multi_modal"] is not False:
            raise ConfigError(f"dataset_args.{self.name}.include_multi_modal: hle here is the text-only subset "
                              "(questions with an image are left out); only false is accepted")

    def subset_samples(self, subset: str) -> list[Sample]:
        return [s for s in super().subset_samples(subset) if not s.metadata.get("has_image")]

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        _need(self.name, record, index, "id", "question", "answer", "answer_type")
        system = HLE_SYSTEM_EXACT if record["answer_type"] == "exactMatch" else HLE_SYSTEM_MC
        image = record.get("image")
        return Sample(id=str(record["id"]), subset=subset, target=str(record["answer"]),
                      messages=[{"role": "system", "content": system},
                                {"role": "user", "content": record["question"]}],
                      metadata={"question": record["question"], "answer_type": record["answer_type"],
                                "raw_subject": record.get("raw_subject", ""), "has_image": bool(image)})

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        judge = ctx.judge if ctx is not None else None
        if judge is None:
            raise ConfigError("hle is graded by an LLM judge: give --judge-args '{\"model\": …, \"api_url\": …}'")
        prompt = HLE_JUDGE_PROMPT.format(question=sample.metadata["question"], response=answer_region(output.text),
                                         correct_answer=sample.target)
        fields: dict[str, Any] = {}

        def parse(text: str) -> tuple[str, float] | None:
            got = parse_hle_judgement(text)
            if got is None:
                return None
            fields.update(got)
            return ("CORRECT", 1.0) if got["correct"] == "yes" else ("INCORRECT", 0.0)

        verdict = await judge.ask([{"role": "user", "content": prompt}], parse)
        meta = {"judge_label": verdict.label, "judge_explanation": verdict.explanation[:2000]}
        if verdict.score is None:
            return failed_review(sample, output, ctx, verdict.error or "JudgeUnparsable", metadata=meta)
        meta["confidence"] = fields["confidence"]
        rule = "judge" if fields["extracted_final_answer"] not in ("", "None") else "none"
        return make_review(sample, output, ctx, extracted=fields["extracted_final_answer"], extraction_rule=rule,
                           scores={"acc": verdict.score}, metadata=meta)

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        beta = self.args["calibration_bin_size"]

        def add(metrics: dict[str, Stat], rs: list[Review]) -> None:
            ok = [r for r in rs if r.error is None and "confidence" in r.metadata]
            cerr = calibration_error([r.metadata["confidence"] / 100 for r in ok], [r.scores["acc"] for r in ok], beta)
            if cerr is not None:
                metrics["calibration_error"] = Stat(score=cerr, num=len(ok))

        add(overall, reviews)
        for sub in subsets:
            add(sub.metrics, [r for r in reviews if r.subset == sub.name])
        return overall, subsets
