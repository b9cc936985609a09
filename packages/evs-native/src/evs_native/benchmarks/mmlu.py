"""MMLU and MMLU-Pro are declarative benchmarks (``specs/mmlu.yaml``, ``specs/mmlu_pro.yaml``);
these names are the classes that run them, for code that imported them from here."""

from evs_native.benchmarks._specs import native_spec

MMLU = native_spec("mmlu")
MMLUPro = native_spec("mmlu_pro")
#: subject -> category (STEM, Humanities, Social Science, Other), from the spec's report.categories.
MMLU_CATEGORIES: dict[str, str] = dict(MMLU.spec["report"]["categories"])
