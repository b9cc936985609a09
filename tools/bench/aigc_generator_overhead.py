"""The generator path's overhead: images made through evs's diffusers adapter (request -> batched
pipeline call -> PNG written atomically into the run folder, resume check) against calling the
same pipeline directly (and saving the PNGs the same way), on the CPU.

A tiny random Stable Diffusion pipeline is built offline (or pass --pipeline FOLDER). It prints
seconds per image for both paths, their ratio, and what reusing finished images (a resumed run)
costs. Run:

    python tools/bench/aigc_generator_overhead.py [--images 16] [--steps 4] [--size 64] [--batch 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packages" / "evs-aigc" / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pipeline", default=None)
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()

    import torch
    from diffusers import DiffusionPipeline
    from evs_core.config import TaskConfig

    from evs_aigc.generators import DiffusersPipeline
    from evs_aigc.images import save_png
    from evs_aigc.requests import ImageRequest

    torch.set_num_threads(max(1, torch.get_num_threads()))
    tmp = Path(tempfile.mkdtemp(prefix="aigc_bench_"))
    folder = a.pipeline
    if folder is None:
        from aigc_models import tiny_sd_pipeline

        folder = str(tiny_sd_pipeline(tmp / "pipe", sample_size=a.size // 2))
    prompts = [f"prompt {i}: a small house by a lake, evening light" for i in range(a.images)]
    gen = {"height": a.size, "width": a.size, "num_inference_steps": a.steps}

    pipe = DiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)

    def direct(out: Path) -> float:
        t0 = time.perf_counter()
        for s in range(0, len(prompts), a.batch):
            chunk = prompts[s:s + a.batch]
            with torch.inference_mode():
                images = pipe(prompt=chunk, generator=[torch.Generator("cpu").manual_seed(42) for _ in chunk],
                              **gen).images
            for j, im in enumerate(images):
                save_png(im, out / f"{s + j}.png")
        return time.perf_counter() - t0

    async def through_evs(run: Path) -> tuple[float, float]:
        cfg = TaskConfig(model=folder, datasets=["general_t2i"], model_args={**gen, "batch_size": a.batch},
                         concurrency=a.batch)
        adapter = DiffusersPipeline(cfg)
        await adapter.preflight()
        adapter.bind_run_dir(run)
        reqs = [ImageRequest(prompt=p, kind="text_to_image", dataset="general_t2i", sample_id=str(i))
                for i, p in enumerate(prompts)]
        sem = asyncio.Semaphore(a.batch)

        async def one(r):
            async with sem:
                out = await adapter.agenerate(r)
                assert out.error is None, out.error
                return out

        t0 = time.perf_counter()
        outs = await asyncio.gather(*(one(r) for r in reqs))
        made = time.perf_counter() - t0
        assert all(o.finish_reason == "generated" for o in outs)
        t0 = time.perf_counter()
        outs = await asyncio.gather(*(one(r) for r in reqs))  # a resumed run: every image is found on disk
        reused = time.perf_counter() - t0
        assert all(o.finish_reason == "reused" for o in outs)
        await adapter.aclose()
        return made, reused

    direct(tmp / "warm")  # first-call costs out of the timings
    d, e, r = [], [], []
    for k in range(a.repeats):
        d.append(direct(tmp / f"direct{k}"))
        made, reused = asyncio.run(through_evs(tmp / f"run{k}"))
        e.append(made)
        r.append(reused)
    n = len(prompts)
    dm, em, rm = statistics.median(d), statistics.median(e), statistics.median(r)
    print(f"pipeline: {folder}  images: {n}  size: {a.size}  steps: {a.steps}  batch: {a.batch}  "
          f"threads: {torch.get_num_threads()}  repeats: {a.repeats} (medians)")
    print(f"{'path':32s} {'s/image':>10s} {'images/s':>10s}")
    print(f"{'pipeline called directly':32s} {dm / n:10.4f} {n / dm:10.2f}")
    print(f"{'evs diffusers adapter':32s} {em / n:10.4f} {n / em:10.2f}")
    print(f"{'evs, resumed (images reused)':32s} {rm / n:10.4f} {n / rm:10.2f}")
    print(f"overhead of the evs path: {100 * (em / dm - 1):+.1f} %  (evs time / direct time = {em / dm:.3f})")


if __name__ == "__main__":
    main()
