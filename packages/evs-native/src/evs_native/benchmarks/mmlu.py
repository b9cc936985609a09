"""MMLU and MMLU-Pro are declarative benchmarks (``specs/mmlu.yaml``, ``specs/mmlu_pro.yaml``);
these names are the classes that run them, for code that imported them from here.
:class:`_FilteredByField` is the same data layout for Python benchmarks (a spec says it with
``dataset.subset_field``)."""

from __future__ import annotations

from typing import Any, ClassVar

from evs_core.benchmark import Benchmark

from evs_native.benchmarks._specs import native_spec

MMLU = native_spec("mmlu")
MMLUPro = native_spec("mmlu_pro")
#: subject -> category (STEM, Humanities, Social Science, Other), from the spec's report.categories.
MMLU_CATEGORIES: dict[str, str] = dict(MMLU.spec["report"]["categories"])


class _FilteredByField(Benchmark):
    """Data stored as one table per split with a field naming each row's subset.

    Local files (``<name>/test.jsonl`` with a ``subject`` field) are read once per split and
    filtered; on the Hub each subset is its own config (``hub_per_subset``) or a filter.
    """

    subset_field: ClassVar[str] = "subject"
    hub_per_subset: ClassVar[bool] = True

    def _norm(self, value: Any) -> str:
        return str(value)

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        root = self.local_root()
        if root is None and self.hub_per_subset:
            return super().load_rows(split, subset)
        cache = self.__dict__.setdefault("_split_cache", {})
        if split not in cache:
            if root is not None:
                cache[split] = self.load_local(root, split, None)
            else:
                cache[split] = super().load_rows(split, "default")
        return [r for r in cache[split] if self._norm(r.get(self.subset_field)) == subset]
