"""Image requests through the OpenAI adapter against a local server, versus the physical limit.

A minimal OpenAI-compatible server (its own process, on 127.0.0.1, asyncio) reads each request
whole without parsing it and answers after exactly L seconds, so N requests at concurrency C cannot finish faster than N·L/C. For images of
0.5, 2 and 8 megapixels (photo-like JPEG files on disk, sent as base64 data URLs) it prints the
median wall time of ``--repeat`` runs, requests per second, the ratio wall/limit (1.0 = no
client overhead) and the MB sent per second; then the encoding cost of one image per request
(read + check + base64; a resize to 1 MP; a PNG re-encode), uncached and from the adapter's cache.

    python tools/bench/vlm_images.py --n 64 --latency 0.05 --concurrency 1 8 32 --mp 0.5 2 8
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = """
import asyncio, json, sys
LAT = float(sys.argv[1])
BODY = json.dumps({"id": "x", "object": "chat.completion", "model": "m", "choices": [{"index": 0, "message":
    {"role": "assistant", "content": "ANSWER: A"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}).encode()
MODELS = b'{"object": "list", "data": [{"id": "m"}]}'

async def handle(reader, writer):
    # Reads each request whole without parsing its JSON: the figures are the client's cost.
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            body = MODELS if head.startswith(b"GET") else BODY
            if not head.startswith(b"GET"):
                await asyncio.sleep(LAT)
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: "
                         + str(len(body)).encode() + b"\\r\\n\\r\\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024, limit=1 << 16)
    print(f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/v1", flush=True)
    await srv.serve_forever()

asyncio.run(main())
"""

def make_image(path: Path, megapixels: float) -> Path:
    import numpy as np
    from PIL import Image

    w = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = int(w * 3 / 4)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255 // max(w, 1)), (y * 255 // max(h, 1)), ((x + y) * 127 // max(w + h, 1))], -1)
    noise = rng.integers(-24, 24, size=(h, w, 3))
    Image.fromarray(np.clip(base + noise, 0, 255).astype("uint8")).save(path, format="JPEG", quality=90)
    return path


def run_once(url: str, image: Path, n: int, c: int, model_args: dict) -> tuple[float, int]:
    from evs_core.config import make_config
    from evs_core.images import _CACHE, image_part
    from evs_core.models import OpenAIAPIModel, Request

    _CACHE._d.clear()
    cfg = make_config({"model": "m", "api_url": url, "datasets": ["x"], "concurrency": c, "retries": 0,
                       "timeout": 120, "model_args": model_args})
    model = OpenAIAPIModel(cfg)
    req = Request(messages=[{"role": "user", "content": [{"type": "text", "text": "Which colour?"},
                                                         image_part(str(image))]}])

    async def go():
        sem = asyncio.Semaphore(c)
        errors = 0

        async def one():
            nonlocal errors
            async with sem:
                out = await model.agenerate(req)
                errors += out.error is not None

        t0 = time.perf_counter()
        try:
            await asyncio.gather(*(one() for _ in range(n)))
        finally:
            await model.aclose()
        return time.perf_counter() - t0, errors

    return asyncio.run(go())


def encode_cost(image: Path, repeat: int) -> dict[str, tuple[float, float]]:
    from evs_core.images import _CACHE, ImageOptions, encode_messages, image_part

    msgs = [{"role": "user", "content": [image_part(str(image))]}]
    out = {}
    for label, opts in (("as is", ImageOptions()), ("resize to 1 MP", ImageOptions(max_pixels=1_000_000)),
                        ("re-encode PNG", ImageOptions(format="png"))):
        cold, warm = [], []
        for _ in range(repeat):
            _CACHE._d.clear()
            t0 = time.perf_counter()
            encode_messages(msgs, opts)
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            encode_messages(msgs, opts)
            warm.append(time.perf_counter() - t0)
        out[label] = (statistics.median(cold) * 1e3, statistics.median(warm) * 1e3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64, help="requests per run")
    ap.add_argument("--latency", type=float, default=0.05, help="server seconds per request")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--mp", type=float, nargs="+", default=[0.5, 2.0, 8.0], help="image sizes in megapixels")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.latency)], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            print(f"server latency {args.latency * 1e3:.0f} ms, {args.n} requests per run, median of {args.repeat}")
            print(f"{'image':>14} {'conc':>5} {'wall s':>8} {'limit s':>8} {'ratio':>6} {'req/s':>7} {'MB/s':>7}")
            for mp in args.mp:
                img = make_image(Path(tmp) / f"img_{mp}.jpg", mp)
                size_mb = img.stat().st_size * 4 / 3 / 1e6  # base64 on the wire
                for c in args.concurrency:
                    n = args.n if c > 1 else max(8, args.n // 8)
                    walls = []
                    for _ in range(args.repeat):
                        wall, errors = run_once(url, img, n, c, {})
                        assert errors == 0, f"{errors} failed requests"
                        walls.append(wall)
                    wall = statistics.median(walls)
                    limit = n * args.latency / c
                    print(f"{mp:>5.1f} MP {img.stat().st_size / 1e6:4.1f}MB {c:>5} {wall:>8.3f} {limit:>8.3f} "
                          f"{wall / limit:>6.2f} {n / wall:>7.1f} {n * size_mb / wall:>7.1f}")
            print("\nencoding one image per request (ms, median): uncached / cached")
            for mp in args.mp:
                img = Path(tmp) / f"img_{mp}.jpg"
                costs = encode_cost(img, args.repeat)
                print(f"{mp:>5.1f} MP  " + "  ".join(f"{k}: {a:.1f} / {b:.2f}" for k, (a, b) in costs.items()))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
