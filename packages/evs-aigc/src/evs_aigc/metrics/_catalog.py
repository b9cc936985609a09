"""Image metrics by name (lazy targets; nothing here imports torch)."""

METRICS = {
    "pickscore": "evs_aigc.metrics.pickscore:PickScore",
    "hpsv2": "evs_aigc.metrics.hpsv2:HPSv2",
    "hpsv2.1": "evs_aigc.metrics.hpsv2:HPSv21",
    "image_reward": "evs_aigc.metrics.imagereward:ImageReward",
    "lpips": "evs_aigc.metrics.lpips:LPIPS",
    "mps": "evs_aigc.metrics.mps:MPS",
}
