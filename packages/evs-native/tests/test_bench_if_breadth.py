"""Instruction-following breadth: multi_if (Multi-IF).

The end-to-end test writes rows in the Hub schema of ``facebook/Multi-IF`` (JSON-string fields
``turn_k_prompt`` / ``turn_k_instruction_id_list`` / ``turn_k_kwargs``, and ``language``) and runs
``evs eval`` against a fake server whose reply to each turn follows or violates each instruction
as a hash of the gold data decides. The replies are built so that the verdicts are known by
construction, so the expected per-turn, per-language scores are computed here without evs's
checkers. The fake server also checks that turn k's request carries the earlier prompts and its
own earlier replies.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput
from evs_core.testing import FakeOpenAIServer, score_now
from evs_native.engine import run_task

pytest.importorskip("pythainlp")
pytest.importorskip("emoji")

from evs_native.benchmarks import multi_if as M  # noqa: E402

QUOTE = "startend:quotation"
SALT = "39"  # chosen so that every turn has passes and failures and loose differs from strict

# -- the data: (key, language, [(prompt, [(instruction id, kwargs), ...]), ...]) ---------------------
EN_1 = [("Write a short note about a walk by the sea.",
         [("punctuation:no_comma", {}), ("keywords:existence", {"keywords": ["harbor"]})]),
        ("Now give it a title in double angular brackets.",
         [("punctuation:no_comma", {}), ("keywords:existence", {"keywords": ["harbor"]}),
          ("detectable_format:title", {})]),
        ("Finally wrap the whole reply in double quotes.",
         [("punctuation:no_comma", {}), ("keywords:existence", {"keywords": ["harbor"]}),
          ("detectable_format:title", {}), (QUOTE, {})])]
EN_2 = [("Describe your morning routine.",
         [("keywords:existence", {"keywords": ["harbor"]}),
          ("keywords:letter_frequency", {"letter": "#", "let_frequency": 2, "let_relation": "at least"})]),
        ("Wrap it in double quotes.",
         [("keywords:existence", {"keywords": ["harbor"]}),
          ("keywords:letter_frequency", {"letter": "#", "let_frequency": 2, "let_relation": "at least"}),
          (QUOTE, {})])]
ZH = [("请写一段关于周末的短文。",
       [("length_constraints:number_sentences", {"num_sentences": 4, "relation": "less than"}),
        ("keywords:existence", {"keywords": ["公园"]})]),
      ("请用引号把整个回答括起来。",
       [("length_constraints:number_sentences", {"num_sentences": 4, "relation": "less than"}),
        ("keywords:existence", {"keywords": ["公园"]}), (QUOTE, {})]),
      ("回答至少要有三十个字。",
       [("length_constraints:number_sentences", {"num_sentences": 4, "relation": "less than"}),
        ("keywords:existence", {"keywords": ["公园"]}), (QUOTE, {}),
        ("length_constraints:number_words", {"num_words": 30, "relation": "at least"})])]
HI = [("अपने गाँव के बारे में लिखिए।",
       [("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"})]),
      ("अब अल्पविराम का प्रयोग मत कीजिए।",
       [("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"}),
        ("punctuation:no_comma", {})]),
      ("इसे फिर से लिखिए।",
       [("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"}),
        ("punctuation:no_comma", {})])]
TH = [("เขียนเกี่ยวกับวันหยุดของคุณ",
       [("length_constraints:number_words", {"num_words": 8, "relation": "at least"})]),
      ("เขียนอีกครั้ง", [("length_constraints:number_words", {"num_words": 8, "relation": "at least"})]),
      ("เขียนอีกครั้งหนึ่ง", [("length_constraints:number_words", {"num_words": 8, "relation": "at least"})])]
CONVERSATIONS = [(key, lang, [(f"{prompt} (#{key})", instr) for prompt, instr in turns]) for key, lang, turns in
                 [(101, "English", EN_1), (102, "English", EN_2), (103, "English", EN_1), (201, "Chinese", ZH),
                  (202, "Chinese", ZH), (301, "Hindi", HI), (401, "Thai", TH), (402, "Thai", TH)]]
FAILING = 103  # the fake server fails this conversation's second turn: the sample is an error
THINKING = 201  # this conversation's replies start with a <think> block (not part of the history)


def hub_row(key: int, language: str, turns: list) -> dict:
    row = {"key": key, "language": language}
    for k in range(1, 4):
        if k <= len(turns):
            prompt, instr = turns[k - 1]
            row[f"turn_{k}_prompt"] = json.dumps({"role": "user", "content": prompt}, ensure_ascii=False)
            row[f"turn_{k}_instruction_id_list"] = json.dumps([i for i, _ in instr])
            row[f"turn_{k}_kwargs"] = json.dumps([json.dumps(kw, ensure_ascii=False) for _, kw in instr])
        else:  # the Hub's rows without a third turn carry empty fields
            row[f"turn_{k}_prompt"] = row[f"turn_{k}_instruction_id_list"] = row[f"turn_{k}_kwargs"] = None
    return row


def verdict(key: int, turn: int, iid: str) -> str:
    """pass / loose (strict fails, loose passes) / fail, from a hash of the gold data."""
    h = hashlib.sha256(f"{SALT}{key}|{turn}|{iid}".encode()).digest()[0]
    if iid == QUOTE:
        return ("pass", "loose", "fail")[h % 3]
    return "pass" if h % 2 else "fail"


def reply(key: int, language: str, turn: int) -> str:
    """A reply whose verdict on each instruction of the turn is `verdict(...)`, by construction."""
    instr = dict(CONVERSATIONS[[c[0] for c in CONVERSATIONS].index(key)][2][turn - 1][1])
    ok = {iid: verdict(key, turn, iid) for iid in instr}
    quote = ok.get(QUOTE, "fail")
    if language == "English":
        lines = ["<<Morning Notes>>"] if ok.get("detectable_format:title") == "pass" else []
        lines += ["We walked along the shore and watched the boats.",
                  "Then" + ("," if ok.get("punctuation:no_comma") == "fail" else "") + " we rested on a bench.",
                  "The boats near the " + ("harbor" if ok.get("keywords:existence") == "pass" else "pier")
                  + " were painted blue."]
        body = "\n".join(lines)
        if quote != "fail":
            body = f'"{body}"'
        return ("Here is my reply:\n" + body) if quote == "loose" else body
    if language == "Chinese":
        place = "公园" if ok.get("keywords:existence") == "pass" else "河边"
        one = ok.get("length_constraints:number_sentences") == "pass"  # < 4 sentences: one sentence
        long = ok.get("length_constraints:number_words", "pass") == "pass"  # >= 30 CJK characters
        if one:
            body = (f"今天早上我们一家人一起去附近的{place}散步，看到了许多美丽的花朵和高大的绿树，大家都觉得非常愉快和放松。"
                    if long else f"我们去{place}了。")
        else:  # six sentences on three lines, four in the middle one: every loose variant (the first
            # and/or last line dropped) still has 4 or more
            body = (f"我们今天早上去了{place}散步。\n路边的花朵开得非常鲜艳美丽。孩子们在草地上快乐地奔跑。"
                    "老人们坐在长椅上聊天休息。小狗也跟着我们跑来跑去。\n大家都觉得这一天过得很愉快。"
                    if long else f"我去{place}。\n天气好。花开了。鸟叫了。真开心。\n很好。")
        if quote != "fail":
            body = f"“{body}”"
        return ("好的：\n" + body) if quote == "loose" else body
    if language == "Hindi":
        comma = "," if ok.get("punctuation:no_comma") == "fail" else ""
        if ok["length_constraints:number_sentences"] == "pass":
            return (f"मेरा गाँव एक छोटी नदी के किनारे बसा हुआ है। वहाँ के लोग बहुत मेहनती{comma} और मिलनसार हैं। "
                    "हर साल गाँव में एक बड़ा मेला लगता है। बच्चे उस मेले का पूरे साल इंतज़ार करते हैं।")
        return f"मेरा गाँव एक छोटी नदी के किनारे बसा हुआ है{comma} और वहाँ के लोग बहुत मेहनती हैं।"
    if language == "Thai":
        if ok["length_constraints:number_words"] == "pass":
            return "วันหยุดที่ผ่านมาฉันไปเที่ยวทะเลกับครอบครัว เราว่ายน้ำและกินอาหารทะเลอร่อยมาก"
        return "สวัสดีครับ"
    raise AssertionError(language)


def expected_scores() -> dict:
    """{(language, turn, metric): [per-sample values]} and the unchecked count, from the verdicts."""
    out: dict = {}
    unchecked = 0
    for key, language, turns in CONVERSATIONS:
        if key == FAILING:
            continue
        for k, (_, instr) in enumerate(turns, start=1):
            ids = [iid for iid, kw in instr if not (iid == "keywords:letter_frequency" and kw["letter"] == "#")]
            unchecked += len(instr) - len(ids)
            strict = [verdict(key, k, i) == "pass" for i in ids]
            loose = [verdict(key, k, i) != "fail" for i in ids]
            for metric, value in ((f"turn_{k}_prompt_level_strict", float(all(strict))),
                                  (f"turn_{k}_inst_level_strict", sum(strict) / len(strict)),
                                  (f"turn_{k}_prompt_level_loose", float(all(loose))),
                                  (f"turn_{k}_inst_level_loose", sum(loose) / len(loose))):
                out.setdefault((language, metric), []).append(value)
                out.setdefault(("all", metric), []).append(value)
    return out, unchecked


class Conversation:
    """The fake model: replies per (conversation, turn), checking the history it is sent."""

    def __init__(self, max_turns: int = 3) -> None:
        self.by_opening = {turns[0][0]: (key, lang, turns) for key, lang, turns in CONVERSATIONS}
        self.history_errors: list[str] = []
        self.max_turns = max_turns

    def __call__(self, body: dict) -> str:
        msgs = body["messages"]
        users = [m["content"] for m in msgs if m["role"] == "user"]
        key, lang, turns = self.by_opening[users[0]]
        k = len(users)
        want = []
        for j in range(1, k + 1):
            want.append({"role": "user", "content": turns[j - 1][0]})
            if j < k:
                want.append({"role": "assistant", "content": reply(key, lang, j)})
        if [{"role": m["role"], "content": m["content"]} for m in msgs] != want:
            self.history_errors.append(f"{key} turn {k}: {msgs}")
        if k > self.max_turns:
            self.history_errors.append(f"{key}: turn {k} beyond max_turns")
        if key == FAILING and k == 2:
            raise RuntimeError("injected failure")
        text = reply(key, lang, k)
        return f"<think>Plan the turn {k} reply.</think>{text}" if key == THINKING else text


def _write(tmp_path: Path) -> Path:
    d = tmp_path / "data" / "multi_if"
    d.mkdir(parents=True)
    (d / "train.jsonl").write_text("\n".join(json.dumps(hub_row(*c), ensure_ascii=False) for c in CONVERSATIONS),
                                   encoding="utf-8")
    return tmp_path / "data"


def _run(srv, tmp_path, **kw):
    cfg = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["multi_if"],
           "dataset_dir": str(_write(tmp_path)), "work_dir": str(tmp_path / "out"), "no_progress": True,
           "retries": 0, **kw}
    return run_task(cfg)["multi_if"]


def test_multi_if_end_to_end_per_turn_and_language(tmp_path):
    exp, unchecked = expected_scores()
    # the hashes make the check bite: every turn has passes and failures, and loose differs from strict
    for k in (1, 2, 3):
        vals = exp[("all", f"turn_{k}_inst_level_strict")]
        assert 0 < sum(vals) < len(vals), k
    assert any(exp[("all", f"turn_{k}_prompt_level_loose")] != exp[("all", f"turn_{k}_prompt_level_strict")]
               for k in (1, 2, 3))
    responder = Conversation()
    with FakeOpenAIServer(responder) as srv:
        rep = _run(srv, tmp_path)
        n_requests = len(srv.requests)
    assert responder.history_errors == []
    # 3 + 2 + 3 turns ... : every turn of every conversation once; the failing one stops at turn 2
    assert n_requests == sum(len(t) for k, _, t in CONVERSATIONS if k != FAILING) + 2
    # 7 conversations scored (one failed); the primary metric counts the 6 with a third turn
    assert rep.num_errors == 1 and sum(s.num for s in rep.subsets) == 7 and rep.num == 6
    assert rep.metric == "turn_3_prompt_level_strict"
    for (lang, metric), vals in exp.items():
        want = sum(vals) / len(vals)
        if lang == "all":
            assert rep.metrics[metric].score == pytest.approx(want), metric
        else:
            sub = next(s for s in rep.subsets if s.name == lang)
            assert sub.metrics[metric].score == pytest.approx(want), (lang, metric)
    assert rep.metrics["unchecked_instructions"].score == unchecked == 2
    assert rep.score == pytest.approx(sum(exp[("all", "turn_3_prompt_level_strict")])
                                      / len(exp[("all", "turn_3_prompt_level_strict")]))
    reviews = [json.loads(x) for x in (tmp_path / "out").rglob("reviews/**/multi_if.jsonl").__next__()
               .read_text().splitlines()]
    by_id = {r["sample_id"]: r for r in reviews}
    assert by_id["English/103"]["error"].startswith("turn 2: ") and "injected failure" in by_id["English/103"]["error"]
    reasons = [u["reason"] for t in by_id["English/102"]["metadata"]["turns"] for u in t["unchecked"]]
    assert len(reasons) == 2 and all("random letter" in r for r in reasons)
    assert "turn_3_prompt_level_strict" not in by_id["English/102"]["scores"]  # a 2-turn conversation
    # the stored conversations are enough to score again, without a model
    run_dir = next((tmp_path / "out").iterdir())
    again = run_task({"model": "m", "datasets": ["multi_if"], "dataset_dir": str(tmp_path / "data"),
                      "use_cache": str(run_dir), "rescore": True, "no_progress": True})["multi_if"]
    assert {k: v.score for k, v in again.metrics.items()} == {k: v.score for k, v in rep.metrics.items()}


def test_multi_if_max_turns_one(tmp_path):
    exp, _ = expected_scores()
    responder = Conversation(max_turns=1)
    with FakeOpenAIServer(responder) as srv:
        rep = _run(srv, tmp_path, dataset_args={"multi_if": {"extra_params": {"max_turns": 1}}})
        assert len(srv.requests) == len(CONVERSATIONS)
    assert responder.history_errors == []
    assert rep.num_errors == 0 and rep.metric == "turn_1_prompt_level_strict"
    assert "turn_2_prompt_level_strict" not in rep.metrics
    # the failing conversation's first turn is scored now
    vals = exp[("all", "turn_1_prompt_level_strict")]
    key, lang, turns = next(c for c in CONVERSATIONS if c[0] == FAILING)
    vals = vals + [float(all(verdict(key, 1, i) == "pass" for i, _ in turns[0][1]))]
    assert rep.score == pytest.approx(sum(vals) / len(vals))


def test_multi_if_bad_input_stops_before_any_request(tmp_path):
    with FakeOpenAIServer(lambda b: "x") as srv:
        with pytest.raises(ConfigError, match="max_turns must be 1, 2 or 3"):
            _run(srv, tmp_path, dataset_args={"multi_if": {"max_turns": 4}})
        assert srv.requests == []
    row = hub_row(1, "English", EN_1)
    row["turn_2_instruction_id_list"] = json.dumps(["punctuation:no_coma", "keywords:existence",
                                                    "detectable_format:title"])
    d = tmp_path / "bad" / "multi_if"
    d.mkdir(parents=True)
    (d / "train.jsonl").write_text(json.dumps(row))
    with FakeOpenAIServer(lambda b: "x") as srv:
        with pytest.raises(ConfigError, match="unknown instruction id 'punctuation:no_coma'.*no_comma"):
            run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["multi_if"],
                      "dataset_dir": str(tmp_path / "bad"), "work_dir": str(tmp_path / "o2"), "no_progress": True})
        assert srv.requests == []


# -- the checkers Multi-IF changes, on realistic replies ---------------------------------------------
def _check(iid: str, kw: dict, response: str) -> tuple[bool, bool]:
    c = M.build(iid, kw)
    return M.follow_strict([c], response)[0], M.follow_loose([c], response)[0]


def test_sentence_counts_by_language():
    zh = "周末我们去了公园。天气非常好！你想一起去吗？\n下次再约。"
    assert M.detect_language(zh) in ("zh-cn", "zh-tw")
    assert M.count_sentences(zh) == 4  # 。！？ and the line break end sentences
    assert M.split_chinese_japanese("“今天天气很好。明天会下雨。”") == ["“今天天气很好。", "明天会下雨。", "”"]
    hi = "मेरा गाँव एक छोटी नदी के किनारे बसा हुआ है। वहाँ के लोग बहुत मेहनती हैं! क्या आप कभी वहाँ गए हैं?"
    assert M.detect_language(hi) == "hi" and M.count_sentences(hi) == 3
    th = "วันหยุดที่ผ่านมาฉันไปเที่ยวทะเลกับครอบครัว\nเราว่ายน้ำและกินอาหารทะเลอร่อยมาก"
    from pythainlp.tokenize import sent_tokenize

    assert M.detect_language(th) == "th"
    assert M.count_sentences(th) == sum(len(sent_tokenize(line)) for line in th.splitlines()) >= 2
    en = "Mr. Smith went to Washington. He arrived at 5 p.m. yesterday! Did he?"
    assert M.count_sentences(en) == 3  # Punkt keeps "Mr." and "p.m." inside their sentences
    assert _check("length_constraints:number_sentences", {"num_sentences": 4, "relation": "at least"}, zh) == \
        (True, True)
    assert _check("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}, hi) == \
        (False, False)


def test_word_counts_by_language():
    zh = "今天我们去公园散步，看到很多花😀"
    assert M.detect_language(zh) in ("zh-cn", "zh-tw")
    # 14 ideographs (the comma is removed) and one emoji
    assert M.count_words(zh) == 15
    assert M.count_words_cjk("こんにちは、ジェイソンさん、Jason? Nice to meet you☺ ❤") == 19  # the reference's example
    th = "วันหยุดที่ผ่านมาฉันไปเที่ยวทะเลกับครอบครัว"
    from pythainlp.tokenize import word_tokenize

    assert M.count_words(th) == len(word_tokenize(th)) > 5
    assert M.count_words("Hello there, it's a fine day.") == 7  # \w+ runs: it / s
    hi = "मेरा गाँव एक छोटी नदी के किनारे बसा हुआ है और वहाँ के लोग बहुत मेहनती हैं।"
    # NLTK's \w+ (the regex engine) keeps the vowel signs inside their words: 17 words, not 26 pieces
    assert M.detect_language(hi) == "hi" and M.count_words(hi) == 17
    assert _check("length_constraints:number_words", {"num_words": 15, "relation": "at least"}, zh) == (True, True)
    assert _check("length_constraints:number_words", {"num_words": 15, "relation": "less than"}, zh) == \
        (False, False)


@pytest.mark.parametrize("response, strict, loose", [
    ('"An answer in quotes."', True, True),
    ("“用中文引号括起来的回答。”", True, True),
    ("「日本語の括弧で囲まれた答え」", True, True),
    ("Sure!\n“引号里的回答。”", False, True),
    ("“mismatched\"", False, False),
    ("No quotes at all.", False, False),
])
def test_quotation_accepts_cjk_marks(response, strict, loose):
    assert _check(QUOTE, {}, response) == (strict, loose)


def test_strict_checks_a_whitespace_reply_and_empty_fails():
    # Multi-IF's strict check runs on any non-empty reply (IFEval's skips all-whitespace ones)
    assert M.follow_strict([M.build("punctuation:no_comma", {})], "  ") == [True]
    assert M.follow_strict([M.build("punctuation:no_comma", {})], "") == [False]
    assert M.follow_loose([M.build("punctuation:no_comma", {})], "  ") == [False]


def test_unchecked_instructions_are_named():
    bench = M.MultiIF({})
    turn = {"prompt": "p", "instruction_id_list": ["keywords:letter_frequency", "length_constraints:number_words",
                                                   "length_constraints:nth_paragraph_first_word",
                                                   "punctuation:no_comma"],
            "kwargs": [{"letter": "#", "let_frequency": 2, "let_relation": "at least"}, {"num_words": 5},
                       {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "so"}, {}]}
    r = bench.evaluate_turn(turn, "No commas here")
    assert r["instruction_id_list"] == ["punctuation:no_comma"] and r["strict"] == [True]
    reasons = [u["reason"] for u in r["unchecked"]]
    assert "random letter" in reasons[0] and "'relation' must be one of" in reasons[1] and "random index" in reasons[2]
    for iid, kw in (("keywords:existence", {"keywords": []}), ("keywords:forbidden_words", {"forbidden_words": []}),
                    ("length_constraints:number_words", {"num_words": -1, "relation": "at least"})):
        with pytest.raises(ConfigError, match="the reference draws"):
            M.build(iid, kw)


def test_record_schema_and_scoring_of_a_recorded_conversation():
    bench = M.MultiIF({})
    row = hub_row(7, "English", EN_1)
    s = bench.record_to_sample({**row, "_row": 0}, 0, "English")
    assert s.id == "English/7" and [t["prompt"] for t in s.metadata["turns"]] == [t[0] for t in EN_1]
    traj = [{"role": "user", "content": EN_1[0][0]}, {"role": "assistant", "content": "A harbor walk, nice."},
            {"role": "user", "content": EN_1[1][0]}, {"role": "assistant", "content": "<<Walk>>\nThe harbor at dawn."},
            {"role": "user", "content": EN_1[2][0]}, {"role": "assistant", "content": '"<<Walk>>\nThe harbor, at dawn."'}]
    r = score_now(bench, s, ModelOutput(text=traj[-1]["content"], trajectory=traj))
    assert r.scores["turn_1_prompt_level_strict"] == 0.0 and r.scores["turn_1_inst_level_strict"] == 0.5
    assert r.scores["turn_2_prompt_level_strict"] == 1.0
    # strict: the comma fails turn 3; loose checks each instruction on every variant, and the reply
    # without its last line ('"<<Walk>>') has no comma, so every instruction passes loosely
    assert r.scores["turn_3_inst_level_strict"] == 0.75 and r.scores["turn_3_prompt_level_strict"] == 0.0
    assert r.scores["turn_3_prompt_level_loose"] == 1.0
    short = score_now(bench, s, ModelOutput(text="x", trajectory=traj[:2]))
    assert short.error and "IncompleteConversation" in short.error
