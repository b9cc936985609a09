"""Catalogue of the knowledge/reasoning multiple-choice and yes/no benchmarks of
:mod:`evs_native.benchmarks.mcq_breadth`: plain data, so listing benchmarks imports no benchmark code.
(The plain multiple-choice ones of this group are spec files in ``evs_native/specs``.)"""

_M = "evs_native.benchmarks.mcq_breadth"

BENCHMARKS: dict = {
    "mmlu_redux": (f"{_M}:MMLURedux", ["knowledge", "multiple-choice"],
        "MMLU-Redux 2.0, 57 subjects with corrected answers, zero-shot CoT, acc with inclusion (EvalScope)",
        {"num_samples": 5700, "subsets": [
            "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge",
            "college_biology", "college_chemistry", "college_computer_science", "college_mathematics",
            "college_medicine", "college_physics", "computer_security", "conceptual_physics",
            "econometrics", "electrical_engineering", "elementary_mathematics", "formal_logic",
            "global_facts", "high_school_biology", "high_school_chemistry", "high_school_computer_science",
            "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
            "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics",
            "high_school_physics", "high_school_psychology", "high_school_statistics",
            "high_school_us_history", "high_school_world_history", "human_aging", "human_sexuality",
            "international_law", "jurisprudence", "logical_fallacies", "machine_learning", "management",
            "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios",
            "nutrition", "philosophy", "prehistory", "professional_accounting", "professional_law",
            "professional_medicine", "professional_psychology", "public_relations", "security_studies",
            "sociology", "us_foreign_policy", "virology", "world_religions"]}),
    "mmmlu": (f"{_M}:MMMLU", ["knowledge", "multiple-choice", "multilingual"],
        "MMMLU, MMLU in 14 languages (one subset each), per-language CoT prompt (EvalScope)",
        {"num_samples": 196588, "subsets": ["AR_XY", "BN_BD", "DE_DE", "ES_LA", "FR_FR", "HI_IN", "ID_ID",
                                            "IT_IT", "JA_JP", "KO_KR", "PT_BR", "SW_KE", "YO_NG", "ZH_CN"]}),
    "super_gpqa": (f"{_M}:SuperGPQA", ["knowledge", "multiple-choice", "reasoning"],
        "SuperGPQA, ten-option graduate questions, 72 fields in 13 disciplines, 0- or 5-shot CoT (EvalScope)",
        {"num_samples": 26529, "subsets": [
            "Electronic Science and Technology", "Philosophy", "Traditional Chinese Medicine", "Applied Economics",
            "Mathematics", "Physics", "Clinical Medicine", "Computer Science and Technology",
            "Information and Communication Engineering", "Control Science and Engineering",
            "Theoretical Economics", "Law", "History", "Basic Medicine", "Education",
            "Materials Science and Engineering", "Electrical Engineering", "Systems Science",
            "Power Engineering and Engineering Thermophysics", "Military Science", "Biology",
            "Business Administration", "Language and Literature", "Public Health and Preventive Medicine",
            "Political Science", "Chemistry", "Hydraulic Engineering", "Chemical Engineering and Technology",
            "Pharmacy", "Geography", "Art Studies", "Architecture", "Forestry Engineering",
            "Public Administration", "Oceanography", "Journalism and Communication",
            "Nuclear Science and Technology", "Weapon Science and Technology",
            "Naval Architecture and Ocean Engineering", "Environmental Science and Engineering",
            "Transportation Engineering", "Geology", "Physical Oceanography", "Musicology", "Stomatology",
            "Aquaculture", "Mechanical Engineering", "Aeronautical and Astronautical Science and Technology",
            "Civil Engineering", "Mechanics", "Petroleum and Natural Gas Engineering", "Sociology",
            "Food Science and Engineering", "Agricultural Engineering",
            "Surveying and Mapping Science and Technology", "Metallurgical Engineering",
            "Library, Information and Archival Management", "Mining Engineering", "Astronomy",
            "Geological Resources and Geological Engineering", "Atmospheric Science", "Optical Engineering",
            "Animal Husbandry", "Geophysics", "Crop Science", "Management Science and Engineering",
            "Psychology", "Forestry", "Textile Science and Engineering", "Veterinary Medicine",
            "Instrument Science and Technology", "Physical Education"]}),
    "agieval": (f"{_M}:AGIEval", ["reasoning", "knowledge", "multiple-choice", "math", "chinese"],
        "AGIEval, 21 admission/qualification exam subsets: single/multi-answer MCQ and math cloze (EvalScope)",
        {"num_samples": 8269, "subsets": [
            "aqua-rat", "logiqa-en", "lsat-ar", "lsat-lr", "lsat-rc", "sat-math", "sat-en",
            "sat-en-without-passage", "gaokao-english", "logiqa-zh", "gaokao-chinese", "gaokao-geography",
            "gaokao-history", "gaokao-biology", "gaokao-chemistry", "gaokao-physics", "gaokao-mathqa",
            "jec-qa-kd", "jec-qa-ca", "math", "gaokao-mathcloze"]}),
    "musr": (f"{_M}:MuSR", ["reasoning", "multiple-choice", "long-context"],
        "MuSR, narrative multistep reasoning: murder mysteries, object placements, team allocation (EvalScope)",
        {"num_samples": 756, "subsets": ["murder_mysteries", "object_placements", "team_allocation"]}),
    "maritime_bench": (f"{_M}:MaritimeBench", ["knowledge", "multiple-choice", "chinese"],
        "MaritimeBench, Chinese maritime exam questions, answer in brackets '[A]' (EvalScope)",
        {"num_samples": 1888, "subsets": ["default"]}),
    "pubmedqa": (f"{_M}:PubMedQA", ["medical", "knowledge", "yes-no"],
        "PubMedQA, yes/no/maybe over PubMed abstracts; accuracy, macro P/R/F1, answer ratios (EvalScope)",
        {"num_samples": 1000, "subsets": ["default"]}),
    "halueval": (f"{_M}:HaluEval", ["hallucination", "knowledge", "yes-no"],
        "HaluEval, judge whether a dialogue reply, answer or summary is hallucinated; accuracy, P/R/F1 (EvalScope)",
        {"num_samples": 30000, "subsets": ["dialogue_samples", "qa_samples", "summarization_samples"]}),
}

FILTERS: dict = {
    # a gold answer given as a letter ("B", "(B)") -> "B"; used by the spec files' record.target
    "gold_letter": f"{_M}:gold_letter",
}
