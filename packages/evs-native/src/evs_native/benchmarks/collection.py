"""Collections: a weighted, seeded mix of benchmarks described by a schema file.

Schema (JSON or YAML)::

    name: my_mix
    total: 200                      # samples to draw (dataset_args.data_collection.total overrides)
    datasets:
      - {name: gsm8k, weight: 2, args: {few_shot_num: 0}}
      - name: reasoning             # a group: it has its own "datasets"
        weight: 1
        datasets:
          - {name: arc, weight: 1}
          - {name: bbh, weight: 1, args: {subset_list: [navigate]}}
          - {name: arc-easy, benchmark: arc, args: {subset_list: [ARC-Easy]}}  # a label for a reused benchmark

A leaf's share of ``total`` is the product of its weight normalised among its siblings down the
tree; shares are turned into whole counts by the largest-remainder method, and each leaf draws its
count without replacement, seeded by the run seed and the leaf's path, so the same schema and
seed always give the same samples. Each drawn sample keeps its benchmark's prompt, extraction and
scoring; its id is ``<path>/<id>`` and its subset ``<path>/<subset>`` (path = groups/label).
The report adds one row per benchmark (``kind="benchmark"``) and per group (``kind="group"``).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext
from evs_core.errors import ConfigError, suggest
from evs_core.groups import group_score, per_sample_scores
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore
from evs_core.stats import summarize

NAME = "data_collection"


@dataclass
class Node:
    label: str
    path: str
    weight: float
    benchmark: str | None = None  # None for a group
    args: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)

    def leaves(self) -> list[Node]:
        if self.benchmark is not None:
            return [self]
        return [leaf for c in self.children for leaf in c.leaves()]


def read_schema(path: str | Path) -> dict[str, Any]:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"collection schema not found: {p}")
    if p.suffix.lower() == ".jsonl":
        raise ConfigError(f"{p}: a pre-sampled mixed JSONL (EvalScope's WeightedSampler output) is not read by evs; "
                          "give the schema file (CollectionSchema.dump_json) as local_path and the number of samples "
                          "as --limit: evs draws them itself, seeded")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: collection schema is not UTF-8 text") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - json and yaml raise different errors
        raise ConfigError(f"{p}: not a valid schema file ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), list) or not data["datasets"]:
        raise ConfigError(f"{p}: a collection schema needs a non-empty 'datasets' list")
    return data


#: task_type, tags and hierarchy are written by EvalScope's CollectionSchema.dump_json(); evs keeps
#: them as descriptions (the hierarchy is the path of groups, which evs derives from the nesting).
_NODE_KEYS = {"name", "weight", "args", "datasets", "benchmark", "task_type", "tags", "hierarchy"}


def parse_tree(schema: dict[str, Any], known: list[str], where: str = "schema") -> Node:
    def build(d: Any, prefix: str, loc: str) -> Node:
        if not isinstance(d, dict) or "name" not in d:
            raise ConfigError(f"{loc}: each entry needs a 'name'")
        bad = set(d) - _NODE_KEYS
        if bad:
            key = sorted(bad)[0]
            raise ConfigError(f"{loc}: unknown key '{key}'{suggest(key, _NODE_KEYS)}")
        label = str(d["name"])
        if "/" in label:
            raise ConfigError(f"{loc}: name '{label}' may not contain '/'")
        weight = d.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
            raise ConfigError(f"{loc} ({label}): weight must be a positive number, not {weight!r}")
        path = f"{prefix}/{label}" if prefix else label
        if "datasets" in d:
            kids = d["datasets"]
            if not isinstance(kids, list) or not kids:
                raise ConfigError(f"{loc} ({label}): a group's 'datasets' must be a non-empty list")
            node = Node(label, path, float(weight))
            node.children = [build(c, path, f"{loc}.{label}[{i}]") for i, c in enumerate(kids)]
            labels = [c.label for c in node.children]
            dup = next((x for x in labels if labels.count(x) > 1), None)
            if dup:
                raise ConfigError(f"{loc} ({label}): two entries named '{dup}'; give one a different name and "
                                  f"'benchmark: {dup}'")
            return node
        bench = str(d.get("benchmark", label))
        if bench == NAME:
            raise ConfigError(f"{loc}: a collection cannot contain {NAME}")
        if bench not in known:
            raise ConfigError(f"{loc}: unknown benchmark '{bench}'{suggest(bench, known)}")
        args = d.get("args") or {}
        if not isinstance(args, dict):
            raise ConfigError(f"{loc} ({label}): 'args' must be a mapping")
        return Node(label, path, float(weight), benchmark=bench, args=dict(args))

    root = Node(str(schema.get("name", "collection")), "", 1.0)
    root.children = [build(c, "", f"{where}.datasets[{i}]") for i, c in enumerate(schema["datasets"])]
    labels = [c.label for c in root.children]
    dup = next((x for x in labels if labels.count(x) > 1), None)
    if dup:
        raise ConfigError(f"{where}: two top-level entries named '{dup}'")
    return root


def leaf_shares(root: Node) -> dict[str, float]:
    """path -> share of the total (products of sibling-normalised weights; sums to 1)."""
    out: dict[str, float] = {}

    def walk(node: Node, share: float) -> None:
        if node.benchmark is not None:
            out[node.path] = share
            return
        total = sum(c.weight for c in node.children)
        for c in node.children:
            walk(c, share * c.weight / total)

    walk(root, 1.0)
    return out


def allocate(shares: dict[str, float], total: int) -> dict[str, int]:
    """Whole counts summing to ``total``, by the largest-remainder method (ties: schema order)."""
    raw = {k: v * total for k, v in shares.items()}
    counts = {k: int(v) for k, v in raw.items()}
    left = total - sum(counts.values())
    order = sorted(raw, key=lambda k: -(raw[k] - counts[k]))
    for k in order[:left]:
        counts[k] += 1
    return counts


class DataCollection(Benchmark):
    name = NAME
    version = "1"
    description = (
        "A weighted mix of benchmarks from a schema file (dataset_args.data_collection.local_path, JSON or "
        "YAML, nested groups allowed): 'total' samples are shared out by weight and drawn with the run seed; "
        "each sample is prompted and scored by its own benchmark. The score of a sample is its benchmark's "
        "primary metric; the report shows the micro average overall and rows per subset, per benchmark and per "
        "group (paths like 'reasoning/bbh'). --limit applies to the whole mix."
    )
    tags = ["collection"]
    metrics = ["score"]
    primary_metric = "score"
    extra_args: ClassVar[dict[str, Any]] = {"total": None}

    def __init__(self, args: dict[str, Any] | None = None, dataset_dir: str | None = None,
                 hub: str = "huggingface", seed: int = 42, **kwargs: Any) -> None:
        super().__init__(args, dataset_dir=dataset_dir, hub=hub, seed=seed, **kwargs)
        if not self.args["local_path"]:
            raise ConfigError(f"{NAME} needs dataset_args.{NAME}.local_path: a collection schema file (JSON/YAML)")
        if self.registries is None:  # outside a run: the default plugins
            from evs_core.registry import get_registries

            self.registries = get_registries()
        kwargs["registries"] = self.registries
        schema = read_schema(self.args["local_path"])
        self.schema = schema
        self.tree = parse_tree(schema, self.registries.benchmarks.names(), where=str(self.args["local_path"]))
        total = self.args["total"] if self.args["total"] is not None else schema.get("total")
        if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total <= 0):
            raise ConfigError(f"{NAME}: 'total' (in the schema or dataset_args.{NAME}.total) must be a positive "
                              f"integer, not {total!r}")
        self.total = total  # None: an EvalScope schema (no total); --limit gives the sample count
        self.members: dict[str, Benchmark] = {}
        for leaf in self.tree.leaves():
            cls = self.registries.benchmarks.load(leaf.benchmark)
            self.members[leaf.path] = cls(leaf.args, dataset_dir=dataset_dir, hub=hub, seed=seed, **kwargs)
        self._origin: dict[str, tuple[str, Sample]] = {}
        self.shortfall: dict[str, int] = {}

    def _check_args(self) -> None:
        if self.args["few_shot_num"]:
            raise ConfigError(f"dataset_args.{NAME}.few_shot_num: set few-shot counts per benchmark in the schema's args")

    # -- sampling ---------------------------------------------------------------------------
    def draw(self) -> list[tuple[str, Sample]]:
        """(leaf path, original sample) of the drawn samples, in a seeded interleaved order."""
        counts = allocate(leaf_shares(self.tree), self.total)
        drawn: list[tuple[str, Sample]] = []
        for path, k in counts.items():
            if k == 0:
                continue
            pool = self.members[path].load_samples(None)
            rng = random.Random(f"{self.seed}:{path}")
            if k > len(pool):
                self.shortfall[path] = k - len(pool)
                k = len(pool)
            picks = sorted(rng.sample(range(len(pool)), k))
            drawn.extend((path, pool[i]) for i in picks)
        random.Random(f"{self.seed}:order").shuffle(drawn)
        return drawn

    def load_samples(self, limit: int | float | None = None) -> list[Sample]:
        if self.total is None:
            if limit is None or limit < 1:
                raise ConfigError(f"{NAME}: the schema gives no 'total': set the number of samples to draw with "
                                  f"--limit N or dataset_args.{NAME}.total (EvalScope: WeightedSampler.sample(N))")
            self.total = int(limit)
        drawn = self.draw()
        if limit is not None:
            k = int(limit) if limit >= 1 else max(1, int(len(drawn) * limit))
            drawn = drawn[:k]
        out = []
        self._origin = {}
        for path, s in drawn:
            sid = f"{path}/{s.id}"
            self._origin[sid] = (path, s)
            out.append(s.model_copy(update={"id": sid, "subset": f"{path}/{s.subset}",
                                            "metadata": {**s.metadata, "benchmark": self.members[path].name,
                                                         "collection_path": path}}))
        return out

    def _member(self, sample: Sample) -> tuple[Benchmark, Sample]:
        try:
            path, orig = self._origin[sample.id]
        except KeyError:
            raise ConfigError(f"{NAME}: sample '{sample.id}' was not drawn by this collection") from None
        return self.members[path], orig

    # -- prompting and scoring: delegated to the sample's own benchmark ----------------------------
    def build_request(self, sample: Sample) -> Request:
        member, orig = self._member(sample)
        return member.build_request(orig)

    def _wrap(self, review: Review, sample: Sample, member: Benchmark) -> Review:
        key = "judge" if "judge" in review.scores else member.primary
        scores = {"score": review.scores[key]} if key in review.scores and review.error is None else {}
        error = review.error
        if error is None and not scores:
            error = f"ScoringError: {member.name} gave no '{key}' score"
        return review.model_copy(update={
            "sample_id": sample.id, "subset": sample.subset, "scores": scores, "error": error,
            "metadata": {**review.metadata, "benchmark": member.name, "metric": key, "scores": review.scores},
        })

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        member, orig = self._member(sample)
        return self._wrap(await member.score(orig, output, ctx), sample, member)

    # -- report -------------------------------------------------------------------------------
    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        per_sample = per_sample_scores(reviews)
        present = {sub for sub, _ in per_sample.values()}
        leaf_rows = {s.name: s for s in subsets}
        rows: list[SubsetScore] = []

        def walk(node: Node) -> None:
            prefix = node.path + "/"
            members = {s for s in present if s.startswith(prefix)}
            if node.benchmark is None:
                row = group_score(node.path, per_sample, members, "score", seed, "group")
                if row is not None:
                    rows.append(row)
                for c in node.children:
                    walk(c)
                return
            row = group_score(node.path, per_sample, members, "score", seed, "benchmark")
            if row is not None:
                rows.append(row)
                rows.extend(leaf_rows[s] for s in sorted(members) if s in leaf_rows)

        for child in self.tree.children:
            walk(child)
        if "score" not in overall:
            overall["score"] = summarize([], seed)
        return overall, rows
