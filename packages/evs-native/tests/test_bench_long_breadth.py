"""Long-context benchmarks: longbench_v2, openai_mrcr, frames, docmath, aa_lcr — end to end against a
fake OpenAI server on a few KB of synthetic context written in each dataset's hub schema.

The fake model decides right or wrong per question from the gold data by a hash (``right``), so
every expected score is computed here without evs's extraction."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput
from evs_core.testing import FakeOpenAIServer, last_user_text, score_now
from evs_native.engine import run_task


def right(key: str) -> bool:
    """A reproducible 2-in-3 choice of the questions the fake model answers right."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 != 0


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _run(url, tmp_path, datasets, data, **kw):
    cfg = {"model": "m", "api_url": url, "api_key": "EMPTY", "datasets": datasets, "dataset_dir": str(data),
           "work_dir": str(tmp_path / "out"), "concurrency": 4, "no_progress": True, "retries": 0}
    cfg.update(kw)
    return run_task(cfg)


def _filler(seed: str, n_chars: int) -> str:
    words = ["river", "ledger", "quartz", "meadow", "signal", "harbor", "lantern", "copper", "violet", "summit"]
    h = int(hashlib.md5(seed.encode()).hexdigest(), 16)
    out, i = [], 0
    while sum(len(w) + 1 for w in out) < n_chars:
        out.append(words[(h >> (i % 100)) % len(words)] if i % 7 else f"{seed}-{i}")
        i += 1
    return " ".join(out)[:n_chars]


# -- LongBench v2 -------------------------------------------------------------------------------------
def _lb_rows():
    rows = []
    for i in range(9):
        length = ["short", "medium", "long"][i % 3]
        rows.append({"_id": f"66f{i:05d}", "domain": "Single-Document QA", "sub_domain": "Academic",
                     "difficulty": ["easy", "hard"][i % 2], "length": length,
                     "question": f"According to report {i}, which site was surveyed first?",
                     "choice_A": f"Site alpha {i}", "choice_B": f"Site beta {i}", "choice_C": f"Site gamma {i}",
                     "choice_D": f"Site delta {i}", "answer": "ABCD"[(i * 3) % 4],
                     "context": _filler(f"doc{i}", 2000)})
    return rows


def test_longbench_v2_end_to_end_per_length_and_difficulty(tmp_path):
    rows = _lb_rows()
    _write_jsonl(tmp_path / "data" / "longbench_v2" / "train.jsonl", rows)
    by_q = {r["question"]: r for r in rows}
    styles = ["Reading the text, site {w} is mentioned later.\n\nANSWER: {a}",
              "<think>The report names {w} first? No.</think>\nStep by step, the survey began at ({a}).\n\nANSWER: {a}",
              "**Answer: {a}**", "The correct option is {a}."]
    seen, no_answer = [], []

    def model(body):
        prompt = last_user_text(body)
        assert prompt.startswith("Please read the following text and answer the questions below.\n\n<text>\n")
        q = next(q for q in by_q if q in prompt)
        r = by_q[q]
        assert r["context"] in prompt and "where [LETTER] is one of A,B,C,D." in prompt
        assert prompt.endswith(f"{q}\n\nA) {r['choice_A']}\nB) {r['choice_B']}\nC) {r['choice_C']}\n"
                               f"D) {r['choice_D']}")
        ok = right(r["_id"])
        a = r["answer"] if ok else "ABCD"[("ABCD".index(r["answer"]) + 1) % 4]
        w = "ABCD"[("ABCD".index(a) + 2) % 4]
        seen.append(r["_id"])
        if not ok and int(r["_id"][-1]) % 2 == 0:  # some wrong replies give no answer at all
            no_answer.append(r["_id"])
            return "The document does not say which site came first, so I cannot choose."
        if r["_id"].endswith("4"):
            return f"<think>文中先提到{w}。</think>根据报告，最先调查的是{a}。\n答案：{a}"
        return styles[int(r["_id"][-1]) % 4].format(a=a, w=w)

    with FakeOpenAIServer(model) as srv:
        rep = _run(srv.url, tmp_path, ["longbench_v2"], tmp_path / "data")["longbench_v2"]
    assert rep.num == 9 and rep.num_errors == 0
    assert rep.score == pytest.approx(sum(right(r["_id"]) for r in rows) / 9)
    assert no_answer and rep.no_answer_rate == pytest.approx(len(no_answer) / 9)
    rows_by = {s.name: s for s in rep.subsets}
    for key, field in (("short", "length"), ("medium", "length"), ("long", "length"),
                       ("easy", "difficulty"), ("hard", "difficulty")):
        mine = [r for r in rows if r[field] == key]
        assert rows_by[key].num == len(mine)
        assert rows_by[key].score == pytest.approx(sum(right(r["_id"]) for r in mine) / len(mine)), key
    assert rows_by["short"].kind == "subset" and rows_by["easy"].kind == "category"


def test_longbench_v2_subset_list_and_bad_rows(tmp_path):
    rows = _lb_rows()
    _write_jsonl(tmp_path / "data" / "longbench_v2" / "train.jsonl", rows)
    from evs_native.benchmarks.long_context import LongBenchV2

    b = LongBenchV2({"subset_list": ["long"]}, dataset_dir=str(tmp_path / "data"))
    assert [s.id for s in b.load_samples(None)] == [r["_id"] for r in rows if r["length"] == "long"]
    own = LongBenchV2({"subset_list": ["short"], "prompt_template": "{document}\n\nWhat is the correct answer to this "
                       "question: {question}\n{choices}\n\nFormat your response as follows: \"The correct answer "
                       "is (insert answer here)\"."}, dataset_dir=str(tmp_path / "data"))
    s0 = own.load_samples(1)[0]
    assert own.build_request(s0).messages[-1]["content"].startswith(rows[0]["context"] + "\n\nWhat is the correct")
    assert score_now(own, s0, ModelOutput(text=f"The correct answer is ({s0.target})")).scores == {"acc": 1.0}
    with pytest.raises(ConfigError, match="unknown subset 'lon'.*did you mean 'long'"):
        LongBenchV2({"subset_list": ["lon"]})
    with pytest.raises(ConfigError, match="scored on generated answers only"):
        LongBenchV2({"mode": "loglikelihood"})
    bad = dict(rows[0], answer="E")
    _write_jsonl(tmp_path / "bad" / "longbench_v2" / "train.jsonl", [bad])
    with pytest.raises(ConfigError, match="row 1 cannot be read.*not one of A, B, C, D"):
        LongBenchV2(dataset_dir=str(tmp_path / "bad")).load_samples(None)


# -- OpenAI MRCR ----------------------------------------------------------------------------------
def _byte_encoding(path: Path) -> Path:
    """A tiktoken file of the 256 single bytes and no merges: one token per UTF-8 byte."""
    path.write_text("".join(f"{base64.b64encode(bytes([i])).decode()} {i}\n" for i in range(256)))
    return path


def _mrcr_row(i: int, n_needles: int, n_chars: int) -> dict:
    prefix = f"{i:02d}x{hashlib.md5(str(i).encode()).hexdigest()[:8]}"
    answer = prefix + f"Here is a poem about penguins, number {i}:\nIcy shores and tidy coats,\nwaddling {i} by {i}."
    msgs = [{"role": "user", "content": "write a poem about penguins"},
            {"role": "assistant", "content": answer[len(prefix):]},
            {"role": "user", "content": "write a story about tapirs " + _filler(f"m{i}", n_chars)},
            {"role": "assistant", "content": "Once upon a time, a tapir."},
            {"role": "user", "content": f"Prepend {prefix} to the 1st (1 indexed) poem about penguins. "
                                        "Do not include any other text in your response."}]
    return {"prompt": json.dumps(msgs), "answer": answer, "random_string_to_prepend": prefix, "n_needles": n_needles,
            "desired_msg_index": 1, "total_messages": len(msgs), "n_chars": sum(len(m["content"]) for m in msgs),
            "date_added": "04-12-2025"}


def test_openai_mrcr_end_to_end_grader_and_token_bins(tmp_path):
    enc = _byte_encoding(tmp_path / "bytes.tiktoken")
    rows = [_mrcr_row(i, [2, 4, 8][i % 3], 5000 if i < 4 else 9000) for i in range(7)]
    _write_jsonl(tmp_path / "data" / "openai_mrcr" / "train.jsonl", rows)
    by_prefix = {r["random_string_to_prepend"]: r for r in rows}
    expected = {}

    def model(body):
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user", "assistant", "user"]
        prefix = re.search(r"Prepend (\S+) to", body["messages"][-1]["content"]).group(1)
        r = by_prefix[prefix]
        i = rows.index(r)
        if i % 4 == 0:  # right, after stray newlines
            reply, exp = "\n\n" + r["answer"], 1.0
        elif i % 4 == 1:  # the right poem without the random prefix
            reply, exp = r["answer"][len(prefix):], 0.0
        elif i % 4 == 2:  # prefix, then the wrong poem
            wrong = "Here is a poem about tapirs:\nMuddy snouts in jungle rain."
            reply = prefix + wrong
            exp = SequenceMatcher(None, wrong, r["answer"][len(prefix):]).ratio()
        else:  # a reasoning block, then the prefix and a truncated poem
            cut = r["answer"][: len(r["answer"]) - 12]
            reply = "<think>the first penguin poem</think>" + cut
            exp = SequenceMatcher(None, cut[len(prefix):], r["answer"][len(prefix):]).ratio()
        expected[i] = exp
        return reply

    with FakeOpenAIServer(model) as srv:
        rep = _run(srv.url, tmp_path, ["openai_mrcr"], tmp_path / "data",
                   dataset_args={"openai_mrcr": {"extra_params": {"tik_enc": str(enc)}}})["openai_mrcr"]
    assert rep.num == 7 and rep.num_errors == 0 and rep.metric == "mrcr_score"
    assert rep.score == pytest.approx(sum(expected.values()) / 7)

    def tokens(r):  # one token per byte of every message's content and of the answer
        return sum(len(m["content"].encode()) for m in json.loads(r["prompt"])) + len(r["answer"].encode())

    assert all(4096 <= tokens(r) < 8192 for r in rows[:4]) and all(8192 <= tokens(r) < 16384 for r in rows[4:])
    subs = {s.name: s for s in rep.subsets}
    assert subs["4096-8192"].num == 4 and subs["4096-8192"].score == pytest.approx(
        sum(expected[i] for i in range(4)) / 4)
    assert subs["8192-16384"].num == 3 and subs["8192-16384"].score == pytest.approx(
        sum(expected[i] for i in range(4, 7)) / 3)
    for n in (2, 4, 8):
        ids = [i for i in range(7) if rows[i]["n_needles"] == n]
        assert subs[f"{n}needle"].score == pytest.approx(sum(expected[i] for i in ids) / len(ids))


def test_openai_mrcr_filters_and_bad_arguments(tmp_path):
    enc = str(_byte_encoding(tmp_path / "bytes.tiktoken"))
    rows = [_mrcr_row(i, [2, 4, 8][i % 3], 5000 if i < 3 else 9000) for i in range(6)]
    _write_jsonl(tmp_path / "data" / "openai_mrcr" / "train.jsonl", rows)
    from evs_native.benchmarks.long_context import OpenAIMRCR, mrcr_bin, mrcr_grade

    def ids(**kw):
        b = OpenAIMRCR({"extra_params": {"tik_enc": enc, **kw}}, dataset_dir=str(tmp_path / "data"))
        return [int(s.id) for s in b.load_samples(None)]

    assert ids(needle_count=[2]) == [0, 3]
    assert ids(max_context_size=8000) == [0, 1, 2]
    assert ids(min_context_size=8000) == [3, 4, 5]
    for bad in ({"needle_count": 2}, {"needle_count": [3]}, {"max_context_size": -1}, {"tik_enc": ""}):
        with pytest.raises(ConfigError, match=r"dataset_args\.openai_mrcr\."):
            OpenAIMRCR({"extra_params": bad})
    with FakeOpenAIServer(lambda b: "x") as srv:
        with pytest.raises(ConfigError, match="cannot load the tiktoken encoding 'no_such_encoding'"):
            _run(srv.url, tmp_path, ["openai_mrcr"], tmp_path / "data",
                 dataset_args={"openai_mrcr": {"extra_params": {"tik_enc": "no_such_encoding"}}})
        assert srv.requests == []
    # OpenAI's grader and EvalScope's bins
    assert mrcr_grade("abcHello", "abcHello", "abc") == 1.0 and mrcr_grade("Hello", "abcHello", "abc") == 0.0
    assert mrcr_grade("abcHelp", "abcHello", "abc") == pytest.approx(SequenceMatcher(None, "Help", "Hello").ratio())
    assert [mrcr_bin(n) for n in (100, 4096, 8192, 8193, 16384, 1048576, 2_000_000)] == [0, 0, 0, 1, 2, 7, 0]


# -- FRAMES ---------------------------------------------------------------------------------------
FRAMES = [("If my future wife has the same first name as the 15th first lady's mother, what is her name?",
           "Jane Ballou"),
          ("How many years earlier did the bridge open than the tower?", "12"),
          ("Which river flows through both cities named in the articles?", "The Danube"),
          ("What was the name of the ship that carried the expedition?", "Endurance"),
          ("Who was mayor when the museum opened?", "Maria Lopez")]


def _frames_rows():
    return [{"Unnamed: 0": i, "Prompt": q, "Answer": a, "reasoning_types": "Multiple constraints",
             "wiki_links": f"['https://en.wikipedia.org/wiki/A{i}']",
             "wiki_items": [{"title": f"Article {i}a", "text": _filler(f"fa{i}", 900)},
                            {"title": f"Article {i}b", "text": _filler(f"fb{i}", 900)}]}
            for i, (q, a) in enumerate(FRAMES)]


def _frames_model(rows, asked):
    def model(body):
        prompt = last_user_text(body)
        r = next(r for r in rows if r["Prompt"] in prompt)
        ctx = "\n".join(f"{w['title']}\n{w['text']}" for w in r["wiki_items"])
        assert prompt == (f"Please read the following text and answer the question below.\n\n<text>\n{ctx}\n</text>\n\n"
                          f"{r['Prompt']}\n\nFormat your response as follows: \"Therefore, the answer is (insert "
                          "answer here)\".")
        i = r["Unnamed: 0"]
        asked[i] = right(f"frames{i}")
        if asked[i]:  # right, in several styles that normalise to the gold answer
            return ["Combining both articles, **Therefore, the answer is Jane Ballou.**",
                    "The bridge opened in 1900 and the tower in 1912. Therefore, the answer is 12.",
                    "Therefore, the answer is the Danube.", "Therefore, the answer is: endurance",
                    "Therefore, the answer is Maria Lopez."][i]
        return ["Therefore, the answer is Harriet Lane.", "I think it is 10 years.",
                "Therefore, the answer is the Rhine.", "Therefore, the answer is Discovery.",
                "<think>Therefore, the answer is Maria Lopez.</think>Therefore, the answer is John Smith."][i]
    return model


def test_frames_end_to_end_rule_and_judge(tmp_path):
    rows = _frames_rows()
    _write_jsonl(tmp_path / "data" / "frames" / "test.jsonl", rows)
    asked = {}
    with FakeOpenAIServer(_frames_model(rows, asked)) as srv:
        rep = _run(srv.url, tmp_path, ["frames"], tmp_path / "data")["frames"]
    assert rep.num == 5 and rep.score == pytest.approx(sum(asked.values()) / 5)

    # the judge (EvalScope's equivalence prompt, [[YES]]/[[NO]]) with strategy llm: says YES for "Harriet"
    # answers too, and rambles once (unparsable: excluded and counted)
    judged = []

    def judge(body):
        sys, user = body["messages"][0], body["messages"][1]
        assert sys["role"] == "system" and sys["content"].startswith("You are an expert in verifying if two answers")
        assert "[[YES]] or [[NO]]" in sys["content"]
        m = re.fullmatch(r"\nProblem: (.*)\nAnswer 1: (.*)\nAnswer 2: (.*)\n", user["content"], re.S)
        assert m and m.group(1) in [q for q, _ in FRAMES] and "<text>" not in user["content"]
        judged.append(m.group(3))
        if "Rhine" in m.group(3):
            return "Both are rivers, so maybe."
        same = m.group(3).lower().strip(": ").removeprefix("the ") == m.group(2).lower().removeprefix("the ")
        return ("Answer 2 names something else. [[NO]]" if "Harriet" not in m.group(3) and not same else
                "They match. [[NO]] would be wrong, so: [[YES]]")

    asked.clear()
    with FakeOpenAIServer(_frames_model(rows, asked)) as srv, FakeOpenAIServer(judge) as jsrv:
        rep = _run(srv.url, tmp_path, ["frames"], tmp_path / "data",
                   judge={"model": "j", "api_url": jsrv.url, "strategy": "llm"})["frames"]
    exp = {}
    for i, ok in asked.items():
        if i == 2 and not ok:
            continue  # unparsable
        exp[i] = 1.0 if ok or i == 0 else 0.0
    assert rep.judge["asked"] == 5 and rep.judge["unparsable"] == (0 if asked[2] else 1)
    assert rep.num == len(exp) and rep.score == pytest.approx(sum(exp.values()) / len(exp))


def test_frames_extraction_and_hub_message():
    from evs_native.benchmarks.long_context import Frames, frames_extract, normalize_answer

    assert frames_extract("so **the answer is** Paris.") == "Paris"
    assert frames_extract("The Answer Is Paris") == ""  # case-sensitive, as the reference
    assert frames_extract("the answer is A. Later, the answer is B.") == "B"
    assert frames_extract("<think>the answer is X</think>No idea.") == ""
    assert normalize_answer("The  Danube!") == "danube"
    with pytest.raises(ConfigError, match="on ModelScope.*--dataset-hub modelscope"):
        Frames().load_samples(1)


# -- DocMath --------------------------------------------------------------------------------------
def _docmath_rows(subset):
    gts = [12.5, 340, 0.0825, 1520000.0, 7]
    return [{"question_id": f"{subset}-{i}", "source": "finqa",
             "question": f"What was the change in operating income for segment {i} of {subset}?",
             "paragraphs": [_filler(f"{subset}{i}p{k}", 600) for k in range(3)] + ["| year | income |\n| 2020 | 5 |"],
             "ground_truth": gts[i]} for i in range(5)]


def _docmath_reply(gt, ok, i):
    if not ok:
        return "Adding up the rows, the income rose by 99. Therefore, the answer is 99."
    return [f"The margin moved from 2.5% to 15%. Therefore, the answer is {gt}%.",  # 12.5
            f"Therefore, the answer is **${gt:,}** million.",  # 340
            "The growth rate is 8.25%, so therefore, the answer is 8.25%.",  # 0.0825 given as percent
            "Therefore, the answer is 1,520,000.",  # 1520000.0
            f"<think>the answer is 3</think>Counting the filings: Therefore, the answer is {gt}."][i]


def test_docmath_end_to_end_per_subset(tmp_path):
    subsets = ["compshort_testmini", "simplong_testmini"]
    rows = {s: _docmath_rows(s) for s in subsets}
    for s in subsets:
        _write_jsonl(tmp_path / "data" / "docmath" / f"{s}.jsonl", rows[s])
    lookup = {r["question"]: (r, i) for s in subsets for i, r in enumerate(rows[s])}

    def model(body):
        prompt = last_user_text(body)
        q = next(q for q in lookup if q in prompt)
        r, i = lookup[q]
        assert "\n".join(r["paragraphs"]) in prompt and prompt.startswith("Please read the following text")
        return _docmath_reply(r["ground_truth"], right(r["question_id"]), i)

    with FakeOpenAIServer(model) as srv:
        rep = _run(srv.url, tmp_path, ["docmath"], tmp_path / "data",
                   dataset_args={"docmath": {"subset_list": subsets}})["docmath"]
    assert rep.num == 10 and rep.num_errors == 0
    assert rep.score == pytest.approx(sum(right(r["question_id"]) for s in subsets for r in rows[s]) / 10)
    for sub in rep.subsets:
        assert sub.score == pytest.approx(sum(right(r["question_id"]) for r in rows[sub.name]) / 5)


def test_docmath_official_normaliser_and_tolerance():
    from evs_native.benchmarks.long_context import docmath_acc, docmath_extract, docmath_normalize, safe_eval

    assert docmath_extract("Therefore, the answer is $1,234.5.") == "$1234.5"
    assert docmath_extract("No explicit statement here") == "No explicit statement here"
    assert docmath_normalize("$1234.5") == 1234.5
    assert docmath_normalize("3.2 million") == 3.2
    assert docmath_normalize("2.5 x 10^3") == 2500.0
    assert docmath_normalize("approximately 15 dollars") == 15
    assert docmath_normalize("__import__('os').system('ls')") == 0  # no code runs
    assert docmath_normalize("open('x')") == 0
    assert docmath_acc("12.5", 0.125, "float") == 1  # percent vs fraction
    assert docmath_acc("100.1", 100, "int") == 1 and docmath_acc("100.2", 100, "int") == 0  # 0.15 % tolerance
    assert docmath_acc("yes", True, "bool") == 1 and docmath_acc("False", True, "bool") == 0
    assert docmath_acc("ninety", 90, "int") == 0
    with pytest.raises(ValueError):
        safe_eval("(1).__class__")


def test_docmath_judge_grades_the_extracted_answer(tmp_path):
    subsets = ["complong_testmini"]
    rows = _docmath_rows(subsets[0])[:3]
    _write_jsonl(tmp_path / "data" / "docmath" / "complong_testmini.jsonl", rows)
    by_q = {r["question"]: r for r in rows}

    def model(body):
        r = next(v for q, v in by_q.items() if q in last_user_text(body))
        return "Therefore, the answer is 99." if r is rows[1] else f"Therefore, the answer is {r['ground_truth']}."

    def judge(body):
        user = body["messages"][1]["content"]
        assert "Problem: What was the change" in user
        return "Different values. [[NO]]" if "Answer 2: 99\n" in user else "Same. [[YES]]"

    with FakeOpenAIServer(model) as srv, FakeOpenAIServer(judge) as jsrv:
        rep = _run(srv.url, tmp_path, ["docmath"], tmp_path / "data", dataset_args={"docmath": {"subset_list": subsets}},
                   judge={"model": "j", "api_url": jsrv.url})["docmath"]
        # llm_when_rule_fails: the judge is asked only for the one the rule scored 0
        assert len(jsrv.requests) == 1
    assert rep.num == 3 and rep.score == pytest.approx(2 / 3)


# -- AA-LCR ---------------------------------------------------------------------------------------
def _aa_lcr(tmp_path):
    rows = []
    for i in range(5):
        cat, set_id = ["Legal", "Finance"][i % 2], f"set_{i // 2}"
        folder = tmp_path / "data" / "aa_lcr" / "lcr" / cat / set_id
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(2):
            (folder / f"doc_{k}.txt").write_text(f"  {cat} {set_id} document {k}. " + _filler(f"{cat}{set_id}{k}", 800))
        rows.append({"document_category": cat, "document_set_id": set_id, "question_id": i + 1,
                     "question": f"Across the documents, which clause number {i} appears in both?",
                     "answer": f"Clause {i + 10}", "data_source_filenames": "doc_0.txt;doc_1.txt",
                     "data_source_urls": "https://example.org/a;https://example.org/b", "input_tokens": 1200})
    _write_jsonl(tmp_path / "data" / "aa_lcr" / "test.jsonl", rows)
    return rows


def test_aa_lcr_end_to_end_with_judge(tmp_path):
    rows = _aa_lcr(tmp_path)
    by_q = {r["question"]: r for r in rows}

    def model(body):
        prompt = last_user_text(body)
        q = next(q for q in by_q if q in prompt)
        r = by_q[q]
        assert prompt.startswith("\nBEGIN INPUT DOCUMENTS\n\nBEGIN DOCUMENT 1:\n" + r["document_category"])
        assert "\nEND DOCUMENT 1\n\nBEGIN DOCUMENT 2:\n" in prompt and prompt.endswith(f"START QUESTION\n\n{q}\n\nEND QUESTION\n")
        return f"<think>maybe clause 1</think>It is {r['answer'] if right(q) else 'Clause 1'}."

    verdicts = []

    def judge(body):
        p = last_user_text(body)
        official = re.search(r"The OFFICIAL ANSWER: (.*)\n", p).group(1)
        cand = re.search(r"CANDIDATE ANSWER TO ASSESS: (.*)\n", p).group(1)
        assert p.startswith("Assess whether the following CANDIDATE ANSWER is CORRECT or INCORRECT.")
        assert "<think>" not in cand
        verdicts.append(official in cand)
        return "CORRECT" if official in cand else "**INCORRECT**"

    with FakeOpenAIServer(model) as srv, FakeOpenAIServer(judge) as jsrv:
        rep = _run(srv.url, tmp_path, ["aa_lcr"], tmp_path / "data", judge={"model": "j", "api_url": jsrv.url})["aa_lcr"]
    assert rep.num == 5 and rep.score == pytest.approx(sum(right(r["question"]) for r in rows) / 5)
    assert sum(verdicts) == sum(right(r["question"]) for r in rows)
    cats = {s.name: s for s in rep.subsets if s.kind == "category"}
    legal = [r for r in rows if r["document_category"] == "Legal"]
    assert cats["Legal"].score == pytest.approx(sum(right(r["question"]) for r in legal) / len(legal))


def test_aa_lcr_needs_a_judge_and_its_documents(tmp_path):
    rows = _aa_lcr(tmp_path)
    from evs_native.benchmarks.long_context import AALCR, parse_correct

    with FakeOpenAIServer(lambda b: "x") as srv:
        with pytest.raises(ConfigError, match="judge"):
            _run(srv.url, tmp_path, ["aa_lcr"], tmp_path / "data")
        assert srv.requests == []
    with pytest.raises(ConfigError, match="text_dir is not a folder"):
        AALCR({"extra_params": {"text_dir": str(tmp_path / "nope")}}, dataset_dir=str(tmp_path / "data")).load_samples(1)
    import shutil

    shutil.rmtree(tmp_path / "data" / "aa_lcr" / "lcr" / rows[0]["document_category"] / rows[0]["document_set_id"])
    with pytest.raises(ConfigError, match="no documents for question 1"):
        AALCR(dataset_dir=str(tmp_path / "data")).load_samples(None)
    assert parse_correct("CORRECT") == "CORRECT" and parse_correct("**INCORRECT**.") == "INCORRECT"
    assert parse_correct("A: the answer is correct... or INCORRECT?") is None and parse_correct("") is None


def test_judge_call_failures_are_counted_not_scored(tmp_path):
    rows = _frames_rows()[:2]
    _write_jsonl(tmp_path / "data" / "frames" / "test.jsonl", rows)
    with FakeOpenAIServer(lambda b: "Therefore, the answer is nobody.") as srv, \
            FakeOpenAIServer(lambda b: "[[YES]]", fail_rate=1.0) as jsrv:
        rep = _run(srv.url, tmp_path, ["frames"], tmp_path / "data",
                   judge={"model": "j", "api_url": jsrv.url, "strategy": "llm", "retries": 0})["frames"]
    assert rep.num == 0 and rep.num_errors == 2 and rep.errors == {"JudgeError": 2}
    assert rep.judge["errors"] == 2 and rep.judge["asked"] == 2


def test_reasoning_field_is_not_scored():
    """A reply whose reasoning names the answer but whose content does not scores 0."""
    from evs_native.benchmarks.long_context import Frames

    b = Frames()
    from evs_core.schema import Sample

    s = Sample(id="1", input="q", target="Paris", metadata={"context": "c"})
    assert score_now(b, s, ModelOutput(text="I cannot tell.", reasoning="the answer is Paris")).scores == {"acc": 0.0}
    assert score_now(b, s, ModelOutput(text="Therefore, the answer is Paris.")).scores == {"acc": 1.0}


# -- LongBench-Write ----------------------------------------------------------------------------------
LBW = [{"prompt": "Write an outline for a short 100-word blog post about why Christmas Cactus are a great buy.",
        "type": "Community Forum", "length": 100},
       {"prompt": "写一篇关于秋天的散文，300字左右", "type": "Literature and Creative Writing", "length": 300},
       {"prompt": "Write a 800-word story about a lighthouse keeper.", "type": "Literature and Creative Writing",
        "length": 800},
       {"prompt": "Write a 3000-word report on urban beekeeping.", "type": "Academic and Monograph", "length": 3000},
       {"prompt": "Write a 5000-word guide to sourdough baking.", "type": "Functional Writing", "length": 5000}]
# words the fake model writes for each request (an English word is [a-zA-Z]+, a Chinese character counts one)
LBW_WORDS = {0: 104, 1: 150, 2: 1500, 3: 2900, 4: 5000}


def _lbw_reply(i: int) -> str:
    n = LBW_WORDS[i]
    if i == 1:
        return "<think>先列提纲 think words here</think>" + "秋" * n  # 150 Chinese characters
    body = " ".join(["word"] * (n - 2))
    return f"# Title\n\n**{body}** 42 3.5 -- end."  # numbers and punctuation are not words: n - 2 + 2 words


def _expected_sl(x: float, y: float) -> float:  # the paper's formula, written out
    return 100 * max(0, 1.0 - (y / x - 1) / 3) / 100 if y > x else 100 * max(0, 1.0 - (x / y - 1) / 2) / 100


def test_longbench_write_length_and_quality_scores(tmp_path):
    _write_jsonl(tmp_path / "data" / "longbench_write" / "test.jsonl", LBW)

    def model(body):
        assert body.get("temperature") == 0.5 and body.get("max_tokens") == 32768
        return _lbw_reply(next(i for i, r in enumerate(LBW) if r["prompt"] == last_user_text(body)))

    quality = {0: [5, 4, 4, 5, 3, 4], 1: [3, 3, 3, 3, 3, 3], 2: [2, 3, 4, 5, 1, 2], 3: [4, 4, 4, 4, 4, 4]}
    tries = {}

    def judge(body):
        p = last_user_text(body)
        assert p.startswith("You are an expert in evaluating text quality.") and "$INST$" not in p
        i = next(i for i, r in enumerate(LBW) if f"<User Request>\n\n{r['prompt']}\n\n</User Request>" in p)
        assert "<think>" not in p
        tries[i] = tries.get(i, 0) + 1
        if i == 4:
            return "I would rate this highly overall."  # never parsable: left out of s_q
        if i == 3 and tries[i] == 1:
            return '{"Analysis": "ok", "Relevance": 4}'  # a dimension missing: asked again
        dims = dict(zip(["Relevance", "Accuracy", "Coherence", "Clarity", "Breadth and Depth", "Reading Experience"],
                        quality[i], strict=True))
        text = json.dumps({"Analysis": "Clear\nand relevant.", **dims}, indent=1)
        return f"Here is my evaluation:\n```json\n{text}\n```" if i % 2 else text

    with FakeOpenAIServer(model) as srv, FakeOpenAIServer(judge) as jsrv:
        rep = _run(srv.url, tmp_path, ["longbench_write"], tmp_path / "data",
                   judge={"model": "j", "api_url": jsrv.url})["longbench_write"]
    sl = {i: _expected_sl(r["length"], LBW_WORDS[i]) for i, r in enumerate(LBW)}
    assert sl[4] == 1.0 and sl[0] == pytest.approx(1 - 0.04 / 3) and sl[1] == pytest.approx(0.5)
    assert rep.num == 5 and rep.metric == "s_l" and rep.score == pytest.approx(sum(sl.values()) / 5)
    sq = {i: (sum(q) / 6 - 1) / 4 for i, q in quality.items()}
    m = rep.metrics
    assert m["s_q"].num == 4 and m["s_q"].score == pytest.approx(sum(sq.values()) / 4)
    assert m["s"].score == pytest.approx((sum(sl.values()) / 5 + sum(sq.values()) / 4) / 2)
    assert tries == {0: 1, 1: 1, 2: 1, 3: 2, 4: 5}
    assert rep.judge["unparsable"] == 6 and rep.judge["parsed"] == 4
    rows = {s.name: s for s in rep.subsets if s.kind == "category"}
    assert rows["[0,500)"].num == 2 and rows["[0,500)"].score == pytest.approx((sl[0] + sl[1]) / 2)
    assert rows["[2k,4k)"].metrics["s_q"].score == pytest.approx(sq[3])
    assert rows["[4k,20k)"].num == 1 and "s_q" not in rows["[4k,20k)"].metrics


def test_longbench_write_without_judge_and_word_counts(tmp_path):
    from evs_native.benchmarks.long_context import count_words, length_score, parse_quality

    assert count_words("Hello, world! 你好 2024 it's") == 2 + 2 + 2  # "it" and "s" are words, numbers are not
    assert length_score(100, 0) == 0.0 and length_score(100, 400) == 0.0 and length_score(100, 250) == 0.5
    assert parse_quality('{"Relevance": 5}') is None and parse_quality("no json") is None
    _write_jsonl(tmp_path / "data" / "longbench_write" / "test.jsonl", LBW[:2])
    with FakeOpenAIServer(lambda b: "word " * 100) as srv:
        rep = _run(srv.url, tmp_path, ["longbench_write"], tmp_path / "data")["longbench_write"]
    assert set(rep.metrics) == {"s_l"} and rep.score == pytest.approx((1.0 + _expected_sl(300, 100)) / 2)
    _write_jsonl(tmp_path / "bad" / "longbench_write" / "test.jsonl", [{"prompt": "x", "type": "t", "length": "many"}])
    with pytest.raises(ConfigError, match="row 1 cannot be read.*not a positive number of words"):
        _run("http://127.0.0.1:9/v1", tmp_path, ["longbench_write"], tmp_path / "bad")


# -- think_eval -----------------------------------------------------------------------------------
MATH = [("What is 2 + 3?", "5", 1), ("Compute 7 * 6.", "42", 1), ("Solve x + 4 = 10 for x.", "6", 2),
        ("What is 100 / 4?", "25", 2), ("What is 9 squared?", "81", 2)]


def _reasoning(i: int, gold: str) -> str:
    """Three blank-line separated steps; the correct answer appears in step ``i % 3`` (never, for i == 4)."""
    steps = [f"Let me read problem {i} carefully.", f"Alternatively, compute directly: it is {gold}.",
             "But wait, let me reconsider and check the arithmetic once more."]
    if i == 4:
        steps[1] = "Alternatively, it might be 80."
    return "\n\n".join(steps)


def test_think_eval_end_to_end_metrics_per_level(tmp_path):
    enc = str(_byte_encoding(tmp_path / "bytes.tiktoken"))
    rows = [{"problem": q, "solution": f"So the answer is {a}.", "answer": a, "subject": "Prealgebra", "level": lvl,
             "unique_id": f"test/prealgebra/{i}.json"} for i, (q, a, lvl) in enumerate(MATH)]
    _write_jsonl(tmp_path / "data" / "math_500" / "test.jsonl", rows)
    by_q = {r["problem"]: i for i, r in enumerate(rows)}

    def index_of(body):
        return next(i for q, i in by_q.items() if q in last_user_text(body))

    def model(body):
        i = index_of(body)
        return f"The answer is $\\boxed{{{MATH[i][1] if i != 3 else '24'}}}$."  # problem 3 answered wrong

    def reasoning(body):
        i = index_of(body)
        return _reasoning(i, MATH[i][1])

    critiques = []

    def judge(body):
        p = last_user_text(body)
        assert p.startswith("The following is a math problem and a solution (split into paragraphs")
        i = index_of(body)
        assert f"[Correct Answer]\n\n{MATH[i][1]}\n\n[Solution]\n\n<paragraph_0>\n" in p
        assert p.count("<paragraph_") == 3 and "Please put your final answer (i.e., the index) in \\boxed{}." in p
        critiques.append(i)
        if i == 4:
            return "No paragraph states 81. \\boxed{-1}"
        return f"Paragraph 1 gives {MATH[i][1]}, which is correct.\n\n\\boxed{{1}}"

    with FakeOpenAIServer(model, reasoning=reasoning) as srv, FakeOpenAIServer(judge) as jsrv:
        rep = _run(srv.url, tmp_path, ["think_eval"], tmp_path / "data",
                   dataset_args={"think_eval": {"extra_params": {"tokenizer": enc},
                                                "subset_list": ["Level 1", "Level 2"]}},
                   judge={"model": "j", "api_url": jsrv.url})["think_eval"]
        assert len(jsrv.requests) == 5  # the critique only: math_500's own scoring does not use the judge
    exp = {}
    for i, (_, gold, lvl) in enumerate(MATH):
        text = _reasoning(i, gold)
        steps = text.split("\n\n")
        total = len(text.encode())
        useful = 0 if i == 4 else len("\n\n".join(steps[:2]).encode())
        switches = text.lower().count("alternatively") + text.lower().count("but wait") \
            + text.lower().count("let me reconsider")
        exp[i] = {"reasoning_tokens": total, "first_correct_tokens": useful, "reflection_tokens": total - useful,
                  "token_efficiency": useful / total, "thought_num": switches, "think_accuracy": float(i != 4),
                  "acc": float(i != 3), "level": f"Level {lvl}"}
    assert rep.num == 5 and rep.metric == "token_efficiency" and rep.num_errors == 0
    for k in ("reasoning_tokens", "first_correct_tokens", "reflection_tokens", "token_efficiency", "thought_num",
              "think_accuracy", "acc"):
        assert rep.metrics[k].score == pytest.approx(sum(e[k] for e in exp.values()) / 5), k
    subs = {s.name: s for s in rep.subsets}
    lvl2 = [e for e in exp.values() if e["level"] == "Level 2"]
    assert subs["Level 2"].num == 3
    assert subs["Level 2"].metrics["reflection_tokens"].score == pytest.approx(
        sum(e["reflection_tokens"] for e in lvl2) / 3)
    assert subs["Level 1"].score == pytest.approx((exp[0]["token_efficiency"] + exp[1]["token_efficiency"]) / 2)

    # the report page has a thinking-efficiency section
    from evs_native.html_report import render

    run_dir = next((tmp_path / "out").iterdir())
    html = render([run_dir])
    assert "Thinking efficiency" in html and "first_correct_tokens" in html


def test_think_eval_splitters_parsers_and_bad_arguments(tmp_path):
    from evs_native.benchmarks.thinking import (
        ThinkEval,
        critique_index,
        split_by_keywords,
        think_part,
        thought_num,
    )

    assert critique_index("step 2 is right \\boxed{2}") == 2 and critique_index("\\boxed{-1}") == -1
    assert critique_index("paragraph 3") is None and critique_index("\\boxed{x}") is None
    text = "Start here. alternatively, try 3. but wait, that fails. another approach works."
    assert split_by_keywords(text) == ["Start here.", "alternatively, try 3.", "but wait, that fails.",
                                       "another approach works."]
    assert split_by_keywords("One. Alternatively, two.") == ["One. Alternatively, two."]  # case-sensitive, as EvalScope
    assert thought_num("Alternatively, BUT WAIT, another angle; anotherway") == 3  # counted case-insensitively
    assert think_part(ModelOutput(text="<think>abc</think>answer")) == "<think>abc"
    assert think_part(ModelOutput(text="x", reasoning="r")) == "r" and think_part(ModelOutput(text="all")) == "all"
    enc = str(_byte_encoding(tmp_path / "b.tiktoken"))
    with pytest.raises(ConfigError, match="needs? .*tokenizer|tokenizer"):
        ThinkEval({})
    with pytest.raises(ConfigError, match="split_strategy must be one of"):
        ThinkEval({"tokenizer": enc, "split_strategy": "lines"})
    with pytest.raises(ConfigError, match="unknown benchmark 'math500'.*math_500"):
        ThinkEval({"tokenizer": enc, "dataset": "math500"})
    with pytest.raises(ConfigError, match="unknown subset 'Level 9'"):
        ThinkEval({"tokenizer": enc, "subset_list": ["Level 9"]})
    with FakeOpenAIServer(lambda b: "x") as srv:
        with pytest.raises(ConfigError, match="judge"):
            _run(srv.url, tmp_path, ["think_eval"], tmp_path, dataset_args={"think_eval": {"tokenizer": enc}})
        assert srv.requests == []


def test_aa_lcr_documents_zip_from_the_hub_is_unpacked_once(tmp_path, monkeypatch):
    import zipfile

    import huggingface_hub
    from evs_native.benchmarks.long_context import AA_LCR_ZIP, AALCR

    archive = tmp_path / "hub" / AA_LCR_ZIP
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("lcr/Legal/set_0/doc_0.txt", "Clause 10 appears here.")
    calls = []

    def fake_download(repo_id, filename, repo_type=None, **kw):
        calls.append((repo_id, filename, repo_type))
        return str(archive)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setenv("EVS_CACHE_DIR", str(tmp_path / "cache"))
    docs = AALCR().documents({"document_category": "Legal", "document_set_id": "set_0", "question_id": 1})
    assert docs == "BEGIN DOCUMENT 1:\nClause 10 appears here.\nEND DOCUMENT 1"
    assert calls == [("ArtificialAnalysis/AA-LCR", AA_LCR_ZIP, "dataset")]
    AALCR().text_dir()
    assert len(calls) == 1 and (tmp_path / "cache" / "aa_lcr" / "lcr" / "Legal").is_dir()


def test_think_eval_llm_split_reparagraphs_with_the_judge(tmp_path):
    enc = str(_byte_encoding(tmp_path / "bytes.tiktoken"))
    _write_jsonl(tmp_path / "data" / "math_500" / "test.jsonl",
                 [{"problem": "What is 6 * 7?", "solution": "42", "answer": "42", "subject": "Algebra", "level": 1,
                   "unique_id": "t/0.json"}])
    reasoning = "First, recall the table.\nSix sevens are 42.\nBut wait, double-check: 7 * 6 = 42."

    def judge(body):
        p = last_user_text(body)
        if p.startswith("I will present you with a solution to a math problem."):
            assert "[Solution]\n\nFirst, recall the table. Six sevens are 42. But wait" in p  # newlines removed
            return "First, recall the table.\n\nSix sevens are 42.\n\nBut wait, double-check: 7 * 6 = 42."
        assert p.count("<paragraph_") == 3 and "<paragraph_1>\nSix sevens are 42.\n</paragraph_1>" in p
        return "\\boxed{1}"

    with FakeOpenAIServer(lambda b: "\\boxed{42}", reasoning=lambda b: reasoning) as srv, \
            FakeOpenAIServer(judge) as jsrv:
        rep = _run(srv.url, tmp_path, ["think_eval"], tmp_path / "data",
                   dataset_args={"think_eval": {"tokenizer": enc, "split_strategy": "llm",
                                                "subset_list": ["Level 1"]}},
                   judge={"model": "j", "api_url": jsrv.url})["think_eval"]
        assert len(jsrv.requests) == 2
    useful = len(b"First, recall the table.\n\nSix sevens are 42.")
    assert rep.metrics["reasoning_tokens"].score == len(reasoning.encode())
    assert rep.metrics["first_correct_tokens"].score == useful
    assert rep.metrics["token_efficiency"].score == pytest.approx(useful / len(reasoning.encode()))
    assert rep.metrics["thought_num"].score == 1 and rep.metrics["acc"].score == 1.0


def test_think_eval_counts_with_a_local_transformers_tokenizer(tmp_path):
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "two": 1, "plus": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(tmp_path / "tok")
    from evs_native.benchmarks.thinking import load_counter

    count = load_counter(str(tmp_path / "tok"))
    assert count("two plus two is four") == 5
    with pytest.raises(ConfigError, match="cannot load the tokenizer"):
        load_counter(str(tmp_path / "no-such-folder"))


def test_think_eval_max_tokens_leaves_long_replies_out(tmp_path):
    enc = str(_byte_encoding(tmp_path / "bytes.tiktoken"))
    _write_jsonl(tmp_path / "data" / "math_500" / "test.jsonl",
                 [{"problem": f"What is {i} + {i}?", "solution": str(2 * i), "answer": str(2 * i), "subject": "Algebra",
                   "level": 1, "unique_id": f"t/{i}.json"} for i in range(3)])
    replies = {0: "\\boxed{0}", 1: "After a long and careful derivation, \\boxed{2}", 2: "\\boxed{4}"}

    def model(body):
        return replies[next(i for i in range(3) if f"What is {i} + {i}?" in last_user_text(body))]

    with FakeOpenAIServer(model, reasoning=lambda b: "Add them.") as srv, \
            FakeOpenAIServer(lambda b: "\\boxed{0}") as jsrv:
        rep = _run(srv.url, tmp_path, ["think_eval"], tmp_path / "data",
                   dataset_args={"think_eval": {"tokenizer": enc, "max_tokens": 20, "subset_list": ["Level 1"]}},
                   judge={"model": "j", "api_url": jsrv.url})["think_eval"]
        assert len(jsrv.requests) == 2  # the long reply is not sent to the judge
    assert rep.num == 2 and rep.errors == {"Filtered": 1}
    assert rep.metrics["token_efficiency"].score == 1.0 and rep.metrics["reasoning_tokens"].score == len(b"Add them.")
