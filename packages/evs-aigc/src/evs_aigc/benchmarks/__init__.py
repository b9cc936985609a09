"""evs-aigc's benchmarks: text-to-image prompt sets (:mod:`.t2i`) and image editing (:mod:`.gedit`)."""
