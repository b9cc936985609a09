"""Needle in a haystack: retrieve one fact hidden at a depth of a long context.

A grid of context lengths × insertion depths. For each cell the haystack (a seeded synthetic
essay, or the user's own text files) is cut to the context length, the needle is inserted at
the depth (moved back to the previous sentence end, as the original test by G. Kamradt does),
and the model answers the retrieval question. Scored by rule (every key word of the answer
appears in the reply) or by the LLM judge. Subsets are ``len_<L>_depth_<D>``; a heatmap PNG is
written next to the report when matplotlib is installed (``evs-native[plot]``).
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput, Report, Review, Sample

from evs_native.benchmarks._judged import judged_review

log = logging.getLogger("evs.eval")

NEEDLE = "\nThe best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.\n"
QUESTION = "What is the best thing to do in San Francisco?"
ANSWER = "eat a sandwich and sit in Dolores Park on a sunny day"
SYSTEM = "You are a helpful AI bot that answers questions for a user. Keep your response short and direct."
PROMPT = ("Please read the following document and answer the question after it.\n\n<document>\n{context}\n</document>\n\n"
          "Question: {question}\nDon't give information outside the document or repeat your findings.")
STOPWORDS = {"the", "and", "for", "with", "that", "this", "was", "are", "from", "into", "onto", "its", "his", "her",
             "their", "our", "you", "your", "has", "had", "have", "not", "but", "all", "any", "can", "who", "what",
             "when", "where", "which", "how", "why", "out", "off", "over", "under", "then", "than", "there", "here"}

# A small vocabulary for the synthetic essay: plain, varied, and free of the needle's facts.
_SUBJECTS = ["the committee", "a young engineer", "the old library", "every small town", "the river valley",
             "a careful gardener", "the morning train", "most historians", "the village council", "a patient teacher",
             "the northern harbor", "an amateur astronomer", "the quiet museum", "our neighbors", "the weekly market"]
_VERBS = ["described", "remembered", "rebuilt", "measured", "questioned", "celebrated", "ignored", "studied",
          "painted", "repaired", "announced", "collected", "organized", "explained", "compared"]
_OBJECTS = ["the long winter", "a forgotten map", "the price of bread", "an unusual storm", "the new bridge",
            "a box of letters", "the annual festival", "the slow clock", "a crowded classroom", "the mountain road",
            "an empty warehouse", "the evening lectures", "a broken telescope", "the harvest records", "the tide tables"]
_TAILS = ["before anyone noticed", "with surprising patience", "during the dry season", "after a long debate",
          "without much help", "for the third time", "in the early hours", "despite the rain", "at the end of the year",
          "as the lights came on", "while the others waited", "in a single afternoon", "by careful arithmetic",
          "under a pale sky", "to general approval"]
_OPENERS = ["In those years", "Some time later", "According to the notes", "By most accounts", "At first",
            "Meanwhile", "Eventually", "For a while", "Even so", "Later that month"]


def synthetic_haystack(n_words: int, seed: int = 0) -> str:
    """Seeded, reproducible filler prose of at least ``n_words`` words, in paragraphs."""
    rng = random.Random(seed)
    words = 0
    paragraphs, sentences = [], []
    while words < n_words:
        parts = [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS), rng.choice(_TAILS)]
        if rng.random() < 0.3:
            parts.insert(0, rng.choice(_OPENERS) + ",")
        s = " ".join(parts)
        s = s[0].upper() + s[1:] + "."
        sentences.append(s)
        words += len(s.split())
        if len(sentences) >= rng.randint(4, 8):
            paragraphs.append(" ".join(sentences))
            sentences = []
    if sentences:
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def keywords(answer: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", answer.lower()) if len(w) >= 3 and w not in STOPWORDS]


def recall(reply: str, answer: str) -> float:
    keys = keywords(answer)
    found = set(re.findall(r"[a-z0-9]+", reply.lower()))
    return sum(1 for k in keys if k in found) / len(keys) if keys else 0.0


def grid(lo: float, hi: float, n: int) -> list[int]:
    if n <= 1:
        return [int(round(hi))]
    return sorted({int(round(lo + (hi - lo) * i / (n - 1))) for i in range(n)})


class _Units:
    """Length unit: a tokenizer's tokens when ``tokenizer_path`` is given, else whitespace words."""

    def __init__(self, tokenizer_path: str | None) -> None:
        self.tok = None
        if tokenizer_path:
            from evs_core.errors import require

            transformers = require("transformers", "needle_haystack tokenizer_path", "evs-native[local]")
            self.tok = transformers.AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)

    def encode(self, text: str) -> list:
        # Words keep their trailing whitespace, so paragraphs survive the round trip.
        return self.tok.encode(text, add_special_tokens=False) if self.tok else re.findall(r"\S+\s*", text)

    def decode(self, units: list) -> str:
        return self.tok.decode(units) if self.tok else "".join(units)

    def ends_sentence(self, unit) -> bool:
        s = self.tok.decode([unit]) if self.tok else unit
        return s.rstrip().endswith((".", "!", "?"))


def build_context(haystack_units: list, needle_units: list, length: int, depth: int, units: _Units) -> list:
    """Cut the haystack to ``length - len(needle)`` units and insert the needle at ``depth`` percent."""
    room = max(0, length - len(needle_units))
    hay = haystack_units[:room]
    if depth >= 100:
        return hay + needle_units
    pos = int(len(hay) * depth / 100)
    while pos > 0 and not units.ends_sentence(hay[pos - 1]):
        pos -= 1
    return hay[:pos] + needle_units + hay[pos:]


class NeedleHaystack(Benchmark):
    name = "needle_haystack"
    version = "1"
    description = (
        "Needle in a haystack (after G. Kamradt's LLMTest_NeedleInAHaystack and EvalScope's adapter): a grid of "
        "context lengths × needle depths; subsets len_<L>_depth_<D>. The haystack is a seeded synthetic essay "
        "(no download) or the .txt files under dataset_args.haystack_path; the needle is inserted at the depth, "
        "moved back to the previous sentence end. Lengths count tokenizer tokens when tokenizer_path names a "
        "local tokenizer, else whitespace words. Scored by rule (every key word of the answer appears in the "
        "reply; metadata keeps the recall) or by the LLM judge (strategy llm / llm_when_rule_fails). Metric: acc. "
        "A heatmap PNG is written next to the report when matplotlib is installed. Deviation: EvalScope uses "
        "Paul Graham essays downloaded from the Hub as the haystack and a judge by default."
    )
    tags = ["long-context", "retrieval"]
    subsets = ["default"]
    few_shot_num = 0
    metrics = ["acc"]
    system_prompt = SYSTEM
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 128}
    extra_args: ClassVar[dict[str, Any]] = {
        "context_lengths": None, "context_lengths_min": 1000, "context_lengths_max": 32000,
        "context_lengths_num_intervals": 10, "document_depth_percents": None, "document_depth_percent_min": 0,
        "document_depth_percent_max": 100, "document_depth_percent_intervals": 10,
        "needle": NEEDLE, "retrieval_question": QUESTION, "answer": ANSWER,
        "haystack_path": None, "tokenizer_path": None, "heatmap": True,
    }

    def _check_args(self) -> None:
        super()._check_args()
        a = self.args
        lengths = a["context_lengths"] or grid(a["context_lengths_min"], a["context_lengths_max"],
                                               int(a["context_lengths_num_intervals"]))
        depths = a["document_depth_percents"] or grid(a["document_depth_percent_min"], a["document_depth_percent_max"],
                                                      int(a["document_depth_percent_intervals"]))
        if any(not isinstance(x, (int, float)) or x <= 0 for x in lengths):
            raise ConfigError(f"dataset_args.needle_haystack: context lengths must be positive, not {lengths}")
        if any(not isinstance(x, (int, float)) or not 0 <= x <= 100 for x in depths):
            raise ConfigError(f"dataset_args.needle_haystack: depths must lie in 0..100, not {depths}")
        self.lengths = sorted({int(x) for x in lengths})
        self.depths = sorted({int(x) for x in depths})
        if not keywords(a["answer"]):
            raise ConfigError("dataset_args.needle_haystack.answer has no key word to look for")
        if a["haystack_path"] and not Path(a["haystack_path"]).expanduser().exists():
            raise ConfigError(f"dataset_args.needle_haystack.haystack_path does not exist: {a['haystack_path']}")

    def _haystack_text(self, n_units: int) -> str:
        path = self.args["haystack_path"]
        if not path:
            return synthetic_haystack(n_units, seed=self.seed)
        p = Path(path).expanduser()
        files = sorted(p.rglob("*.txt")) if p.is_dir() else [p]
        text = "\n\n".join(f.read_text(encoding="utf-8", errors="replace") for f in files)
        if not text.strip():
            raise ConfigError(f"dataset_args.needle_haystack.haystack_path holds no text: {p}")
        return text

    def load_samples(self, limit: int | float | None = None) -> list[Sample]:
        """One sample per (length, depth) cell; ``limit`` does not apply (every cell is one sample)."""
        units = _Units(self.args["tokenizer_path"])
        need = max(self.lengths)
        text = self._haystack_text(int(need * 1.2) + 100)
        hay = units.encode(text)
        while len(hay) < need:  # repeat the user's text when it is too short
            hay = hay + units.encode("\n\n" + text)
        needle_units = units.encode(self.args["needle"].strip() + "\n")
        out = []
        for length in self.lengths:
            for depth in self.depths:
                ctx = units.decode(build_context(hay, needle_units, length, depth, units)).strip()
                name = f"len_{length}_depth_{depth}"
                out.append(Sample(id=name, subset=name, target=self.args["answer"],
                                  input=PROMPT.format(context=ctx, question=self.args["retrieval_question"]),
                                  metadata={"context_length": length, "depth_percent": depth}))
        return out

    def extract(self, text: str, sample: Sample) -> Any:
        return text.strip()

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(recall(output.text, sample.target) == 1.0)}

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        def rule(text: str):
            r = recall(text, sample.target)
            return round(r, 4), float(r == 1.0)

        return await judged_review(sample, output, ctx, rule=rule,
                                   question=self.args["retrieval_question"], reference=sample.target)

    def after_report(self, report: Report, report_path: Path) -> Path | None:
        """Write ``<report>_heatmap.png`` (context length × depth) when matplotlib is installed."""
        if not self.args["heatmap"]:
            return None
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            log.warning("needle_haystack: no heatmap (pip install \"evs-native[plot]\" for matplotlib)")
            return None
        cells = {}
        for sub in report.subsets:
            m = re.fullmatch(r"len_(\d+)_depth_(\d+)", sub.name)
            if m:
                cells[(int(m.group(1)), int(m.group(2)))] = sub.score
        if not cells:
            return None
        lengths = sorted({k[0] for k in cells})
        depths = sorted({k[1] for k in cells})
        import numpy as np

        data = np.full((len(depths), len(lengths)), np.nan)
        for (length, depth), v in cells.items():
            data[depths.index(depth), lengths.index(length)] = v
        fig, ax = plt.subplots(figsize=(max(6, len(lengths) * 0.9), max(4, len(depths) * 0.5)))
        im = ax.imshow(data, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(lengths)), [str(x) for x in lengths], rotation=45)
        ax.set_yticks(range(len(depths)), [f"{d}%" for d in depths])
        ax.set_xlabel("context length")
        ax.set_ylabel("needle depth")
        ax.set_title(f"Needle in a haystack: {report.model} (acc {report.score:.3f})")
        fig.colorbar(im, ax=ax, label="score")
        fig.tight_layout()
        out = report_path.with_name(report_path.stem + "_heatmap.png")
        fig.savefig(out, dpi=100)
        plt.close(fig)
        return out
