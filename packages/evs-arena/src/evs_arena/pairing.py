"""Which battles to judge: against the baseline, round robin, or adaptively.

A battle is one prompt and two models (``model_1``, ``model_2``); it is always judged twice,
with ``model_1`` in position A (game 0) and in position B (game 1).

Adaptive pairing starts with ``warmup`` battles for every pair of models, then repeatedly fits
the ratings and judges the pairs whose intervals overlap most, measured on the difference of
their ratings: ``z * sd(R_i - R_j) - |R_i - R_j|`` (the Wald interval of the difference from
the fit's sandwich covariance). When an unsettled pair of neighbours has no prompts left, the
remaining pairs that involve either of them are judged instead. It stops when every two
neighbours in the ranking are separated (the ranking is settled), when the judge budget is
spent, or when no pair that could help has prompts left.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from evs_arena import ratings as R

PAIRINGS = ("baseline", "round_robin", "adaptive")


@dataclass(frozen=True)
class Battle:
    key: tuple[str, str, str]  # (benchmark, subset, sample id)
    model_1: str
    model_2: str

    @property
    def id(self) -> str:
        return "|".join((*self.key, self.model_1, self.model_2))

    @property
    def pair(self) -> tuple[str, str]:
        return (self.model_1, self.model_2)


def pairs_for(models: list[str], baseline: str, pairing: str) -> list[tuple[str, str]]:
    if pairing == "baseline":
        return [(m, baseline) for m in models if m != baseline]
    return list(itertools.combinations(models, 2))


def plan(items: list[Any], models: list[str], baseline: str, pairing: str) -> list[Battle]:
    """All battles of a pairing over ``items`` (each with ``key`` and ``answers``)."""
    out = []
    for item in items:
        for m1, m2 in pairs_for(models, baseline, pairing):
            if m1 in item.answers and m2 in item.answers:
                out.append(Battle(item.key, m1, m2))
    return out


class AdaptiveScheduler:
    """Chooses the next battles from a round-robin pool, given the games judged so far."""

    def __init__(self, pool: list[Battle], models: list[str], baseline: str | None, *, warmup: int = 2,
                 z: float = 1.96, batch: int = 4, budget: int | None = None, seed: int = 42,
                 stop_when_settled: bool = True) -> None:
        self.models = list(models)
        self.baseline = baseline
        self.warmup = max(1, int(warmup))
        self.z = float(z)
        self.batch = max(1, int(batch))
        self.budget = budget  # judge calls (two per battle)
        self.stop_when_settled = stop_when_settled  # False: go on with the least separated pairs
        rng = random.Random(seed)
        self.queues: dict[tuple[str, str], list[Battle]] = {}
        for b in pool:
            self.queues.setdefault(b.pair, []).append(b)
        for q in self.queues.values():
            rng.shuffle(q)
        self.taken: dict[tuple[str, str], int] = {p: 0 for p in self.queues}
        self.calls = 0
        self.stop_reason: str | None = None
        self.steps = 0

    def _take(self, pair: tuple[str, str]) -> Battle | None:
        q = self.queues[pair]
        if self.taken[pair] >= len(q):
            return None
        b = q[self.taken[pair]]
        self.taken[pair] += 1
        return b

    def _room(self) -> int:
        if self.budget is None:
            return 1 << 30
        return max(0, (self.budget - self.calls) // 2)

    def next_batch(self, rows: list[dict[str, Any]]) -> list[Battle]:
        """The next battles to judge (empty: stop, see ``stop_reason``). ``rows``: rating rows
        (``a``, ``b``, ``y``, ``weight``) of every parsed game so far."""
        self.steps += 1
        room = self._room()
        if room == 0:
            self.stop_reason = "budget"
            return []
        out: list[Battle] = []
        for pair in self.queues:  # warm-up: every pair gets a few battles first
            while self.taken[pair] < min(self.warmup, len(self.queues[pair])) and len(out) < room:
                b = self._take(pair)
                if b is not None:
                    out.append(b)
        if out:
            self.calls += 2 * len(out)
            return out
        scores = self.overlaps(rows)
        if scores is None:
            self.stop_reason = "no parsable verdicts"
            return []
        ranking, overlap = scores
        if self.stop_when_settled and all(overlap[frozenset(p)] <= 0 for p in zip(ranking, ranking[1:], strict=False)):
            self.stop_reason = "settled"
            return []
        cands = sorted((v, p) for p, v in ((p, overlap[frozenset(p)]) for p in self.queues)
                       if (v > 0 or not self.stop_when_settled) and self.taken[p] < len(self.queues[p]))
        cands.reverse()
        if not cands:
            # The unsettled neighbours have no prompts left: their difference still narrows through
            # battles with third models, so go on with the remaining pairs that involve them.
            stuck = {m for p in zip(ranking, ranking[1:], strict=False) if overlap[frozenset(p)] > 0 for m in p}
            cands = sorted(((overlap[frozenset(p)], p) for p in self.queues
                            if set(p) & stuck and self.taken[p] < len(self.queues[p])), reverse=True)
        if not cands:
            self.stop_reason = "exhausted"
            return []
        i = 0
        while len(out) < min(self.batch, room) and cands:
            v, pair = cands[i % len(cands)]
            b = self._take(pair)
            if b is None:
                cands.pop(i % len(cands))
                continue
            out.append(b)
            i += 1
        self.calls += 2 * len(out)
        return out

    def overlaps(self, rows: list[dict[str, Any]]):
        if not rows:
            return None
        games = R.make_games(rows, self.models)
        anchor = self.models.index(self.baseline) if self.baseline in self.models else None
        fit = R.fit_bt(games, anchor)
        beta = np.where(np.isnan(fit.beta), -np.inf, fit.beta)
        ranking = [self.models[i] for i in np.argsort(-beta, kind="stable")]
        idx = {m: i for i, m in enumerate(self.models)}
        overlap = {}
        for a, b in itertools.combinations(self.models, 2):
            overlap[frozenset((a, b))] = R.pair_interval_overlap(fit, idx[a], idx[b], self.z)
        return ranking, overlap
