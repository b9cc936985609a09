"""Knowledge, reasoning and yes/no benchmarks matched to EvalScope's adapters.

The plain multiple-choice ones (CommonsenseQA, PIQA, SIQA, SciQ, QASC, LogiQA, MedMCQA, MathQA,
IQuiz, MusicTrivia, MRI-MCQA, BioMixQA) are specs in ``evs_native/specs`` on
:class:`~evs_native.benchmarks._knowledge_mcq.LetterMCQ`; this module holds what a spec cannot
say: MMLU-Redux's corrected answers, MMMLU's per-language prompts, SuperGPQA's subsets by
field and fixed five-shot prompt, AGIEval's mix of single-answer, multi-answer and cloze
subsets, MuSR's splits-as-subsets, MaritimeBench's bracketed answers, and the yes/no judgement
benchmarks PubMedQA and HaluEval with their confusion-matrix metrics.
"""

from __future__ import annotations

import ast
import re
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT, Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.extract import Extraction, answer_region, extract_choice, extract_choices
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore

from evs_native.benchmarks._knowledge_mcq import CHINESE_SINGLE_ANSWER_COT, SINGLE_ANSWER_COT, LetterMCQ
from evs_native.benchmarks._mcq import LETTERS
from evs_native.benchmarks.mmlu import MMLU_CATEGORIES

# EvalScope's single-answer template without chain of thought ("The entire content of your response…").
SINGLE_ANSWER = (
    "Answer the following multiple choice question. The entire content of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}.\n\n"
    "{question}\n\n{choices}"
)
CHINESE_MULTIPLE_ANSWER_COT = (
    "回答下面的多项选择题，请选出其中的所有正确答案。你的回答的最后一行应该是这样的格式：\"答案：[LETTERS]\"（不带引号），"
    "其中 [LETTERS] 是 {letters} 中的一个或多个。请在回答前进行一步步思考。\n\n问题：{question}\n选项：\n{choices}"
)


def gold_letter(text: str) -> str:
    """A gold answer given as a letter (``"B"``, ``"(B)"``, ``"b"``) -> ``"B"``; anything else is a data error."""
    t = str(text).strip().strip("()[]").strip().upper()
    if len(t) == 1 and t in LETTERS:
        return t
    raise ValueError(f"answer {text!r} is not an option letter")


def _subset_row_id(subset: str, index: int, record: dict[str, Any], key: str | None = None) -> str:
    rid = record.get(key) if key else None
    return f"{subset}/{rid if rid not in (None, '') else index}"


class SubsetLetterMCQ(LetterMCQ):
    """:class:`LetterMCQ` for a spec whose subsets are separate Hub configs: sample ids are prefixed with
    the subset (``IQ/0``), so row numbers restarting in each subset stay unique."""

    def subset_samples(self, subset: str) -> list[Sample]:
        return [s.model_copy(update={"id": f"{subset}/{s.id}"}) for s in super().subset_samples(subset)]


# -- MMLU-Redux --------------------------------------------------------------------------------------
def redux_targets(record: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(choices, gold letters) of an MMLU-Redux row after its annotated correction, as EvalScope reads it:
    ``no_correct_answer`` puts the annotated answer in place of the keyed option; ``wrong_groundtruth``
    re-keys the answer (index or letter); ``multiple_correct_answers`` accepts each listed answer
    (indices or letters separated by ',', 'and', 'or', or option texts). No gold left: every option counts."""
    choices = [str(c) for c in record["choices"]]
    error_type = record.get("error_type") or ""
    correct = record.get("correct_answer")
    correct = "" if correct is None else str(correct)
    targets = [int(record["answer"])]
    if error_type == "no_correct_answer" and correct:
        choices[targets[0]] = correct
    elif error_type == "wrong_groundtruth" and correct:
        c = correct.strip()
        targets = [int(c)] if c.lstrip("-").isdigit() else [ord(c[0].upper()) - ord("A")]
    elif error_type == "multiple_correct_answers" and correct:
        parts = [p.strip() for p in correct.strip("()").replace(" and ", ",").replace(" or ", ",").split(",")]
        if all(p.isdigit() for p in parts):
            targets = [int(p) for p in parts]
        elif all(len(p) == 1 and p in LETTERS for p in parts):
            targets = [ord(p) - ord("A") for p in parts]
        else:
            targets = [choices.index(p) for p in parts if p in choices]
    letters = [LETTERS[i] for i in targets if 0 <= i < len(choices)]
    return choices, letters or list(LETTERS[: len(choices)])


class MMLURedux(LetterMCQ):
    name = "mmlu_redux"
    version = "1"
    description = (
        "MMLU-Redux 2.0 (Gema et al., 2024): 5,700 re-annotated MMLU questions (100 per subject); scoring as "
        "EvalScope's mmlu_redux adapter: zero-shot single-answer chain-of-thought template, the annotated "
        "corrections applied (replaced option, re-keyed answer, several accepted answers), acc with "
        "inclusion (a reply is right when its letter is among the accepted ones); per subject and per "
        "MMLU category. Deviation: the letter is read by evs's extractor (last explicit statement)."
    )
    tags = ["knowledge", "multiple-choice"]
    hf_id = "edinburgh-dawg/mmlu-redux-2.0"
    ms_id = "AI-ModelScope/mmlu-redux-2.0"
    subsets = list(MMLU_CATEGORIES)
    num_samples = 5700
    eval_split = "test"
    categories = MMLU_CATEGORIES

    def _check_args(self) -> None:
        if self.args["few_shot_num"]:
            raise ConfigError(f"dataset_args.{self.name}.few_shot_num: {self.name} is zero-shot only (as EvalScope)")
        super()._check_args()

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices, gold = redux_targets(record)
        return Sample(id=f"{subset}_{index}", input=str(record["question"]).strip(), choices=choices, target=gold,
                      subset=subset, metadata={"error_type": record.get("error_type"),
                                               "correct_answer": record.get("correct_answer")})

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(extracted is not None and extracted in sample.target)}

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error or output.logprobs is None:
            return await super(LetterMCQ, self).score(sample, output, ctx)
        lps, n = output.logprobs, len(sample.choices or [])
        if len(lps) != n:
            return failed_review(sample, output, ctx, f"ScoringError: {len(lps)} log-likelihoods for {n} choices")
        best = LETTERS[max(range(n), key=lambda i: lps[i])]
        return make_review(sample, output, ctx, prediction=best, extracted=best,
                           scores={"acc": float(best in sample.target)}, metadata={"logprobs": lps})


# -- MMMLU -------------------------------------------------------------------------------------------
_TAIL = "\n\n{question}\n\n{choices}"
#: EvalScope's per-language translations of the single-answer chain-of-thought template.
MMMLU_PROMPTS = {
    "AR_XY": "أجب على سؤال الاختيار من متعدد التالي. يجب أن يكون السطر الأخير من إجابتك بالتنسيق التالي: 'ANSWER: [LETTER]' (بدون علامات اقتباس) حيث [LETTER] هو أحد الحروف {letters}. فكّر خطوة بخطوة قبل الإجابة.",  # noqa: E501
    "BN_BD": "নিচের বহুনির্বাচনী প্রশ্নের উত্তর দিন। আপনার উত্তরের শেষ লাইনটি এই ফরম্যাটে হওয়া উচিত: 'ANSWER: [LETTER]' (উদ্ধৃতি চিহ্ন ছাড়া) যেখানে [LETTER] হল {letters}-এর মধ্যে একটি। উত্তর দেওয়ার আগে ধাপে ধাপে চিন্তা করুন।",  # noqa: E501
    "DE_DE": "Beantworte die folgende Multiple-Choice-Frage. Die letzte Zeile deiner Antwort sollte folgendes Format haben: 'ANSWER: [LETTER]' (ohne Anführungszeichen), wobei [LETTER] eines der folgenden Zeichen ist: {letters}. Denke Schritt für Schritt, bevor du antwortest.",  # noqa: E501
    "ES_LA": "Responde la siguiente pregunta de opción múltiple. La última línea de tu respuesta debe tener el siguiente formato: 'ANSWER: [LETTER]' (sin comillas) donde [LETTER] es una de las opciones {letters}. Piensa paso a paso antes de responder.",  # noqa: E501
    "FR_FR": "Répondez à la question à choix multiple suivante. La dernière ligne de votre réponse doit être au format suivant : 'ANSWER: [LETTER]' (sans guillemets) où [LETTER] est l'une des options {letters}. Réfléchissez étape par étape avant de répondre.",  # noqa: E501
    "HI_IN": "निम्नलिखित बहुविकल्पीय प्रश्न का उत्तर दें। आपके उत्तर की अंतिम पंक्ति इस प्रारूप में होनी चाहिए: 'ANSWER: [LETTER]' (उद्धरण चिह्नों के बिना) जहाँ [LETTER] {letters} में से एक है। उत्तर देने से पहले चरणबद्ध तरीके से सोचें।",  # noqa: E501
    "ID_ID": "Jawablah pertanyaan pilihan ganda berikut. Baris terakhir jawaban Anda harus dalam format berikut: 'ANSWER: [LETTER]' (tanpa tanda kutip) di mana [LETTER] adalah salah satu dari {letters}. Pikirkan langkah demi langkah sebelum menjawab.",  # noqa: E501
    "IT_IT": "Rispondi alla seguente domanda a scelta multipla. L'ultima riga della tua risposta deve essere nel seguente formato: 'ANSWER: [LETTER]' (senza virgolette) dove [LETTER] è una delle opzioni {letters}. Pensa passo dopo passo prima di rispondere.",  # noqa: E501
    "JA_JP": "次の多肢選択問題に答えてください。回答の最終行は次の形式にしてください：'ANSWER: [LETTER]'（引用符なし）。ここで [LETTER] は {letters} のいずれかです。回答する前に、ステップごとに考えてください。",  # noqa: E501
    "KO_KR": "다음 객관식 문제에 답하세요. 응답의 마지막 줄은 다음 형식이어야 합니다: 'ANSWER: [LETTER]' (따옴표 없이) 여기서 [LETTER]는 {letters} 중 하나입니다. 답하기 전에 단계별로 생각하세요.",  # noqa: E501
    "PT_BR": "Responda à seguinte questão de múltipla escolha. A última linha da sua resposta deve estar no seguinte formato: 'ANSWER: [LETTER]' (sem aspas) onde [LETTER] é uma das opções {letters}. Pense passo a passo antes de responder.",  # noqa: E501
    "SW_KE": "Jibu swali lifuatalo la chaguo nyingi. Mstari wa mwisho wa jibu lako unapaswa kuwa katika muundo ufuatao: 'ANSWER: [LETTER]' (bila alama za nukuu) ambapo [LETTER] ni moja ya {letters}. Fikiria hatua kwa hatua kabla ya kujibu.",  # noqa: E501
    "YO_NG": "Dahun ibeere yiyan-pupọ atẹle yii. Ila ikẹhin ti idahun rẹ yẹ ki o wa ni ọna atẹle yii: 'ANSWER: [LETTER]' (laisi awọn ami ifọwọsi) nibiti [LETTER] jẹ ọkan ninu {letters}. Ronu igbese ni igbese ṣaaju ki o to dahun.",  # noqa: E501
    "ZH_CN": "回答下面的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式：'ANSWER: [LETTER]'（不带引号），其中 [LETTER] 是 {letters} 中的一个。请在回答前进行一步步思考。",  # noqa: E501
}
MMMLU_PROMPTS = {k: v + _TAIL for k, v in MMMLU_PROMPTS.items()}


class MMMLU(LetterMCQ):
    name = "mmmlu"
    version = "1"
    description = (
        "MMMLU (OpenAI): the MMLU test set professionally translated into 14 languages, one subset per "
        "language (14,042 questions each); scoring as EvalScope's mmmlu adapter: zero-shot, the "
        "single-answer chain-of-thought template translated into the subset's language (answer line "
        "'ANSWER: X' in every language), acc per language. Deviation: the letter is read by evs's "
        "extractor (last explicit statement)."
    )
    tags = ["knowledge", "multiple-choice", "multilingual"]
    hf_id = "openai/MMMLU"
    ms_id = "openai-mirror/MMMLU"
    subsets = list(MMMLU_PROMPTS)
    num_samples = 196588
    eval_split = "test"

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        template = self.args.get("prompt_template") or MMMLU_PROMPTS.get(sample.subset, SINGLE_ANSWER_COT)
        choices = sample.choices or []
        return template.format(question=sample.input, choices=self.format_choices(choices),
                               letters=",".join(LETTERS[: len(choices)]))

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = [str(record[x]) for x in "ABCD"]
        return Sample(id=_subset_row_id(subset, index, record), input=str(record["Question"]), choices=choices,
                      target=gold_letter(record["Answer"]), subset=subset,
                      metadata={"subject": record.get("Subject"), "language": subset})


# -- SuperGPQA ---------------------------------------------------------------------------------------
#: field (the subsets) -> discipline (the report's categories), as EvalScope's SUBSET_MAPPING.
SUPER_GPQA_FIELDS = {
    "Electronic Science and Technology": "Engineering", "Philosophy": "Philosophy",
    "Traditional Chinese Medicine": "Medicine", "Applied Economics": "Economics", "Mathematics": "Science",
    "Physics": "Science", "Clinical Medicine": "Medicine", "Computer Science and Technology": "Engineering",
    "Information and Communication Engineering": "Engineering", "Control Science and Engineering": "Engineering",
    "Theoretical Economics": "Economics", "Law": "Law", "History": "History", "Basic Medicine": "Medicine",
    "Education": "Education", "Materials Science and Engineering": "Engineering",
    "Electrical Engineering": "Engineering", "Systems Science": "Science",
    "Power Engineering and Engineering Thermophysics": "Engineering", "Military Science": "Military Science",
    "Biology": "Science", "Business Administration": "Management", "Language and Literature": "Literature and Arts",
    "Public Health and Preventive Medicine": "Medicine", "Political Science": "Law", "Chemistry": "Science",
    "Hydraulic Engineering": "Engineering", "Chemical Engineering and Technology": "Engineering",
    "Pharmacy": "Medicine", "Geography": "Science", "Art Studies": "Literature and Arts",
    "Architecture": "Engineering", "Forestry Engineering": "Engineering", "Public Administration": "Management",
    "Oceanography": "Science", "Journalism and Communication": "Literature and Arts",
    "Nuclear Science and Technology": "Engineering", "Weapon Science and Technology": "Engineering",
    "Naval Architecture and Ocean Engineering": "Engineering",
    "Environmental Science and Engineering": "Engineering", "Transportation Engineering": "Engineering",
    "Geology": "Science", "Physical Oceanography": "Science", "Musicology": "Literature and Arts",
    "Stomatology": "Medicine", "Aquaculture": "Agronomy", "Mechanical Engineering": "Engineering",
    "Aeronautical and Astronautical Science and Technology": "Engineering", "Civil Engineering": "Engineering",
    "Mechanics": "Engineering", "Petroleum and Natural Gas Engineering": "Engineering", "Sociology": "Sociology",
    "Food Science and Engineering": "Engineering", "Agricultural Engineering": "Engineering",
    "Surveying and Mapping Science and Technology": "Engineering", "Metallurgical Engineering": "Engineering",
    "Library, Information and Archival Management": "Management", "Mining Engineering": "Engineering",
    "Astronomy": "Science", "Geological Resources and Geological Engineering": "Engineering",
    "Atmospheric Science": "Science", "Optical Engineering": "Engineering", "Animal Husbandry": "Agronomy",
    "Geophysics": "Science", "Crop Science": "Agronomy", "Management Science and Engineering": "Management",
    "Psychology": "Education", "Forestry": "Agronomy", "Textile Science and Engineering": "Engineering",
    "Veterinary Medicine": "Agronomy", "Instrument Science and Technology": "Engineering",
    "Physical Education": "Education",
}

_SG_HEAD = ("Answer the following multiple choice question. There is only one correct answer. The last line of "
            "your response should be in the format 'ANSWER: [LETTER]' (without quotes), where [LETTER] is one of "
            "A, B, C, D, E, F, G, H, I, or J.\n\n")
_SG_SHOTS = [
    ("A refracting telescope consists of two converging lenses separated by 100 cm. The eye-piece lens has a focal "
     "length of 20 cm. The angular magnification of the telescope is",
     ["10", "40", "6", "25", "15", "50", "30", "4", "5", "20"],
     "In a refracting telescope, if both lenses are converging, the focus of both lenses must be between the two "
     "lenses, and thus the focal lengths of the two lenses must add up to their separation. Since the focal length "
     "of one lens is 20 cm, the focal length of the other must be 80 cm. The magnification is the ratio of these "
     "two focal lengths, or 4.", "H"),
    ("Say the pupil of your eye has a diameter of 5 mm and you have a telescope with an aperture of 50 cm. How much "
     "more light can the telescope gather than your eye?",
     ["1000 times more", "50 times more", "5000 times more", "500 times more", "10000 times more",
      "20000 times more", "2000 times more", "100 times more", "10 times more", "N/A"],
     "The amount of light a telescope can gather compared to the human eye is proportional to the area of its "
     "apertures. The area of a circle is given by the formula $A = \\pi \\left(\\frac{{D}}{{2}}\\right)^2$, where "
     "$D$ is the diameter. Therefore, the relative light-gathering power is calculated as:\n\\[\n\\frac{{\\left("
     "\\frac{{50 \\text{{ cm}}}}{{2}}\\right)^2}}{{\\left(\\frac{{5 \\text{{ mm}}}}{{2}}\\right)^2}} = \\frac{{"
     "\\left(\\frac{{50 \\text{{ cm}}}}{{0.1 \\text{{ cm}}}}\\right)^2}}{{\\left(\\frac{{5 \\text{{ mm}}}}{{0.1 "
     "\\text{{ cm}}}}\\right)^2}} = \\frac{{500^2}}{{5^2}} = 10000.\n\\]", "E"),
    ("Where do most short-period comets come from and how do we know?",
     ["The Kuiper belt; short period comets tend to be in the plane of the solar system like the Kuiper belt.",
      "The asteroid belt; short period comets tend to come from random directions indicating a spherical "
      "distribution of comets called the asteroid belt.",
      "The asteroid belt; short period comets tend to be in the plane of the solar system just like the asteroid "
      "belt.",
      "The Oort cloud; short period comets have orbital periods similar to asteroids like Vesta and are found in "
      "the plane of the solar system just like the Oort cloud.",
      "The Oort Cloud; short period comets tend to come from random directions indicating a spherical "
      "distribution of comets called the Oort Cloud.",
      "The Oort cloud; short period comets tend to be in the plane of the solar system just like the Oort cloud.",
      "The asteroid belt; short period comets have orbital periods similar to asteroids like Vesta and are found "
      "in the plane of the solar system just like the asteroid belt."],
     "Most short-period comets originate from the Kuiper belt. This is deduced from the observation that these "
     "comets tend to follow orbits that lie in the plane of the solar system, similar to the distribution of "
     "objects in the Kuiper belt itself. Thus, the alignment of these cometary orbits with the ecliptic plane "
     "points to their Kuiper belt origin.", "A"),
    ("Colors in a soap bubble result from light",
     ["dispersion", "deflection", "refraction", "reflection", "interference", "converted to a different frequency",
      "polarization", "absorption", "diffraction", "transmission"],
     "The colorful patterns observed in a soap bubble are caused by the phenomenon of light interference. This "
     "occurs when light waves bounce between the two surfaces of the soap film, combining constructively or "
     "destructively based on their phase differences and the varying thickness of the film. These interactions "
     "result in vibrant color patterns due to variations in the intensity of different wavelengths of light.", "E"),
    ("A microwave oven is connected to an outlet, 120 V, and draws a current of 2 amps. At what rate is energy "
     "being used by the microwave oven?",
     ["240 W", "120 W", "10 W", "480 W", "360 W", "200 W", "30 W", "150 W", "60 W", "300 W"],
     "The rate of energy usage, known as power, in an electrical circuit is calculated by the product of voltage "
     "and current. For a microwave oven connected to a 120 V outlet and drawing a current of 2 amps, the power "
     "consumption can be calculated as follows:\n\\[\n\\text{{Power}} = \\text{{Voltage}} \\times \\text{{Current}} "
     "= 120 \\, \\text{{V}} \\times 2 \\, \\text{{A}} = 240 \\, \\text{{W}}.\n\\]\nTherefore, the microwave oven "
     "uses energy at a rate of 240 watts.", "A"),
]
#: EvalScope's fixed five-shot block for SuperGPQA. Its copy is an unescaped, format-escaped string, so it
#: sends doubled braces and control characters for ``\\f``, ``\\r``, ``\\t`` in the LaTeX; evs sends the LaTeX
#: as written (single braces, backslashes kept).
SUPER_GPQA_FEWSHOT = _SG_HEAD + "".join(
    "Question:\n" + q + "\n" + "\n".join(f"{LETTERS[i]}) {o}" for i, o in enumerate(opts))
    + f"\n\nANSWER: Let's think step by step. {why}\nANSWER: {a}.\n\n" for q, opts, why, a in _SG_SHOTS
).replace("{{", "{").replace("}}", "}")
FEWSHOT_HEADER = "Here are some examples of how to answer similar questions:\n\n"


class SuperGPQA(LetterMCQ):
    name = "super_gpqa"
    version = "1"
    description = (
        "SuperGPQA (M-A-P, 2025): 26,529 ten-option graduate-level questions over 285 disciplines; subsets are "
        "the 72 fields (the 'field' column), categories the 13 disciplines. Scoring as EvalScope's super_gpqa "
        "adapter: single-answer chain-of-thought template, zero-shot or (few_shot_num=5) EvalScope's fixed "
        "five worked examples, the reply cut at a repeated 'Question:' in five-shot mode; acc. Deviation: the "
        "letter is read by evs's extractor (explicit statements, then the restated option text) instead of "
        "SuperGPQA's regex cascade."
    )
    tags = ["knowledge", "multiple-choice", "reasoning"]
    hf_id = "m-a-p/SuperGPQA"
    ms_id = "m-a-p/SuperGPQA"
    subsets = list(SUPER_GPQA_FIELDS)
    num_samples = 26529
    eval_split = "train"
    categories = SUPER_GPQA_FIELDS

    def _check_args(self) -> None:
        n = self.args["few_shot_num"]
        if n not in (0, 5):
            raise ConfigError(f"dataset_args.{self.name}.few_shot_num must be 0 or 5 (EvalScope's fixed examples), "
                              f"not {n!r}")
        self._five_shot = n == 5
        self.args["few_shot_num"] = 0  # the examples are fixed text, not rows of a split: check the rest
        try:
            super()._check_args()
        finally:
            self.args["few_shot_num"] = n  # the run's config records what was asked

    def fewshot_samples(self, subset: str) -> list[Sample]:
        return []  # the five examples are fixed text (format_prompt), not rows of a split

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        cache = self.__dict__.setdefault("_rows", {})
        if split not in cache:
            cache[split] = super().load_rows(split, DEFAULT)
        return [r for r in cache[split] if str(r.get("field", "")).strip() == subset]

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = [str(c) for c in record["options"]]
        return Sample(id=str(record.get("uuid") or f"{subset}/{index}"), input=str(record["question"]),
                      choices=choices, target=gold_letter(record["answer_letter"]), subset=subset,
                      metadata={"field": record.get("field"), "discipline": record.get("discipline")})

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        body = super().format_prompt(sample, [])
        return FEWSHOT_HEADER + SUPER_GPQA_FEWSHOT + "\n\n" + body if self._five_shot else body

    def extract(self, text: str, sample: Sample) -> Any:
        if self._five_shot:
            head = extract_choice(text.split("Question:")[0], sample.choices)
            if head.found:
                return head
        return extract_choice(text, sample.choices)


# -- AGIEval -----------------------------------------------------------------------------------------
AGIEVAL_ENGLISH_QA = ["aqua-rat", "logiqa-en", "lsat-ar", "lsat-lr", "lsat-rc", "sat-math", "sat-en",
                      "sat-en-without-passage", "gaokao-english"]
AGIEVAL_CHINESE_QA = ["logiqa-zh", "gaokao-chinese", "gaokao-geography", "gaokao-history", "gaokao-biology",
                      "gaokao-chemistry", "gaokao-physics", "gaokao-mathqa", "jec-qa-kd", "jec-qa-ca"]
AGIEVAL_CLOZE = ["math", "gaokao-mathcloze"]
AGIEVAL_MULTI = ["jec-qa-kd", "jec-qa-ca", "gaokao-physics"]
AGIEVAL_MATH_PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."


def _parse_label(label: Any) -> Any:
    if isinstance(label, str) and label.strip().startswith("["):
        try:
            parsed = ast.literal_eval(label.strip())
        except (ValueError, SyntaxError):
            return label
        if isinstance(parsed, list):
            return [str(x) for x in parsed]
    return label


class AGIEval(LetterMCQ):
    name = "agieval"
    version = "1"
    description = (
        "AGIEval (Zhong et al., 2023): 8,269 questions from 21 human admission and qualification exams (Gaokao, "
        "LSAT, SAT, LogiQA, JEC-QA, AQuA, MATH). Scoring as EvalScope's agieval adapter: English single-answer "
        "subsets use the chain-of-thought template ('ANSWER: X'), Chinese ones its Chinese template "
        "('答案：X'), jec-qa-kd/jec-qa-ca/gaokao-physics the Chinese multiple-answer template (exact set of "
        "letters); the cloze subsets (math, gaokao-mathcloze) ask for \\boxed{} and compare with math-verify "
        "(as math_500) instead of EvalScope's math_equal. Letters are read by evs's extractor. acc per subset."
    )
    tags = ["reasoning", "knowledge", "multiple-choice", "math", "chinese"]
    hf_id = "opencompass/agieval"
    ms_id = "opencompass/agieval"
    subsets = AGIEVAL_ENGLISH_QA + AGIEVAL_CHINESE_QA + AGIEVAL_CLOZE
    num_samples = 8269
    eval_split = "test"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 2048}

    def _check_args(self) -> None:
        if self.args["few_shot_num"]:
            raise ConfigError(f"dataset_args.{self.name}.few_shot_num: {self.name} is zero-shot here, as EvalScope "
                              "runs it")
        super()._check_args()
        if any(s in AGIEVAL_CLOZE for s in self.args["subset_list"]):
            from evs_native.benchmarks.math_500 import _math_verify

            _math_verify()  # the cloze subsets need math-verify: a missing extra stops the run before any request
        if self.args["mode"] == "loglikelihood" and any(s in AGIEVAL_CLOZE + AGIEVAL_MULTI
                                                        for s in self.args["subset_list"]):
            raise ConfigError(f"dataset_args.{self.name}.mode=loglikelihood needs single-answer subsets only "
                              f"(not {', '.join(AGIEVAL_CLOZE + AGIEVAL_MULTI)})")

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        label = _parse_label(record.get("label") if record.get("label") not in (None, "") else record.get("answer"))
        passage = record.get("passage") or ""
        question = f"{passage}\n\n{record['question']}" if passage else str(record["question"])
        sid = f"{subset}/{index}"
        if subset in AGIEVAL_CLOZE:
            return Sample(id=sid, input=question, target=str(label if not isinstance(label, list) else label[0]),
                          subset=subset, metadata={"kind": "cloze"})
        choices = [str(o) for o in record.get("options") or []]
        if isinstance(label, list):
            target = "".join(sorted(x.strip().upper() for x in label))
        else:
            target = str(label).strip().upper()
        if not target or any(c not in LETTERS[: len(choices)] for c in target):
            raise ValueError(f"label {label!r} is not among the {len(choices)} options' letters")
        return Sample(id=sid, input=question, choices=choices, target=target, subset=subset,
                      metadata={"kind": "multi" if subset in AGIEVAL_MULTI else "single"})

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        if sample.subset in AGIEVAL_CLOZE:
            return AGIEVAL_MATH_PROMPT.format(question=sample.input)
        if sample.subset in AGIEVAL_MULTI:
            template = CHINESE_MULTIPLE_ANSWER_COT
        elif sample.subset in AGIEVAL_CHINESE_QA:
            template = CHINESE_SINGLE_ANSWER_COT
        else:
            template = SINGLE_ANSWER_COT
        template = self.args.get("prompt_template") or template
        choices = sample.choices or []
        return template.format(question=sample.input, choices=self.format_choices(choices),
                               letters=",".join(LETTERS[: len(choices)]))

    def extract(self, text: str, sample: Sample) -> Any:
        if sample.subset in AGIEVAL_CLOZE:
            from evs_core.extract import extract_math

            return extract_math(text)
        letters = LETTERS[: len(sample.choices or [])]
        if sample.subset in AGIEVAL_MULTI:
            return extract_choices(text, letters, sample.choices)
        return extract_choice(text, sample.choices, letters)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        if extracted is None:
            return {"acc": 0.0}
        if sample.subset in AGIEVAL_CLOZE:
            from evs_native.benchmarks.math_500 import math_check

            return {"acc": math_check(output.text, sample.target)[1]}
        return {"acc": float("".join(sorted(str(extracted).upper())) == sample.target)}


# -- MuSR --------------------------------------------------------------------------------------------
class MuSR(LetterMCQ):
    name = "musr"
    version = "1"
    description = (
        "MuSR (Sprague et al., 2024): 756 long narrative reasoning problems; subsets murder_mysteries, "
        "object_placements, team_allocation (each a split of the Hub dataset). Scoring as EvalScope's musr "
        "adapter: narrative and question, lettered options, single-answer chain-of-thought template, acc. "
        "Deviation: the letter is read by evs's extractor (last explicit statement)."
    )
    tags = ["reasoning", "multiple-choice", "long-context"]
    hf_id = "TAUR-Lab/MuSR"
    ms_id = "AI-ModelScope/MuSR"
    subsets = ["murder_mysteries", "object_placements", "team_allocation"]
    num_samples = 756
    eval_split = "test"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 2048}

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        """The subset is the split: ``<dir>/musr/<subset>.jsonl`` locally, split ``<subset>`` on the Hub."""
        root = self.local_root()
        if root is not None:
            return self.load_local(root, subset, None)
        return super().load_rows(subset, DEFAULT)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = record["choices"]
        if isinstance(choices, str):
            choices = ast.literal_eval(choices)
        choices = [str(c) for c in choices]
        k = int(record["answer_index"])
        if not 0 <= k < len(choices):
            raise ValueError(f"answer_index {k} out of range for {len(choices)} choices")
        return Sample(id=f"{subset}/{index}", input=f"{record['narrative']}\n\n{record['question']}", choices=choices,
                      target=LETTERS[k], subset=subset)


# -- MaritimeBench -----------------------------------------------------------------------------------
MARITIME_PROMPT = (
    "请回答单选题。要求只输出选项，不输出解释，将选项放在[]里，直接输出答案。示例：\n\n题目：在船舶主推进动力装置中，传动轴系在运转中承受"
    "以下复杂的应力和负荷，但不包括______。\n选项：\nA. 电磁力\nB. 压拉应力\nC. 弯曲应力\nD. 扭应力\n答：[A]\n 当前题目\n {question}\n"
    "选项：\n{choices}"
)
_BRACKETED = re.compile(r"\[([A-D])\]")


class MaritimeBench(LetterMCQ):
    name = "maritime_bench"
    version = "1"
    description = (
        "MaritimeBench (HiDolphin): 1,888 Chinese four-option maritime exam questions (navigation, marine "
        "engineering, seamanship). Scoring as EvalScope's maritime_bench adapter: its one-shot Chinese prompt "
        "asking for the letter in brackets ('[A]'), the last bracketed letter A-D of the reply (outside "
        "<think>) as the answer, acc."
    )
    tags = ["knowledge", "multiple-choice", "chinese"]
    hf_id = "HiDolphin/MaritimeBench"
    ms_id = "HiDolphin/MaritimeBench"
    num_samples = 1888
    eval_split = "test"
    prompt_template = MARITIME_PROMPT

    @staticmethod
    def format_choices(choices: list[str]) -> str:
        return "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        template = self.args.get("prompt_template") or MARITIME_PROMPT
        return template.format(question=sample.input, choices=self.format_choices(sample.choices or []))

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = [str(record[x]) for x in "ABCD" if record.get(x)]
        return Sample(id=str(record.get("id", index)), input=str(record["question"]), choices=choices,
                      target=gold_letter(record["answer"]), subset=subset)

    def extract(self, text: str, sample: Sample) -> Any:
        found = _BRACKETED.findall(answer_region(text))
        return Extraction(found[-1], "bracketed_letter") if found else Extraction(None, "none")


# -- yes/no judgement benchmarks ---------------------------------------------------------------------
def _stat(value: float, num: int) -> Stat:
    return Stat(score=value, num=num)


class _YesNo(Benchmark):
    """A reply judged against a YES/NO(/MAYBE) label; the report adds confusion-matrix metrics computed
    over the set (per subset and overall), as EvalScope's adapters aggregate them."""

    metrics = ["accuracy"]
    primary_metric = "accuracy"
    extra_args: ClassVar[dict[str, Any]] = {"prompt_template": None}
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 1024}

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        return sample.input or ""

    #: the label words; a reply containing none of them is counted as no answer (it scores 0 either way)
    labels: ClassVar[tuple[str, ...]] = ("YES", "NO")

    def extract(self, text: str, sample: Sample) -> Any:
        region = answer_region(text)
        if not any(w in region.upper() for w in self.labels):
            return Extraction(None, "none")
        return Extraction(region, "reply_text")

    def set_values(self, rows: list[tuple[str, str, float]]) -> dict[str, float]:
        raise NotImplementedError

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        ok = [r for r in reviews if r.error is None]

        def extra(rows: list[Review]) -> dict[str, Stat]:
            vals = self.set_values([(str(r.target), str(r.extracted or ""), r.scores.get("accuracy", 0.0))
                                    for r in rows])  # accuracy itself stays the mean, with its error bars
            return {k: _stat(v, len(rows)) for k, v in vals.items() if k != "accuracy"}

        overall = {**overall, **extra(ok)}
        out = []
        for s in subsets:
            rows = [r for r in ok if r.subset == s.name]
            out.append(s.model_copy(update={"metrics": {**s.metrics, **extra(rows)}}))
        return overall, out


PUBMEDQA_PROMPT = "{question}\nPlease answer YES or NO or MAYBE without an explanation."


class PubMedQA(_YesNo):
    name = "pubmedqa"
    version = "1"
    description = (
        "PubMedQA (Jin et al., 2019), the 1,000 expert-labelled questions: an abstract and a research "
        "question answered yes/no/maybe. Scoring as EvalScope's pubmedqa adapter: 'Abstract: …\\n\\nQuestion: "
        "…' and 'Please answer YES or NO or MAYBE without an explanation.'; a reply is right when the gold "
        "word appears in it as a whole word (case-insensitive, outside <think>); reported accuracy and, "
        "over the set, macro precision/recall/F1 over the three classes and the YES and MAYBE ratios."
    )
    tags = ["medical", "knowledge", "yes-no"]
    hf_id = "extraordinarylab/pubmed-qa"
    ms_id = "extraordinarylab/pubmed-qa"
    num_samples = 1000
    eval_split = "test"
    prompt_template = PUBMEDQA_PROMPT
    metrics = ["accuracy", "precision", "recall", "f1_score", "yes_ratio", "maybe_ratio"]
    labels = ("YES", "NO", "MAYBE")

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        answer = str(record["answer"]).strip().upper()
        if answer not in ("YES", "NO", "MAYBE"):
            raise ValueError(f"answer {record['answer']!r} is not yes, no or maybe")
        question = f"Abstract: {record['context']}\n\nQuestion: {record['question']}"
        template = self.args.get("prompt_template") or PUBMEDQA_PROMPT
        return Sample(id=str(record.get("id", index)), input=template.format(question=question), target=answer,
                      subset=subset)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        hit = re.search(r"\b" + re.escape(sample.target) + r"\b", str(extracted or "").strip().upper())
        return {"accuracy": float(hit is not None)}

    def set_values(self, rows: list[tuple[str, str, float]]) -> dict[str, float]:
        classes = ["YES", "NO", "MAYBE"]
        cm = {g: dict.fromkeys(classes, 0) for g in classes}
        yes = maybe = correct = 0
        for gold, text, acc in rows:
            if acc == 1:
                correct += 1
                pred = gold
            else:  # EvalScope's heuristic for a wrong reply's class (first of YES, NO, MAYBE it contains)
                t = text.strip().upper()
                pred = next((c for c in classes if c in t), None)
            if pred:
                yes += pred == "YES"
                maybe += pred == "MAYBE"
                if gold in cm:
                    cm[gold][pred] += 1
        n = len(rows)
        prec, rec, f1 = [], [], []
        for c in classes:
            tp = cm[c][c]
            pp = sum(cm[g][c] for g in classes)
            ap = sum(cm[c].values())
            p = tp / pp if pp else 0.0
            r = tp / ap if ap else 0.0
            prec.append(p)
            rec.append(r)
            f1.append(2 * p * r / (p + r) if p + r else 0.0)
        return {"accuracy": correct / n if n else 0.0, "precision": sum(prec) / 3, "recall": sum(rec) / 3,
                "f1_score": sum(f1) / 3, "yes_ratio": yes / n if n else 0.0, "maybe_ratio": maybe / n if n else 0.0}


class HaluEval(_YesNo):
    name = "halueval"
    version = "1"
    description = (
        "HaluEval (Li et al., 2023): 30,000 generated answers, dialogue responses and summaries, each to be "
        "judged hallucinated or not (10,000 per subset). Scoring as EvalScope's halueval adapter: its "
        "per-task instructions with worked examples, '#Your Judgement#:'; right when the gold word (YES/NO) "
        "appears in the upper-cased reply (outside <think>; a substring test, so 'not' counts as NO); "
        "reported accuracy, precision, recall and F1 of YES (hallucinated) and the YES ratio, per subset "
        "and overall."
    )
    tags = ["hallucination", "knowledge", "yes-no"]
    hf_id = "evalscope/HaluEval"
    ms_id = "evalscope/HaluEval"
    subsets = ["dialogue_samples", "qa_samples", "summarization_samples"]
    num_samples = 30000
    eval_split = "data"
    metrics = ["accuracy", "precision", "recall", "f1_score", "yes_ratio"]

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        from evs_native.benchmarks._halueval_text import DIALOGUE, QA, SUMMARIZATION

        if subset == "dialogue_samples":
            text = (f"{DIALOGUE}\n\n#Knowledge: {record['knowledge']}\n#Dialogue History#: "
                    f"{record['dialogue_history']}\n#Response#: {record['response']}\n#Your Judgement#:")
        elif subset == "qa_samples":
            text = (f"{QA}\n\n#Knowledge: {record['knowledge']}\n#Question#: {record['question']}\n#Answer#: "
                    f"{record['answer']}\n#Your Judgement#:")
        else:
            text = (f"{SUMMARIZATION}\n\n#Document#: {record['document']}\n#Summary#: {record['summary']}\n"
                    "#Your Judgement#:")
        gold = str(record["hallucination"]).strip().upper()
        if gold not in ("YES", "NO"):
            raise ValueError(f"hallucination {record['hallucination']!r} is not yes or no")
        template = self.args.get("prompt_template") or "{question}"  # EvalScope's template: the text as is
        return Sample(id=f"{subset}/{index}", input=template.format(question=text), target=gold, subset=subset)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"accuracy": float(sample.target in str(extracted or "").strip().upper())}

    def set_values(self, rows: list[tuple[str, str, float]]) -> dict[str, float]:
        tp = fp = tn = fn = yes = 0
        for gold, _text, acc in rows:
            pred = gold if acc == 1 else ("NO" if gold == "YES" else "YES")
            yes += pred == "YES"
            tp += pred == "YES" and gold == "YES"
            fp += pred == "YES" and gold == "NO"
            tn += pred == "NO" and gold == "NO"
            fn += pred == "NO" and gold == "YES"
        n = len(rows)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return {"accuracy": (tp + tn) / n if n else 0.0, "precision": p, "recall": r,
                "f1_score": 2 * p * r / (p + r) if p + r else 0.0, "yes_ratio": yes / n if n else 0.0}
