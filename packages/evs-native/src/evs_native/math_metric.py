"""The ``math_verify`` metric: an extracted answer equivalent to the reference, by math-verify.

Importing this module needs the ``math`` extra, so a spec that names the metric stops with the
install hint when the benchmark is built, before any request.
"""

from __future__ import annotations

from typing import Any

from evs_native.benchmarks.math_500 import _math_verify, parse_answer, parse_gold

_mv = _math_verify()


def math_verify(prediction: Any, reference: Any) -> float:
    """1.0 when ``math_verify.verify(parse(reference), parse(prediction))`` holds, as
    :func:`evs_native.benchmarks.math_500.math_check` compares after extraction."""
    if prediction is None:
        return 0.0
    gold = parse_gold(str(reference))
    pred = parse_answer(str(prediction))
    if not pred or not gold:
        return 0.0
    return float(bool(_mv.verify(gold, pred)))
