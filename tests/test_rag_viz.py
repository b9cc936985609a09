"""Reports written by ``evs rag`` open in ``evs viz``'s data layer without warnings."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Embeddings(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        # a fixed 3-d vector per text: the first three letters' codes
        data = [{"index": i, "embedding": [float(ord(c)) for c in (t.strip() + "   ")[:3]]}
                for i, t in enumerate(body["input"])]
        raw = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Embeddings)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_rag_reports_open_in_viz(tmp_path, server):
    from evs_cli.main import main
    from evs_viz.data import discover

    data = tmp_path / "data"
    (data / "qrels").mkdir(parents=True)
    (data / "corpus.jsonl").write_text("".join(json.dumps({"_id": f"d{i}", "text": t}) + "\n"
                                               for i, t in enumerate(["abc", "xyz", "abd"])))
    (data / "queries.jsonl").write_text(json.dumps({"_id": "q0", "text": "abc"}) + "\n"
                                        + json.dumps({"_id": "q1", "text": "xyy"}) + "\n")
    (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td0\t1\nq1\td1\t1\n")
    sts = tmp_path / "pairs.jsonl"
    sts.write_text("".join(json.dumps({"sentence1": a, "sentence2": b, "score": s}) + "\n"
                           for a, b, s in [("abc", "abd", 4), ("abc", "xyz", 1), ("xyz", "xyw", 5)]))
    with pytest.raises(SystemExit) as exc:
        main(["rag", "--work-dir", str(tmp_path / "runs"), "mteb", "--api-url", server, "--api-model", "emb",
              "--custom-retrieval", str(data), "--custom-sts", str(sts)])
    assert exc.value.code == 0
    runs = discover(tmp_path / "runs")
    assert len(runs) == 1 and runs[0].kind == "eval"
    run = runs[0]
    assert not [n for n in run.notes if n.level == "error"]
    by_ds = {e.dataset: e for e in run.entries}
    assert set(by_ds) == {"data", "pairs"}
    for e in by_ds.values():
        assert e.report is not None and e.model_name == "emb" and e.score is not None
        assert not e.notes, [n.message for n in e.notes]
    assert by_ds["data"].metric == "ndcg_at_10" and by_ds["pairs"].metric == "cosine_spearman"
    assert by_ds["data"].score == pytest.approx(1.0)
