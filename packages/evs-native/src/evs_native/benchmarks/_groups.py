"""Group scores now live in :mod:`evs_core.groups` (spec benchmarks report categories too)."""

from evs_core.groups import add_categories, group_score, per_sample_scores  # noqa: F401
