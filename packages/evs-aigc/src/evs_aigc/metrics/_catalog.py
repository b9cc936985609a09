"""Registered image metrics: name -> lazy target ("module:Class"). Plain data, nothing imported."""

METRICS = {
    "clip_score": "evs_aigc.metrics.clip_score:CLIPScore",
    "psnr": "evs_aigc.metrics.psnr_ssim:PSNR",
    "ssim": "evs_aigc.metrics.psnr_ssim:SSIM",
    "fid": "evs_aigc.metrics.fid:FID",
    "kid": "evs_aigc.metrics.fid:KID",
    "pickscore": "evs_aigc.metrics.pickscore:PickScore",
    "hpsv2": "evs_aigc.metrics.hpsv2:HPSv2",
    "hpsv2.1": "evs_aigc.metrics.hpsv2:HPSv21",
    "image_reward": "evs_aigc.metrics.imagereward:ImageReward",
    "lpips": "evs_aigc.metrics.lpips:LPIPS",
    "mps": "evs_aigc.metrics.mps:MPS",
    "vqascore": "evs_aigc.metrics.vqascore:VQAScore",
    "blipv2": "evs_aigc.metrics.blipv2:BLIPv2Score",
    "fga_blip2": "evs_aigc.metrics.fga_blip2:FGABLIP2",
}
