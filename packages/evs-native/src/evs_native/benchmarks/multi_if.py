"""``multi_if``: Multi-IF (Meta, 2024), multi-turn multilingual IFEval-style instruction following.

Each row is a conversation of up to three user turns in one of 11 languages; turn *k* carries the
instructions the reply to that turn must follow (``turn_k_instruction_id_list`` / ``turn_k_kwargs``,
cumulative over the turns as the data gives them). evs drives the conversation itself
(:meth:`MultiIF.solve`): turn 1's prompt, the model's reply, turn 2's prompt with that history, and so
on, as EvalScope's ``MultiTurnAdapter`` does; every reply is scored against its own turn's
instructions, strict and loose, with Multi-IF's checkers (``ifeval.py`` of the official code, the
copy EvalScope ships). They are IFEval's checkers (reused from :mod:`evs_native.benchmarks.ifeval`)
except for what Multi-IF changes:

* ``length_constraints:number_sentences`` detects the reply's language first: Thai is split by
  PyThaiNLP's ``sent_tokenize`` line by line, Hindi at ``।!?``, Chinese/Japanese by Multi-IF's
  regular expression, anything else by NLTK Punkt (English) as IFEval;
* ``length_constraints:number_words``: Thai words by PyThaiNLP's ``word_tokenize``, Chinese/Japanese
  by Multi-IF's CJK count (one per ideograph/kana/hangul, plus whitespace words and emoji),
  anything else NLTK's ``RegexpTokenizer(r"\\w+")`` (as IFEval, but through NLTK, whose 3.10 regex
  engine keeps combining marks inside words);
* ``startend:quotation`` also accepts ``“…”`` and ``「…」``;
* the strict check runs on any non-empty reply (IFEval's: a reply that is not all whitespace).

Where the reference would draw a random argument (a missing keyword argument, an empty keyword
list, a negative count, a letter outside a-z, a paragraph index outside the range), the instruction cannot be checked reproducibly: it is
left out of the scores and counted in ``unchecked_instructions`` (a summed metric of the report)
and in the review's metadata, never dropped silently.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError, MissingDependencyError, require
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample, Usage

LANGUAGES = ["Chinese", "English", "German", "Italian", "Vietnamese", "Spanish", "Hindi", "Portuguese", "French",
             "Thai", "Russian"]
KINDS = ("prompt_level_strict", "inst_level_strict", "prompt_level_loose", "inst_level_loose")
INSTALL = "evs-native[multi_if]"
MAX_TURNS = 3

# -- Multi-IF's language-aware counting --------------------------------------------------------------
_CJK = r"[\u4E00-\u9FFF\u3400-\u4DBF]|[\u3040-\u309f\u30a0-\u30ff]|[\uAC00-\uD7AF]"
_NON_ALNUM = r"[\\.\!\?\．\/_,\{\}<>:;$%^&*(+\"\'+——！，。？、`~@#￥……（）：；《）《》“”()\[\]»〔〕\-「」]+"
_CJK_SENTENCE = re.compile(r"[^!?。\.\!\?\！\？\．\n]+[!?。\.\!\?\！\？\．\n]?", flags=re.U)
_CJK_CODES = ("zh", "zh-cn", "zh-tw", "ja")


def detect_language(text: str) -> str:
    """langdetect's code for a reply (seeded), ``en`` when it cannot decide (as the reference)."""
    from evs_native.benchmarks.ifeval.instructions import _langdetect

    return _langdetect(text) or "en"


def split_chinese_japanese(text: str) -> list[str]:
    """Multi-IF's Chinese/Japanese sentences: runs up to a terminator, line by line."""
    return [s for line in text.splitlines() for s in _CJK_SENTENCE.findall(line.strip())]


def count_words_cjk(text: str) -> int:
    """Multi-IF's word count for Chinese/Japanese (and Korean) text."""
    import emoji

    text = re.sub(_NON_ALNUM, "", text)
    emojis = emoji.emoji_count(text)
    text = emoji.replace_emoji(text, "")
    asian = len(re.findall(_CJK, text))
    return len(re.sub(_CJK, " ", text).split()) + asian + emojis


def count_hindi_sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[।!?])\s*", text) if s.strip()])


def count_thai_sentences(text: str) -> int:
    from pythainlp.tokenize import sent_tokenize

    return sum(len(sent_tokenize(line)) for line in text.splitlines())


def count_thai_words(text: str) -> int:
    from pythainlp.tokenize import word_tokenize

    return len(word_tokenize(text))


def count_sentences(text: str) -> int:
    from evs_native.benchmarks.ifeval import text as T

    lang = detect_language(text)
    if lang == "th":
        return count_thai_sentences(text)
    if lang == "hi":
        return count_hindi_sentences(text)
    if lang in _CJK_CODES:
        return len(split_chinese_japanese(text))
    return T.count_sentences(text)


@functools.lru_cache(maxsize=1)
def _word_tokenizer():
    from nltk.tokenize import RegexpTokenizer

    return RegexpTokenizer(r"\w+")


def count_regexp_words(text: str) -> int:
    """The reference's ``RegexpTokenizer(r"\w+")`` count, through NLTK itself: NLTK 3.10 compiles
    the pattern with the ``regex`` engine, whose ``\w`` includes combining marks (Devanagari vowel
    signs stay inside their word), where Python's ``re`` splits such words."""
    return len(_word_tokenizer().tokenize(text))


def count_words(text: str) -> int:
    lang = detect_language(text)
    if lang == "th":
        return count_thai_words(text)
    if lang in _CJK_CODES:
        return count_words_cjk(text)
    return count_regexp_words(text)


def _compare(count: int, relation: str, threshold: int) -> bool:
    return count < threshold if relation == "less than" else count >= threshold


def _number_sentences(kw: dict[str, Any], prompt: str):
    from evs_native.benchmarks.ifeval import instructions as I

    (n,) = I._need(kw, "num_sentences")
    rel = I._relation(kw)
    return lambda v: _compare(count_sentences(v), rel, n)


def _number_words(kw: dict[str, Any], prompt: str):
    from evs_native.benchmarks.ifeval import instructions as I

    (n,) = I._need(kw, "num_words")
    rel = I._relation(kw)
    return lambda v: _compare(count_words(v), rel, n)


def _quotation(kw: dict[str, Any], prompt: str):
    def check(v: str) -> bool:
        v = v.strip()
        return len(v) > 1 and ((v[0] == '"' and v[-1] == '"') or (v[0] == "“" and v[-1] == "”")
                               or (v[0] == "「" and v[-1] == "」"))
    return check


#: Multi-IF's checkers that differ from IFEval's (the others are IFEval's).
OVERRIDES = {
    "length_constraints:number_sentences": _number_sentences,
    "length_constraints:number_words": _number_words,
    "startend:quotation": _quotation,
}


def instruction_ids() -> list[str]:
    from evs_native.benchmarks.ifeval import instructions as I

    return sorted(I.CHECKERS)


#: Arguments the reference replaces by a random value when empty (``if not x``) or negative.
_RANDOM_IF_EMPTY = ("keywords", "forbidden_words", "keyword")
_RANDOM_IF_NEGATIVE = ("num_sentences", "num_placeholders", "num_bullets", "num_highlights", "num_sections",
                       "num_paragraphs", "num_words", "frequency", "let_frequency")


def unchecked_reason(instruction_id: str, kwargs: dict[str, Any]) -> str | None:
    """Why the reference would check this instruction against a random argument (None: it would not)."""
    for key in _RANDOM_IF_EMPTY:
        if key in kwargs and not kwargs[key]:
            return f"'{key}' is empty (the reference draws random words)"
    for key in _RANDOM_IF_NEGATIVE:
        if isinstance(kwargs.get(key), int) and kwargs[key] < 0:
            return f"'{key}' is negative (the reference draws a random number)"
    if instruction_id == "keywords:letter_frequency":
        letter = kwargs.get("letter")
        if not isinstance(letter, str) or len(letter) != 1 or not ("a" <= letter.lower() <= "z"):
            return f"letter {letter!r} is not one of a-z (the reference draws a random letter)"
    if instruction_id == "length_constraints:nth_paragraph_first_word":
        num, nth = kwargs.get("num_paragraphs"), kwargs.get("nth_paragraph")
        if isinstance(num, int) and isinstance(nth, int) and not (0 < nth <= num):
            return f"nth_paragraph {nth} outside 1..{num} (the reference draws a random index)"
    return None


def build(instruction_id: str, kwargs: dict[str, Any], prompt: str = ""):
    """The checker of one Multi-IF instruction, or raise ConfigError naming why it cannot be built."""
    from evs_native.benchmarks.ifeval import instructions as I

    kw = {k: v for k, v in (kwargs or {}).items() if v is not None}
    reason = unchecked_reason(instruction_id, kw)
    if reason:
        raise ConfigError(reason)
    if instruction_id in OVERRIDES:
        return OVERRIDES[instruction_id](kw, prompt)
    return I.build(instruction_id, kw, prompt)


def follow_strict(checkers: list[Any], response: str) -> list[bool]:
    """Multi-IF's strict check: a non-empty reply, as is."""
    return [bool(response) and bool(c(response)) for c in checkers]


def follow_loose(checkers: list[Any], response: str) -> list[bool]:
    from evs_native.benchmarks.ifeval.instructions import loose_variants

    variants = loose_variants(response)
    return [any(bool(r.strip()) and bool(c(r)) for r in variants) for c in checkers]


def check_available() -> None:
    """One line naming the extra when a tokenizer the checkers need is missing."""
    from evs_native.benchmarks.ifeval import text

    try:
        text.check_available()
    except MissingDependencyError as exc:
        raise MissingDependencyError(str(exc).replace("evs-native[ifeval]", INSTALL)) from None
    require("emoji", "multi_if Chinese/Japanese word counts", INSTALL)
    require("pythainlp", "multi_if Thai word and sentence counts", INSTALL)
    require("pycrfsuite", "multi_if Thai sentence splitting (PyThaiNLP's crfcut)", INSTALL)


# -- the benchmark ------------------------------------------------------------------------------------
def _json_field(record: dict[str, Any], field: str) -> Any:
    value = record[field]
    if isinstance(value, str):
        value = json.loads(value)
    return value


class MultiIF(Benchmark):
    name = "multi_if"
    version = "1"
    description = (
        "Multi-IF (Meta): up to 3 user turns in 11 languages, each reply checked against its turn's IFEval-style "
        "instructions with Multi-IF's checkers (language-aware sentence/word counts for Thai, Hindi, Chinese; "
        "CJK quotation marks), strict and loose, prompt- and instruction-level accuracy per turn and language, "
        "as EvalScope's multi_if adapter (turn k's request carries the model's own earlier replies; langdetect "
        "seeded as there). Deviations: an instruction the reference would check against a random argument is left out "
        "of the scores and counted in unchecked_instructions; a failed request of any turn fails the sample."
    )
    tags = ["instruction-following", "multi-turn", "multilingual"]
    hf_id = "facebook/Multi-IF"
    ms_id = "facebook/Multi-IF"
    subsets = LANGUAGES
    eval_split = "train"
    num_samples = 4501
    subset_field = "language"
    metrics = [f"turn_{k}_{m}" for k in range(1, MAX_TURNS + 1) for m in KINDS] + ["unchecked_instructions"]
    metric_aggregations: ClassVar[dict[str, str]] = {"unchecked_instructions": "sum"}
    primary_metric = f"turn_{MAX_TURNS}_prompt_level_strict"
    extra_args: ClassVar[dict[str, Any]] = {"max_turns": MAX_TURNS}
    prompt_template = "turn_1_prompt, then turn_2_prompt after the model's reply, then turn_3_prompt"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_available()  # a missing extra stops the run before any model call

    def _check_args(self) -> None:
        super()._check_args()
        turns = self.args.get("max_turns")
        if not isinstance(turns, int) or isinstance(turns, bool) or not 1 <= turns <= MAX_TURNS:
            raise ConfigError(f"dataset_args.multi_if.max_turns must be 1, 2 or 3, not {turns!r}")
        # EvalScope's main score: the last evaluated turn's strict prompt-level accuracy.
        self.primary_metric = f"turn_{turns}_prompt_level_strict"

    # -- data --------------------------------------------------------------------------------
    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        """One split holding every language; the subsets are the values of ``language``."""
        cache = self.__dict__.setdefault("_rows_cache", {})
        if split not in cache:
            from evs_core.benchmark import DEFAULT

            rows = super().load_rows(split, DEFAULT)
            if rows and self.subset_field not in rows[0]:
                raise ConfigError(f"{self.name}: {self._source(DEFAULT)}: row 1 has no field '{self.subset_field}' "
                                  f"(fields: {', '.join(sorted(map(str, rows[0])))})")
            cache[split] = [{**r, "_row": i} for i, r in enumerate(rows)]
        return [r for r in cache[split] if str(r.get(self.subset_field, "")).strip() == subset]

    def subset_samples(self, subset: str) -> list[Sample]:
        out = super().subset_samples(subset)
        seen: dict[str, int] = {}
        for s in out:  # a key repeated within a language keeps its row number
            seen[s.id] = seen.get(s.id, 0) + 1
        return [s.model_copy(update={"id": f"{s.id}#{s.metadata['row']}"}) if seen[s.id] > 1 else s for s in out]

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        turns = []
        for k in range(1, MAX_TURNS + 1):
            raw = record.get(f"turn_{k}_prompt")
            if not raw:
                break
            prompt = json.loads(raw) if isinstance(raw, str) else raw
            content = prompt["content"] if isinstance(prompt, dict) else None
            if not isinstance(content, str):
                raise ValueError(f"turn_{k}_prompt has no 'content' string")
            ids = _json_field(record, f"turn_{k}_instruction_id_list")
            kwargs = _json_field(record, f"turn_{k}_kwargs")
            kwargs = [json.loads(kw) if isinstance(kw, str) else (kw or {}) for kw in kwargs]
            if not isinstance(ids, list) or len(ids) != len(kwargs):
                raise ValueError(f"turn_{k}: {len(ids)} instruction ids but {len(kwargs)} kwargs")
            known = set(instruction_ids())
            for iid in ids:
                if iid not in known:
                    from evs_core.errors import suggest

                    raise ConfigError(f"row {index + 1}: turn_{k} names unknown instruction id '{iid}'"
                                      f"{suggest(iid, known)}")
            turns.append({"prompt": content, "instruction_id_list": list(ids),
                          "kwargs": [{k2: v for k2, v in kw.items() if v is not None} for kw in kwargs]})
        if not turns:
            raise ValueError("no turn_1_prompt")
        key = record.get("key", record.get("_row", index))
        return Sample(id=f"{subset}/{key}", input=turns[0]["prompt"], target=None, subset=subset,
                      metadata={"turns": turns, "row": record.get("_row", index)})

    # -- the conversation --------------------------------------------------------------------
    def build_request(self, sample: Sample) -> Request:
        """The first turn's request (the conversation itself runs in :meth:`solve`)."""
        return Request(messages=self._opening(sample, sample.metadata["turns"][0]["prompt"]),
                       generation=self._generation())

    def _opening(self, sample: Sample, prompt: str) -> list[dict[str, Any]]:
        system = self.args.get("system_prompt")
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]

    def _generation(self) -> dict[str, Any]:
        return {**self.generation, **self.user_generation, **self.args.get("generation_config", {})}

    async def solve(self, sample: Sample, model: Any, ctx: RunContext) -> tuple[ModelOutput, dict[str, Any]]:
        """Send turn 1, then each next turn with the history including the model's own replies."""
        turns = sample.metadata["turns"][: self.args["max_turns"]]
        generation = self._generation()
        messages: list[dict[str, Any]] = []
        usage = Usage()
        last = ModelOutput()
        for i, turn in enumerate(turns):
            messages += self._opening(sample, turn["prompt"]) if i == 0 else [{"role": "user", "content": turn["prompt"]}]
            last = await model.agenerate(Request(messages=copy.deepcopy(messages), generation=generation))
            if last.usage:
                usage = Usage(**{k: getattr(usage, k) + getattr(last.usage, k) for k in
                                 ("prompt_tokens", "completion_tokens", "total_tokens")})
            if last.error:
                return (ModelOutput(error=f"turn {i + 1}: {last.error}", usage=usage, trajectory=messages),
                        {"kind": "multi_turn", "messages": messages, "generation": generation})
            messages.append({"role": "assistant", "content": last.text})
        return (ModelOutput(text=last.text, usage=usage, finish_reason=last.finish_reason, model=last.model,
                            reasoning=last.reasoning, trajectory=messages),
                {"kind": "multi_turn", "messages": messages[:-1], "generation": generation})

    # -- scoring -----------------------------------------------------------------------------
    def evaluate_turn(self, turn: dict[str, Any], response: str) -> dict[str, Any]:
        """Strict and loose verdicts of one reply, and the instructions that could not be checked."""
        checkers, ids, unchecked = [], [], []
        for iid, kw in zip(turn["instruction_id_list"], turn["kwargs"], strict=True):
            try:
                checkers.append(build(iid, kw, turn["prompt"]))
                ids.append(iid)
            except ConfigError as exc:
                unchecked.append({"instruction_id": iid, "reason": str(exc)})
        return {"instruction_id_list": ids, "strict": follow_strict(checkers, response),
                "loose": follow_loose(checkers, response), "unchecked": unchecked}

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        replies = [m.get("content") or "" for m in (output.trajectory or []) if m.get("role") == "assistant"]
        turns = sample.metadata["turns"][: self.args["max_turns"]]
        if len(replies) != len(turns):
            return failed_review(sample, output, ctx, f"IncompleteConversation: {len(replies)} replies for "
                                                      f"{len(turns)} turns")
        scores: dict[str, float] = {"unchecked_instructions": 0.0}
        per_turn = []
        for k, (turn, reply) in enumerate(zip(turns, replies, strict=True), start=1):
            r = self.evaluate_turn(turn, str(reply))
            per_turn.append(r)
            scores["unchecked_instructions"] += len(r["unchecked"])
            if not r["strict"]:  # every instruction of the turn was unchecked: no score for it
                continue
            n = len(r["strict"])
            scores.update({f"turn_{k}_prompt_level_strict": float(all(r["strict"])),
                           f"turn_{k}_inst_level_strict": sum(r["strict"]) / n,
                           f"turn_{k}_prompt_level_loose": float(all(r["loose"])),
                           f"turn_{k}_inst_level_loose": sum(r["loose"]) / n})
        extracted = {f"turn_{k}": {"strict": dict(zip(r["instruction_id_list"], r["strict"], strict=True)),
                                   "loose": dict(zip(r["instruction_id_list"], r["loose"], strict=True))}
                     for k, r in enumerate(per_turn, start=1)}
        return make_review(sample, output, ctx, extracted=extracted, scores=scores,
                           metadata={"turns": per_turn, "replies": replies})
