"""Catalogue of the instruction-following breadth benchmarks (plain data: nothing is imported)."""

BENCHMARKS: dict = {
    "multi_if": ("evs_native.benchmarks.multi_if:MultiIF",
        ["instruction-following", "multi-turn", "multilingual"],
        "Multi-IF: 3-turn, 11-language IFEval-style instructions; strict/loose prompt and instruction accuracy per turn",
        {"num_samples": 4501, "subsets": ["Chinese", "English", "German", "Italian", "Vietnamese", "Spanish", "Hindi",
                                          "Portuguese", "French", "Thai", "Russian"]}),
}
