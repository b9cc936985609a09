"""Scores of groups of subsets (MMLU categories, collection groups), added to a report.

A group's score is computed over the samples of its member subsets (a micro average: each
sample counts once), with the same statistics as a subset. Group rows are appended to the
report's ``subsets`` with ``kind`` set (``"category"``, ``"group"``, ``"benchmark"``), so the
plain subset rows stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterable

from evs_core.schema import Review, Stat, SubsetScore
from evs_core.stats import summarize


def per_sample_scores(reviews: Iterable[Review]) -> dict[str, tuple[str, dict[str, float]]]:
    """``sample_id -> (subset, {metric: mean over repeats})`` of the scored reviews."""
    acc: dict[str, dict[str, list[float]]] = {}
    subset_of: dict[str, str] = {}
    for r in reviews:
        if r.error is not None:
            continue
        subset_of[r.sample_id] = r.subset
        d = acc.setdefault(r.sample_id, {})
        for k, v in r.scores.items():
            d.setdefault(k, []).append(v)
    return {sid: (subset_of[sid], {k: sum(v) / len(v) for k, v in m.items()}) for sid, m in acc.items()}


def group_score(name: str, per_sample: dict[str, tuple[str, dict[str, float]]], members: set[str],
                primary: str, seed: int, kind: str) -> SubsetScore | None:
    """Statistics over the samples whose subset is in ``members``; None when there are none."""
    rows = [m for sub, m in per_sample.values() if sub in members]
    if not rows:
        return None
    names = sorted({k for m in rows for k in m})
    stats: dict[str, Stat] = {k: summarize([m[k] for m in rows if k in m], seed) for k in names}
    prim = stats.get(primary)
    return SubsetScore(name=name, num=len(rows), score=prim.score if prim else 0.0, metrics=stats, kind=kind)


def add_categories(subsets: list[SubsetScore], reviews: list[Review], category_of: dict[str, str],
                   primary: str, seed: int) -> list[SubsetScore]:
    """``subsets`` followed by one row per category (of the subsets present), in first-seen order."""
    per_sample = per_sample_scores(reviews)
    present = [s.name for s in subsets]
    cats: dict[str, set[str]] = {}
    for sub in present:
        cat = category_of.get(sub)
        if cat:
            cats.setdefault(cat, set()).add(sub)
    out = list(subsets)
    for cat, members in cats.items():
        row = group_score(cat, per_sample, members, primary, seed, "category")
        if row is not None:
            out.append(row)
    return out
