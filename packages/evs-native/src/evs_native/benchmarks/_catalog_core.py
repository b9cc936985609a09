"""Catalogue of the foundation benchmarks."""

BENCHMARKS = {
    "gsm8k": ("evs_native.benchmarks.gsm8k:GSM8K", ["math", "reasoning"], "Grade-school math word problems"),
    "arc": ("evs_native.benchmarks.arc:ARC", ["knowledge", "reasoning", "multiple-choice"],
            "AI2 Reasoning Challenge, science multiple choice"),
}
