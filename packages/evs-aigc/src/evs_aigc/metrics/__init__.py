"""Image metrics: one class per metric on :class:`evs_aigc.metrics.base.ImageMetric`, registered by
name in :mod:`evs_aigc.metrics._catalog` (lazy targets)."""
