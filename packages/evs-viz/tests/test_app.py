"""The Streamlit app's logic with streamlit.testing's AppTest: no browser, no server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
import evs_viz  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(Path(evs_viz.__file__).with_name("app.py"))


@pytest.fixture()
def app(outputs: Path, monkeypatch):
    monkeypatch.setenv("EVS_VIZ_OUTPUTS", str(outputs))

    def make(page: str, **params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params["page"] = page
        for k, v in params.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return make


def unmd(x):
    """What a reader sees of Markdown source where the app escaped user data (``0\\.8`` is ``0.8``)."""
    return re.sub(r"\\(.)", r"\1", x) if isinstance(x, str) else x


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [h.value for h in at.header] + [h.value for h in at.subheader]
    return "\n".join(unmd(str(p)) for p in parts) + "\n" + "\n".join(str(c.value) for c in at.code)


def tables(at: AppTest) -> list:
    out = []
    for t in at.table:
        df = t.value.map(unmd)
        df.index = df.index.map(lambda v: tuple(map(unmd, v)) if isinstance(v, tuple) else unmd(v))
        df.columns = df.columns.map(unmd)
        out.append(df)
    return out


def test_runs_page_matrix_and_cards(app):
    at = app("runs")
    matrix = tables(at)[0]
    assert list(matrix.index) == ["alpha", "beta"]
    assert matrix.loc["alpha", "arc"] == "0.8000" and matrix.loc["beta", "arc"] == "0.6000"
    assert matrix.loc["alpha", "gsm8k"] == "1.0000" and matrix.loc["beta", "gsm8k"] == "–"
    t = texts(at)
    # newest first: the perf runs (Jan 3) before the eval runs (Jan 1-2)
    assert t.index("perf/20260103_090000_other") < t.index("20260102_100000") < t.index("team/evals/20260101_100000")
    # partial and corrupt runs carry a visible note
    assert "gamma/arc: no report yet" in t and "last line is truncated" in t
    assert "report delta/arc: arc.json is not valid JSON" in t
    assert ":orange-badge[partial]" in t and ":red-badge[corrupt]" in t


def test_runs_page_filters(app):
    at = app("runs")
    at.multiselect(key="f_models").set_value(["beta"]).run()
    assert list(tables(at)[0].index) == ["beta"]
    assert "team/evals/20260101_110000" in texts(at) and "team/evals/20260101_100000" not in texts(at)
    at.multiselect(key="f_models").set_value([]).run()
    at.checkbox(key="f_problems").check().run()
    t = texts(at)
    assert "20260102_090000" in t and "20260102_100000" in t and "team/evals/20260101_110000" not in t


def test_open_button_goes_to_run_page(app):
    at = app("runs")
    at.button(key="open-team/evals/20260101_110000").click().run()
    assert at.radio(key="page").value == "Run"
    assert at.selectbox(key="run").value == "team/evals/20260101_110000"


def test_run_page(app):
    at = app("run", run="team/evals/20260101_100000")
    by_dataset, by_subset = tables(at)[0], tables(at)[1]
    row = by_dataset.iloc[0]
    assert (row["model"], row["dataset"], row["score"], row["95% CI"]) == ("alpha", "arc", "0.8000", "[0.600, 1.000]")
    assert by_subset.iloc[0]["name"] == "ARC-Challenge"
    assert "model: alpha" in texts(at)  # the task config
    assert len(at.get("plotly_chart")) == 2  # bars and sunburst


def test_run_page_partial_and_corrupt_do_not_crash(app):
    at = app("run", run="20260102_090000")
    assert tables(at)[0].iloc[0]["status"] == "no report"
    assert any("no report yet" in w.value for w in at.warning)
    at = app("run", run="20260102_100000")
    assert any("not valid JSON" in e.value for e in at.error)


def test_compare_page_significance_and_diff(app):
    at = app("compare", models="alpha,beta", dataset="arc")
    scores, diffs = tables(at)[0], tables(at)[1]
    assert scores.loc["arc", "alpha"].startswith("0.8000") and scores.loc["arc", "beta"].startswith("0.6000")
    d = diffs.iloc[0]
    assert d["test"] == "McNemar exact" and d["p-value"] == "0.6875" and d["significant"] == "no"
    assert d["model"] == "beta" and d["baseline"] == "alpha" and d["difference"] == "-0.2000"
    a_better, b_better = tables(at)[2], tables(at)[3]
    assert sorted(a_better["sample_id"]) == ["arc-1", "arc-3", "arc-5", "arc-7"]
    assert sorted(b_better["sample_id"]) == ["arc-8", "arc-9"]
    assert "McNemar" in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["alpha right, beta wrong"] == "4" and metrics["beta right, alpha wrong"] == "2"


def test_compare_needs_two_models(app):
    at = app("compare", models="alpha,beta")
    at.multiselect(key="c_models").set_value(["alpha"]).run()
    assert any("at least two" in w.value for w in at.warning)


def test_samples_page_detail_filter_and_search(app):
    at = app("samples", run="team/evals/20260101_100000", model="alpha", dataset="arc")
    assert at.dataframe[0].value.shape[0] == 10
    at.radio(key="s_status").set_value("fail").run()
    assert list(at.dataframe[0].value["sample_id"]) == ["arc-8", "arc-9"]
    assert at.selectbox(key="s_sample").value == "arc-8#0"
    t = texts(at)
    assert "Question 8 of arc" in t  # input
    assert "ANSWER: B" in t  # output
    assert "I think step by step about sample." in t  # reasoning, in its own expander
    assert any("Reasoning" in e.label for e in at.expander)
    assert "**Gold answer:** A" in t and "**Extracted answer:** B" in t and "acc = 0" in t
    assert "The extracted letter matches the gold letter." in t  # judge explanation
    at.radio(key="s_status").set_value("all").run()
    at.text_input(key="s_query").input("arc-3").run()
    assert list(at.dataframe[0].value["sample_id"]) == ["arc-3"]
    at.text_input(key="s_query").input("nothing matches this").run()
    assert any("No sample matches" in i.value for i in at.info)


def test_samples_page_error_sample(app):
    at = app("samples", run="team/evals/20260101_120000", model="alpha", dataset="gsm8k")
    at.radio(key="s_status").set_value("error").run()
    assert list(at.dataframe[0].value["sample_id"]) == ["gsm8k-2"]
    assert any("TimeoutError" in e.value for e in at.error)


def test_samples_page_partial_run_shows_bad_lines(app):
    at = app("samples", run="20260102_090000", model="gamma", dataset="arc")
    assert any("predictions: 1 unreadable line(s) skipped" in w.value for w in at.warning)
    assert at.dataframe[0].value.shape[0] == 3


def test_perf_page_single_and_sweep(app):
    at = app("perf", perf="perf/20260103_080000_perf-model")
    summary = tables(at)[0]
    assert [p for _, p in summary.index] == ["c1", "c4", "c8"]
    assert summary.iloc[0]["completed"] == "20"
    assert "model_id: **perf-model**" in texts(at)
    assert at.radio(key="perf_pct_metric").options == ["TTFT", "TPOT", "ITL", "E2EL"]
    charts = {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    pct = charts["pct"]["data"]
    assert [t["name"] for t in pct] == ["c1", "c4", "c8"] and len(pct[0]["x"]) == 99  # from records.sqlite
    sweep = charts["sweep"]
    assert [a["text"] for a in sweep["layout"]["annotations"]] == ["req/s", "out tok/s", "mean TTFT ms", "mean TPOT ms"]
    assert sweep["data"][0]["x"] == [1, 4, 8]
    at.radio(key="perf_pct_metric").set_value("tpot").run()
    tpot = {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}["pct"]
    assert tpot["layout"]["yaxis"]["title"]["text"] == "TPOT (ms)"


def test_perf_page_compare_runs(app):
    at = app("perf", perf="perf/20260103_080000_perf-model,perf/20260103_090000_other")
    t = tables(at)[0]
    assert {r for r, _ in t.index} == {"perf/20260103_080000_perf-model", "perf/20260103_090000_other"}
    assert "Comparison of runs" in texts(at)


def test_empty_outputs(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("EVS_VIZ_OUTPUTS", str(tmp_path))
    for page in ("runs", "run", "compare", "samples", "perf"):
        at = AppTest.from_file(APP, default_timeout=30)
        at.query_params["page"] = page
        at.run()
        assert not at.exception
        assert at.info, page
