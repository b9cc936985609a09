"""GPQA Diamond is a declarative benchmark (``specs/gpqa_diamond.yaml``; its seeded option order is
``record.shuffle_choices``); this name is the class that runs it, for code that imported it from here."""

from evs_native.benchmarks._specs import native_spec

GPQADiamond = native_spec("gpqa_diamond")
