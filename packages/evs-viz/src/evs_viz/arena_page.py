"""The Arena page of evs viz: leaderboard with interval whiskers, pairwise win rates, battles.

Reads only the arena run files (:mod:`evs_viz.arena`). Text from the run (model names,
prompts, answers, judge replies) is shown as text (``st.code``/``st.text``/tables), never as
markdown or HTML.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from evs_viz import arena as A


@st.cache_data(ttl=15, show_spinner=False)
def _discover(root: str) -> list[A.ArenaRun]:
    return A.discover_arenas(root)


@st.cache_data(ttl=15, show_spinner=False, max_entries=16)
def _battles(root: str, rel: str):
    return A.load_battles(Path(root), rel)


def _pick(key: str, options: list[str], qp: str) -> None:
    if key not in st.session_state or st.session_state[key] not in options:
        v = st.query_params.get(qp)
        st.session_state[key] = v if v in options else (options[0] if options else None)


def _label(name: object) -> str:
    """A model name for a Plotly label: Plotly reads a few HTML tags in text, so escape them."""
    return html.escape(str(name))


def _whiskers(models: list[dict]) -> go.Figure:
    rows = [r for r in models if isinstance(r.get("rating"), (int, float)) and r.get("lower") is not None][::-1]
    fig = go.Figure(go.Scatter(
        x=[r["rating"] for r in rows], y=[_label(r["model"]) for r in rows], mode="markers",
        marker={"size": 10},
        error_x={"type": "data", "symmetric": False, "array": [r["upper"] - r["rating"] for r in rows],
                 "arrayminus": [r["rating"] - r["lower"] for r in rows]},
        hovertemplate="%{y}: %{x:.1f}<extra></extra>"))
    fig.update_layout(height=120 + 40 * len(rows), margin={"l": 10, "r": 10, "t": 30, "b": 30},
                      title={"text": "Rating with 95% bootstrap interval"}, xaxis_title="rating (baseline = 1000)")
    return fig


def _matrix(scope: dict, models: list[str]) -> go.Figure:
    z = A.win_matrix(scope, models)
    text = [["" if v is None else f"{100 * v:.0f}%" for v in row] for row in z]
    labels = [_label(m) for m in models]
    fig = go.Figure(go.Heatmap(z=[[None if v is None else 100 * v for v in row] for row in z], x=labels, y=labels,
                               text=text, texttemplate="%{text}", zmin=0, zmax=100, colorscale="RdBu",
                               hovertemplate="%{y} vs %{x}: %{z:.1f}%<extra></extra>"))
    fig.update_layout(height=160 + 45 * len(models), margin={"l": 10, "r": 10, "t": 30, "b": 30},
                      title={"text": "Row model's weighted score against the column model"},
                      yaxis={"autorange": "reversed"})
    return fig


def render(root: Path) -> None:
    st.header("Arena")
    runs = _discover(str(root))
    if not runs:
        st.info("No arena runs found. Write one with `evs arena --work-dir DIR`, then `evs viz --outputs DIR`.")
        return
    by = {r.rel: r for r in runs}
    _pick("a_run", list(by), "arena")
    rel = st.selectbox("Arena run", list(by), key="a_run")
    st.query_params["arena"] = rel
    run = by[rel]
    for n in run.notes:
        (st.error if n.level == "error" else st.warning)(n.message)
    board = run.board
    if board is None:
        return
    models = [str(m) for m in board.get("models") or []]
    judge = board.get("judge") or {}
    pb = judge.get("position_bias") or {}
    st.text(f"baseline {board.get('baseline')} · {board.get('pairing')} pairing · judge {judge.get('model')} · "
               f"{judge.get('parsed')} of {judge.get('games')} games parsed, {judge.get('unparsable')} unparsable, "
               f"{judge.get('errors')} failed · position bias "
               + (f"{100 * pb['rate']:.1f}%" if pb.get("rate") is not None else "–"))
    scopes = A.scopes(board)
    _pick("a_scope", list(scopes), "scope")
    label = st.selectbox("Scope", list(scopes), key="a_scope")
    scope = scopes[label]
    rows = A.leaderboard_rows(scope)
    st.subheader("Leaderboard")
    if not rows:
        st.info("No parsed games in this scope.")
    else:
        st.table(pd.DataFrame(rows).set_index("rank"))
        st.plotly_chart(_whiskers(scope.get("models") or []), key="a_whiskers")
    if scope.get("style_controlled"):
        st.subheader("Style-controlled")
        st.table(pd.DataFrame(A.leaderboard_rows(scope["style_controlled"])).set_index("rank"))
        coefs = scope["style_controlled"].get("coefficients") or {}
        st.text("style coefficients: " + ", ".join(f"{k} {v:+.3f}" for k, v in coefs.items()))
    st.subheader("Pairwise win rates")
    st.plotly_chart(_matrix(scope, models), key="a_matrix")

    st.subheader("Battles")
    battles, bad = _battles(str(root), rel)
    for what, n in bad.items():
        if n:
            st.warning(f"{what}: {n} unreadable line(s) skipped")
    c1, c2, c3 = st.columns(3)
    model = c1.selectbox("Model", ["any", *models], key="a_model")
    outcome = c2.selectbox("Outcome for model 1", ["any", "win", "loss", "tie", "split", "unparsed"], key="a_outcome")
    query = c3.text_input("Search prompt or sample id", key="a_query")
    shown = [b for b in battles
             if (model == "any" or model in (b.model_1, b.model_2))
             and (outcome == "any" or b.outcome() == outcome)
             and (not query or query.lower() in b.prompt.lower() or query == b.sample_id)]
    st.caption(f"{len(shown)} of {len(battles)} battles")
    if not shown:
        st.info("No battle matches.")
        return
    st.dataframe(pd.DataFrame([{"benchmark": b.benchmark, "subset": b.subset, "sample": b.sample_id,
                                "model 1": b.model_1, "model 2": b.model_2,
                                "verdicts": " / ".join(str(b.games[g].get("verdict")) for g in sorted(b.games)),
                                "outcome": b.outcome()} for b in shown]),
                 hide_index=True, height=min(300, 38 + 35 * len(shown)), key="a_table")
    labels = [f"{b.sample_id} · {b.model_1} vs {b.model_2}" for b in shown]
    _pick("a_battle", labels, "battle")
    pick = st.selectbox("Battle", labels, key="a_battle")
    b = shown[labels.index(pick)]
    st.text(f"{b.benchmark} / {b.subset} / {b.sample_id}: {b.model_1} vs {b.model_2} — {b.outcome()} for {b.model_1}")
    st.markdown("**Prompt**")
    st.code(b.prompt, language=None, wrap_lines=True)
    left, right = st.columns(2)
    for col, name, ans in ((left, b.model_1, b.answer_1), (right, b.model_2, b.answer_2)):
        with col:
            st.text(f"Answer of {name}")
            st.code(ans if ans is not None else "(no answer)", language=None, wrap_lines=True)
    for g in sorted(b.games):
        ln = b.games[g]
        st.text(f"Game {g + 1}: A = {ln.get('model_a')}, B = {ln.get('model_b')} · verdict {ln.get('verdict')} · "
                f"winner {ln.get('winner')}" + (f" · error {ln.get('error')}" if ln.get("error") else ""))
        st.code(str(ln.get("raw") or ""), language=None, wrap_lines=True)
