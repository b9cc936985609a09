"""The registration metadata `evs benchmarks` lists equals what the benchmark classes declare."""

from __future__ import annotations

import importlib

import pytest
from evs_core.plugins import load_target
from evs_core.registry import get_registries
from evs_native._plugin import CATALOGUES

ENTRIES = [(name, entry) for module in CATALOGUES
           for name, entry in importlib.import_module(module).BENCHMARKS.items()]


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[n for n, _ in ENTRIES])
def test_catalogue_metadata_matches_the_class(name, entry):
    target, tags, description, meta = entry
    cls = load_target(target)
    assert cls.name == name
    assert meta == {"subsets": list(cls.subsets), "num_samples": cls.num_samples}
    assert set(tags) <= set(cls.tags) | {"custom", "collection", "qa", "llm-judge"} and description


def test_specs_are_registered_and_listed_from_their_files():
    from evs_core.specfile import listing_info

    reg = get_registries().benchmarks
    for name in ("gsm8k", "arc"):
        entry = reg.entry(name)
        assert entry.target == f"evs_native:specs/{name}.yaml" and entry.plugin == "native"
        cls = reg.load(name)
        info = listing_info(entry)
        assert info["subsets"] == list(cls.subsets) and info["num_samples"] == cls.num_samples
