"""Every native benchmark on data written by the test in its Hub schema, against a fake server that
answers by looking at the image it receives. Expected scores are counted from the rows here."""

from __future__ import annotations

import json

import pytest
from evs_core.testing import FakeOpenAIServer, last_user_text
from helpers import LETTER_OF, cell, first_color, last_user_images, png, run_benchmark, write_parquet

COLORS4 = ["red", "green", "blue", "yellow"]


def mcq_responder(body):
    return f"The picture is {first_color(body)}. Let me think.\nANSWER: {LETTER_OF[first_color(body)]}"


@pytest.fixture
def server():
    with FakeOpenAIServer(mcq_responder) as s:
        yield s


def acc_expected(pairs):
    return sum(a == b for a, b in pairs) / len(pairs)


def test_mmmu_multiple_choice_open_and_interleaved_images(tmp_path):
    rows_art = []
    golds = ["A", "B", "A", "D"]
    for i, (color, gold) in enumerate(zip(COLORS4, golds, strict=True)):
        rows_art.append({"id": f"validation_Art_{i}", "question": "<image 1> Which colour is shown?",
                         "options": "['red', 'green', 'blue', 'yellow']", "explanation": "", "answer": gold,
                         "image_1": cell(color), "image_2": None, "img_type": "['Photo']",
                         "topic_difficulty": "Easy", "question_type": "multiple-choice", "subfield": "Colour"})
    # two images, placeholders in the options' text: the first image must come first in the content
    rows_math = [{"id": "validation_Math_0", "question": "Compare <image 1> and <image 2>. How many sides?",
                  "options": "[]", "explanation": "", "answer": "42", "image_1": cell("red"), "image_2": cell("blue"),
                  "img_type": "", "topic_difficulty": "Hard", "question_type": "open", "subfield": "Geometry"},
                 {"id": "validation_Math_1", "question": "<image 1> How many sides?", "options": "[]",
                  "explanation": "", "answer": "42", "image_1": cell("green"), "image_2": None, "img_type": "",
                  "topic_difficulty": "Hard", "question_type": "open", "subfield": "Geometry"}]
    write_parquet(tmp_path / "mmmu" / "Art" / "validation-00000-of-00001.parquet", rows_art)
    write_parquet(tmp_path / "mmmu" / "Math" / "validation-00000-of-00001.parquet", rows_math)

    def responder(body):
        text = last_user_text(body)
        imgs = last_user_images(body)
        if "ANSWER: [LETTER]" in text:
            return mcq_responder(body)
        assert "ANSWER: [ANSWER]" in text
        # open: "42" only when the images came in placeholder order red, blue
        from helpers import color_of

        return "ANSWER: 42" if [color_of(i) for i in imgs] == ["red", "blue"] else "ANSWER: 7"

    with FakeOpenAIServer(responder) as srv:
        samples, reqs, outs, reviews, overall, subsets = run_benchmark(
            "mmmu", srv.url, tmp_path, {"mmmu": {"subset_list": ["Art", "Math"]}}["mmmu"])
    parts = reqs[4].messages[0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    expected_art = acc_expected([(LETTER_OF[c], g) for c, g in zip(COLORS4, golds, strict=True)])  # 3/4
    assert {s.name: s.score for s in subsets} == {"Art": expected_art, "Math": 0.5}
    assert overall["acc"].score == pytest.approx((3 + 1) / 6)
    assert [r.extraction_rule for r in reviews][:4] == ["answer_marker"] * 4


def test_mm_bench_hint_and_missing_option(tmp_path, server):
    rows = []
    for i, color in enumerate(COLORS4):
        rows.append({"index": i, "question": "What colour?", "hint": "Look closely." if i % 2 else None,
                     "A": "red", "B": "green", "C": "blue", "D": "nan" if i == 0 else "yellow",
                     "answer": ["A", "B", "B", "D"][i], "category": "colour", "image": cell(color),
                     "source": "test", "L2-category": "perception", "comment": None, "split": "dev"})
    write_parquet(tmp_path / "mm_bench" / "en" / "dev-00000-of-00001.parquet", rows)
    samples, reqs, _, reviews, overall, _ = run_benchmark("mm_bench", server.url, tmp_path, {"subset_list": ["en"]})
    assert samples[0].choices == ["red", "green", "blue"]  # 'nan' option dropped
    assert reqs[1].messages[0]["content"][0]["text"].count("Look closely.\nWhat colour?") == 1
    assert "one of A,B,C." in reqs[0].messages[0]["content"][0]["text"]
    assert overall["acc"].score == 3 / 4


def test_mm_star_subsets_from_category(tmp_path, server):
    rows = [{"index": i, "question": "Colour?\nOptions: A: red, B: green, C: blue, D: yellow", "image": cell(c),
             "answer": g, "category": cat, "l2_category": "x", "meta_info": {"source": "s", "split": "val"}}
            for i, (c, g, cat) in enumerate([("red", "A", "math"), ("green", "C", "math"), ("blue", "C", "coarse perception")])]
    write_parquet(tmp_path / "mm_star" / "val" / "val-00000-of-00001.parquet", rows)
    _, _, _, _, overall, subsets = run_benchmark("mm_star", server.url, tmp_path,
                                                 {"subset_list": ["coarse perception", "math"]})
    assert {s.name: s.score for s in subsets} == {"coarse perception": 1.0, "math": 0.5}
    assert overall["acc"].score == pytest.approx(2 / 3)


def test_ai2d_index_answers(tmp_path, server):
    rows = [{"question": "Which colour?", "options": COLORS4, "answer": str(a), "image": cell(c)}
            for c, a in [("red", 0), ("green", 1), ("blue", 3), ("yellow", 3)]]
    write_parquet(tmp_path / "ai2d" / "data" / "test-00000-of-00001.parquet", rows)
    *_, overall, _ = run_benchmark("ai2d", server.url, tmp_path)
    assert overall["acc"].score == 3 / 4


def test_science_qa_keeps_image_questions(tmp_path, server):
    rows = [{"image": cell(c) if c else None, "question": "Colour?", "choices": COLORS4, "answer": a, "hint": "",
             "task": "closed choice", "grade": "grade1", "subject": "natural science", "topic": "t", "category": "c",
             "skill": "s", "lecture": "", "solution": ""}
            for c, a in [("red", 0), ("blue", 1), (None, 0), ("yellow", 3)]]
    write_parquet(tmp_path / "science_qa" / "data" / "test-00000-of-00001.parquet", rows)
    samples, *_, overall, _ = run_benchmark("science_qa", server.url, tmp_path)
    assert len(samples) == 3 and overall["acc"].score == pytest.approx(2 / 3)


def test_seed_bench_2_plus_subsets(tmp_path, server):
    rows = [{"data_id": f"d{i}", "question_id": str(i), "question": "Colour?", "choice_A": "red", "choice_B": "green",
             "choice_C": "blue", "choice_D": "yellow", "answer": g, "question_image_type": t, "image": cell(c),
             "question_image_subtype": "x", "data_source": "s", "data_type": "Single Image", "level": "L1",
             "subpart": "p", "version": "v"}
            for i, (c, g, t) in enumerate([("red", "A", "chart"), ("green", "A", "web"), ("blue", "C", "map"),
                                           ("yellow", "D", "map")])]
    write_parquet(tmp_path / "seed_bench_2_plus" / "test.parquet", rows)
    *_, overall, subsets = run_benchmark("seed_bench_2_plus", server.url, tmp_path)
    assert {s.name: s.score for s in subsets} == {"chart": 1.0, "web": 0.0, "map": 1.0}
    assert overall["acc"].score == 3 / 4


def test_math_vista_choice_and_free_form_precision(tmp_path):
    rows = [
        {"pid": "1", "question": "Which colour?", "decoded_image": cell("red"), "choices": COLORS4, "answer": "red",
         "question_type": "multi_choice", "answer_type": "text", "precision": None, "unit": None},
        {"pid": "2", "question": "Length?", "decoded_image": cell("green"), "choices": None, "answer": "1.45",
         "question_type": "free_form", "answer_type": "float", "precision": 2.0, "unit": None},
        {"pid": "3", "question": "Count?", "decoded_image": cell("blue"), "choices": None, "answer": "3",
         "question_type": "free_form", "answer_type": "integer", "precision": None, "unit": None},
    ]
    write_parquet(tmp_path / "math_vista" / "data" / "testmini-00000-of-00001.parquet", rows)

    def responder(body):
        c = first_color(body)
        if "ANSWER: [LETTER]" in last_user_text(body):
            return "ANSWER: A"
        assert "\\boxed{}" in last_user_text(body)
        return {"green": "so the length is \\boxed{1.4500}", "blue": "there are \\boxed{4}"}[c]

    with FakeOpenAIServer(responder) as srv:
        *_, reviews, overall, _ = run_benchmark("math_vista", srv.url, tmp_path)
    assert [r.scores["acc"] for r in reviews] == [1.0, 1.0, 0.0]
    assert [r.extraction_rule for r in reviews] == ["answer_marker", "boxed", "boxed"]


def test_math_vision_levels(tmp_path):
    rows = [{"id": str(i), "question": "Q?", "options": opts, "image": f"images/{i}.jpg", "decoded_image": cell(c),
             "answer": ans, "solution": None, "level": lvl, "subject": "geometry"}
            for i, (c, opts, ans, lvl) in enumerate([("red", COLORS4, "A", 1), ("green", [], "12", 1),
                                                     ("blue", COLORS4, "B", 2)])]
    write_parquet(tmp_path / "math_vision" / "data" / "test-00000-of-00001.parquet", rows)

    def responder(body):
        c = first_color(body)
        return "\\boxed{12}" if c == "green" else f"ANSWER: {LETTER_OF[c]}"

    with FakeOpenAIServer(responder) as srv:
        *_, overall, subsets = run_benchmark("math_vision", srv.url, tmp_path,
                                             {"subset_list": ["level 1", "level 2"]})
    assert {s.name: s.score for s in subsets} == {"level 1": 1.0, "level 2": 0.0}


def test_chartqa_relaxed_accuracy(tmp_path):
    rows = [{"type": t, "question": "Value?", "answer": a, "image": cell(c)}
            for t, a, c in [("human_test", "10", "red"), ("human_test", "Yes", "green"),
                            ("augmented_test", "50%", "blue"), ("augmented_test", "100", "yellow")]]
    write_parquet(tmp_path / "chartqa" / "data" / "test-00000-of-00001.parquet", rows)
    replies = {"red": "ANSWER: 10.4", "green": "ANSWER: yes", "blue": "ANSWER: 0.53", "yellow": "the answer is 100"}
    with FakeOpenAIServer(lambda b: replies[first_color(b)]) as srv:
        *_, reviews, overall, subsets = run_benchmark("chartqa", srv.url, tmp_path)
    # 10.4 vs 10: 4% ok; yes/Yes exact (case-folded); 0.53 vs 0.50: 6% off; no ANSWER line: empty
    assert [r.scores["relaxed_acc"] for r in reviews] == [1.0, 1.0, 0.0, 0.0]
    assert {s.name: s.score for s in subsets} == {"human_test": 1.0, "augmented_test": 0.0}


@pytest.mark.parametrize("name,config", [("docvqa", "DocVQA"), ("infovqa", "InfographicVQA")])
def test_docvqa_infovqa_anls(tmp_path, name, config):
    rows = [{"questionId": str(i), "question": "What is written?", "answers": ans, "image": cell(c),
             "question_types": ["free_text"], "answer_type": ["single span"]}
            for i, (c, ans) in enumerate([("red", ["Invoice", "invoice no"]), ("green", ["december"]),
                                          ("blue", ["abc"])])]
    write_parquet(tmp_path / name / config / "validation-00000-of-00001.parquet", rows)
    replies = {"red": "ANSWER: invoice", "green": "ANSWER: Decembr", "blue": "ANSWER: xyz"}
    with FakeOpenAIServer(lambda b: replies[first_color(b)]) as srv:
        *_, reviews, overall, _ = run_benchmark(name, srv.url, tmp_path)
    # invoice = Invoice (1.0); decembr vs december: 1 edit over 8 -> 0.875; xyz vs abc: 1 - 3/3 = 0 < 0.5
    assert [r.scores["anls"] for r in reviews] == [1.0, pytest.approx(0.875), 0.0]
    assert overall["anls"].score == pytest.approx(1.875 / 3)


def test_ocr_bench_contains_and_hme(tmp_path):
    rows = [{"dataset": d, "question": "What is written?", "question_type": t, "answer": a, "image": cell(c)}
            for d, t, a, c in [("IIIT5K", "Regular Text Recognition", ["STOP"], "red"),
                               ("HME100k", "Handwritten Mathematical Expression Recognition", ["x ^ 2"], "green"),
                               ("IIIT5K", "Regular Text Recognition", ["go"], "blue")]]
    write_parquet(tmp_path / "ocr_bench" / "test.parquet", rows)
    replies = {"red": "The sign says stop.", "green": "x^2", "blue": "no"}

    def responder(body):
        first = body["messages"][0]["content"][0]
        assert first["type"] == "image_url"  # OCRBench puts the image first
        return replies[first_color(body)]

    with FakeOpenAIServer(responder) as srv:
        *_, reviews, overall, subsets = run_benchmark("ocr_bench", srv.url, tmp_path, {
            "subset_list": ["Regular Text Recognition", "Handwritten Mathematical Expression Recognition"]})
    # order: the subsets as listed (red, blue), then green; HME100k compares without spaces
    assert [r.scores["acc"] for r in reviews] == [1.0, 0.0, 1.0]
    assert {s.name: s.score for s in subsets} == {"Regular Text Recognition": 0.5,
                                                  "Handwritten Mathematical Expression Recognition": 1.0}


def test_real_world_qa(tmp_path):
    rows = [{"image": cell(c), "question": "Which way?", "answer": a, "image_path": f"{i}.webp"}
            for i, (c, a) in enumerate([("red", "Left"), ("green", "B"), ("blue", "3")])]
    write_parquet(tmp_path / "real_world_qa" / "data" / "test-00000-of-00001.parquet", rows)
    replies = {"red": "Step 1...\nANSWER: left", "green": "ANSWER: C", "blue": "3"}
    with FakeOpenAIServer(lambda b: replies[first_color(b)]) as srv:
        *_, reviews, overall, _ = run_benchmark("real_world_qa", srv.url, tmp_path)
    assert [r.scores["acc"] for r in reviews] == [1.0, 0.0, 0.0]  # no ANSWER line: no answer


def test_pope_precision_recall_f1(tmp_path):
    # model says yes for red/green images, no otherwise; gold answers chosen per row
    data = {"popular": [("red", "yes"), ("green", "no"), ("blue", "no"), ("yellow", "yes")],
            "random": [("red", "yes"), ("blue", "no")]}
    for split, items in data.items():
        rows = [{"id": str(i), "question_id": str(i), "question": "Is there a dog in the image?", "answer": a,
                 "image_source": "coco", "image": cell(c), "category": split} for i, (c, a) in enumerate(items)]
        write_parquet(tmp_path / "pope" / "Full" / f"{split}-00000-of-00001.parquet", rows)
    with FakeOpenAIServer(lambda b: "Yes." if first_color(b) in ("red", "green") else "No, there is not.") as srv:
        *_, reviews, overall, subsets = run_benchmark("pope", srv.url, tmp_path,
                                                      {"subset_list": ["popular", "random"]})
    pairs = [("YES" if a == "yes" else "NO", "YES" if c in ("red", "green") else "NO")
             for items in data.values() for c, a in items]
    tp = sum(g == p == "YES" for g, p in pairs)
    fp = sum(g == "NO" and p == "YES" for g, p in pairs)
    fn = sum(g == "YES" and p == "NO" for g, p in pairs)
    precision, recall = tp / (tp + fp), tp / (tp + fn)  # 2/3, 2/3
    assert overall["precision"].score == pytest.approx(precision)
    assert overall["recall"].score == pytest.approx(recall)
    assert overall["f1_score"].score == pytest.approx(2 * precision * recall / (precision + recall))
    assert overall["accuracy"].score == pytest.approx(4 / 6)
    assert overall["yes_ratio"].score == pytest.approx(3 / 6)
    pop = next(s for s in subsets if s.name == "popular")
    assert pop.metrics["accuracy"].score == 0.5 and pop.score == pytest.approx(0.5)  # f1: p=1/2, r=1/2


def test_hallusion_bench_question_and_figure_accuracy(tmp_path):
    # set 0: figure 0 and 1 for questions 0 and 1. The model is right except on (figure 1, question 1).
    rows = []
    for fig, color in ((0, "red"), (1, "green")):
        for q in (0, 1):
            gold = "1" if (fig, q) != (1, 1) else "0"  # the model always answers Yes
            rows.append({"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
                         "figure_id": str(fig), "sample_note": "", "question_id": str(q), "question": f"Q{q}?",
                         "gt_answer_details": "", "gt_answer": gold, "filename": f"{fig}.png", "image": cell(color)})
    write_parquet(tmp_path / "hallusion_bench" / "data" / "image-00000-of-00001.parquet", rows)
    with FakeOpenAIServer(lambda b: "Yes") as srv:
        *_, overall, subsets = run_benchmark("hallusion_bench", srv.url, tmp_path)
    assert overall["aAcc"].score == 3 / 4
    assert overall["fAcc"].score == 1 / 2  # figure 0 all right, figure 1 not
    assert overall["qAcc"].score == 1 / 2  # question 0 right on both figures, question 1 not
    assert subsets[0].name == "VD" and subsets[0].kind == "category"


def test_general_vmcq_local_paths_and_image_fewshot(tmp_path):
    d = tmp_path / "general_vmcq"
    (d / "img").mkdir(parents=True)
    for c in COLORS4:
        (d / "img" / f"{c}.png").write_bytes(png(c))
    rows = [{"question": "<image 1> What colour?", "options": COLORS4, "answer": g, "image_1": f"img/{c}.png"}
            for c, g in [("red", "A"), ("blue", "C"), ("yellow", "A")]]
    (d / "colours_val.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (d / "colours_dev.jsonl").write_text(json.dumps({"question": "<image 1> What colour?", "options": COLORS4,
                                                     "answer": "B", "image_1": "img/green.png"}))
    seen = []

    def responder(body):
        seen.append(body)
        return mcq_responder(body)

    with FakeOpenAIServer(responder) as srv:
        *_, reviews, overall, subsets = run_benchmark("general_vmcq", srv.url, tmp_path, {"few_shot_num": 1})
    assert overall["acc"].score == pytest.approx(2 / 3)
    assert subsets[0].name == "colours"
    msgs = seen[0]["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    from helpers import color_of, request_images

    assert color_of(request_images({"messages": msgs[:1]})[0]) == "green"  # the shot's image is sent
    assert msgs[1]["content"] == "ANSWER: B"


def test_general_vqa_openai_messages(tmp_path):
    d = tmp_path / "general_vqa"
    d.mkdir()
    (d / "cat.png").write_bytes(png("red"))
    rows = [{"messages": [{"role": "user", "content": [{"type": "text", "text": "Describe the colour."},
                                                       {"type": "image_url", "image_url": {"url": "cat.png"}}]}],
             "answer": "a red square"},
            {"messages": [{"role": "user", "content": "What is in <image 1>?"}], "image_1": "cat.png",
             "answer": "nothing"}]
    (d / "mine.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    with FakeOpenAIServer(lambda b: f"a {first_color(b)} square") as srv:
        *_, reviews, overall, _ = run_benchmark("general_vqa", srv.url, tmp_path)
    assert reviews[0].scores["rouge-l-r"] == 1.0 and reviews[0].scores["exact_match"] == 1.0
    assert reviews[1].scores["rouge-l-r"] == 0.0
    assert overall["rouge-l-r"].score == 0.5


def test_general_vqa_bad_row_stops_before_any_request(tmp_path):
    from evs_core.errors import ConfigError

    d = tmp_path / "general_vqa"
    d.mkdir()
    (d / "mine.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}))
    with FakeOpenAIServer() as srv, pytest.raises(ConfigError, match=r"mine.jsonl: row 1 has no 'answer' field"):
        run_benchmark("general_vqa", srv.url, tmp_path)
    assert srv.requests == []
