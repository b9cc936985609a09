"""Hallucination benchmarks answered YES/NO: POPE and HallusionBench."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore
from evs_core.stats import summarize

from evs_vlm.base import VisionBenchmark, images_of
from evs_vlm.extract import extract_yes_no

YES_NO_PROMPT = "{question}\nPlease answer YES or NO without an explanation."


class _YesNo(VisionBenchmark):
    prompt_template = YES_NO_PROMPT
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 64, "temperature": 0.0}

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        return extract_yes_no(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(extracted == sample.target)}


def pope_metrics(pairs: list[tuple[str, str | None]]) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and yes-ratio of (gold, predicted) YES/NO pairs.

    A reply with neither YES nor NO counts as the wrong answer (as in POPE's reference scoring,
    which derives the prediction from correctness).
    """
    tp = fp = tn = fn = yes = 0
    for gold, pred in pairs:
        if pred not in ("YES", "NO"):
            pred = "NO" if gold == "YES" else "YES"
        yes += pred == "YES"
        if pred == "YES":
            tp += gold == "YES"
            fp += gold == "NO"
        else:
            tn += gold == "NO"
            fn += gold == "YES"
    n = len(pairs)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": (tp + tn) / n if n else 0.0, "precision": precision, "recall": recall, "f1_score": f1,
            "yes_ratio": yes / n if n else 0.0}


class POPE(_YesNo):
    name = "pope"
    version = "1"
    description = ("POPE: 'Is there a <object> in the image?' over COCO images, three negative-sampling settings "
                   "(popular, adversarial, random). Metrics: accuracy, precision, recall, f1_score (primary), yes_ratio.")
    tags = ["multimodal", "hallucination", "yes-no"]
    hf_id = "lmms-lab/POPE"
    ms_id = "lmms-lab/POPE"
    subsets = ["popular", "adversarial", "random"]
    hub_config = "Full"
    eval_split = "test"
    num_samples = 9000
    metrics = ["accuracy", "precision", "recall", "f1_score", "yes_ratio"]
    primary_metric = "f1_score"

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        # The three settings are splits of the 'Full' config on the Hub (and files named after them locally).
        root = self.local_root()
        if root is not None:
            from evs_core.data import load_local

            return load_local(root, subset, None)
        from evs_core.data import load_hub

        dataset_id = self.ms_id if self.hub == "modelscope" and self.ms_id else self.hf_id
        return load_hub(dataset_id, self.hub_config, subset, self.hub)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        return self.make_sample(self.record_id(record, index, subset, "question_id", "id"),
                                YES_NO_PROMPT.format(question=record["question"]), images_of(record, "image"), subset,
                                str(record["answer"]).strip().upper(), metadata={"category": record.get("category")})

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        ok = [r for r in reviews if r.error is None]

        def stats(rs: list[Review]) -> dict[str, Stat]:
            m = pope_metrics([(str(r.target), r.extracted) for r in rs])
            out = {k: Stat(score=v, num=len(rs)) for k, v in m.items()}
            out["acc"] = summarize([r.scores.get("acc", 0.0) for r in rs], seed)
            return out

        subsets = []
        for sub in dict.fromkeys(r.subset for r in ok):
            st = stats([r for r in ok if r.subset == sub])
            subsets.append(SubsetScore(name=sub, num=st["acc"].num, score=st[self.primary_metric].score, metrics=st))
        return (stats(ok) if ok else {}), subsets


class HallusionBench(_YesNo):
    name = "hallusion_bench"
    version = "1"
    description = ("HallusionBench image split: YES/NO questions built to expose language hallucination and visual "
                   "illusion. Metrics: aAcc (per question, primary), fAcc (all questions on a figure right), qAcc "
                   "(a question right on every figure variant); per category.")
    tags = ["multimodal", "hallucination", "yes-no"]
    hf_id = "lmms-lab/HallusionBench"
    ms_id = "lmms-lab/HallusionBench"
    eval_split = "image"
    num_samples = 951
    metrics = ["aAcc", "fAcc", "qAcc"]
    primary_metric = "aAcc"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        target = "NO" if str(record["gt_answer"]).strip() == "0" else "YES"
        meta = {k: record.get(k) for k in ("category", "subcategory", "set_id", "figure_id", "question_id")}
        sid = "_".join(str(record.get(k)) for k in ("category", "subcategory", "set_id", "figure_id", "question_id"))
        if sid.count("None") == 5:
            sid = str(index)
        return self.make_sample(sid if subset == DEFAULT else f"{subset}_{sid}",
                                YES_NO_PROMPT.format(question=record["question"]), images_of(record, "image"), subset,
                                target, metadata=meta)

    def review_metadata(self, sample: Sample) -> dict[str, Any]:
        return {k: sample.metadata.get(k) for k in ("category", "subcategory", "set_id", "figure_id", "question_id")}

    @staticmethod
    def hallusion_metrics(rs: list[Review]) -> dict[str, Stat]:
        def group(kind: str) -> tuple[float, int]:
            groups: dict[str, list[float]] = defaultdict(list)
            for r in rs:
                md = r.metadata
                gid = md.get("figure_id") if kind == "figure" else md.get("question_id")
                if md.get("subcategory") is None or md.get("set_id") is None or gid is None:
                    continue
                groups[f"{md['subcategory']}_{md['set_id']}_{gid}"].append(r.scores.get("acc", 0.0))
            if not groups:
                return 0.0, 0
            return sum(1 for v in groups.values() if all(v)) / len(groups), len(groups)

        a = [r.scores.get("acc", 0.0) for r in rs]
        f_acc, f_n = group("figure")
        q_acc, q_n = group("question")
        return {"aAcc": Stat(score=sum(a) / len(a) if a else 0.0, num=len(a)),
                "fAcc": Stat(score=f_acc, num=f_n), "qAcc": Stat(score=q_acc, num=q_n)}

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        ok = [r for r in reviews if r.error is None]
        overall = self.hallusion_metrics(ok)
        if ok:
            overall["aAcc"] = summarize([r.scores.get("acc", 0.0) for r in ok], seed)
        subsets = []
        for cat in sorted({str(r.metadata.get("category")) for r in ok}):
            st = self.hallusion_metrics([r for r in ok if str(r.metadata.get("category")) == cat])
            subsets.append(SubsetScore(name=cat, num=st["aAcc"].num, score=st["aAcc"].score, metrics=st, kind="category"))
        return overall, subsets
