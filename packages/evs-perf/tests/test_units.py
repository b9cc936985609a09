"""Unit tests: HTTP/SSE parsing, metrics, SLO parsing, datasets and tokenizers. No network."""

from __future__ import annotations

import json
import random

import pytest
from evs_core.errors import ConfigError
from evs_perf.apis import ChatAPI, CompletionsAPI
from evs_perf.engine import Result, StreamSink
from evs_perf.http import Connection, Sink
from evs_perf.metrics import compute, percentile
from evs_perf.slo import SLO


class _Loop:
    def create_future(self):
        import asyncio

        return asyncio.get_event_loop_policy().new_event_loop().create_future()


def _sse_response(chunks, usage=True, crlf=False, raw_events=()):
    events = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + list(raw_events)
    if usage:
        events.append(b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":%d}}\n\n' % len(chunks))
    events.append(b"data: [DONE]\n\n")
    if crlf:
        events = [e.replace(b"\n", b"\r\n") for e in events]
    body = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" + body


def _feed(raw, pieces, api=None):
    """Feed a raw response to a Connection in ``pieces`` splits; returns the sink."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        conn = Connection(loop)

        class T:
            def write(self, data):
                pass

            def close(self):
                pass

            def get_extra_info(self, name):
                return None

        conn.connection_made(T())
        sink = StreamSink(api or ChatAPI({"model": "m"}))
        fut = conn.send(b"", sink)
        cuts = sorted(random.Random(len(raw)).sample(range(1, len(raw)), pieces - 1)) if pieces > 1 else []
        prev = 0
        for c in cuts + [len(raw)]:
            conn.data_received(raw[prev:c])
            prev = c
        assert fut.done(), "response not complete"
        assert fut.result() is sink
        return sink
    finally:
        loop.close()


def _chat_chunks(n, role=True):
    chunks = [{"choices": [{"delta": {"role": "assistant", "content": ""}}]}] if role else []
    return chunks + [{"choices": [{"delta": {"content": f" t{i}"}}]} for i in range(n)]


@pytest.mark.parametrize("pieces", [1, 2, 7, 50, 400])
@pytest.mark.parametrize("crlf", [False, True])
def test_chunked_sse_parsing_any_split(pieces, crlf):
    raw = _sse_response(_chat_chunks(20), crlf=crlf)
    sink = _feed(raw, min(pieces, len(raw) - 1))
    assert sink.error is None
    assert len(sink.times) == 20  # the role-only chunk is not content
    assert sink.usage == {"prompt_tokens": 3, "completion_tokens": 21}  # 20 + the role chunk counted by the helper
    assert sink.texts() == "".join(f" t{i}" for i in range(20))
    assert sink.done


def test_content_fast_path_agrees_with_json_parse():
    api = ChatAPI({"model": "m"})
    cases = [({"choices": [{"delta": {"content": "x"}}]}, True), ({"choices": [{"delta": {"content": ""}}]}, False),
             ({"choices": [{"delta": {"content": None}, "finish_reason": "stop"}]}, False),
             ({"choices": [{"delta": {"reasoning_content": "r"}}]}, True),
             ({"choices": [{"delta": {"role": "assistant"}}]}, False),
             ({"choices": [{"delta": {"content": "\"quoted\""}}]}, True)]
    for obj, expected in cases:
        raw = json.dumps(obj).encode()
        assert (api.content_re.search(raw) is not None) == expected, obj
        assert bool(api.parse_chunk(obj)[0]) == expected, obj
    assert CompletionsAPI.content_re.search(b'{"choices":[{"text":""}]}') is None


def test_malformed_and_error_events():
    raw = _sse_response(_chat_chunks(2), raw_events=[b'data: {"error": {"message": "boom"}}\n\n'])
    sink = _feed(raw, 3)
    assert sink.error == ("api_error", "error event in the stream: boom")
    bad = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + b"12\r\ndata: {not json}\n\n\r\n0\r\n\r\n"
    assert _feed(bad, 1).error[0] == "malformed"


def test_content_length_and_eof_bodies():
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        class Collect(Sink):
            def __init__(self):
                self.data = b""

            def on_body(self, data, t):
                self.data += data

        conn = Connection(loop)
        conn.connection_made(type("T", (), {"write": lambda s, d: None, "close": lambda s: None,
                                            "get_extra_info": lambda s, n: None})())
        sink = Collect()
        fut = conn.send(b"", sink)
        conn.data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhel")
        assert not fut.done()
        conn.data_received(b"lo")
        assert fut.done() and sink.data == b"hello" and conn.reusable
        sink = Collect()
        fut = conn.send(b"", sink)
        conn.data_received(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabc")
        conn.connection_lost(None)
        assert fut.done() and sink.data == b"abc" and not conn.reusable
        sink = Collect()
        fut = conn.send(b"", sink)
        conn.data_received(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab")
        conn.connection_lost(None)
        assert "in the middle of the response" in str(fut.exception())
    finally:
        loop.close()


def _result(t_start, ttft, gaps, tokens, warmup=False, ok=True):
    r = Result(0, 0, warmup)
    r.t_start = t_start
    from array import array

    times = array("d", [t_start + ttft])
    for g in gaps:
        times.append(times[-1] + g)
    r.t_first = times[0]
    r.t_end = times[-1]
    r.chunk_times = times
    r.ok = ok
    r.completion_tokens = tokens
    r.prompt_tokens = 10
    r.token_source = "usage"
    return r


def test_metric_definitions():
    # 4 tokens per chunk: 3 gaps of 8 ms, 16 tokens; TTFT 50 ms
    r = _result(100.0, 0.050, [0.008] * 3, 16)
    s, _ = compute([{"results": [r], "lags": [], "cpu": 0.0}], percentiles=[50, 99], concurrency=1, rate=None)
    assert s["median_ttft_ms"] == pytest.approx(50.0)
    assert s["median_chunk_gap_ms"] == pytest.approx(8.0)
    assert s["median_itl_ms"] == pytest.approx(2.0)  # per token
    assert s["median_tpot_ms"] == pytest.approx(24.0 / 15)  # (E2E - TTFT) / (n - 1)
    assert s["median_e2el_ms"] == pytest.approx(74.0)
    assert s["total_output_tokens"] == 16 and s["total_input_tokens"] == 10


def test_warmup_excluded_and_failures_by_kind():
    rs = [_result(0.0, 0.01, [0.001], 2, warmup=True), _result(1.0, 0.02, [0.001], 2)]
    bad = Result(2, 0, False)
    bad.t_start, bad.t_end, bad.error_kind, bad.error = 1.0, 1.5, "timeout", "no data"
    s, measured = compute([{"results": rs + [bad], "lags": [], "cpu": 0.0}], percentiles=[50], concurrency=1,
                          rate=None)
    assert s["completed"] == 1 and s["failed"] == 1 and s["warmup_requests"] == 1
    assert s["errors_by_kind"] == {"timeout": 1} and len(measured) == 2
    assert s["median_ttft_ms"] == pytest.approx(20.0)


def test_client_bound_flag():
    rs = [_result(float(i), 0.010, [0.001], 2) for i in range(5)]
    s, _ = compute([{"results": rs, "lags": [0.002] * 100, "cpu": 0.0}], percentiles=[50], concurrency=1, rate=None)
    assert s["client_bound"] and "lag" in s["client"]["client_bound_reason"]
    s, _ = compute([{"results": rs, "lags": [0.00005] * 100, "cpu": 0.0}], percentiles=[50], concurrency=1,
                   rate=None)
    assert not s["client_bound"]


def test_percentile_matches_numpy_linear():
    xs = [1, 2, 3, 4, 10]
    assert percentile(xs, 50) == 3 and percentile(xs, 90) == pytest.approx(7.6) and percentile(xs, 100) == 10


def test_slo_parsing_and_checks():
    slo = SLO("ttft_p99<=500ms, tpot_p99 <= 0.05s, request_throughput>=2")
    assert [t[1] for t in slo.terms] == ["p99_ttft_ms", "p99_tpot_ms", "request_throughput"]
    assert slo.per_request() == {"ttft": 0.5, "tpot": 0.05}
    ok, why = slo.check({"completed": 5, "failed": 0, "p99_ttft_ms": 400, "p99_tpot_ms": 60, "request_throughput": 3})
    assert not ok and why[0].startswith("tpot_p99")
    with pytest.raises(ConfigError, match="did you mean 'ttft'"):
        SLO("ttfr_p99<=5ms")


def test_random_prompts_exact_with_a_tokenizer(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["[UNK]", "<s>"])
    text = ["the quick brown fox jumps over the lazy dog " * 3, "pack my box with five dozen liquor jugs",
            "lorem ipsum dolor sit amet consectetur adipiscing elit"] * 20
    tok.train_from_iterator(text, trainer)
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    assert tokenizers is not None
    from evs_perf.datasets import RandomDataset
    from evs_perf.tokenizer import load_tokenizer

    t = load_tokenizer(str(path))
    ds = RandomDataset({"input_tokens": "20-60", "max_tokens": 8, "prefix_tokens": 5}, t)
    prompts = ds.prompts(30, random.Random(1))
    assert all(p.exact for p in prompts)
    for p in prompts:
        assert len(t.encode(p.text)) == p.input_tokens
    assert len({p.text.split(" ")[0] for p in prompts}) >= 1


def test_random_prompts_without_a_tokenizer_are_flagged_approximate():
    from evs_perf.datasets import RandomDataset

    prompts = RandomDataset({"input_tokens": 12, "max_tokens": "4-6"}, None).prompts(5, random.Random(0))
    assert all(not p.exact and len(p.text.split()) == 12 and 4 <= p.max_tokens <= 6 for p in prompts)


def test_png_is_valid():
    import zlib

    from evs_perf.datasets import png_bytes

    data = png_bytes(4, 3, random.Random(0))
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == 3 * (1 + 4 * 3)


@pytest.mark.parametrize("pieces", [1, 3])
def test_bulk_counting_edge_cases(pieces):
    chunks = _chat_chunks(3) + [{"choices": [{"delta": {"reasoning_content": "r", "content": "c"}}]},
                                {"choices": [{"delta": {"content": ""}, "finish_reason": "stop"}]}]
    sink = _feed(_sse_response(chunks), pieces)
    assert len(sink.times) == 4 and sink.error is None  # the two-field event counts once
    spaced = _sse_response([]).replace(b"", b"")  # build an all-spaced stream by hand
    events = [b'data: {"choices": [{"delta": {"content": "x"}}]}\n\n'] * 5 + [b"data: [DONE]\n\n"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    spaced = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + body
    sink = _feed(spaced, pieces)
    assert len(sink.times) == 5 and sink.texts() == "xxxxx"


def _feed_chunks(head, chunks, api=None):
    """Feed a response one HTTP chunk per read, as a live stream arrives; returns the sink."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        conn = Connection(loop)

        class T:
            def write(self, data):
                pass

            def close(self):
                pass

            def get_extra_info(self, name):
                return None

        conn.connection_made(T())
        sink = StreamSink(api or ChatAPI({"model": "m"}))
        fut = conn.send(b"", sink)
        conn.data_received(head)
        for c in chunks:
            conn.data_received(c)
        assert fut.done() and fut.result() is sink
        return sink
    finally:
        loop.close()


def test_one_chunk_per_read_agrees_with_bulk():
    # the fast paths (one whole chunk per read, one content event per chunk) against the general parser
    events = [b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n',
              b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n',
              b'data: {"choices":[{"delta":{"content":""}}]}\n\n',
              b'data: {"choices":[{"delta":{"reasoning_content":"r"}}]}\n\n',
              b'data: {"choices":[{"delta":{"content":"b\\nc"}}]}\n\n',
              b'data: {"choices":[{"delta":{"content":"d"}}],"usage":null}\n\n',
              b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n',
              b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}\n\n',
              b"data: [DONE]\n\n"]
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    chunks = [b"%x\r\n%s\r\n" % (len(e), e) for e in events] + [b"0\r\n\r\n"]
    live = _feed_chunks(head, chunks)
    whole = _feed(head + b"".join(chunks), 1)
    assert len(live.times) == len(whole.times) == 4
    assert live.texts() == whole.texts() == "arb\ncd"
    assert live.usage == whole.usage == {"prompt_tokens": 3, "completion_tokens": 4}
    assert live.error is None and live.done
    # an error event after the first token is still seen one chunk at a time
    err = [events[1], b'data: {"error":{"message":"boom"}}\n\n', b"data: [DONE]\n\n"]
    sink = _feed_chunks(head, [b"%x\r\n%s\r\n" % (len(e), e) for e in err] + [b"0\r\n\r\n"])
    assert sink.error == ("api_error", "error event in the stream: boom")
    # a chunk extension or a short chunk falls back to the exact parser
    odd = [b"%x;x=1\r\n%s\r\n" % (len(events[1]), events[1]), b"%x\r\n%s" % (len(events[3]), events[3]), b"\r\n",
           b"0\r\n\r\n"]
    sink = _feed_chunks(head, odd)
    assert len(sink.times) == 2 and sink.texts() == "ar"


def test_loop_choice():
    import asyncio
    import sys

    from evs_perf.engine import loop_factory, run_in_loop

    assert loop_factory("asyncio") == (asyncio.new_event_loop, "asyncio")
    with pytest.raises(ConfigError, match="auto, asyncio or uvloop"):
        loop_factory("trio")
    saved = sys.modules.get("uvloop")
    sys.modules["uvloop"] = None  # as if not installed
    try:
        with pytest.raises(ConfigError, match=r'pip install "evs-perf\[uvloop\]"'):
            loop_factory("uvloop")
        assert loop_factory("auto")[1] == "asyncio"
    finally:
        if saved is None:
            del sys.modules["uvloop"]
        else:
            sys.modules["uvloop"] = saved

    async def one():
        return 1

    assert run_in_loop(one(), "asyncio") == 1


def test_mock_server_times_arrival_in_the_kernel():
    import asyncio
    import sys

    from evs_perf.http import Endpoint, connect
    from evs_perf.mock_server import start_server

    async def main():
        srv, port, mock = await start_server("127.0.0.1", 0, ttft_ms=20, itl_ms=1, output_tokens=3)
        ep = Endpoint(f"http://127.0.0.1:{port}/v1/chat/completions")
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}).encode()
        try:
            conn = await connect(ep, 5)
            for _ in range(3):
                sink = StreamSink(ChatAPI({"model": "m"}))
                await conn.send(ep.request_bytes("POST", ep.path, body, {}), sink)
                assert len(sink.times) == 3
            conn.close()
        finally:
            srv.close()
        return mock.stats.as_json()

    st = asyncio.run(main())
    assert st["streams"] == 3
    assert st["arrival_clock"] == ("kernel" if sys.platform.startswith("linux") else "read")
    assert st["median_read_lag_ms"] >= 0.0
    assert st["median_ttft_ms"] >= st["median_ttft_from_read_ms"]
    assert st["median_ttft_ms"] >= 19.0  # never earlier than configured; no upper bound on a shared machine
