"""Specs, the filter chain, metrics with aggregation and suffix-chosen loaders (evs-core alone)."""

from __future__ import annotations

import asyncio
import json
import types

import pytest
from evs_core.benchmark import Benchmark, RunContext
from evs_core.data import load_local, read_records
from evs_core.errors import ConfigError
from evs_core.hookspecs import hookimpl
from evs_core.plugins import make_plugin_manager
from evs_core.registry import get_registries
from evs_core.schema import ModelOutput, Review
from evs_core.spec import spec_class
from evs_core.specfile import AGGREGATION_NAMES, validate_spec
from evs_core.stats import AGGREGATIONS, aggregate_values, percentile


def _regs(*plugins):
    return get_registries(make_plugin_manager(load_entrypoints=False, extra_plugins=list(plugins)))


SPEC = {
    "name": "colours", "version": "3",
    "dataset": {"local": "rows.jsonl", "subsets": ["default"]},
    "record": {"id": "c{k}", "input": "{q}", "target": {"field": "a.value", "filters": ["lower"]},
               "choices": {"field": "opts"}, "metadata": {"hint": {"field": "h", "default": "-"}}},
    "prompt": {"template": "{input} [{hint}]\n{choices}\n({letters})", "choice_format": "{letter}: {text}"},
    "filters": ["strip", {"regex": {"pattern": "is (\\w+)", "flags": "i"}}, "lower"],
    "metrics": [{"name": "acc", "metric": "exact_match"}, {"name": "n", "metric": "exact_match", "aggregation": "sum"}],
}


def _bench(tmp_path, spec=SPEC, args=None):
    rows = [{"k": 1, "q": "Sky?", "a": {"value": "Blue"}, "opts": ["blue", "red"], "h": "up"},
            {"k": 2, "q": "Grass?", "a": {"value": "GREEN"}, "opts": ["green", "grey"]}]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cls = spec_class({**spec, "_origin": str(tmp_path / "s.yaml")})
    return cls(args, registries=_regs())


def test_spec_samples_prompts_and_scores(tmp_path):
    b = _bench(tmp_path)
    s1, s2 = b.load_samples()
    assert (s1.id, s1.target, s1.choices, s1.metadata) == ("c1", "blue", ["blue", "red"], {"hint": "up"})
    assert s2.metadata == {"hint": "-"} and b.version == "3"
    assert b.build_request(s1).messages[-1]["content"] == "Sky? [up]\nA: blue\nB: red\n(A,B)"
    ctx = RunContext(registries=b.registries, dataset="colours")
    r1 = asyncio.run(b.score(s1, ModelOutput(text="  It IS Blue. "), ctx))
    r2 = asyncio.run(b.score(s2, ModelOutput(text="no idea"), ctx))
    assert r1.extracted == "blue" and r1.scores == {"acc": 1.0, "n": 1.0}
    assert r2.extracted is None and r2.scores == {"acc": 0.0, "n": 0.0}
    r3 = r2.model_copy(update={"sample_id": "c3", "scores": {"acc": 1.0, "n": 1.0}})
    overall, _ = b.aggregate([r1, r2, r3])
    assert overall["acc"].score == pytest.approx(2 / 3) and overall["acc"].ci95 is not None
    assert overall["n"].score == 2.0 and overall["n"].ci95 is None


def test_run_overrides_filters_metrics_aggregation(tmp_path):
    b = _bench(tmp_path, args={"filters": ["lower"], "metric_list": ["n", "exact_match_normalized"],
                               "aggregation": {"exact_match_normalized": "max"}})
    s1, _ = b.load_samples()
    r = asyncio.run(b.score(s1, ModelOutput(text="Blue!"), RunContext()))
    assert r.extracted == "blue!" and r.scores == {"n": 0.0, "exact_match_normalized": 1.0}
    assert b.primary == "n"
    overall, _ = b.aggregate([r])
    assert overall["exact_match_normalized"].score == 1.0 and overall["exact_match_normalized"].ci95 is None


@pytest.mark.parametrize(("change", "message"), [
    ({"promt": {}}, "unknown key 'promt' in top level; did you mean 'prompt'"),
    ({"record": {"inptu": "{q}"}}, "unknown key 'inptu' in record"),
    ({"metrics": [{"metric": "exact_match", "aggregation": "avg"}]}, "unknown aggregation 'avg'"),
    ({"dataset": {"default_subsets": ["x"]}}, "dataset.default_subsets names 'x'"),
    ({"prompt": {"fewshot": {"num": 2}}}, "prompt.fewshot.num needs dataset.fewshot_split"),
    ({"name": "two words"}, "'name' is required"),
    ({"primary_metric": "f1"}, "primary_metric 'f1' is not among the metrics"),
    ({"loglikelihood": {"continuations": "words"}}, "loglikelihood.continuations must be one of letters, choices"),
    ({"loglikelihood": {"prefx": " "}}, "unknown key 'prefx' in loglikelihood; did you mean 'prefix'"),
    ({"report": {"categories": {"defualt": "X"}}}, "report.categories names 'defualt', not in dataset.subsets"),
    ({"dataset": {"subsets": ["a"], "subset_field_hub": True}}, "subset_field_hub needs dataset.subset_field"),
    ({"dataset": {"subsets": ["a"], "subset_field": ["x"]}}, "dataset.subset_field must be the name of a field"),
    ({"prompt": {"subset_labels": {"default": 3}}}, "prompt.subset_labels.default must be a string"),
    ({"prompt": {"fewshot": {"num": 3, "max": 2}}, "dataset": {"fewshot_split": "dev"}},
     "prompt.fewshot.num (3) is above prompt.fewshot.max (2)"),
    ({"record": {"input": {"field": "q", "fields": ["a"]}}}, "needs exactly one of 'field', 'fields' or 'template'"),
    ({"record": {"input": "{q}", "choices": {"fields": "A"}}}, "record.choices.fields must be a non-empty list"),
    ({"record": {"input": "{q}", "id": {"field": "k", "fallback": {"feild": "j"}}}}, "unknown key 'feild' in record.id.fallback"),
    ({"record": {"input": "{q}", "fields": {"x": {"templ": "{q}"}}}}, "unknown key 'templ' in record.fields.x"),
    ({"record": {"input": "{q}", "choices": {"field": "o"}, "target": {"field": "a"}, "shuffle_choices": "{k}"}},
     "record.shuffle_choices needs record.choices and a record.target with letter: true"),
])
def test_spec_errors_name_the_key(change, message):
    spec = {**SPEC, **change}
    with pytest.raises(ConfigError) as err:
        validate_spec(spec, "s.yaml")
    assert message in str(err.value) and str(err.value).startswith("s.yaml")


EXAM = {
    "name": "exam",
    "dataset": {"local": "exam", "subsets": ["alg", "bio"], "subset_field": "topic", "fewshot_split": "dev"},
    "record": {"id": "{_subset}/{_index}", "fields": {"q": {"field": "question", "filters": ["strip", "capitalize"]}},
               "input": "{q}", "choices": {"fields": ["A", "B"], "fallback": {"field": "opts", "filters": ["strip"]}},
               "target": {"field": "gold", "letter": True},
               "metadata": {"src": {"field": "src", "fallback": "none"}}},
    "prompt": {"template": "[{subset_label}] {input}\n{choices}", "subset_labels": {"bio": "biology"},
               "fewshot": {"num": 1, "max": 1, "example": "{input} {target}", "last_separator": " | "}},
    "loglikelihood": {"continuations": "choices", "header": "{subset}: ", "template": "Q: {input}\nA:"},
    "report": {"categories": {"alg": "STEM", "bio": "STEM"}},
}


def test_spec_subset_field_fields_fallback_loglikelihood_categories(tmp_path):
    (tmp_path / "exam").mkdir()
    rows = [{"topic": "ALG ", "question": " two plus TWO? ", "A": "4", "B": "5", "gold": "(a)"},
            {"topic": "bio", "question": "cells?", "opts": [" yes", "no "], "gold": 1, "src": ""},
            {"topic": "alg", "question": "one?", "A": "1", "B": "2", "gold": "1", "src": "book"}]
    (tmp_path / "exam" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "exam" / "dev.jsonl").write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1]) + "\n")
    cls = spec_class({**EXAM, "_origin": str(tmp_path / "s.yaml")})
    b = cls(registries=_regs())
    s1, s3, s2 = b.load_samples()  # by subset: alg, alg, bio
    assert (s1.id, s1.subset, s1.input, s1.choices, s1.target, s1.metadata) == (
        "alg/0", "alg", "Two plus two?", ["4", "5"], "A", {"src": "none"})
    assert (s2.id, s2.choices, s2.target, s2.metadata) == ("bio/0", ["yes", "no"], "B", {"src": "none"})
    assert (s3.id, s3.target, s3.metadata) == ("alg/1", "B", {"src": "book"})
    assert b.build_request(s2).messages[-1]["content"] == "Cells? B | [biology] Cells?\nA) yes\nB) no"
    ll = cls({"mode": "loglikelihood"}, registries=_regs())
    req = ll.build_request(ll.load_samples()[1])
    assert req.prompt == "alg: Q: Two plus two?\nA: 4\n\nQ: One?\nA:" and req.continuations == [" 1", " 2"]
    # acc: the highest sum (option "1"); acc_norm: per character ("22" beats it)
    s = ll.load_samples()[1]
    s = s.model_copy(update={"choices": ["1", "22"], "target": "B"})
    r = asyncio.run(ll.score(s, ModelOutput(logprobs=[-2.0, -3.0]), RunContext()))
    assert r.scores == {"acc": 0.0, "acc_norm": 1.0} and r.extracted == "A"
    ctx = RunContext(registries=b.registries, dataset="exam")
    revs = [asyncio.run(b.score(x, ModelOutput(text=t), ctx)) for x, t in ((s1, "A"), (s2, "A"), (s3, "B"))]
    _, subsets = b.aggregate(revs)
    assert [(x.name, x.num, x.score, x.kind) for x in subsets] == [
        ("alg", 2, 1.0, "subset"), ("bio", 1, 0.0, "subset"), ("STEM", 3, pytest.approx(2 / 3), "category")]
    with pytest.raises(ConfigError, match="few_shot_num must be at most 1, not 2"):
        cls({"few_shot_num": 2}, registries=_regs())
    bad = [{"topic": "alg", "question": "q", "A": "1", "B": "2", "gold": "C"}]
    (tmp_path / "exam" / "test.jsonl").write_text(json.dumps(bad[0]) + "\n")
    with pytest.raises(ConfigError, match="answer C is out of range for 2 options"):
        cls(registries=_regs()).load_samples()


def test_unknown_registered_names_stop_at_construction(tmp_path):
    with pytest.raises(ConfigError, match="unknown filter 'lowr'.*did you mean 'lower'"):
        _bench(tmp_path, args={"filters": ["lowr"]})
    with pytest.raises(ConfigError, match="unknown metric 'exact'"):
        _bench(tmp_path, spec={**SPEC, "metrics": ["exact"]})
    with pytest.raises(ConfigError, match="the template names '{nope}'"):
        b = _bench(tmp_path, spec={**SPEC, "prompt": {"template": "{nope}"}})
        b.build_request(b.load_samples()[0])


def test_filter_receives_the_sample_when_it_asks():
    seen = []

    def pick(text, sample=None, upper=False):
        seen.append(sample.id)
        return text.upper() if upper else text

    plugin = types.SimpleNamespace(evs_register_filters=hookimpl(lambda register: register("pick", pick)))

    class B(Benchmark):
        name = "b"

    b = B({"filters": [{"pick": {"upper": True}}]}, registries=_regs(plugin))
    from evs_core.schema import Sample

    s = Sample(id="s1", input="x", target="YES")
    r = asyncio.run(b.score(s, ModelOutput(text="yes "), RunContext()))
    assert seen == ["s1"] and r.extracted == "YES" and r.scores == {"acc": 1.0}


def test_loaders_are_chosen_by_registered_suffix(tmp_path):
    plugin = types.SimpleNamespace(evs_register_dataset_loaders=hookimpl(
        lambda register: register("kv", lambda p: [dict(x.split("=") for x in line.split(";"))
                                                   for line in p.read_text().split("\n") if line],
                                  suffixes=[".kv.txt"])))
    regs = _regs(plugin)
    (tmp_path / "test.kv.txt").write_text("q=a;t=1\nq=b;t=2\n")
    (tmp_path / "test.jsonl").write_text('{"q": "c", "t": "3"}\n')
    (tmp_path / "notes.md").write_text("not data")
    rows = load_local(tmp_path, "test", loaders=regs.dataset_loaders)
    assert sorted(r["q"] for r in rows) == ["a", "b", "c"]
    with pytest.raises(ConfigError, match="unsupported data file type '.txt'"):
        read_records(tmp_path / "test.kv.txt")  # without the plugin's loader


def test_one_statistics_module():
    assert set(AGGREGATIONS) == set(AGGREGATION_NAMES)
    xs = sorted([1.0, 2.0, 3.0, 4.0, 10.0])
    assert percentile(xs, 50) == 3.0 and percentile(xs, 90) == pytest.approx(7.6) and percentile([], 50) is None
    assert aggregate_values([0.0, 1.0, 1.0], "median").score == 1.0
    assert aggregate_values([0.0, 1.0, 1.0], "sum").score == 2.0
    assert aggregate_values([0.0, 1.0, 1.0]).stderr == pytest.approx((1 / 3) ** 0.5 / 3 ** 0.5)


def test_review_helpers_fill_the_unit():
    from evs_core.benchmark import failed_review, make_review
    from evs_core.schema import Sample

    s = Sample(id="q", input="x", target="t", subset="sub")
    ctx = RunContext(repeat=2)
    r = failed_review(s, ModelOutput(text="a", reasoning="abc"), ctx, "HTTP 500: boom")
    assert isinstance(r, Review) and (r.sample_id, r.repeat, r.subset, r.reasoning_chars) == ("q", 2, "sub", 3)
    assert r.error == "HTTP 500: boom" and r.scores == {}
    assert make_review(s, ModelOutput(text="a"), None, scores={"acc": 1.0}).repeat == 0


def test_letter_values_accept_indexes_and_letters():
    from evs_core.spec import as_letter

    assert [as_letter(x) for x in (0, 1.0, "2", " (c) ", "d")] == ["A", "B", "C", "C", "D"]
    for bad in (True, 1.5, -1, "AB", 26):
        with pytest.raises(ValueError):
            as_letter(bad)
