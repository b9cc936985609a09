"""Catalogue of instruction-following and LLM-judged benchmarks (plain data: nothing is imported)."""

BENCHMARKS: dict = {
    "chinese_simpleqa": ("evs_native.benchmarks.judged_qa:ChineseSimpleQA",
        ["knowledge", "qa", "chinese", "llm-judge"],
        "Chinese SimpleQA: short Chinese factual questions graded 正确/错误/未尝试 by an LLM judge",
        {"num_samples": 3000, "subsets": ["中华文化", "人文与社会科学", "工程、技术与应用科学", "生活、艺术与文化", "社会",
                                          "自然与自然科学"]}),
    "hle": ("evs_native.benchmarks.judged_qa:HLE",
        ["knowledge", "qa", "reasoning", "llm-judge"],
        "Humanity's Last Exam, text-only: official judge prompt, accuracy and calibration error",
        {"num_samples": 2158, "subsets": ["Biology/Medicine", "Chemistry", "Computer Science/AI", "Engineering",
                                          "Humanities/Social Science", "Math", "Physics", "Other"]}),
    "arena_hard": ("evs_native.benchmarks.pairwise:ArenaHard",
        ["instruction-following", "chat", "arena", "llm-judge"],
        "Arena-Hard-Auto v0.1: two-game pairwise judging against gpt-4-0314, Bradley-Terry win rate",
        {"num_samples": 500, "subsets": ["default"]}),
    "alpaca_eval": ("evs_native.benchmarks.pairwise:AlpacaEval",
        ["instruction-following", "chat", "arena", "llm-judge"],
        "AlpacaEval 2.0: win rate and length-controlled win rate against gpt-4-turbo",
        {"num_samples": 805, "subsets": ["alpaca_eval_gpt4_baseline"]}),
}
