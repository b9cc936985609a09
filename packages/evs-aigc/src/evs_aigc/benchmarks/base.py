"""What the image benchmarks share: image metrics chosen by name, images read from the run folder,
per-image failures counted, set metrics (FID, KID) computed over the run's images.

``--dataset-args`` keys (besides the usual ``subset_list``, ``local_path``, ``metric_list`` …):
``metric_list`` (registered image metric names or EvalScope's: ``["clip_score", "PickScore"]``,
or ``{"clip_score": {"weights": "./clip"}}``), ``metric_args`` (per metric: ``weights`` a local
folder or hub id, ``device``, and the metric's options; for ``fid``/``kid``: ``reference_dir``, a
folder of real images), ``metric_device`` (default ``cpu``).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.schema import Review, Stat, SubsetScore
from evs_core.stats import AGGREGATIONS

from evs_aigc.images import IMAGE_SUFFIXES, REFERENCE_KEYS, ImageReadError, load_rgb
from evs_aigc.metrics.base import resolve_weights

NOT_AN_IMAGE = ("NotAnImage: the model answered text, not an image file; run image benchmarks with "
                "--model-type diffusers, openai_images or image_folder")


class ImageBenchmark(Benchmark):
    """A benchmark whose model output is an image file in the run folder."""

    metrics: ClassVar[list[str]] = []
    extra_args: ClassVar[dict[str, Any]] = {"metric_args": {}, "metric_device": "cpu"}

    # -- metrics ---------------------------------------------------------------------------------
    def _resolve_pipeline(self) -> None:
        from evs_aigc.metrics import registry

        self._filter_chain = []
        self._metric_fns = {}
        self._metric_override = None
        if self.args.get("filters"):
            raise ConfigError(f"dataset_args.{self.name}.filters: filters read text replies; {self.name} scores images")
        entries = self.args.get("metric_list")
        if entries is None:
            entries = list(type(self).metrics)
        elif not isinstance(entries, list) or not entries:
            raise ConfigError(f"dataset_args.{self.name}.metric_list must be a non-empty list of image metric names")
        options = self.args.get("metric_args") or {}
        if not isinstance(options, dict):
            raise ConfigError(f"dataset_args.{self.name}.metric_args must be a mapping metric -> options")
        self.metric_options: dict[str, dict[str, Any]] = {}
        for entry in entries:
            if isinstance(entry, dict) and len(entry) == 1:
                (name, opts), = entry.items()
                opts = dict(opts or {})
            elif isinstance(entry, str):
                name, opts = entry, {}
            else:
                raise ConfigError(f"dataset_args.{self.name}.metric_list: bad entry {entry!r} (a name or {{name: options}})")
            if name in self.judged_scores():
                self.metric_options[name] = {}
                continue
            canon = registry.canonical(name)
            given = options.get(name, options.get(canon, {}))
            if not isinstance(given, dict):
                raise ConfigError(f"dataset_args.{self.name}.metric_args.{name} must be a mapping of options")
            opts = {**given, **opts}
            if opts.get("weights") is not None:  # a missing local folder stops the run now, before any request
                opts["weights"] = resolve_weights(canon, str(opts["weights"]))
            ref = opts.get("reference_dir")
            if ref is not None and not Path(str(ref)).expanduser().is_dir():
                raise ConfigError(f"dataset_args.{self.name}.metric_args.{canon}.reference_dir is not a folder: {ref}")
            self.metric_options[canon] = opts
        for name in options:
            try:
                canon = registry.canonical(name)
            except ConfigError:
                canon = name
            if canon not in self.metric_options:
                raise ConfigError(f"dataset_args.{self.name}.metric_args names '{name}', which is not among the "
                                  f"metrics ({', '.join(self.metric_options)})")
        device = self.args.get("metric_device") or "cpu"
        for opts in self.metric_options.values():
            opts.setdefault("device", device)
        self._aggregations = {}
        agg = self.args.get("aggregation")
        for name in self.metric_options:
            a = agg if isinstance(agg, str) else (agg or {}).get(name, "mean") if isinstance(agg, dict) or agg is None else None
            if a is None:
                raise ConfigError(f"dataset_args.{self.name}.aggregation must be a name or a mapping metric -> name")
            if a not in AGGREGATIONS:
                raise ConfigError(f"unknown aggregation '{a}' for metric '{name}' (known: {', '.join(AGGREGATIONS)})")
            self._aggregations[name] = a
        self._metric_objs: dict[str, Any] = {}
        self._metric_locks: dict[str, threading.Lock] = {}
        self._build_lock = threading.Lock()
        self._run_dir: Path | None = None

    def judged_scores(self) -> tuple[str, ...]:
        """Score names a judge gives (not image metrics); none for metric-scored benchmarks."""
        return ()

    @property
    def primary(self) -> str:
        names = list(getattr(self, "metric_options", {}) or type(self).metrics)
        return self.primary_metric if self.primary_metric in names else names[0]

    def metric_names(self) -> list[str]:
        return [n for n in self.metric_options if n not in self.judged_scores()]

    def metric(self, name: str) -> Any:
        """The metric object (built once, on first use: weights are loaded then)."""
        with self._build_lock:
            if name not in self._metric_objs:
                from evs_aigc.metrics import registry

                opts = {k: v for k, v in self.metric_options[name].items() if k != "reference_dir"}
                self._metric_objs[name] = registry.make_metric(name, **opts)
                self._metric_locks[name] = threading.Lock()
            return self._metric_objs[name]

    def run_metric(self, name: str, image: Any, prompt: str, reference: Any) -> float:
        m = self.metric(name)
        with self._metric_locks[name]:
            return float(m.score([image], [prompt], [reference] if reference is not None else None)[0])

    # -- data helpers ------------------------------------------------------------------------------
    def data_dir(self) -> Path | None:
        try:
            root = self.local_root()
        except ConfigError:
            return None
        if root is None:
            return None
        return root.parent if root.is_file() else root

    def resolve_file(self, value: Any) -> str | None:
        """A row's image path as an absolute path: as is, or relative to the working directory or the data folder."""
        if not isinstance(value, str) or not value.strip():
            return None
        p = Path(value).expanduser()
        if p.is_absolute():
            return str(p)
        if p.exists():
            return str(p.resolve())
        base = self.data_dir()
        if base is not None and (base / p).exists():
            return str((base / p).resolve())
        return str(p)

    def reference_of(self, row: dict[str, Any]) -> str | None:
        for key in REFERENCE_KEYS:
            v = row.get(key)
            if isinstance(v, str) and v.strip():
                return self.resolve_file(v)
        return None

    # -- scoring -----------------------------------------------------------------------------------
    def image_file(self, output_text: str, ctx: Any) -> Path | None:
        if not output_text or not output_text.startswith("images/") or ctx is None or ctx.run_dir is None:
            return None
        return Path(ctx.run_dir) / output_text

    async def score(self, sample, output, ctx) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        path = self.image_file(output.text, ctx)
        if path is None:
            return failed_review(sample, output, ctx, NOT_AN_IMAGE)
        self._run_dir = Path(ctx.run_dir)
        meta = {"image": output.text, "image_file": str(path), "prompt": sample.metadata.get("prompt", sample.input or "")}
        if sample.metadata.get("category"):
            meta["category"] = sample.metadata["category"]
        try:
            image = await asyncio.to_thread(load_rgb, path)
        except ImageReadError as exc:
            return failed_review(sample, output, ctx, f"ImageError: {exc}", extracted=output.text, metadata=meta)
        return await self.score_image(sample, output, ctx, image, meta)

    async def score_image(self, sample, output, ctx, image, meta) -> Review:
        scores: dict[str, float] = {}
        reference = None
        for name in self.metric_names():
            cls_kind = self._kind(name)
            if cls_kind == "distribution":
                continue
            needs_ref = self._needs_reference(name)
            if needs_ref and reference is None:
                ref_path = sample.metadata.get("reference_image")
                if not ref_path:
                    return failed_review(sample, output, ctx, f"NoReference: {name} needs a reference image "
                                         f"(a row field such as reference_image_path)", extracted=output.text, metadata=meta)
                try:
                    reference = await asyncio.to_thread(load_rgb, ref_path)
                except ImageReadError as exc:
                    return failed_review(sample, output, ctx, f"ImageError: reference: {exc}",
                                         extracted=output.text, metadata=meta)
            try:
                scores[name] = await asyncio.to_thread(self.run_metric, name, image, meta["prompt"],
                                                       reference if needs_ref else None)
            except Exception as exc:  # noqa: BLE001 - a metric failure fails this image only
                msg = " ".join(str(exc).split())[:300]
                return failed_review(sample, output, ctx, f"MetricError: {name}: {type(exc).__name__}: {msg}",
                                     extracted=output.text, metadata=meta)
        return make_review(sample, output, ctx, extracted=output.text, scores=scores, metadata=meta)

    def _kind(self, name: str) -> str:
        from evs_aigc.metrics import registry

        return getattr(registry.metric_class(name), "kind", "per_image")

    def _needs_reference(self, name: str) -> bool:
        from evs_aigc.metrics import registry

        return bool(getattr(registry.metric_class(name), "needs_reference", False))

    # -- reports -----------------------------------------------------------------------------------
    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        cats: dict[str, list[Review]] = {}
        for r in reviews:
            if r.error is None and r.metadata.get("category"):
                cats.setdefault(str(r.metadata["category"]), []).append(r)
        if len(cats) > 1 or (cats and len(subsets) > 1):
            for cat, rs in sorted(cats.items()):
                sub_overall, _ = super().aggregate(rs, seed)
                prim = sub_overall.get(self.primary)
                subsets.append(SubsetScore(name=cat, num=len(rs), score=prim.score if prim else 0.0,
                                           metrics=sub_overall, kind="category"))
        for name in self.metric_names():
            if self._kind(name) == "distribution":
                stat = self.set_metric(name, reviews)
                if stat is not None:
                    overall[name] = stat
        return overall, subsets

    def set_metric(self, name: str, reviews: list[Review]) -> Stat | None:
        """FID/KID over the images of every scored review against the real images."""
        import logging

        ref_dir = self.metric_options[name].get("reference_dir")
        run_dir = self._run_dir
        images, refs = [], []
        for r in reviews:
            if r.error is not None or "image" not in r.metadata:
                continue
            path = run_dir / r.metadata["image"] if run_dir is not None else Path(r.metadata.get("image_file", ""))
            try:
                images.append(load_rgb(path))
            except (ImageReadError, KeyError):
                continue
        if ref_dir:
            files = sorted(p for p in Path(str(ref_dir)).expanduser().rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            for p in files:
                try:
                    refs.append(load_rgb(p))
                except ImageReadError:
                    continue
        if len(images) < 2 or len(refs) < 2:
            logging.getLogger("evs").warning("%s: %s needs at least 2 generated and 2 real images (%d, %d)",
                                             self.name, name, len(images), len(refs))
            return None
        value = self.metric(name).score(images, None, refs)[0]
        return Stat(score=float(value), num=len(images))
