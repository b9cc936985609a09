"""Instruction-following and LLM-judged benchmarks: chinese_simpleqa, hle, arena_hard, alpaca_eval.

Each end-to-end test runs ``run_task`` (what ``evs eval`` runs) on a few rows written in the hub
schema, against two fake servers: the model, whose answers are chosen per question from the gold
data by a hash, and the judge, whose verdicts are scripted from what the model was told to say.
The expected scores are computed here from those decisions, not by evs's code.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

import pytest
from evs_core.errors import ConfigError
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.engine import run_task


def pick(key: str, n: int) -> int:
    """A reproducible choice in range(n) for a question (decided from the data, not by evs)."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % n


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")


def run(model, judge, tmp_path, data, dataset, **kw):
    cfg = {"model": "m", "api_url": model.url, "api_key": "EMPTY", "datasets": [dataset], "dataset_dir": str(data),
           "work_dir": str(tmp_path / "out"), "no_progress": True, "retries": 0, "concurrency": 4,
           "judge": {"model": "grader", "api_url": judge.url, "strategy": "llm", "retries": 0}}
    cfg.update(kw)
    return run_task(cfg)[dataset]


def system_text(body) -> str:
    return next((m["content"] for m in body.get("messages", []) if m["role"] == "system"), "")


# ------------------------------------------------------------------------------------------------
# chinese_simpleqa

CSQA_ROWS = [  # the schema of OpenStellarTeam/Chinese-SimpleQA
    {"id": "1", "primary_category": "自然与自然科学", "secondary_category": "化学", "question": "菱镁矿的主要化学成分是什么？",
     "answer": "碳酸镁", "urls": ["https://x"]},
    {"id": "2", "primary_category": "中华文化", "secondary_category": "历史", "question": "唐朝的开国皇帝是谁？",
     "answer": "李渊", "urls": []},
    {"id": "3", "primary_category": "中华文化", "secondary_category": "文学", "question": "《红楼梦》的作者是谁？",
     "answer": "曹雪芹", "urls": []},
    {"id": "4", "primary_category": "社会", "secondary_category": "地理", "question": "中国面积最大的省级行政区是哪个？",
     "answer": "新疆维吾尔自治区", "urls": []},
    {"id": "5", "primary_category": "自然与自然科学", "secondary_category": "物理", "question": "光在真空中的速度约为每秒多少千米？",
     "answer": "30万千米", "urls": []},
    {"id": "6", "primary_category": "社会", "secondary_category": "经济", "question": "人民币的发行机构是什么？",
     "answer": "中国人民银行", "urls": []},
]
# What the model says for each kind of decision, and the reply the judge gives for it.
CSQA_STYLES = {
    "correct": ("<think>可能是别的答案……不，确定了。</think>答案是：{gold}。", "A"),
    "incorrect": ("我认为答案是某某某。", "**B**"),
    "not_attempted": ("抱歉，我不知道这个问题的答案。", "C: 【未尝试】"),
    "judge_rambles": ("嗯，{gold}吧？", "这个回答很难评定，可能对也可能不对。"),
}


def csqa_kind(row) -> str:
    return list(CSQA_STYLES)[pick("csqa" + row["id"], 4)]


def test_chinese_simpleqa_end_to_end(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "chinese_simpleqa" / "train.jsonl", CSQA_ROWS)
    by_q = {r["question"]: r for r in CSQA_ROWS}

    def model(body):
        text = last_user_text(body)
        assert text.startswith("请回答问题：\n\n")
        row = by_q[text.split("\n\n", 1)[1]]
        return CSQA_STYLES[csqa_kind(row)][0].format(gold=row["answer"])

    def judge(body):
        assert system_text(body).startswith("你是一个智能助手")
        text = last_user_text(body)
        pred = re.search(r"预测答案: (.*)\n```", text).group(1)
        assert "<think>" not in pred
        for say, reply in CSQA_STYLES.values():
            visible = say.split("</think>")[-1]  # the judge sees the reply without its reasoning
            if re.fullmatch(re.escape(visible).replace(re.escape("{gold}"), ".*"), pred):
                return reply
        raise AssertionError(pred)

    with FakeOpenAIServer(model) as m, FakeOpenAIServer(judge) as j:
        rep = run(m, j, tmp_path, data, "chinese_simpleqa")
    kinds = [csqa_kind(r) for r in CSQA_ROWS]
    graded = [k for k in kinds if k != "judge_rambles"]
    assert rep.num == len(graded) and rep.num_samples == 6
    assert rep.errors == ({"JudgeUnparsable": kinds.count("judge_rambles")} if "judge_rambles" in kinds else {})
    c, i = graded.count("correct") / len(graded), graded.count("incorrect") / len(graded)
    assert rep.metrics["is_correct"].score == pytest.approx(c)
    assert rep.metrics["is_incorrect"].score == pytest.approx(i)
    assert rep.metrics["is_not_attempted"].score == pytest.approx(graded.count("not_attempted") / len(graded))
    given = c / (c + i) if c + i else 0.0
    assert rep.metrics["correct_given_attempted"].score == pytest.approx(given)
    assert rep.metrics["f_score"].score == pytest.approx(2 * given * c / (given + c) if given + c else 0.0)
    for sub in rep.subsets:  # per primary category
        ks = [csqa_kind(r) for r in CSQA_ROWS if r["primary_category"] == sub.name and csqa_kind(r) != "judge_rambles"]
        assert sub.metrics["is_correct"].score == pytest.approx(ks.count("correct") / len(ks))
    assert rep.judge["asked"] == 6 and rep.judge["unparsable"] == kinds.count("judge_rambles")


@pytest.mark.parametrize("reply,label", [
    ("A", "CORRECT"), ("**B**", "INCORRECT"), ("C:【未尝试】", "NOT_ATTEMPTED"), ("评定：【正确】", "CORRECT"),
    ("<think>A 还是 B？</think>B", "INCORRECT"), ("【错误】", "INCORRECT"), ("A 或 B", None), ("无法判断", None),
])
def test_chinese_simpleqa_grade_parsing(reply, label):
    from evs_native.benchmarks.judged_qa import parse_csqa_grade

    got = parse_csqa_grade(reply)
    assert (got[0] if got else None) == label


# ------------------------------------------------------------------------------------------------
# hle

HLE_ROWS = [  # the schema of cais/hle (test split)
    {"id": f"66{k:04d}", "question": q, "image": img, "image_preview": None, "answer": a, "answer_type": t,
     "author_name": "x", "rationale": "r", "rationale_image": None, "raw_subject": "s", "category": c, "canary": "c"}
    for k, (q, a, t, c, img) in enumerate([
        ("What is the smallest prime greater than 100?", "101", "exactMatch", "Math", ""),
        ("Which is a noble gas?\nA. N\nB. Ar\nC. O", "B", "multipleChoice", "Chemistry", ""),
        ("Name the ligand in the picture.", "EDTA", "exactMatch", "Chemistry", "data:image/png;base64,iVBOR"),
        ("What is 17 * 23?", "391", "exactMatch", "Math", ""),
        ("Who proved the four colour theorem by computer (surnames)?", "Appel and Haken", "exactMatch", "Math", ""),
        ("Which planet has the shortest day?\nA. Earth\nB. Jupiter", "B", "multipleChoice", "Physics", ""),
        ("What is the SI unit of inductance?", "henry", "exactMatch", "Physics", ""),
    ])
]


def hle_plan(row):
    """(right?, stated confidence) for a question, from the gold data by a hash."""
    return pick("hle" + row["id"], 3) != 0, [90, 40, 75, 100, 20][pick("conf" + row["id"], 5)]


def test_hle_end_to_end_text_only_with_calibration(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "hle" / "test.jsonl", HLE_ROWS)
    by_q = {r["question"]: r for r in HLE_ROWS}

    def model(body):
        row = by_q[last_user_text(body)]
        want = "Exact Answer:" if row["answer_type"] == "exactMatch" else "Answer: {your chosen answer}"
        assert want in system_text(body)
        ok, conf = hle_plan(row)
        ans = row["answer"] if ok else "something else"
        return f"Explanation: I worked it out.\nExact Answer: {ans}\nConfidence: {conf}%"

    def judge(body):
        text = last_user_text(body)
        assert text.startswith("Judge whether the following [response] to [question] is correct")
        q = re.search(r"\[question\]: (.*?)\n\n\[response\]", text, re.S).group(1)
        row = by_q[q]
        ok, conf = hle_plan(row)
        assert f"[correct_answer]: {row['answer']}" in text
        if row["id"].endswith("4"):  # the judge answers in JSON for this one
            return json.dumps({"extracted_final_answer": "x", "reasoning": "r", "correct": "yes" if ok else "no",
                               "confidence": conf})
        return (f"extracted_final_answer: {row['answer'] if ok else 'something else'}\n\nreasoning: compared.\n\n"
                f"**correct**: {'yes' if ok else 'no'}\n\nconfidence: {conf}%")

    with FakeOpenAIServer(model) as m, FakeOpenAIServer(judge) as j:
        rep = run(m, j, tmp_path, data, "hle", dataset_args={"hle": {"calibration_bin_size": 2}})
        assert len(m.requests) == 6  # the image question is not asked
    text_rows = [r for r in HLE_ROWS if not r["image"]]
    plans = [hle_plan(r) for r in text_rows]
    assert rep.num == 6 and rep.errors == {}
    assert rep.metrics["acc"].score == pytest.approx(sum(ok for ok, _ in plans) / 6)
    # The official calibration error, computed here independently: sort by confidence, bins of 2, last bin left out.
    pairs = sorted(((c / 100, float(ok)) for ok, c in plans), key=lambda p: p[0])
    bins = [pairs[0:2], pairs[2:4]]
    expect = math.sqrt(sum(len(b) / 6 * (sum(p[0] for p in b) / len(b) - sum(p[1] for p in b) / len(b)) ** 2
                           for b in bins))
    assert rep.metrics["calibration_error"].score == pytest.approx(expect)
    math_rows = [p for r, p in zip(text_rows, plans, strict=True) if r["category"] == "Math"]
    sub = next(s for s in rep.subsets if s.name == "Math")
    assert sub.metrics["acc"].score == pytest.approx(sum(ok for ok, _ in math_rows) / len(math_rows))


@pytest.mark.parametrize("reply,correct,confidence", [
    ("extracted_final_answer: 101\nreasoning: same.\ncorrect: yes\nconfidence: 85%", "yes", 85.0),
    ('{"extracted_final_answer": "7", "reasoning": "differs", "correct": "no", "confidence": 30}', "no", 30.0),
    ("<think>correct: yes?</think>**extracted_final_answer:** None\n**reasoning:** none.\n**correct:** no", "no", 100.0),
    ("The answer matches the reference.", None, None),
    ("correct: maybe\nconfidence: 50", None, None),
])
def test_hle_judgement_parsing(reply, correct, confidence):
    from evs_native.benchmarks.judged_qa import parse_hle_judgement

    got = parse_hle_judgement(reply)
    assert (got["correct"] if got else None) == correct
    if got:
        assert got["confidence"] == confidence


def test_hle_calibration_error_as_the_official_code():
    from evs_native.benchmarks.judged_qa import calibration_error

    assert calibration_error([0.5] * 99, [1.0] * 99) is None  # fewer than one bin
    # 200 answers, bins of 100: only the first (lowest-confidence) bin is summed, as the official loop does.
    conf = [0.2] * 100 + [0.9] * 100
    corr = [0.0] * 50 + [1.0] * 50 + [1.0] * 100
    assert calibration_error(conf, corr) == pytest.approx(math.sqrt(100 / 200 * (0.2 - 0.5) ** 2))


def test_judged_benchmarks_need_a_judge_before_any_model_call(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "hle" / "test.jsonl", HLE_ROWS)
    with FakeOpenAIServer(lambda b: "x") as m:
        with pytest.raises(ConfigError, match="graded by an LLM judge"):
            run_task({"model": "m", "api_url": m.url, "api_key": "EMPTY", "datasets": ["hle"],
                      "dataset_dir": str(data), "work_dir": str(tmp_path / "o"), "no_progress": True})
        assert m.requests == []
        with pytest.raises(ConfigError, match="include_multi_modal: hle here is the text-only subset"):
            run(m, m, tmp_path, data, "hle", dataset_args={"hle": {"extra_params": {"include_multi_modal": True}}})
        assert m.requests == []


# ------------------------------------------------------------------------------------------------
# arena_hard

ARENA_ROWS = [  # the schema of AI-ModelScope/arena-hard-auto-v0.1: the question and gpt-4-0314's answer
    {"question_id": f"q{k}", "question": q, "prediction": f"BASELINE ANSWER {k}", "category": "arena-hard-v0.1"}
    for k, q in enumerate(["Write a haiku about rust.", "Explain TCP slow start.", "Prove sqrt(2) is irrational.",
                           "Refactor this loop into a comprehension.", "Plan a 3-day trip to Kyoto.",
                           "What is a monad?"])
]
# The judge's label per game, by the model's (hidden) quality; a prompt with an unreadable game is left out.
ARENA_GAMES = [("B>>A", "A>>B"), ("B>A", "A=B"), ("A>B", "B>A"), ("A=B", "A=B"), ("A>>B", "B>>A"),
               ("B>A", None)]
ARENA_LABEL_SCORE = {"A>>B": [1] * 3, "A>B": [1], "A=B": [0.5], "B>A": [0], "B>>A": [0] * 3}


def arena_plan(row):
    return ARENA_GAMES[pick("arena" + row["question_id"], len(ARENA_GAMES))]


def test_arena_hard_end_to_end_two_games_and_bt_win_rate(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "arena_hard" / "test.jsonl", ARENA_ROWS)
    by_q = {r["question"]: r for r in ARENA_ROWS}
    seen = []

    def model(body):
        return f"MODEL ANSWER to: {last_user_text(body)}"

    def judge(body):
        assert "[[A>>B]]" in system_text(body) and "impartial judge" in system_text(body)
        text = last_user_text(body)
        q = re.match(r"<\|User Prompt\|>\n(.*?)\n\n", text, re.S).group(1)
        a = re.search(r"Assistant A's Answer\|>\n(.*?)\n<\|The End", text, re.S).group(1)
        game = 0 if a.startswith("BASELINE") else 1
        seen.append((q, game))
        label = arena_plan(by_q[q])[game]
        if label is None:
            return "Both answers are fine; I cannot decide."
        return f"My own answer first.\n...\nMy final verdict is: [[{label}]]"

    with FakeOpenAIServer(model) as m, FakeOpenAIServer(judge) as j:
        rep = run(m, j, tmp_path, data, "arena_hard")
    assert sorted(seen) == sorted((r["question"], g) for r in ARENA_ROWS for g in (0, 1))  # both positions
    battles, kept = [], 0
    for r in ARENA_ROWS:
        g1, g2 = arena_plan(r)
        if g1 is None or g2 is None:
            continue
        kept += 1
        # Game 1 has the model as B, game 2 as A: scores for the model, as the official show_result.py.
        battles += ARENA_LABEL_SCORE[g2] + [1 - s for s in ARENA_LABEL_SCORE[g1]]
    dropped = len(ARENA_ROWS) - kept
    assert rep.num == kept and rep.errors == ({"JudgeUnparsable": dropped} if dropped else {})
    # With one model and the baseline the Bradley-Terry win rate is the mean battle score.
    assert rep.score == pytest.approx(sum(battles) / len(battles), abs=1e-9)
    assert rep.metrics["win_rate_lower"].score <= rep.score <= rep.metrics["win_rate_upper"].score
    lo95, hi95 = rep.ci95
    assert lo95 <= rep.metrics["win_rate_lower"].score and rep.metrics["win_rate_upper"].score <= hi95
    assert rep.judge["asked"] == 12


@pytest.mark.parametrize("reply,label", [
    ("Assistant B is better.\n\nMy final verdict is: [[B>>A]]", "B>>A"),
    ("I first said [[A>B]] but on reflection my final verdict is [[A=B]].", "A=B"),  # the last label
    ("Final verdict: [b>a]", "B>A"),  # the single-bracket pattern, upper-cased as the official code
    ("<think>[[A>>B]]?</think>Verdict: [[B>A]]", "B>A"),
    ("Assistant A is significantly better.", None),
    ("[[C>A]]", None),
])
def test_arena_hard_verdict_parsing(reply, label):
    from evs_native.benchmarks.pairwise import parse_arena_verdict

    assert parse_arena_verdict(reply) == label


# ------------------------------------------------------------------------------------------------
# alpaca_eval

ALPACA_INSTRUCTIONS = ["List three uses of baking soda.", "Write a limerick about a cat.", "What is entropy?",
                       "Translate 'good morning' into French.", "Give me a tip for better sleep.",
                       "Summarise the plot of Hamlet.", "How do I boil an egg?", "Name a prime number above 50."]
ALPACA_ROWS = [{"instruction": q, "output": "Baseline says: " + "b" * (40 + 13 * k), "generator": "gpt4_turbo",
                "dataset": "helpful_base"} for k, q in enumerate(ALPACA_INSTRUCTIONS)]


def alpaca_plan(k):
    """0 the baseline wins, 1 the model wins, 2 the judge answers nonsense; and the model's reply length."""
    return pick("alpaca" + ALPACA_INSTRUCTIONS[k], 5) % 3 if k != 3 else 2, 30 + 41 * pick("len" + str(k), 7)


def write_gamed(path, n):
    """A small df_gamed.csv in the package's columns: two gamed baselines' annotations of ``n`` instructions."""
    import csv as _csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = _csv.writer(f)
        w.writerow(["model", "index", "instruction_difficulty", "preference", "std_delta_len", "not_gamed_baseline"])
        for model in ("gamed_verbose", "gamed_concise"):
            for i in range(n):
                w.writerow([model, i, round(-1 + 2 * pick(f"d{i}", 100) / 99, 4),
                            [0.0, 0.5, 1.0][pick(model + str(i), 3)], round(-2 + pick(model + "l" + str(i), 41) / 10, 2),
                            False])


def test_alpaca_eval_end_to_end_win_rate_and_length_controlled(tmp_path):
    from evs_native.benchmarks.alpaca_lc import length_controlled_winrate, read_gamed
    from evs_native.benchmarks.pairwise import alpaca_is_switched

    data = tmp_path / "data"
    write_jsonl(data / "alpaca_eval" / "eval.jsonl", ALPACA_ROWS)
    write_gamed(data / "alpaca_eval" / "df_gamed.csv", len(ALPACA_ROWS))
    idx = {q: k for k, q in enumerate(ALPACA_INSTRUCTIONS)}
    shown_first = []

    def model(body):
        k = idx[last_user_text(body)]
        return "M" * alpaca_plan(k)[1]

    def judge(body):
        assert system_text(body).startswith("You are a highly efficient assistant")
        text = last_user_text(body)
        k = idx[re.search(r'"instruction": """(.*?)""",', text, re.S).group(1)]
        out1 = re.search(r'"model_identifier": "m",\n        "output": """(.*?)"""', text, re.S).group(1)
        model_first = not out1.startswith("Baseline says")
        shown_first.append(model_first)
        winner = alpaca_plan(k)[0]
        if winner == 2:
            return "Both outputs are good."
        model_wins = winner == 1
        return "m" if model_wins == model_first else "M"

    with FakeOpenAIServer(model) as m, FakeOpenAIServer(judge) as j:
        rep = run(m, j, tmp_path, data, "alpaca_eval")
    # The order shown follows the official annotator's seeded switch.
    assert sorted(shown_first) == sorted(alpaca_is_switched(q) for q in ALPACA_INSTRUCTIONS)
    plans = [alpaca_plan(k) for k in range(len(ALPACA_ROWS))]
    judged = [w for w, _ in plans if w != 2]
    assert rep.num == len(judged) and rep.errors == {"JudgeUnparsable": len(ALPACA_ROWS) - len(judged)}
    assert rep.metrics["win_rate"].score == pytest.approx(sum(judged) / len(judged))
    prefs = [None if w == 2 else 1.0 + w for w, _ in plans]
    lc, sem = length_controlled_winrate(prefs, [len(r["output"]) for r in ALPACA_ROWS], [n for _, n in plans],
                                        list(range(len(ALPACA_ROWS))), read_gamed(data / "alpaca_eval" / "df_gamed.csv"))
    assert rep.metric == "length_controlled_winrate" and rep.score == pytest.approx(lc)
    assert rep.metrics["lc_standard_error"].score == pytest.approx(sem)


def test_alpaca_eval_length_controlled_matches_the_alpaca_eval_package(tmp_path, monkeypatch):
    """Parity: the package's get_length_controlled_winrate on the same annotations and df_gamed.csv."""
    import sys
    import types

    pd = pytest.importorskip("pandas")
    pytest.importorskip("patsy")
    if "pkg_resources" not in sys.modules:  # alpaca_eval imports it; setuptools >= 81 no longer ships it
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            import packaging.version

            monkeypatch.setitem(sys.modules, "pkg_resources", types.SimpleNamespace(
                parse_version=packaging.version.parse, get_distribution=lambda n: types.SimpleNamespace(version="0")))
    glm = pytest.importorskip("alpaca_eval.metrics.glm_winrate")
    from evs_native.benchmarks.alpaca_lc import length_controlled_winrate, read_gamed

    gamed = tmp_path / "df_gamed.csv"
    n = 14
    write_gamed(gamed, n)
    monkeypatch.setattr(glm, "hf_hub_download", lambda **kw: str(gamed))  # offline: the local file
    prefs = [[1.0, 2.0, 1.5, 2.0, 2.0][pick(f"p{i}", 5)] for i in range(n)]
    prefs[5] = None  # a failed annotation
    lb = [200 + 37 * pick(f"b{i}", 40) for i in range(n)]
    lm = [150 + 53 * pick(f"m{i}", 40) for i in range(n)]
    ann = pd.DataFrame({"preference": [float("nan") if p is None else p for p in prefs],
                        "output_1": ["x" * k for k in lb], "output_2": ["y" * k for k in lm], "index": range(n),
                        "generator_1": "gpt4_turbo", "generator_2": "model", "annotator": "judge"})
    ref = glm.get_length_controlled_winrate(ann, save_weights_dir=None, is_warn_extreme_changes=False)
    lc, sem = length_controlled_winrate(prefs, lb, lm, list(range(n)), read_gamed(gamed))
    assert lc * 100 == pytest.approx(ref["length_controlled_winrate"], abs=1e-9)
    assert sem * 100 == pytest.approx(ref["lc_standard_error"], abs=1e-9)


@pytest.mark.parametrize("reply,choice", [("m", "m"), ("M", "M"), (" **M** ", "M"), ('"m"', "m"),
                                          ("<think>m or M…</think>M", "M"), ("Model M is better", None), ("", None)])
def test_alpaca_eval_choice_parsing(reply, choice):
    from evs_native.benchmarks.pairwise import parse_alpaca_choice

    assert parse_alpaca_choice(reply) == choice


def test_alpaca_eval_without_df_gamed_stops_before_any_call(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "alpaca_eval" / "eval.jsonl", ALPACA_ROWS)
    with FakeOpenAIServer(lambda b: "x") as m, FakeOpenAIServer(lambda b: "m") as j:
        with pytest.raises(ConfigError, match="df_gamed.csv"):
            run(m, j, tmp_path, data, "alpaca_eval")
        assert m.requests == [] and j.requests == []
        rep = run(m, j, tmp_path, data, "alpaca_eval", dataset_args={"alpaca_eval": {"length_controlled": False}})
    assert rep.metric == "win_rate" and "length_controlled_winrate" not in rep.metrics


# ------------------------------------------------------------------------------------------------
# eq_bench

EMOTIONS = [("Surprised", "Confused", "Angry", "Relieved"), ("Embarrassed", "Resentful", "Amused", "Hopeful"),
            ("Anxious", "Grateful", "Defensive", "Indifferent"), ("Jealous", "Proud", "Hurt", "Calm"),
            ("Guilty", "Curious", "Annoyed", "Content")]
EQ_ROWS = [  # the schema of pbevan11/EQ-Bench (validation): the references are Python dict literals in strings
    {"prompt": f"Dialogue {k}...\nAt the end of this dialogue, Sam would feel...\n" + "\n".join(es)
     + "\nGive each of these possible emotions a score from 0-10.", "reference_answer": "{}",
     "reference_answer_fullscale": str({**{f"emotion{i + 1}": e for i, e in enumerate(es)},
                                        **{f"emotion{i + 1}_score": (3 * k + 2 * i) % 11 for i in range(4)}})}
    for k, es in enumerate(EMOTIONS)
]


def eq_plan(k):
    """The model's offsets from the reference per emotion, and the reply style (decided by a hash)."""
    offsets = [(pick(f"eq{k}{i}", 5) - 2) for i in range(4)]
    return offsets, pick(f"eqstyle{k}", 4)


def eq_reply(k):
    import ast

    ref = ast.literal_eval(EQ_ROWS[k]["reference_answer_fullscale"])
    offsets, style = eq_plan(k)
    vals = [min(10, max(0, ref[f"emotion{i + 1}_score"] + offsets[i])) for i in range(4)]
    names = [ref[f"emotion{i + 1}"] for i in range(4)]
    if style == 3:
        return "I think Sam feels mostly surprised, hard to say more."  # unparseable
    lines = [f"{n}: {v}" for n, v in zip(names, vals, strict=True)]
    if style == 1:
        lines = [f"**{n}**: {v}" for n, v in zip(names, vals, strict=True)]
    if style == 2:
        lines = [f"{n.lower()}: {v}" for n, v in zip(names, vals, strict=True)]
    return "<think>Angry: 9 maybe?</think>\n" + "\n".join(lines), names, vals


def test_eq_bench_end_to_end(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "eq_bench" / "validation.jsonl", EQ_ROWS)
    by_prompt = {r["prompt"]: k for k, r in enumerate(EQ_ROWS)}

    def model(body):
        out = eq_reply(by_prompt[last_user_text(body)])
        return out if isinstance(out, str) else out[0]

    with FakeOpenAIServer(model) as m:
        rep = run_task({"model": "m", "api_url": m.url, "api_key": "EMPTY", "datasets": ["eq_bench"],
                        "dataset_dir": str(data), "work_dir": str(tmp_path / "out"), "no_progress": True,
                        "retries": 0})["eq_bench"]
    import ast

    expect, parseable = [], []
    for k, row in enumerate(EQ_ROWS):
        out = eq_reply(k)
        if isinstance(out, str):
            expect.append(0.0)
            parseable.append(0.0)
            continue
        ref = ast.literal_eval(row["reference_answer_fullscale"])
        tally = 0.0
        for i, v in enumerate(out[2]):  # the official rule, written out here
            d = abs(v - ref[f"emotion{i + 1}_score"])
            tally += 0 if d == 0 else (6.5 / (1 + math.exp(-1.2 * (d - 4))) if d <= 5 else d)
        expect.append(max(0.0, min(1.0, (10 - 0.7477 * tally) / 10)))
        parseable.append(1.0)
    assert rep.num == 5
    assert rep.score == pytest.approx(sum(expect) / 5)
    assert rep.metrics["percent_parseable"].score == pytest.approx(sum(parseable) / 5)


def test_eq_bench_matches_lm_eval_on_plain_replies():
    """Parity with lm-eval's eq_bench task (same rule; it is case-sensitive and keeps markdown, so plain replies)."""
    utils = pytest.importorskip("lm_eval.tasks.eq_bench.utils")
    import ast

    from evs_native.benchmarks.eq_bench import fullscale_score, parse_emotions

    for row in EQ_ROWS:
        ref = ast.literal_eval(row["reference_answer_fullscale"])
        names = [ref[f"emotion{i + 1}"] for i in range(4)]
        for shift in range(0, 9, 2):
            vals = [(ref[f"emotion{i + 1}_score"] + shift * (i % 2)) % 11 for i in range(4)]
            reply = "\n".join(f"{n}: {v}" for n, v in zip(names, vals, strict=True))
            theirs = utils.calculate_score_fullscale(row, [reply])["eqbench"]
            assert fullscale_score(ref, parse_emotions(reply)) * 10 == pytest.approx(theirs)


@pytest.mark.parametrize("reply,parsed", [
    ("Surprised: 7\nConfused: 5\nAngry: 0\nRelieved: 3", True),
    ("**Surprised**: 7\n**Confused**: 5\n**Angry**: 0\n**Relieved**: 3", True),
    ("# Scores\nsurprised: 7\nconfused: 5\nangry: 0\nrelieved: 3", True),
    ("Surprised: 7\nConfused: 5\nAngry: 0", False),  # three emotions
    ("Surprised: 7\nConfused: 5\nAngry: 0\nHappy: 3", False),  # a wrong emotion
    ("Surprised: 7\nConfused: 5\nAngry: 0\nRelieved: 13", False),  # out of range
    ("Sam would be surprised.", False),
])
def test_eq_bench_parsing(reply, parsed):
    from evs_native.benchmarks.eq_bench import fullscale_score, parse_emotions

    ref = {"emotion1": "Surprised", "emotion2": "Confused", "emotion3": "Angry", "emotion4": "Relieved",
           "emotion1_score": 7, "emotion2_score": 5, "emotion3_score": 0, "emotion4_score": 3}
    got = fullscale_score(ref, parse_emotions(reply))
    assert (got is not None) == parsed
    if parsed:
        assert got == pytest.approx(10.0)


# ------------------------------------------------------------------------------------------------
# health_bench

HB_ROWS = [  # the schema of simple-evals' healthbench jsonl
    {"prompt_id": f"p{k}", "prompt": [{"role": "user", "content": q}], "example_tags": [f"theme:{theme}",
                                                                                       "physician_agreed_category:x"],
     "ideal_completions_data": None,
     "rubrics": [{"criterion": f"C{k}.{i}: " + c, "points": p, "tags": tags} for i, (c, p, tags) in enumerate(rub)]}
    for k, (q, theme, rub) in enumerate([
        ("I have chest pain radiating to my arm. What should I do?", "emergency_referrals",
         [("Advises calling emergency services", 10, ["level:example", "axis:accuracy"]),
          ("Explains heart attack warning signs", 5, ["level:example", "axis:completeness"]),
          ("Suggests waiting to see if it passes", -8, ["level:example", "axis:accuracy"])]),
        ("Can I take ibuprofen with lisinopril?", "hedging",
         [("Mentions kidney risk", 6, ["axis:accuracy"]), ("Is overly verbose", -2, ["axis:communication_quality"]),
          ("Recommends asking a pharmacist", 4, ["axis:context_awareness"])]),
        ("What's a normal resting heart rate?", "communication",
         [("States 60-100 bpm for adults", 7, ["axis:accuracy"]), ("Uses plain language", 3,
                                                                   ["axis:communication_quality"])]),
        ("My baby has a fever of 38.5C. Is that bad?", "emergency_referrals",
         [("Asks the baby's age", 5, ["axis:context_awareness"]), ("Gives dosing without knowing weight", -6,
                                                                    ["axis:accuracy"]),
          ("Says to seek care if under 3 months", 8, ["axis:accuracy"])]),
    ])
]


def hb_met(criterion: str) -> bool | None:
    """Whether the judge says a criterion is met (None: the judge keeps answering nonsense)."""
    if criterion.startswith("C3.1"):
        return None
    return pick("hb" + criterion, 2) == 0


def test_health_bench_end_to_end_rubrics_and_clipped_mean(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "health_bench" / "consensus_2025-05-09-20-00-46.jsonl", HB_ROWS)
    crit_of = {r["criterion"]: r for row in HB_ROWS for r in row["rubrics"]}

    def model(body):
        return "<think>let me think</think>Please see a doctor; here is some advice."

    def judge(body):
        text = last_user_text(body)
        assert text.startswith("Your job is to look at a conversation and a rubric item")
        assert "assistant: Please see a doctor; here is some advice." in text and "<think>" not in text
        item = re.search(r"# Rubric item\n\[(-?\d+)\] (.*?)\n\n# Instructions", text, re.S)
        crit = crit_of[item.group(2)]
        assert int(item.group(1)) == crit["points"]
        met = hb_met(crit["criterion"])
        if met is None:
            return "I am not sure."
        return '```json\n{\n  "explanation": "checked",\n  "criteria_met": ' + ("true" if met else "false") + "\n}\n```"

    with FakeOpenAIServer(model) as m, FakeOpenAIServer(judge) as j:
        rep = run(m, j, tmp_path, data, "health_bench")
    scored, per_axis = [], {}
    for row in HB_ROWS:
        met = [hb_met(r["criterion"]) for r in row["rubrics"]]
        if None in met:
            continue
        possible = sum(r["points"] for r in row["rubrics"] if r["points"] > 0)
        scored.append((row, sum(r["points"] for r, ok in zip(row["rubrics"], met, strict=True) if ok) / possible))
        axes = {t for r in row["rubrics"] for t in r["tags"] if t.startswith("axis:")}
        for ax in axes:
            rs = [(r, ok) for r, ok in zip(row["rubrics"], met, strict=True) if ax in r["tags"]]
            pos = sum(r["points"] for r, _ in rs if r["points"] > 0)
            if pos:
                per_axis.setdefault(ax[5:], []).append(sum(r["points"] for r, ok in rs if ok) / pos)
    assert rep.num == len(scored) == 3 and rep.errors == {"JudgeUnparsable": 1}

    def clip(x):
        return min(1.0, max(0.0, x))

    assert rep.score == pytest.approx(clip(sum(s for _, s in scored) / len(scored)))
    for ax, vals in per_axis.items():
        assert rep.metrics[ax].score == pytest.approx(clip(sum(vals) / len(vals)))
    emerg = [s for row, s in scored if "theme:emergency_referrals" in row["example_tags"]]
    sub = next(s for s in rep.subsets if s.name == "emergency_referrals")
    assert sub.score == pytest.approx(clip(sum(emerg) / len(emerg)))
    # The nonsense grader reply was asked 3 times before the sample was given up.
    assert rep.judge["unparsable"] == 3


@pytest.mark.parametrize("reply,met", [
    ('```json\n{"explanation": "ok", "criteria_met": true}\n```', True),
    ('{"explanation": "no", "criteria_met": false}', False),
    ('Here you go: {"explanation": "x", "criteria_met": false}', False),
    ('{"explanation": "x", "criteria_met": "yes"}', None),
    ("criteria_met: true", None),
])
def test_health_bench_grade_parsing(reply, met):
    from evs_native.benchmarks.health_bench import parse_rubric_grade

    assert parse_rubric_grade(reply) is met if met is not None else parse_rubric_grade(reply) is None


def test_health_bench_scores_as_simple_evals():
    from evs_native.benchmarks.health_bench import rubric_score, tag_scores

    rubrics = [{"criterion": "a", "points": 10, "tags": ["axis:accuracy"]},
               {"criterion": "b", "points": -8, "tags": ["axis:accuracy"]},
               {"criterion": "c", "points": 5, "tags": ["axis:completeness"]},
               {"criterion": "d", "points": -3, "tags": ["axis:tone"]}]
    assert rubric_score(rubrics, [False, True, False, True]) == pytest.approx(-11 / 15)  # clipped only in the mean
    assert tag_scores(rubrics, [True, True, True, True]) == {"axis:accuracy": pytest.approx(0.2),
                                                             "axis:completeness": 1.0}  # no positive: no tone score


def test_alpaca_eval_with_one_instruction_reports_the_win_rate_without_length_control(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "alpaca_eval" / "eval.jsonl", ALPACA_ROWS)
    write_gamed(data / "alpaca_eval" / "df_gamed.csv", len(ALPACA_ROWS))
    q = ALPACA_INSTRUCTIONS[0]
    with FakeOpenAIServer(lambda b: "short") as m, FakeOpenAIServer(lambda b: "M" if alpaca_is_sw(q) else "m") as j:
        rep = run(m, j, tmp_path, data, "alpaca_eval", limit=1)
    assert rep.num == 1 and rep.metrics["win_rate"].score == 0.0  # the judge always prefers the baseline
    assert "length_controlled_winrate" not in rep.metrics and rep.metric == "win_rate"


def alpaca_is_sw(q):
    from evs_native.benchmarks.pairwise import alpaca_is_switched

    return alpaca_is_switched(q)
