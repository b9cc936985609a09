"""C-Eval and CMMLU: Chinese exam-style multiple choice."""

from __future__ import annotations

from typing import Any

from evs_core.schema import Sample

from evs_native.benchmarks._knowledge_mcq import CHINESE_SINGLE_ANSWER_COT, LetterMCQ, letter_of
from evs_native.benchmarks._mcq import LETTERS

# subject -> (Chinese name, category), as C-Eval's subject_mapping.json.
CEVAL_SUBJECTS = {
    "computer_network": ("计算机网络", "STEM"), "operating_system": ("操作系统", "STEM"),
    "computer_architecture": ("计算机组成", "STEM"), "college_programming": ("大学编程", "STEM"),
    "college_physics": ("大学物理", "STEM"), "college_chemistry": ("大学化学", "STEM"),
    "advanced_mathematics": ("高等数学", "STEM"), "probability_and_statistics": ("概率统计", "STEM"),
    "discrete_mathematics": ("离散数学", "STEM"), "electrical_engineer": ("注册电气工程师", "STEM"),
    "metrology_engineer": ("注册计量师", "STEM"), "high_school_mathematics": ("高中数学", "STEM"),
    "high_school_physics": ("高中物理", "STEM"), "high_school_chemistry": ("高中化学", "STEM"),
    "high_school_biology": ("高中生物", "STEM"), "middle_school_mathematics": ("初中数学", "STEM"),
    "middle_school_biology": ("初中生物", "STEM"), "middle_school_physics": ("初中物理", "STEM"),
    "middle_school_chemistry": ("初中化学", "STEM"), "veterinary_medicine": ("兽医学", "STEM"),
    "college_economics": ("大学经济学", "Social Science"), "business_administration": ("工商管理", "Social Science"),
    "marxism": ("马克思主义基本原理", "Social Science"),
    "mao_zedong_thought": ("毛泽东思想和中国特色社会主义理论体系概论", "Social Science"),
    "education_science": ("教育学", "Social Science"), "teacher_qualification": ("教师资格", "Social Science"),
    "high_school_politics": ("高中政治", "Social Science"), "high_school_geography": ("高中地理", "Social Science"),
    "middle_school_politics": ("初中政治", "Social Science"),
    "middle_school_geography": ("初中地理", "Social Science"),
    "modern_chinese_history": ("近代史纲要", "Humanities"),
    "ideological_and_moral_cultivation": ("思想道德修养与法律基础", "Humanities"), "logic": ("逻辑学", "Humanities"),
    "law": ("法学", "Humanities"), "chinese_language_and_literature": ("中国语言文学", "Humanities"),
    "art_studies": ("艺术学", "Humanities"), "professional_tour_guide": ("导游资格", "Humanities"),
    "legal_professional": ("法律职业资格", "Humanities"), "high_school_chinese": ("高中语文", "Humanities"),
    "high_school_history": ("高中历史", "Humanities"), "middle_school_history": ("初中历史", "Humanities"),
    "civil_servant": ("公务员", "Other"), "sports_science": ("体育学", "Other"), "plant_protection": ("植物保护", "Other"),
    "basic_medicine": ("基础医学", "Other"), "clinical_medicine": ("临床医学", "Other"),
    "urban_and_rural_planner": ("注册城乡规划师", "Other"), "accountant": ("注册会计师", "Other"),
    "fire_engineer": ("注册消防工程师", "Other"),
    "environmental_impact_assessment_engineer": ("环境影响评价工程师", "Other"), "tax_accountant": ("税务师", "Other"),
    "physician": ("医师资格", "Other"),
}

CEVAL_PROMPT = (
    "以下是中国关于{subject}的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式：\"答案：[LETTER]\"（不带引号），"
    "其中 [LETTER] 是 A、B、C、D 中的一个。\n\n问题：{question}\n选项：\n{choices}\n"
)
CHINESE_FEWSHOT_HEADER = "以下是一些示例问题：\n\n"


def _opts(choices: list[str]) -> str:
    return "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))


class CEval(LetterMCQ):
    name = "ceval"
    num_samples = 1346
    version = "1"
    description = (
        "C-Eval (Huang et al., 2023): Chinese exam questions, 52 subjects (the subsets), four options; "
        "evaluated on the val split (the test split has no public answers), reported per subject and per "
        "category. 5-shot from the subject's dev split with the explanations ('解析'), EvalScope's Chinese "
        "prompt naming the subject. The last '答案：X' is extracted; unlike EvalScope (which accepts only "
        "'答案：X'), other explicit forms (ANSWER: X, \\boxed{X}, a final lone letter) are accepted too. "
        "mode=loglikelihood: question, lettered options and '答案：', scored on the letters (as "
        "lm-evaluation-harness's ceval-valid). Metric: acc."
    )
    tags = ["knowledge", "multiple-choice", "chinese"]
    hf_id = "ceval/ceval-exam"
    ms_id = "evalscope/ceval"
    subsets = list(CEVAL_SUBJECTS)
    eval_split = "val"
    fewshot_split = "dev"
    few_shot_num = 5
    categories = {k: v[1] for k, v in CEVAL_SUBJECTS.items()}
    prompt_template = CEVAL_PROMPT
    ll_header = "以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n"
    ll_answer = "答案："
    ll_letter_prefix = ""

    def subject_of(self, sample: Sample) -> str:
        return CEVAL_SUBJECTS.get(sample.subset, (sample.subset, ""))[0]

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = [str(record[k]) for k in "ABCD"]
        return Sample(id=f"{subset}_{record.get('id', index)}", input=str(record["question"]), choices=choices,
                      target=letter_of(str(record["answer"]), 4), subset=subset,
                      metadata={"explanation": str(record.get("explanation") or "")})

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        template = self.args.get("prompt_template") or self.prompt_template
        body = template.format(subject=self.subject_of(sample), question=sample.input,
                               choices=_opts(sample.choices or []), letters=",".join(LETTERS[:4]))
        if not fewshot:
            return body
        shots = "\n\n".join(
            f"问题：{s.input}\n选项：\n{_opts(s.choices or [])}\n解析：{s.metadata.get('explanation', '')}\n答案：{s.target}"
            for s in fewshot
        )
        return f"{CHINESE_FEWSHOT_HEADER}{shots}\n\n\n{body}"


# subject -> category, as CMMLU's repository (with "China specific" as its own category).
CMMLU_CATEGORIES = {
    "agronomy": "Other", "anatomy": "STEM", "ancient_chinese": "China specific", "arts": "Humanities",
    "astronomy": "STEM", "business_ethics": "Social Science", "chinese_civil_service_exam": "China specific",
    "chinese_driving_rule": "China specific", "chinese_food_culture": "China specific",
    "chinese_foreign_policy": "China specific", "chinese_history": "China specific",
    "chinese_literature": "China specific", "chinese_teacher_qualification": "China specific",
    "college_actuarial_science": "STEM", "college_education": "Social Science",
    "college_engineering_hydrology": "STEM", "college_law": "Humanities", "college_mathematics": "STEM",
    "college_medical_statistics": "STEM", "clinical_knowledge": "Other", "college_medicine": "Other",
    "computer_science": "STEM", "computer_security": "Other", "conceptual_physics": "STEM",
    "construction_project_management": "China specific", "economics": "Social Science",
    "education": "Social Science", "elementary_chinese": "China specific",
    "elementary_commonsense": "China specific", "elementary_information_and_technology": "Other",
    "electrical_engineering": "STEM", "elementary_mathematics": "STEM", "ethnology": "China specific",
    "food_science": "Other", "genetics": "STEM", "global_facts": "Humanities", "high_school_biology": "STEM",
    "high_school_chemistry": "STEM", "high_school_geography": "Social Science", "high_school_mathematics": "STEM",
    "high_school_physics": "STEM", "high_school_politics": "China specific", "human_sexuality": "Other",
    "international_law": "Humanities", "journalism": "Social Science", "jurisprudence": "Humanities",
    "legal_and_moral_basis": "Other", "logical": "Humanities", "machine_learning": "STEM",
    "management": "Social Science", "marketing": "Social Science", "marxist_theory": "Humanities",
    "modern_chinese": "China specific", "nutrition": "Other", "philosophy": "Humanities",
    "professional_accounting": "Social Science", "professional_law": "Humanities",
    "professional_medicine": "Other", "professional_psychology": "Social Science",
    "public_relations": "Social Science", "security_study": "Social Science", "sociology": "Social Science",
    "sports_science": "Other", "traditional_chinese_medicine": "China specific", "virology": "STEM",
    "world_history": "Humanities", "world_religions": "Humanities",
}


class CMMLU(LetterMCQ):
    name = "cmmlu"
    num_samples = 11582
    version = "1"
    description = (
        "CMMLU (Li et al., 2023): Chinese multiple choice over 67 subjects (the subsets), reported per subject "
        "and per category (including 'China specific'). Zero-shot on the test split with EvalScope's Chinese "
        "single-answer chain-of-thought template; few_shot_num>0 takes examples from the dev split. The last "
        "'答案：X' (or another explicit answer form) is extracted. mode=loglikelihood: question, lettered "
        "options and '答案：', scored on the letters. Accepts the original columns (Question, A–D, Answer) and "
        "EvalScope's re-packaged rows (question, choices '(A) …', answer '(A)'). Metric: acc."
    )
    tags = ["knowledge", "multiple-choice", "chinese"]
    hf_id = "haonan-li/cmmlu"
    subsets = list(CMMLU_CATEGORIES)
    eval_split = "test"
    fewshot_split = "dev"
    few_shot_num = 0
    categories = CMMLU_CATEGORIES
    prompt_template = CHINESE_SINGLE_ANSWER_COT
    fewshot_header = CHINESE_FEWSHOT_HEADER
    ll_header = "以下是关于{subject}的单项选择题，请直接给出正确答案的选项。\n\n"
    ll_answer = "答案："
    ll_letter_prefix = ""

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        if "Question" in record:
            question, choices, answer = record["Question"], [str(record[k]) for k in "ABCD"], record["Answer"]
        else:  # EvalScope's packaging: choices "(A) text", answer "(A)"
            question = record["question"]
            choices = [str(c)[3:].strip() if str(c)[:1] == "(" else str(c) for c in record["choices"]]
            answer = record["answer"]
        return Sample(id=f"{subset}_{index}", input=str(question), choices=choices,
                      target=letter_of(str(answer), len(choices)), subset=subset)

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        template = self.args.get("prompt_template") or self.prompt_template
        body = template.format(question=sample.input, choices=_opts(sample.choices or []),
                               letters=",".join(LETTERS[: len(sample.choices or [])]))
        if not fewshot:
            return body
        shots = "\n\n".join(f"问题：{s.input}\n选项：\n{_opts(s.choices or [])}\n答案：{s.target}" for s in fewshot)
        return f"{CHINESE_FEWSHOT_HEADER}{shots}\n\n{body}"
