"""Images scored per second on the CPU: evs-aigc's learned metrics versus their reference code.

Each metric and its reference score the same images with the same weights (randomly initialised,
mid-sized models of the real architecture, built as the parity tests build them; the LPIPS trunk is
the full-size AlexNet). The reference is the package's own model code where it installs (lpips;
hpsv2's open_clip CLIP; image-reward's BLIP ViT and BERT) with its preprocessing re-expressed where
that needs torchvision, and called the way the reference calls it (hpsv2 and ImageReward one image
per forward pass). Prints images/s for both and evs/reference (goal: at least 0.95).

    python tools/bench/aigc_learned_metrics_speed.py --n 16 --repeat 3 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packages" / "evs-aigc" / "tests"))
sys.path.insert(0, str(ROOT / "packages" / "evs-aigc" / "src"))

HPS_CFG = {
    "embed_dim": 256,
    "vision_cfg": {"image_size": 224, "layers": 6, "width": 384, "head_width": 64, "patch_size": 14},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 256, "heads": 4, "layers": 6},
}
IR_VISION = dict(img_size=224, patch_size=16, embed_dim=384, depth=6, num_heads=6)


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(name: str, n: int, ours: float, ref: float) -> None:
    print(f"{name:<14} {n / ours:9.2f} {n / ref:12.2f} {ref / ours:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="images per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--metrics", nargs="*", default=["lpips", "hpsv2", "image_reward"])
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import aigc_tiny

    images = aigc_tiny.images(args.n)
    prompts = [aigc_tiny.PROMPTS[i % len(aigc_tiny.PROMPTS)] for i in range(args.n)]
    print(f"{args.n} images, median of {args.repeat}, {args.threads} threads, torch {torch.__version__}")
    print(f"{'metric':<14} {'evs img/s':>9} {'reference':>12} {'evs/ref':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "lpips" in args.metrics:
            import test_metric_lpips as t
            from evs_aigc.metrics.lpips import LPIPS

            ref = t.load_reference()
            metric = LPIPS(weights=str(t.weights_folder(tmp / "lpips", ref, "alex")))
            refs = [im.transpose(0) for im in images]  # a mirrored copy as the reference image

            def run_ref():
                with torch.no_grad():
                    for a, b in zip(images, refs, strict=True):
                        float(ref[0]["alex"](*t.evalscope_inputs(a, b)).mean())

            report("lpips", args.n, timed(lambda: metric.score(images, references=refs), args.repeat),
                   timed(run_ref, args.repeat))
        if "hpsv2" in args.metrics:
            import test_metric_hpsv2 as t
            from evs_aigc.metrics.hpsv2 import HPSv2

            (tmp / "tok").mkdir()
            ref = t.load_reference(tmp / "tok")
            folder, model = t.hps_folder(tmp / "hps", ref, "HPS_v2_compressed.pt", seed=0, cfg=HPS_CFG)
            metric = HPSv2(weights=str(folder))
            report("hpsv2", args.n, timed(lambda: metric.score(images, prompts), args.repeat),
                   timed(lambda: t.reference_scores(ref, model, images, prompts), args.repeat))
        if "image_reward" in args.metrics:
            import test_metric_imagereward as t
            from evs_aigc.metrics.imagereward import ImageReward

            ref = t.load_reference()
            visual, text, mlp = t.build(ref, tmp / "ir", vision=IR_VISION, text_width=256, text_layers=6)
            metric = ImageReward(weights=str(tmp / "ir"))
            report("image_reward", args.n, timed(lambda: metric.score(images, prompts), args.repeat),
                   timed(lambda: t.reference_scores(tmp / "ir", visual, text, mlp, images, prompts), args.repeat))


if __name__ == "__main__":
    main()
