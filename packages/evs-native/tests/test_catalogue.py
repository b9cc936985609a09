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


def test_evs_benchmarks_groups_every_benchmark_under_its_first_tag():
    import json

    from click.testing import CliRunner
    from evs_cli.main import make_cli
    from evs_core.plugins import make_plugin_manager

    runner = CliRunner()
    rows = json.loads(runner.invoke(make_cli(make_plugin_manager()), ["benchmarks", "--json"]).output)
    out = runner.invoke(make_cli(make_plugin_manager()), ["benchmarks"]).output
    # Parse the grouped listing: a header "group (N)" then indented rows until the next header.
    groups: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines()[1:]:
        if line and not line.startswith(" ") and line.endswith(")") and " (" in line:
            current, count = line[:-1].split(" (")
            groups[current] = []
            expected_count = int(count)
        elif line.startswith("  ") and current:
            groups[current].append(line.split()[0])
            assert len(groups[current]) <= expected_count
    expected: dict[str, list[str]] = {}
    for r in rows:
        expected.setdefault(r["tags"][0], []).append(r["name"])
    assert groups == {g: sorted(names) for g, names in expected.items()}
    assert list(groups) == sorted(groups)
    assert out.rstrip().endswith(f"{len(rows)} benchmarks in {len(expected)} groups")
