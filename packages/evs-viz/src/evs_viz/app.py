"""The evs viz Streamlit app. Started by ``evs viz``; reads the outputs root from $EVS_VIZ_OUTPUTS.

Pages (sidebar, or ``?page=`` in the URL): Runs, Run, Compare, Samples, Perf, Arena, Gallery. Every file read
goes through :mod:`evs_viz.data` (arena runs: :mod:`evs_viz.arena`), which refuses paths outside the
outputs root.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from evs_core.stats import paired_compare

from evs_viz import arena_page
from evs_viz import data as D

PAGES = ["Runs", "Run", "Compare", "Samples", "Perf", "Arena", "Gallery"]
ROOT = Path(os.environ.get("EVS_VIZ_OUTPUTS", "outputs")).expanduser().resolve()
PERF_COLUMNS = [
    ("completed", "completed"), ("failed", "failed"), ("duration", "duration s"),
    ("request_throughput", "req/s"), ("output_throughput", "out tok/s"), ("total_token_throughput", "tok/s"),
    ("mean_ttft_ms", "mean TTFT ms"), ("median_ttft_ms", "median TTFT ms"), ("p99_ttft_ms", "p99 TTFT ms"),
    ("mean_tpot_ms", "mean TPOT ms"), ("p99_tpot_ms", "p99 TPOT ms"), ("mean_itl_ms", "mean ITL ms"),
    ("mean_e2el_ms", "mean E2EL ms"), ("p99_e2el_ms", "p99 E2EL ms"),
]

st.set_page_config(page_title="evs viz", page_icon=":bar_chart:", layout="wide")


# ---------------------------------------------------------------------------------------------
# Cached loading


@st.cache_data(ttl=15, show_spinner="Looking for runs…")
def discover(root: str) -> list[D.Run]:
    return D.discover(root)


@st.cache_data(ttl=15, show_spinner=False, max_entries=64)
def samples(root: str, run_rel: str, model: str, dataset: str) -> D.SampleSet:
    run = next((r for r in discover(root) if r.rel == run_rel), None)
    entry = run.entry(model, dataset) if run else None
    if entry is None:
        return D.SampleSet(rows=[], bad_lines={}, metric=None)
    return D.load_samples(entry, Path(root))


def fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'^%@])")


def md(x: Any) -> str:
    """User data (model names, answers, gold, error bodies, subset names, paths) for a Markdown
    context: every Markdown/HTML character escaped, lines joined, so it shows as text and an image
    or link a model wrote is never fetched or followed."""
    text = " ".join(str(x).split()) if x is not None else ""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _table(df: pd.DataFrame) -> None:
    """``st.table`` renders Markdown in cells, index and headers: escape every text in them."""

    def esc(v: Any) -> Any:
        return md(v) if isinstance(v, str) else v

    df = df.copy()
    df.index = df.index.map(lambda v: tuple(map(esc, v)) if isinstance(v, tuple) else esc(v))
    df.columns = df.columns.map(esc)
    st.table(df.map(esc))


def fmt_ci(ci: Any) -> str:
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        return f"[{ci[0]:.3f}, {ci[1]:.3f}]"
    return "–"


def init_choice(key: str, options: list[str], default: str | None = None, qp: str | None = None) -> None:
    """Seed a widget's state from the URL (first render) and keep it among ``options``."""
    qp = qp or key
    if key not in st.session_state or st.session_state[key] not in options:
        v = st.query_params.get(qp)
        st.session_state[key] = v if v in options else (default if default in options else (options[0] if options else None))


def show_notes(notes: list[D.Note]) -> None:
    for n in notes:
        if n.level == "error":
            st.error(md(n.message), icon=":material/error:")
        elif n.level == "warning":
            st.warning(md(n.message), icon=":material/warning:")
        else:
            st.caption(md(n.message))


def status_badge(run: D.Run) -> str:
    return {"ok": ":green-badge[ok]", "partial": ":orange-badge[partial]", "corrupt": ":red-badge[corrupt]"}[run.status]


def goto(page: str, **state: str) -> None:
    st.session_state["page"] = page
    for k, v in state.items():
        st.session_state[k] = v


# ---------------------------------------------------------------------------------------------
# Pages


def page_runs(runs: list[D.Run]) -> None:
    st.header("Runs")
    st.caption(f"{len(runs)} run(s) under {md(ROOT)}, newest first.")
    if not runs:
        st.info("No eval or perf runs found here. Write some with `evs eval --work-dir DIR` or "
                "`evs perf --output-dir DIR`, then `evs viz --outputs DIR`.")
        return
    latest = D.latest_results(runs)
    all_models = sorted({m for m, _ in latest} | {m for r in runs for m in r.models})
    all_datasets = sorted({d for _, d in latest} | {d for r in runs for d in r.datasets})
    c1, c2, c3, c4 = st.columns([3, 3, 2, 2])
    models = c1.multiselect("Models", all_models, key="f_models", placeholder="all models")
    datasets = c2.multiselect("Datasets", all_datasets, key="f_datasets", placeholder="all datasets")
    kinds = c3.multiselect("Kind", ["eval", "perf"], key="f_kinds", placeholder="eval and perf")
    problems = c4.checkbox("Only partial / corrupt", key="f_problems")
    text = st.text_input("Search run folders", key="f_text", placeholder="part of a folder name")

    st.subheader("Scores: models × datasets")
    st.caption("The newest report of each model on each dataset; primary metric, 0–1.")
    cells = [
        (m, d, row) for (m, d), row in latest.items()
        if (not models or m in models) and (not datasets or d in datasets)
    ]
    if cells:
        mat = pd.DataFrame(
            [{"model": m, "dataset": d, "score": row.entry.score} for m, d, row in cells]
        ).pivot(index="model", columns="dataset", values="score")
        mat["mean"] = mat.mean(axis=1)
        _table(mat.map(lambda v: fmt(v) if pd.notna(v) else "–"))
        fig = go.Figure(go.Heatmap(z=mat.drop(columns="mean").values, x=list(mat.columns[:-1]), y=list(mat.index),
                                   zmin=0, zmax=1, colorscale="Blues", text=mat.drop(columns="mean").map(fmt).values,
                                   texttemplate="%{text}"))
        fig.update_layout(height=120 + 40 * len(mat.index), margin=dict(l=10, r=10, t=10, b=10))
        st.plotly_chart(fig, width="stretch", key="matrix")
    else:
        st.info("No finished reports match the filters.")

    st.subheader("Runs")
    shown = 0
    for run in runs:
        if kinds and run.kind not in kinds:
            continue
        if problems and run.status == "ok":
            continue
        if text and text.lower() not in run.rel.lower():
            continue
        if run.kind == "eval" and (models and not set(models) & set(run.models) or datasets and not set(datasets) & set(run.datasets)):
            continue
        shown += 1
        with st.container(border=True):
            a, b = st.columns([8, 1])
            a.markdown(f"**{run.kind}** · {md(run.rel)} · {run.created_str} · {status_badge(run)}")
            if run.kind == "eval":
                parts = [f"{md(e.model_name)} / {md(e.dataset)}: **{fmt(e.score, 3)}**" if e.score is not None
                         else f"{md(e.model_name)} / {md(e.dataset)}: no report" for e in run.entries]
                a.markdown(" · ".join(parts) or "no results yet")
                b.button("Open", key=f"open-{run.rel}", on_click=goto, args=("Run",), kwargs={"run": run.rel})
            else:
                pts = ", ".join(md(p.label) for p in run.points) or "no summary"
                a.markdown(f"{len(run.points)} load point(s): {pts}")
                b.button("Open", key=f"open-{run.rel}", on_click=goto, args=("Perf",), kwargs={"perf_runs": [run.rel]})
            show_notes(run.all_notes)
    if not shown:
        st.info("No run matches the filters.")


def page_run(runs: list[D.Run]) -> None:
    st.header("Run")
    evals = [r for r in runs if r.kind == "eval"]
    if not evals:
        st.info("No eval runs found.")
        return
    rels = [r.rel for r in evals]
    init_choice("run", rels)
    by = {r.rel: r for r in evals}
    rel = st.selectbox("Run folder", rels, key="run", format_func=lambda x: f"{x}  ({by[x].status}, {by[x].created_str})")
    st.query_params["run"] = rel
    run = by[rel]
    st.markdown(f"{status_badge(run)} · {run.created_str} · models: **{md(', '.join(run.models)) or '–'}** · "
                f"datasets: **{md(', '.join(run.datasets)) or '–'}**")
    show_notes(run.all_notes)

    rows, subrows = [], []
    for e in run.entries:
        rep = e.report or {}
        rows.append({
            "model": e.model_name, "dataset": e.dataset, "metric": e.metric, "score": fmt(e.score),
            "95% CI": fmt_ci(rep.get("ci95")), "stderr": fmt(rep.get("stderr")), "num": fmt(rep.get("num")),
            "asked": fmt(rep.get("num_samples")), "errors": fmt(rep.get("num_errors")),
            "status": "ok" if e.report else "no report",
        })
        for s in rep.get("subsets") or []:
            if isinstance(s, dict):
                ci = ((s.get("metrics") or {}).get(e.metric) or {}).get("ci95")
                subrows.append({"model": e.model_name, "dataset": e.dataset, "kind": s.get("kind") or "subset",
                                "name": s.get("name"),
                                "num": s.get("num"), "score": s.get("score"), "95% CI": fmt_ci(ci)})
    st.subheader("Scores by dataset")
    if rows:
        _table(pd.DataFrame(rows))
    else:
        st.info("No results yet.")
    if subrows:
        st.subheader("Scores by category and subset")
        _table(pd.DataFrame([{**r, "score": fmt(r["score"]), "num": fmt(r["num"])} for r in subrows]))

    reported = [e for e in run.entries if e.report]
    if reported:
        tab_bar, tab_sun, tab_metrics = st.tabs(["Bars", "Sunburst", "All metrics"])
        with tab_bar:
            fig = go.Figure()
            for model in sorted({e.model_name for e in reported}):
                es = [e for e in reported if e.model_name == model]
                lo = [e.score - (e.report.get("ci95") or [e.score, e.score])[0] for e in es]
                hi = [(e.report.get("ci95") or [e.score, e.score])[1] - e.score for e in es]
                fig.add_bar(name=model, x=[e.dataset for e in es], y=[e.score for e in es],
                            error_y=dict(type="data", symmetric=False, array=hi, arrayminus=lo))
            fig.update_layout(barmode="group", yaxis=dict(range=[0, 1], title="score"), height=380,
                              margin=dict(l=10, r=10, t=30, b=10))
            st.plotly_chart(fig, width="stretch", key="run-bars")
            st.caption("Error bars: the report's 95 % bootstrap confidence interval.")
        with tab_sun:
            ids, labels, parents, values, colors = [], [], [], [], []

            def add_node(id_: str, label: str, parent: str, value: int, color: Any) -> None:
                ids.append(id_)
                labels.append(label)
                parents.append(parent)
                values.append(value)
                colors.append(color)

            for e in reported:
                mid = f"m:{e.model_name}"
                if mid not in ids:
                    add_node(mid, e.model_name, "", 0, None)
                did = f"{mid}/d:{e.dataset}"
                subs = [s for s in e.report.get("subsets") or []
                        if isinstance(s, dict) and (s.get("kind") or "subset") == "subset"]
                add_node(did, f"{e.dataset} {e.score:.2f}", mid, 0 if subs else max(1, int(e.report.get("num") or 1)), e.score)
                for s in subs:
                    add_node(f"{did}/s:{s.get('name')}", f"{s.get('name')} {float(s.get('score') or 0):.2f}", did,
                             max(1, int(s.get("num") or 1)), s.get("score"))
            fig = go.Figure(go.Sunburst(ids=ids, labels=labels, parents=parents, values=values, branchvalues="remainder",
                                        marker=dict(colors=[c if c is not None else 0.5 for c in colors],
                                                    colorscale="RdYlGn", cmin=0, cmax=1)))
            fig.update_layout(height=480, margin=dict(l=10, r=10, t=10, b=10))
            st.plotly_chart(fig, width="stretch", key="run-sunburst")
            st.caption("Model → dataset → subset; size is the number of samples, colour the score.")
        with tab_metrics:
            mrows = []
            for e in reported:
                for name, stat in (e.report.get("metrics") or {}).items():
                    if isinstance(stat, dict):
                        mrows.append({"model": e.model_name, "dataset": e.dataset, "metric": name,
                                      "score": fmt(stat.get("score")), "num": fmt(stat.get("num")),
                                      "95% CI": fmt_ci(stat.get("ci95"))})
            if mrows:
                _table(pd.DataFrame(mrows))
            else:
                st.caption("No per-metric statistics.")
            for e in reported:
                if e.report.get("errors"):
                    st.caption(md(f"{e.model_name} / {e.dataset} errors: {json.dumps(e.report['errors'])}"))
    thinking = [(e, D.thinking_series(e)) for e in reported]
    thinking = [(e, t) for e, t in thinking if t]
    if thinking:
        st.subheader("Thinking efficiency")
        st.caption("think_eval: reasoning tokens, tokens until the first correct answer and after it, their "
                   "ratio, approach switches and the judge's accuracy on the reasoning, by subset.")
        for i, (e, series) in enumerate(thinking):
            st.plotly_chart(thinking_figure(e, series), width="stretch", key=f"run-thinking-{i}")
    st.subheader("Task config")
    if run.config_text:
        st.code(D.redact(run.config_text), language="yaml")
    else:
        st.caption("No configs/task_config.yaml in this run.")
    b1, b2 = st.columns(2)
    if run.entries:
        b1.button("Browse samples", on_click=goto, args=("Samples",),
                  kwargs={"s_run": run.rel, "s_model": run.entries[0].model_name, "s_dataset": run.entries[0].dataset})
    if len(run.models) >= 2:
        b2.button("Compare these models", on_click=goto, args=("Compare",), kwargs={"c_models": run.models})


def thinking_figure(e: D.EvalEntry, series: dict[str, list[tuple[str, float]]]) -> go.Figure:
    """One model's think_eval metrics by subset: six panels, as EvalScope's ThinkEval chart."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=3, subplot_titles=[t for _, t in D.THINKING_METRICS],
                        vertical_spacing=0.16, horizontal_spacing=0.08)
    for i, (metric, label) in enumerate(D.THINKING_METRICS):
        points = series.get(metric) or []
        fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers+text",
                                 name=label, text=[f"{p[1]:.2f}" for p in points], textposition="top center",
                                 showlegend=False), row=i // 3 + 1, col=i % 3 + 1)
    for col in (1, 3):  # shares
        fig.update_yaxes(range=[0, 1.1], row=2, col=col)
    fig.update_layout(title_text=f"Thinking efficiency · {e.model_name} on {e.dataset}", height=560,
                      margin=dict(l=10, r=10, t=70, b=10))
    return fig


def page_compare(runs: list[D.Run]) -> None:
    st.header("Model comparison")
    latest = D.latest_results(runs)
    models = sorted({m for m, _ in latest})
    if len(models) < 2:
        st.info("Comparison needs reports of at least two models.")
        return
    if "c_models" not in st.session_state:
        want = [m for m in (st.query_params.get("models") or "").split(",") if m in models]
        st.session_state["c_models"] = want if len(want) >= 2 else models[: min(4, len(models))]
    chosen = st.multiselect("Models (two or more)", models, key="c_models")
    if chosen:
        st.query_params["models"] = ",".join(chosen)
    if len(chosen) < 2:
        st.warning("Pick at least two models.")
        return
    datasets = sorted({d for (m, d) in latest if m in chosen})

    table = []
    for d in datasets:
        row: dict[str, Any] = {"dataset": d}
        for m in chosen:
            r = latest.get((m, d))
            row[m] = f"{r.entry.score:.4f} {fmt_ci((r.entry.report or {}).get('ci95'))}" if r else "–"
        table.append(row)
    st.subheader("Scores")
    st.caption("Newest report per model and dataset, with its 95 % CI. Sources are listed at the bottom.")
    _table(pd.DataFrame(table).set_index("dataset"))

    axes: list[tuple[str, dict[str, float]]] = []
    if len(datasets) >= 3:
        for d in datasets:
            axes.append((d, {m: latest[(m, d)].entry.score for m in chosen if (m, d) in latest}))
    else:
        for d in datasets:
            for m in chosen:
                r = latest.get((m, d))
                for s in (r.entry.report or {}).get("subsets") or [] if r else []:
                    if isinstance(s, dict):
                        name = f"{d}/{s.get('name')}"
                        ax = next((a for a in axes if a[0] == name), None)
                        if ax is None:
                            ax = (name, {})
                            axes.append(ax)
                        ax[1][m] = float(s.get("score") or 0)
    fig = go.Figure()
    if len(axes) >= 3:
        for m in chosen:
            theta = [a[0] for a in axes]
            r_ = [a[1].get(m, 0.0) for a in axes]
            fig.add_trace(go.Scatterpolar(r=r_ + r_[:1], theta=theta + theta[:1], name=m, fill="toself", opacity=0.6))
        fig.update_layout(polar=dict(radialaxis=dict(range=[0, 1])), height=460, margin=dict(l=40, r=40, t=30, b=30))
        st.plotly_chart(fig, width="stretch", key="radar")
        st.caption("Radar over " + ("datasets." if len(datasets) >= 3 else "dataset subsets (fewer than three datasets)."))
    else:
        for m in chosen:
            ds = [d for d in datasets if (m, d) in latest]
            fig.add_bar(name=m, x=ds, y=[latest[(m, d)].entry.score for d in ds])
        fig.update_layout(barmode="group", yaxis=dict(range=[0, 1]), height=360, margin=dict(l=10, r=10, t=30, b=10))
        st.plotly_chart(fig, width="stretch", key="compare-bars")
        st.caption("Fewer than three datasets or subsets: a bar chart instead of a radar.")

    st.subheader("Differences and significance")
    init_choice("c_base", chosen, qp="base")
    base = st.selectbox("Baseline", chosen, key="c_base")
    st.caption("Paired per sample on the primary metric: **McNemar's exact test** when every score is 0/1 "
               "(two-sided binomial test on the samples where exactly one model is right), otherwise a "
               "**paired bootstrap** (2000 resamples) of the mean difference. Significant: p < 0.05.")
    diffs = []
    for d in datasets:
        rb = latest.get((base, d))
        if rb is None:
            continue
        sb = samples(str(ROOT), rb.run.rel, rb.entry.model, d)
        for m in chosen:
            if m == base or (m, d) not in latest:
                continue
            ra = latest[(m, d)]
            sa = samples(str(ROOT), ra.run.rel, ra.entry.model, d)
            res = paired_compare(_score_map(sa), _score_map(sb))
            diffs.append({
                "dataset": d, "model": m, "baseline": base, "paired": res.n,
                "model score": fmt(res.mean_a), "baseline score": fmt(res.mean_b), "difference": f"{res.diff:+.4f}",
                "test": res.test, "p-value": f"{res.p_value:.4g}",
                "significant": "yes" if res.significant() else "no",
                "model better on": len(res.a_only), "baseline better on": len(res.b_only),
            })
    if diffs:
        _table(pd.DataFrame(diffs))
    else:
        st.caption("No paired samples.")

    st.subheader("Per-sample diff")
    c1, c2, c3 = st.columns(3)
    init_choice("c_dataset", datasets, qp="dataset")
    dset = c1.selectbox("Dataset", datasets, key="c_dataset")
    st.query_params["dataset"] = dset
    init_choice("c_a", chosen, default=chosen[0], qp="a")
    a = c2.selectbox("Model A", chosen, key="c_a")
    rest = [m for m in chosen if m != a]
    init_choice("c_b", rest, default=rest[0], qp="b")
    b = c3.selectbox("Model B", rest, key="c_b")
    ra, rb = latest.get((a, dset)), latest.get((b, dset))
    if not ra or not rb:
        st.info(f"{md(a if not ra else b)} has no report on {md(dset)}.")
    else:
        sa = samples(str(ROOT), ra.run.rel, ra.entry.model, dset)
        sb = samples(str(ROOT), rb.run.rel, rb.entry.model, dset)
        res = paired_compare(_score_map(sa), _score_map(sb))
        ia = {(r["sample_id"], r["repeat"]): r for r in sa.rows}
        ib = {(r["sample_id"], r["repeat"]): r for r in sb.rows}
        m1, m2, m3 = st.columns(3)
        m1.metric(f"{md(a)} right, {md(b)} wrong", len(res.a_only))
        m2.metric(f"{md(b)} right, {md(a)} wrong", len(res.b_only))
        m3.metric("Paired samples", res.n)
        if res.only_in_a or res.only_in_b:
            st.caption(f"Not paired: {res.only_in_a} sample(s) only in {md(a)}, {res.only_in_b} only in {md(b)}.")
        for title, keys in ((f"{md(a)} better than {md(b)}", res.a_only), (f"{md(b)} better than {md(a)}", res.b_only)):
            st.markdown(f"**{title}** ({len(keys)})")
            if keys:
                _table(pd.DataFrame([{
                    "sample_id": k[0], "repeat": k[1], "gold": fmt(ia[k]["target"]),
                    f"{a} answer": fmt(ia[k]["extracted"]), f"{a} score": fmt(ia[k]["score"], 2),
                    f"{b} answer": fmt(ib[k]["extracted"]), f"{b} score": fmt(ib[k]["score"], 2),
                } for k in keys[:200]]))
                if len(keys) > 200:
                    st.caption(f"First 200 of {len(keys)}.")
    with st.expander("Sources"):
        _table(pd.DataFrame([{"model": m, "dataset": d, "run": r.run.rel, "created": r.run.created_str}
                               for (m, d), r in sorted(latest.items()) if m in chosen]))


def _score_map(ss: D.SampleSet) -> dict[tuple[str, int], float]:
    return {(r["sample_id"], r["repeat"]): r["score"] for r in ss.rows if r["score"] is not None and not r["error"]}


def page_samples(runs: list[D.Run]) -> None:
    st.header("Samples")
    evals = [r for r in runs if r.kind == "eval" and r.entries]
    if not evals:
        st.info("No eval runs with samples found.")
        return
    by = {r.rel: r for r in evals}
    c1, c2, c3 = st.columns([4, 2, 2])
    init_choice("s_run", list(by), qp="run")
    rel = c1.selectbox("Run folder", list(by), key="s_run")
    run = by[rel]
    init_choice("s_model", run.models, qp="model")
    model = c2.selectbox("Model", run.models, key="s_model")
    dsets = sorted(e.dataset for e in run.entries if e.model_name == model)
    init_choice("s_dataset", dsets, qp="dataset")
    dataset = c3.selectbox("Dataset", dsets, key="s_dataset")
    st.query_params.update({"run": rel, "model": model, "dataset": dataset})
    entry = run.entry(model, dataset)
    ss = samples(str(ROOT), rel, entry.model if entry else model, dataset)
    show_notes(entry.notes if entry else [])
    for kind, n in ss.bad_lines.items():
        st.warning(f"{md(kind)}: {n} unreadable line(s) skipped", icon=":material/warning:")

    f1, f2 = st.columns([2, 3])
    status = f1.radio("Show", ["all", "pass", "fail", "error", "no answer"], horizontal=True, key="s_status")
    query = f2.text_input("Search text or sample id", key="s_query", placeholder="e.g. 42, Mercury_, photosynthesis")
    rows = D.search_rows(ss.rows, query, status)
    n_pass = sum(r["passed"] is True for r in ss.rows)
    n_fail = sum(r["passed"] is False for r in ss.rows)
    n_err = sum(bool(r["error"]) for r in ss.rows)
    n_none = len(D.search_rows(ss.rows, "", "no answer"))
    st.caption(f"{len(rows)} of {len(ss.rows)} shown · {n_pass} pass · {n_fail} fail · {n_err} error · "
               f"{n_none} no answer · metric: {md(ss.metric or '–')}")
    if not rows:
        st.info("No sample matches.")
        return
    df = pd.DataFrame([{
        "sample_id": r["sample_id"], "repeat": r["repeat"], "subset": r["subset"], "gold": fmt(r["target"]),
        "extracted": fmt(r["extracted"]), "rule": r.get("extraction_rule") or "", "score": r["score"],
        "result": "error" if r["error"] else {True: "pass", False: "fail", None: "unscored"}[r["passed"]],
    } for r in rows])
    event = st.dataframe(df, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(df)),
                         on_select="rerun", selection_mode="single-row", key="s_table")
    labels = [f"{r['sample_id']}#{r['repeat']}" for r in rows]
    picked = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if picked and picked[0] < len(labels) and st.session_state.get("s_table_last") != labels[picked[0]]:
        st.session_state["s_table_last"] = labels[picked[0]]
        st.session_state["s_sample"] = labels[picked[0]]  # a click on a row opens that sample below
    init_choice("s_sample", labels, qp="sample")
    label = st.selectbox("Sample (or click a row above)", labels, key="s_sample")
    st.query_params["sample"] = label
    r = rows[labels.index(label)]
    verdict = "error" if r["error"] else {True: "pass", False: "fail", None: "unscored"}[r["passed"]]
    st.markdown(f"### Sample {md(r['sample_id'])} · {verdict}")
    st.caption(f"{md(model)} on {md(dataset)} · run {md(rel)} · subset {md(r['subset'])} · repeat {md(r['repeat'])}")
    left, right = st.columns(2)
    with left:
        st.markdown("**Input**")
        if not r["messages"]:
            st.caption("No request recorded.")
        for m in r["messages"]:
            st.markdown(f"*{md(m.get('role', '?'))}*")
            content = m.get("content")
            if D.image_urls(content):  # text and images in their order
                n = 0
                for part in content:
                    if not isinstance(part, dict):
                        continue
                    if part.get("type") == "text":
                        st.code(str(part.get("text", "")), language=None, wrap_lines=True)
                    elif part.get("type") == "image_url":
                        n += 1
                        url = (D.image_urls([part]) or [""])[0]
                        data, why = D.read_image(url, r.get("run_dir"))
                        if data is not None:
                            st.image(data, caption=f"image {n}", width=min(480, _image_width(data)))
                        else:
                            st.caption(f"image {n}: {why}")
                continue
            st.code(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, indent=1),
                    language=None, wrap_lines=True)
    with right:
        st.markdown("**Output**")
        st.code(r["output"] or "", language=None, wrap_lines=True)
        if r["reasoning"]:
            with st.expander(f"Reasoning ({len(r['reasoning'])} characters), kept apart from the answer"):
                st.code(r["reasoning"], language=None, wrap_lines=True)
        st.markdown(f"**Gold answer:** {md(fmt(r['target']))}  \n**Extracted answer:** {md(fmt(r['extracted']))}"
                    f"{' (rule: ' + md(r['extraction_rule']) + ')' if r.get('extraction_rule') else ''}  \n"
                    f"**Score:** {md(', '.join(f'{k} = {v:g}' for k, v in r['scores'].items())) or '–'}")
        if r["judge"]:
            st.markdown("**Judge explanation**")
            st.code(r["judge"], language=None, wrap_lines=True)
        if r["error"]:
            st.error(f"Error: {md(r['error'])}")
        if r["usage"] or r["latency_s"] is not None:
            st.caption(md(f"usage: {json.dumps(r['usage'])} · latency: {fmt(r['latency_s'], 3)} s"))


def _image_width(data: bytes) -> int:
    """Pixel width of PNG/JPEG/GIF bytes (no imaging library), 480 when unknown."""
    import struct

    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return max(1, struct.unpack(">I", data[16:20])[0])
    if data[:4] == b"GIF8" and len(data) >= 10:
        return max(1, struct.unpack("<H", data[6:8])[0])
    if data[:3] == b"\xff\xd8\xff":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                return max(1, struct.unpack(">H", data[i + 7:i + 9])[0])
            i += 2 + length
    return 480


def page_perf(runs: list[D.Run]) -> None:
    st.header("Perf")
    perfs = [r for r in runs if r.kind == "perf"]
    if not perfs:
        st.info("No perf runs found. Write one with `evs perf --output-dir DIR`.")
        return
    by = {r.rel: r for r in perfs}
    if "perf_runs" not in st.session_state:
        want = [x for x in (st.query_params.get("perf") or "").split(",") if x in by]
        st.session_state["perf_runs"] = want or [perfs[0].rel]
    else:
        st.session_state["perf_runs"] = [x for x in st.session_state["perf_runs"] if x in by]
    chosen = st.multiselect("Perf runs (pick several to compare)", list(by), key="perf_runs",
                            format_func=lambda x: f"{x} ({by[x].created_str})")
    if not chosen:
        st.warning("Pick a perf run.")
        return
    st.query_params["perf"] = ",".join(chosen)
    table = []
    for rel in chosen:
        for p in by[rel].points:
            row = {"run": rel, "point": p.label}
            for k, title in PERF_COLUMNS:
                v = D._num(p.summary.get(k))
                row[title] = "–" if v is None else (f"{v:g}" if k in ("completed", "failed") else f"{v:.2f}")
            table.append(row)
    for rel in chosen:
        run = by[rel]
        s0 = run.points[0].summary if run.points else {}
        who = " · ".join(f"{k}: **{md(s0[k])}**" for k in ("model_id", "backend", "endpoint", "dataset") if s0.get(k))
        st.markdown(f"**{md(rel)}** · {run.created_str} · {status_badge(run)} · {len(run.points)} point(s)"
                    + (f" · {who}" if who else ""))
        show_notes(run.all_notes)
    if len(chosen) == 1 and len(by[chosen[0]].points) == 1:
        s = by[chosen[0]].points[0].summary
        cols = st.columns(6)
        for col, (k, title) in zip(cols, [("completed", "completed"), ("failed", "failed"),
                                          ("request_throughput", "req/s"), ("output_throughput", "out tok/s"),
                                          ("mean_ttft_ms", "mean TTFT ms"), ("mean_tpot_ms", "mean TPOT ms")], strict=True):
            v = D._num(s.get(k))
            col.metric(title, "–" if v is None else f"{v:.2f}" if k not in ("completed", "failed") else f"{v:g}")
    st.subheader("Summary" if len(chosen) == 1 else "Comparison of runs")
    if not table:
        st.info("No readable summary in the chosen run(s): their files are damaged or cut (see the notes above).")
        return
    _table(pd.DataFrame(table).set_index(["run", "point"]))

    points = [(rel, p) for rel in chosen for p in by[rel].points]
    metrics = [m for m in D.PERF_METRICS if any(m in p.percentiles for _, p in points)]
    st.subheader("Percentile curves")
    if metrics:
        m = st.radio("Metric", metrics, horizontal=True, key="perf_pct_metric", format_func=str.upper)
        fig = go.Figure()
        for rel, p in points:
            curve = p.percentiles.get(m)
            if curve:
                name = p.label if len(chosen) == 1 else f"{rel} · {p.label}"
                fig.add_scatter(x=[c[0] for c in curve], y=[c[1] for c in curve], mode="lines+markers", name=name,
                                marker=dict(size=4))
        fig.update_layout(xaxis_title="percentile", yaxis_title=f"{m.upper()} (ms)", height=380,
                          margin=dict(l=10, r=10, t=30, b=10))
        st.plotly_chart(fig, width="stretch", key="pct")
        st.caption("From the raw per-request records when the run has them (1st to 99th percentile), else its "
                   "percentile file, else the summary's p*/median keys.")
    else:
        st.caption("No percentile data in these runs.")

    swept = [(rel, p) for rel, p in points if p.sweep_value is not None]
    if len({(rel, p.sweep_value) for rel, p in swept}) >= 2:
        from plotly.subplots import make_subplots

        st.subheader("Metrics against load")
        xname = " / ".join(sorted({p.sweep_key for _, p in swept}))
        options = [(k, t) for k, t in PERF_COLUMNS if any(D._num(p.summary.get(k)) is not None for _, p in swept)
                   and k not in ("completed", "failed", "duration")]
        titles = dict(options)
        default = [k for k in ("request_throughput", "output_throughput", "mean_ttft_ms", "mean_tpot_ms") if k in titles]
        picked = st.multiselect("Metrics", list(titles), default=default, key="perf_sweep_metrics",
                                format_func=titles.get)
        if picked:
            rows = (len(picked) + 1) // 2
            fig = make_subplots(rows=rows, cols=2, subplot_titles=[titles[k] for k in picked],
                                horizontal_spacing=0.08, vertical_spacing=0.5 / max(rows, 1))
            palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
            for i, k in enumerate(picked):
                for j, rel in enumerate(chosen):
                    pts = sorted((p for r_, p in swept if r_ == rel), key=lambda p: p.sweep_value)
                    if pts:
                        fig.add_scatter(x=[p.sweep_value for p in pts], y=[D._num(p.summary.get(k)) for p in pts],
                                        mode="lines+markers", name=rel, legendgroup=rel, showlegend=i == 0,
                                        line=dict(color=palette[j % len(palette)]), row=i // 2 + 1, col=i % 2 + 1)
                fig.update_xaxes(title_text=xname, row=i // 2 + 1, col=i % 2 + 1)
            fig.update_layout(height=300 * rows, margin=dict(l=10, r=10, t=40, b=10))
            st.plotly_chart(fig, width="stretch", key="sweep")
    for rel in chosen:
        if by[rel].config_text:
            with st.expander(f"Config of {md(rel)}"):
                st.code(D.redact(by[rel].config_text), language="yaml")


def page_gallery(runs: list[D.Run]) -> None:
    """Generated images of text-to-image / image-edit runs: prompt, image and each metric, side by
    side across models (one column per run · model)."""
    st.header("Gallery")
    found = D.image_entries(runs, ROOT)
    if not found:
        st.info("No image-generation runs found (text-to-image or image-edit benchmarks).")
        return
    datasets = sorted({e.dataset for _, e in found})
    init_choice("g_dataset", datasets, qp="dataset")
    c1, c2 = st.columns([2, 5])
    dataset = c1.selectbox("Dataset", datasets, key="g_dataset")
    labels: dict[str, tuple[D.Run, D.EvalEntry]] = {}
    for run, e in found:
        if e.dataset == dataset:
            labels[f"{e.model_name} · {run.rel}"] = (run, e)
    newest: dict[str, str] = {}
    for label, (_run, e) in labels.items():  # runs come newest first: the first label of a model is its newest
        newest.setdefault(e.model_name, label)
    wanted = [x for x in (st.query_params.get("columns") or "").split(",") if x in labels]
    if "g_columns" not in st.session_state:
        st.session_state["g_columns"] = wanted or list(newest.values())
    chosen = c2.multiselect("Models (run)", list(labels), key="g_columns")
    st.query_params.update({"dataset": dataset, "columns": ",".join(chosen)})
    if not chosen:
        st.info("Pick at least one model.")
        return
    f1, f2 = st.columns([3, 1])
    query = f1.text_input("Search prompt or sample id", key="g_query")
    per_page = int(f2.number_input("Samples per page", min_value=1, max_value=200, value=24, key="g_n"))
    rows = D.gallery_rows([(label, labels[label][1]) for label in chosen], ROOT, query)
    pages = max(1, math.ceil(len(rows) / per_page))
    page_no = int(st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, key="g_page")) \
        if pages > 1 else 1
    st.caption(f"{len(rows)} samples · {len(chosen)} model(s)")
    for row in rows[(page_no - 1) * per_page: page_no * per_page]:
        st.markdown(f"**{md(row['sample_id'])}** · {md(row['prompt'])}")
        cols = st.columns(len(chosen))
        for col, label in zip(cols, chosen, strict=True):
            cell = row["cells"].get(label)
            with col:
                st.caption(md(label))
                if cell is None:
                    st.caption("no sample")
                    continue
                data, why = (D.read_image(cell["image"], cell["run_dir"]) if cell["image"]
                             else (None, "no image"))
                if data is not None:
                    st.image(data, width=min(256, _image_width(data)))
                else:
                    st.caption(md(why))
                if cell["error"]:
                    st.caption(f"error: {md(cell['error'])}")
                scores = ", ".join(f"{k} = {v:.4g}" for k, v in cell["scores"].items())
                st.caption(md(scores or "no scores"))


# ---------------------------------------------------------------------------------------------
# Main


def main() -> None:
    with st.sidebar:
        st.title("evs viz")
        if "page" not in st.session_state:
            v = st.query_params.get("page", "Runs").capitalize()
            st.session_state["page"] = v if v in PAGES else "Runs"
        page = st.radio("Page", PAGES, key="page", label_visibility="collapsed")
        st.caption(f"Outputs: {md(ROOT)}")
        if st.button("Reload runs", icon=":material/refresh:"):
            discover.clear()
            samples.clear()
    st.query_params["page"] = page.lower()
    if not ROOT.is_dir():
        st.error(f"The outputs folder {md(ROOT)} does not exist.")
        return
    runs = discover(str(ROOT))
    if page == "Arena":
        arena_page.render(ROOT)
        return
    try:
        {"Runs": page_runs, "Run": page_run, "Compare": page_compare, "Samples": page_samples, "Perf": page_perf,
         "Gallery": page_gallery}[page](runs)
    except Exception as exc:  # noqa: BLE001 - a viewer shows one line, never a traceback with server paths
        if type(exc).__module__.startswith("streamlit"):  # reruns and stops are Streamlit's control flow
            raise
        st.error(f"This page cannot be shown for these files ({type(exc).__name__}); the other pages still work.")


main()
