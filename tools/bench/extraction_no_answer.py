"""No-answer share and wrong credits on the extraction corpus: the old extractors against the new.

The old extractors are the code as it was at a base commit (default ``e757d52``, before the shared
extraction layer), read with ``git show`` and loaded as modules: ``evs_native/extract.py`` and the
benchmarks' own extract functions (BBH, HumanEval, LiveCodeBench, TriviaQA, DROP; math through
math-verify's parse of the whole reply, as ``math_equal`` did). The new ones are what each benchmark
uses now. For every benchmark family the script prints the share of corpus replies with no
extracted answer, the replies whose intended answer was missed, and the wrong answers credited
(an answer other than the one a careful reader takes, or an answer where the reader sees none; for
code: a program whose test outcome differs from the label's).

    python tools/bench/extraction_no_answer.py [--base e757d52]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import types
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OLD_FILES = {
    "extract": "packages/evs-native/src/evs_native/extract.py",
    "bbh": "packages/evs-native/src/evs_native/benchmarks/bbh.py",
    "humaneval": "packages/evs-native/src/evs_native/benchmarks/humaneval.py",
    "lcb": "packages/evs-native/src/evs_native/benchmarks/live_code_bench.py",
}


def _load_test_module():
    spec = importlib.util.spec_from_file_location("_corpus", ROOT / "tests" / "test_extraction_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_old(base: str) -> dict[str, types.ModuleType]:
    """The old modules, executed from ``git show base:path``; old imports of evs_native.extract see the old one."""
    mods: dict[str, types.ModuleType] = {}
    saved = sys.modules.get("evs_native.extract")
    try:
        for key, path in OLD_FILES.items():
            src = subprocess.run(["git", "-C", str(ROOT), "show", f"{base}:{path}"], capture_output=True, text=True,
                                 check=True).stdout
            mod = types.ModuleType(f"_old_{key}")
            mod.__dict__["__file__"] = path
            if key == "extract":
                sys.modules["evs_native.extract"] = mod
            exec(compile(src, path, "exec"), mod.__dict__)
            mods[key] = mod
    finally:
        if saved is None:
            sys.modules.pop("evs_native.extract", None)
        else:
            sys.modules["evs_native.extract"] = saved
    return mods


def old_extract(row: dict, old: dict[str, types.ModuleType]):
    """What the base commit's extraction read from a reply (``None``: no answer)."""
    text, fam = row["reply"], row["family"]
    if fam == "mcq":
        return old["extract"].extract_letter(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:len(row["choices"])])
    if fam == "bbh":
        return old["bbh"].extract_bbh(text, row["subset"])
    if fam == "number":
        return old["extract"].extract_number(text)
    if fam == "math":
        import math_verify

        pred = math_verify.parse(text or "")
        return pred or None
    if fam == "short":
        pat = r"(?i)ANSWER\s*:\s*(.*)" if row["benchmark"] == "trivia_qa" else r"(?i)answer\s*:\s*([^\n]+)"
        hits = re.findall(pat, text or "")
        ans = (hits[-1] if hits else (text or "")).strip().strip("*").strip()
        return ans or None
    if fam == "text":
        return text.strip() or None
    if fam == "code":
        code = old["humaneval"].extract_code(text) if row["benchmark"] == "humaneval" else old["lcb"].extract_code(text)
        return code or None
    raise ValueError(fam)


def outcome(row: dict, got, same, old_math: bool = False) -> str:
    """ok / missed / wrong for one reply."""
    want = row["answer"]
    if got is None:
        return "ok" if want is None else "missed"
    if row["family"] == "math" and old_math:
        if want is None:
            return "wrong"
        import math_verify
        from evs_native.benchmarks.math_500 import parse_gold

        return "ok" if math_verify.verify(parse_gold(want), got) else "wrong"
    if row["family"] == "code" and want is None:
        # nothing to credit unless the text taken as a program passes the tests
        return "wrong" if same({**row, "answer": True}, got) else "ok"
    if want is None:
        return "wrong"
    return "ok" if same(row, got) else "wrong"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="e757d52", help="commit holding the old extractors")
    args = ap.parse_args()
    corpus = _load_test_module()
    old = load_old(args.base)
    from evs_core.benchmark import unpack_extraction

    stats: dict[str, dict[str, Counter]] = defaultdict(lambda: {"old": Counter(), "new": Counter()})
    per_bench: dict[str, dict[str, Counter]] = defaultdict(lambda: {"old": Counter(), "new": Counter()})
    for row in corpus.ROWS:
        fam = row["family"]
        o = old_extract(row, old)
        new, _ = unpack_extraction(corpus.bench_for(row["benchmark"]).extract(row["reply"], corpus.sample_for(row)))
        if fam == "code" and new == "":
            new = None
        for which, got in (("old", o), ("new", new)):
            result = outcome(row, got, corpus.same, old_math=which == "old")
            for c in (stats[fam][which], per_bench[row["benchmark"]][which]):
                c["n"] += 1
                c["none"] += got is None
                c[result] += 1
    head = (f"{'family':<8} {'replies':>7} {'labelled none':>13} | {'no answer old':>13} {'new':>6} | "
            f"{'missed old':>10} {'new':>4} | {'wrong old':>9} {'new':>4}")
    print(f"extraction corpus ({len(corpus.ROWS)} replies), old = {args.base}, new = working tree")
    print(head)
    print("-" * len(head))
    total = {"old": Counter(), "new": Counter()}
    for fam in corpus.FAMILIES:
        s = stats[fam]
        n = s["new"]["n"]
        labelled = sum(1 for r in corpus.ROWS if r["family"] == fam and r["answer"] is None)
        for k in ("old", "new"):
            total[k].update(s[k])
        print(f"{fam:<8} {n:>7} {labelled / n:>13.1%} | {s['old']['none'] / n:>13.1%} {s['new']['none'] / n:>6.1%} | "
              f"{s['old']['missed']:>10} {s['new']['missed']:>4} | {s['old']['wrong']:>9} {s['new']['wrong']:>4}")
    n = total["new"]["n"]
    labelled = sum(1 for r in corpus.ROWS if r["answer"] is None)
    print(f"{'all':<8} {n:>7} {labelled / n:>13.1%} | {total['old']['none'] / n:>13.1%} "
          f"{total['new']['none'] / n:>6.1%} | {total['old']['missed']:>10} {total['new']['missed']:>4} | "
          f"{total['old']['wrong']:>9} {total['new']['wrong']:>4}")
    print()
    print(f"{'benchmark':<16} {'replies':>7} {'labelled none':>13} | {'no answer old':>13} {'new':>6} | "
          f"{'missed old':>10} {'new':>4} | {'wrong old':>9} {'new':>4}")
    for bench in sorted(per_bench):
        s = per_bench[bench]
        n = s["new"]["n"]
        labelled = sum(1 for r in corpus.ROWS if r["benchmark"] == bench and r["answer"] is None)
        print(f"{bench:<16} {n:>7} {labelled / n:>13.1%} | {s['old']['none'] / n:>13.1%} {s['new']['none'] / n:>6.1%} | "
              f"{s['old']['missed']:>10} {s['new']['missed']:>4} | {s['old']['wrong']:>9} {s['new']['wrong']:>4}")


if __name__ == "__main__":
    main()
