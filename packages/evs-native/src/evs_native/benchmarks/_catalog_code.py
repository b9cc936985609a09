"""Catalogue of the code benchmarks of issue 19 (MBPP, MBPP+, HumanEval+, MultiPL-E)."""

_LANGS = ["cpp", "ts", "sh", "cs", "go", "java", "lua", "js", "php", "pl", "rkt", "r", "rs", "scala", "swift",
          "rb", "d", "jl"]

BENCHMARKS: dict = {
    "mbpp": ("evs_native.benchmarks.code_breadth:MBPP",
        ["code", "python"],
        "MBPP: 500 entry-level Python problems, 3-shot [BEGIN]/[DONE], assert tests in a sandbox (pass@k)",
        {"num_samples": 500, "subsets": ["full"]}),
    "mbpp_plus": ("evs_native.benchmarks.code_breadth:MBPPPlus",
        ["code", "python"],
        "MBPP+: 378 sanitized MBPP problems with EvalPlus's extended tests, in a sandbox (pass@k)",
        {"num_samples": 378, "subsets": ["default"]}),
    "humaneval_plus": ("evs_native.benchmarks.code_breadth:HumanEvalPlus",
        ["code", "python"],
        "HumanEval+: HumanEval with EvalPlus's extended tests, in a sandbox (pass@k)",
        {"num_samples": 164, "subsets": ["default"]}),
    "multiple_humaneval": ("evs_native.benchmarks.code_breadth:MultipleHumanEval",
        ["code", "multilingual"],
        "MultiPL-E HumanEval: 18 languages, compiled and run in a sandbox; absent toolchains skipped (pass@k)",
        {"num_samples": None, "subsets": [f"humaneval-{x}" for x in _LANGS]}),
    "multiple_mbpp": ("evs_native.benchmarks.code_breadth:MultipleMBPP",
        ["code", "multilingual"],
        "MultiPL-E MBPP: 18 languages, compiled and run in a sandbox; absent toolchains skipped (pass@k)",
        {"num_samples": None, "subsets": [f"mbpp-{x}" for x in _LANGS]}),
}

BENCHMARKS["bigcodebench"] = (
    "evs_native.benchmarks.code_breadth:BigCodeBench", ["code", "python"],
    "BigCodeBench: 1,140 library-heavy Python tasks, unittest TestCases in a sandbox (pass@k)",
    {"num_samples": 1140, "subsets": ["default"]})
BENCHMARKS["bigcodebench_hard"] = (
    "evs_native.benchmarks.code_breadth:BigCodeBenchHard", ["code", "python"],
    "BigCodeBench-Hard: its 148 hardest tasks, same harness (pass@k)",
    {"num_samples": 148, "subsets": ["default"]})
