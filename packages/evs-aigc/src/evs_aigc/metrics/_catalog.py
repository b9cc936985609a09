"""Registered image metrics: name -> lazy target ("module:Class"). Plain data, nothing imported."""

METRICS = {
    "clip_score": "evs_aigc.metrics.clip_score:CLIPScore",
    "psnr": "evs_aigc.metrics.psnr_ssim:PSNR",
    "ssim": "evs_aigc.metrics.psnr_ssim:SSIM",
    "fid": "evs_aigc.metrics.fid:FID",
    "kid": "evs_aigc.metrics.fid:KID",
}
