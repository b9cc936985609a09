"""C-Eval and CMMLU are declarative benchmarks (``specs/ceval.yaml``, ``specs/cmmlu.yaml``);
these names are the classes that run them, for code that imported them from here."""

from evs_native.benchmarks._specs import native_spec

CEval = native_spec("ceval")
CMMLU = native_spec("cmmlu")
