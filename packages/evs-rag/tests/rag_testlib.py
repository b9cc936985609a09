"""Test helpers for evs-rag: a fake OpenAI-compatible server on 127.0.0.1, toy data, retrieval
metrics written from their definitions, and running ``evs`` in-process."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FakeServer:
    """A threaded HTTP server: ``routes[path](body) -> (status, json)``; every request is logged."""

    def __init__(self):
        self.routes = {}
        self.requests: list[tuple[str, dict, dict]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                with outer.lock:
                    outer.requests.append((self.path, body, dict(self.headers)))
                fn = outer.routes.get(self.path)
                status, obj = (404, {"error": "no route"}) if fn is None else fn(body)
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            request_queue_size = 64

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def embeddings_route(vector_of):
    """A /v1/embeddings handler returning ``vector_of(text)`` for each input."""

    def route(body):
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return 200, {"object": "list", "model": body.get("model"),
                     "data": [{"object": "embedding", "index": i, "embedding": [float(x) for x in vector_of(t)]}
                              for i, t in enumerate(inputs)],
                     "usage": {"prompt_tokens": 0, "total_tokens": 0}}

    return route


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


TOY_CORPUS = {
    "d1": "The cat sat on the mat by the door.",
    "d2": "Car engines burn fuel to move pistons.",
    "d3": "Bananas are yellow fruit rich in potassium.",
    "d4": "Kittens are young cats that love to play.",
    "d5": "The stock market fell sharply on Monday.",
    "d6": "Electric cars use batteries instead of engines.",
}
TOY_QUERIES = {
    "q1": "Where did the cat sit?",
    "q2": "How does a car engine work?",
    "q3": "Which fruit contains potassium?",
    "q4": "What happened to stocks?",
}
TOY_QRELS = {"q1": {"d1": 1, "d4": 1}, "q2": {"d2": 1, "d6": 1}, "q3": {"d3": 1}, "q4": {"d5": 1, "d2": 1}}




def run_evs(capsys, *argv) -> tuple[int, str, str]:
    from evs_cli.main import main

    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def reports(work_dir: Path) -> dict[tuple[str, str], dict]:
    out = {}
    for p in Path(work_dir).glob("*/reports/*/*.json"):
        d = json.loads(p.read_text())
        out[(p.parent.name, p.stem)] = d
    return out


def one_report(work_dir: Path) -> dict:
    r = reports(work_dir)
    assert len(r) == 1, r.keys()
    return next(iter(r.values()))


# --- retrieval metrics written from their definitions (binary or graded relevance, linear gain) ---

def ndcg_at(ranking: list[str], rel: dict[str, int], k: int) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def ap_at(ranking: list[str], rel: dict[str, int], k: int) -> float:
    hits, total = 0, 0.0
    for i, d in enumerate(ranking[:k]):
        if rel.get(d, 0) > 0:
            hits += 1
            total += hits / (i + 1)
    n_rel = sum(1 for v in rel.values() if v > 0)
    return total / n_rel if n_rel else 0.0


def recall_at(ranking: list[str], rel: dict[str, int], k: int) -> float:
    n_rel = sum(1 for v in rel.values() if v > 0)
    return sum(1 for d in ranking[:k] if rel.get(d, 0) > 0) / n_rel


def mrr_at(ranking: list[str], rel: dict[str, int], k: int) -> float:
    for i, d in enumerate(ranking[:k]):
        if rel.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs)
