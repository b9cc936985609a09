"""The classes of evs-native's spec benchmarks (``evs_native/specs/*.yaml``), by name.

Benchmarks that used to be Python classes are specs now; their old import paths
(``evs_native.benchmarks.mmlu:MMLU`` …) name the class that runs the spec.
"""

from __future__ import annotations

from evs_core.benchmark import Benchmark


def native_spec(name: str) -> type[Benchmark]:
    """The benchmark class of ``evs_native/specs/<name>.yaml``."""
    from evs_core.spec import load_spec_target, spec_class

    spec = load_spec_target(f"evs_native:specs/{name}.yaml", name)
    return spec_class(spec, spec["_origin"])
