"""The request an image benchmark sends to an image generator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evs_core.models import Request

TEXT_TO_IMAGE = "text_to_image"
IMAGE_EDIT = "image_edit"


@dataclass
class ImageRequest(Request):
    """``prompt`` is the text; ``kind`` is ``text_to_image`` or ``image_edit`` (``input_images``:
    files of the images to edit). ``dataset`` and ``sample_id`` name the image file in the run
    folder; ``image_path`` is a pre-generated image named by the prompt row (score-only runs)."""

    dataset: str = ""
    sample_id: str = ""
    image_path: str | None = None
    input_images: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update({"dataset": self.dataset, "sample_id": self.sample_id})
        if self.image_path:
            d["image_path"] = self.image_path
        if self.input_images:
            from evs_aigc.images import describe_source

            d["input_images"] = [describe_source(s) for s in self.input_images]
        return d
