"""Images in requests: encoding, limits and resizing, bad images failing one sample with a one-line
cause, endpoints that refuse images, and media stored once per run."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import pytest
from evs_core.images import (
    ImageError,
    ImageOptions,
    MediaStore,
    encode_messages,
    image_part,
    interleave,
    resolve_media,
    target_size,
)
from evs_core.models import OpenAIAPIModel, Request
from evs_core.testing import FakeOpenAIServer
from helpers import color_of, first_color, make_config, png, request_images
from PIL import Image


def msg(*parts):
    return [{"role": "user", "content": [{"type": "text", "text": "What colour?"}, *parts]}]


def decoded(url):
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_target_size_keeps_aspect_and_limits():
    assert target_size(4000, 2000, 2_000_000, None) == (2000, 1000)
    w, h = target_size(1001, 999, 10_000, None)
    assert w * h <= 10_000 and abs(w / h - 1001 / 999) < 0.02
    assert target_size(300, 100, None, 150) == (150, 50)
    assert target_size(30, 10, 1000, 100) == (30, 10)


def test_local_file_is_sent_as_data_url_resized(tmp_path):
    p = tmp_path / "big.png"
    p.write_bytes(png("blue", size=(400, 200)))
    out = encode_messages(msg(image_part(str(p))), ImageOptions(max_pixels=20_000))
    url = out[0]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    img = decoded(url)
    assert img.size == (200, 100) and color_of(img) == "blue"
    # under the limit: the original bytes travel untouched
    same = encode_messages(msg(image_part(str(p))), ImageOptions())
    assert base64.b64decode(same[0]["content"][1]["image_url"]["url"].split(",", 1)[1]) == p.read_bytes()


def test_format_and_detail_options(tmp_path):
    p = tmp_path / "a.png"
    p.write_bytes(png("red"))
    out = encode_messages(msg(image_part(str(p))), ImageOptions(format="jpeg", detail="low"))
    part = out[0]["content"][1]["image_url"]
    assert part["url"].startswith("data:image/jpeg;base64,") and part["detail"] == "low"
    assert decoded(part["url"]).format == "JPEG"


@pytest.mark.parametrize("setup,pattern", [
    (lambda d: str(d / "missing.png"), r"image 1: image file not found: .*missing.png"),
    (lambda d: (d / "bad.png").write_bytes(b"not an image") and str(d / "bad.png"), r"image 1: cannot decode image .*bad.png"),
    (lambda d: str(d), r"image 1: image path is a folder"),
])
def test_bad_images_raise_one_line(tmp_path, setup, pattern):
    with pytest.raises(ImageError, match=pattern) as exc:
        encode_messages(msg(image_part(setup(tmp_path))), ImageOptions())
    assert "\n" not in str(exc.value)


def test_over_the_endpoint_limit(tmp_path):
    import random

    rnd = random.Random(0)
    img = Image.frombytes("RGB", (300, 300), bytes(rnd.randrange(256) for _ in range(300 * 300 * 3)))
    p = tmp_path / "noise.png"
    img.save(p)
    with pytest.raises(ImageError, match=r"image 1: image of 300x300 is .* over the endpoint limit of 10.0 kB"):
        encode_messages(msg(image_part(str(p))), ImageOptions(max_bytes=10_000))
    # shrinking makes it fit
    out = encode_messages(msg(image_part(str(p))), ImageOptions(max_bytes=10_000, max_side=40))
    assert decoded(out[0]["content"][1]["image_url"]["url"]).size == (40, 40)


def test_remote_url_forwarded_or_refused():
    part = image_part("https://example.com/cat.png")
    assert encode_messages(msg(part), ImageOptions())[0]["content"][1] == part
    with pytest.raises(ImageError, match="evs never downloads images"):
        encode_messages(msg(part), ImageOptions(url_mode="base64"))


def test_bad_image_option_is_a_config_error():
    from evs_core.errors import ConfigError

    with pytest.raises(ConfigError, match="model_args.image_max_pixels must be a positive number"):
        ImageOptions.from_model_args({"image_max_pixels": -3})
    with pytest.raises(ConfigError, match="image_format must be keep, png, jpeg or webp"):
        ImageOptions.from_model_args({"image_format": "tiff"})


def test_interleave_places_images_at_marks():
    parts = interleave("See <image 2> then <image 1>.", {1: b"\x89PNG\r\n\x1a\nxx", 2: "/x/two.png", 3: "/x/three.png"})
    kinds = [(p["type"], p.get("text") or p["image_url"]["url"][:15]) for p in parts]
    assert kinds == [("text", "See "), ("image_url", "/x/two.png"), ("text", " then "),
                     ("image_url", "data:image/png;"), ("text", "."), ("image_url", "/x/three.png")]


def _ask(url, messages, **model_args):
    cfg = make_config(url, ["x"], model_args=model_args)
    model = OpenAIAPIModel(cfg)

    async def go():
        try:
            return await model.agenerate(Request(messages=messages))
        finally:
            await model.aclose()

    return asyncio.run(go())


def test_adapter_sends_images_and_records_image_errors(tmp_path):
    good = tmp_path / "g.png"
    good.write_bytes(png("green", size=(100, 100)))
    with FakeOpenAIServer(lambda b: first_color(b)) as srv:
        out = _ask(srv.url, msg(image_part(str(good))), image_max_side=50)
        assert out.error is None and out.text == "green"
        assert request_images(srv.requests[0])[0].size == (50, 50)
        out = _ask(srv.url, msg(image_part(str(tmp_path / "nope.png"))))
        assert out.error.startswith("ImageError: image 1: image file not found") and len(srv.requests) == 1
        out = _ask(srv.url, msg(image_part(str(good))), supports_images=False)
        assert out.error.startswith("ImageUnsupported: the request has 1 image(s)")
        assert len(srv.requests) == 1  # nothing was sent for the failed ones


def test_endpoint_refusing_images_is_named():
    def reject(body):
        has = any(isinstance(m["content"], list) for m in body["messages"])
        return "This model does not support image input" if has else None

    with FakeOpenAIServer(lambda b: "ok", reject=reject) as srv:
        out = _ask(srv.url, msg(image_part(png("red"))))
        assert out.error.startswith("ImageRejected: the endpoint refused the request's 1 image(s) (HTTP 400:")
        assert "\n" not in out.error
        assert _ask(srv.url, [{"role": "user", "content": "hi"}]).text == "ok"


def test_media_store_writes_each_image_once(tmp_path):
    store = MediaStore(tmp_path / "media")
    data = png("yellow")
    m = [{"role": "user", "content": [image_part(data), image_part(data), {"type": "text", "text": "t"}]}]
    out = store.externalize(m)
    refs = [p["image_url"]["url"] for p in out[0]["content"] if p["type"] == "image_url"]
    assert refs[0] == refs[1] and refs[0].startswith("media/") and refs[0].endswith(".png")
    assert [p.name for p in (tmp_path / "media").iterdir()] == [refs[0].split("/")[1]]
    assert (tmp_path / "media" / refs[0].split("/")[1]).read_bytes() == data
    assert resolve_media(refs[0], tmp_path) == str(tmp_path / refs[0])


def test_predictions_reference_media_instead_of_base64(tmp_path):
    from evs_core.outputs import JsonlAppender, atomic_write_jsonl
    from evs_core.schema import ModelOutput, Prediction

    data = png("red")
    pred = Prediction(sample_id="s1", request={"kind": "generate", "messages": msg(image_part(data))},
                      output=ModelOutput(text="red"))
    path = tmp_path / "run" / "predictions" / "m" / "b.jsonl"
    w = JsonlAppender(path)
    w.write(pred)
    w.write(pred.model_copy(update={"sample_id": "s2"}))
    w.close()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    url = lines[0]["request"]["messages"][0]["content"][1]["image_url"]["url"]
    assert url.startswith("media/") and "base64" not in path.read_text()
    assert len(list((tmp_path / "run" / "media").iterdir())) == 1
    Prediction.model_validate(lines[1])  # still a valid prediction line
    atomic_write_jsonl(path, [Prediction.model_validate(x) for x in lines])  # a resume rewrite keeps the refs
    assert "base64" not in path.read_text()


def test_request_body_splices_images_but_stays_valid_json():
    from evs_core.models import json_with_images

    body = {"model": "m", "max_tokens": 4, "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": 'quote " and é'},
                                     image_part(png("red")),
                                     {"type": "image_url", "image_url": {"url": 'data:image/png;base64,A"B\\C\n'}}]}]}
    raw = json_with_images(body)
    assert json.loads(raw) == body  # an unsafe data URL goes through the JSON encoder instead
