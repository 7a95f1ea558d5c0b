"""The HTTP server on loopback: results equal the library's, no cross-talk between many
concurrent clients, and every limit and fault answered with its status code."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time

import pytest
import requests
from PIL import Image

from duguang_ocr.recognizer import results_to_json
from duguang_ocr.serve.config import ServeConfig
from tests.helpers import render
from tests.test_hardening import bomb_png

from .conftest import FakeRecognizer, running


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def solid(width: int, value: int) -> bytes:
    """A PNG the fake recognizer reads as f"{width}x8:{value}"."""
    return encode(Image.new("RGB", (width, 8), (value, value, value)))


def post(url: str, images: list[bytes], kind: str = "multipart", options: dict | None = None,
         **kw) -> requests.Response:
    """POST images as a multipart form, one raw body, or base64 JSON."""
    if kind == "multipart":
        files = [("file", (f"{i}.png", d, "image/png")) for i, d in enumerate(images)]
        data = {"options": json.dumps(options)} if options else None
        return requests.post(url + "/v1/recognize", files=files, data=data, timeout=60, **kw)
    if kind == "raw":
        (body,) = images
        return requests.post(url + "/v1/recognize", data=body, params=options, timeout=60,
                             headers={"Content-Type": "image/png", **kw.pop("headers", {})},
                             **kw)
    payload = {"images": [base64.b64encode(d).decode() for d in images],
               "options": options or {}}
    return requests.post(url + "/v1/recognize", json=payload, timeout=60, **kw)


def metric(url: str, name: str, **headers) -> float:
    for line in requests.get(url + "/metrics", headers=headers, timeout=30).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    raise KeyError(name)


# ------------------------------------------------------------ a real (tiny) model
LINES = [f"{i:02d} {w}" for i, w in enumerate(
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
    "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
    "zulu 你好 世界 中文 识别 Hello World".split())]


@pytest.fixture(scope="module")
def real(tiny_model_dir):
    """A random-weight ConvNextViT (fast; the server does not care what the model reads)
    behind a server that waits 50 ms to fill batches of 16 lines."""
    config = ServeConfig(model=str(tiny_model_dir), max_batch=16, max_wait_ms=50, queue=512)
    with running(config) as app:
        yield app


def test_many_concurrent_clients_each_get_exactly_their_own_lines(real):
    """64 clients at once, 1-3 lines each, mixed body kinds: every answer equals what the
    library returns for those lines alone, in order (and batches did mix requests)."""
    images = [encode(render(t)) for t in LINES]
    rec = real.state.server.batcher.recognizer
    expected = results_to_json(rec.recognize(images))
    signatures = {(e["text"], e["confidence"], tuple(e["char_positions"])) for e in expected}
    assert len(signatures) == len(LINES)  # every line's result tells it apart
    jobs = []
    for k in range(64):
        idx = [(k * 7 + j * 5) % len(LINES) for j in range(k % 3 + 1)]
        jobs.append((idx, ("multipart", "json", "raw")[k % 3] if len(idx) == 1 else
                     ("multipart", "json")[k % 2]))
    barrier = threading.Barrier(len(jobs))
    answers: dict[int, requests.Response] = {}

    def client(k: int) -> None:
        idx, kind = jobs[k]
        barrier.wait()
        answers[k] = post(real.url, [images[i] for i in idx], kind)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(jobs))]
    batches_before = metric(real.url, "duguang_ocr_batch_size_count")
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, (idx, _) in enumerate(jobs):
        assert answers[k].status_code == 200, answers[k].text
        got = answers[k].json()["results"]
        assert [g["text"] for g in got] == [expected[i]["text"] for i in idx]
        for g, i in zip(got, idx):
            assert g["char_positions"] == pytest.approx(expected[i]["char_positions"], abs=0.01)
            assert g["confidence"] == pytest.approx(expected[i]["confidence"], abs=1e-3)
    lines = sum(len(idx) for idx, _ in jobs)
    batches = metric(real.url, "duguang_ocr_batch_size_count") - batches_before
    assert batches < len(jobs) / 2, "requests were not batched together"
    assert metric(real.url, "duguang_ocr_lines_total") >= lines


def test_options_pass_through_and_skip_mode(real):
    img = encode(render("beam search"))
    greedy = post(real.url, [img], "raw").json()["results"][0]
    beam = post(real.url, [img], "raw", options={"beam": 4}).json()["results"][0]
    rec = real.state.server.batcher.recognizer
    assert beam["text"] == rec.recognize(img, beam_width=4).text
    assert greedy["text"] == rec.recognize(img).text
    r = post(real.url, [img, b"junk", img], "json", options={"errors": "skip"})
    assert r.status_code == 200
    out = r.json()["results"]
    assert out[0]["text"] == out[2]["text"] == greedy["text"]
    assert out[1]["text"] == "" and "not an image file" in out[1]["error"]
    r = post(real.url, [img], "json", options={"no_such_option": 1})
    assert r.status_code == 400 and "no_such_option" in r.json()["error"]


def test_decoding_options_match_the_library(real):
    """Every option of Recognizer.recognize reaches it, through all three body kinds;
    the library's own checks answer 400; a lexicon can never be a server-side path."""
    rec = real.state.server.batcher.recognizer
    img = encode(render("AB 123"))
    cases = [{"alternatives": 2}, {"allowed_chars": "0123456789 "},
             {"pattern": r"[A-Z]{2} \d{3}"}, {"lexicon": ["AB 123", "CD 456"]},
             {"spaces": "none", "punctuation": "full"}, {"blocked_chars": "AB"}]
    for options in cases:
        want = results_to_json([rec.recognize(img, **options)])[0]
        for kind in ("json", "multipart"):
            got = post(real.url, [img], kind, options=options).json()["results"][0]
            assert got["text"] == want["text"], (options, kind)
            assert got.get("constraint_met") == want.get("constraint_met")
            if "alternatives" in want:  # the characters; probabilities to 1e-3
                for g, w in zip(got["alternatives"], want["alternatives"], strict=True):
                    assert [c for c, _ in g] == [c for c, _ in w]
                    assert [p for _, p in g] == pytest.approx([p for _, p in w], abs=1e-3)
    raw = post(real.url, [img], "raw", options={"allowed_chars": "0123456789 "}).json()
    assert raw["results"][0]["text"] == rec.recognize(img, allowed_chars="0123456789 ").text
    for options, match in [({"pattern": "[A-Z"}, "unterminated character class"),
                           ({"spaces": "sometimes"}, "spaces must be one of"),
                           ({"lexicon": "/etc/passwd"}, "lexicon: Input should be a valid list"),
                           ({"alternatives": 1000}, "less than or equal to 20"),
                           ({"pattern": "x" * 600}, "at most 512 characters")]:
        r = post(real.url, [img], "json", options=options)
        assert r.status_code == 400 and match in r.json()["error"], (options, r.text)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_bad_requests_get_clear_4xx(real):
    url = real.url + "/v1/recognize"
    r = post(real.url, [solid(10, 1), bomb_png(10_000, 10_000)])
    assert r.status_code == 413
    assert r.json()["error"].startswith("file '1.png': bytes (")
    assert "exceeds the limit of 50000000 (a decompression-bomb guard" in r.json()["error"]
    r = requests.post(url, data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "bad JSON body" in r.json()["error"]
    r = requests.post(url, data=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "text/plain" in r.json()["error"]
    r = requests.post(url, data=b"hello", headers={"Content-Type": ""})
    assert r.status_code == 415
    r = requests.post(url, data=b"GIF89a-broken", headers={"Content-Type": "image/gif"})
    assert r.status_code == 400 and r.json()["error"].startswith("body: bytes (13 B)")
    r = requests.post(url, data={"name": "x"}, files={"f": ("a.png", solid(5, 1))})
    assert r.status_code == 400 and "unexpected form field 'name'" in r.json()["error"]
    r = requests.post(url, data=b"--B\r\nbroken", headers={
        "Content-Type": "multipart/form-data; boundary=B"})
    assert r.status_code == 400
    assert requests.get(url).status_code == 405
    assert post(real.url, [encode(render("still fine"))]).status_code == 200


def test_health_ready_metrics(real):
    assert requests.get(real.url + "/healthz").json() == {"status": "ok"}
    ready = requests.get(real.url + "/readyz").json()
    rec = real.state.server.batcher.recognizer
    assert ready["status"] == "ready" and ready["model"] == repr(rec)
    assert {"beam_width", "pattern", "lexicon"} <= set(ready["options"])
    text = requests.get(real.url + "/metrics").text
    for name in ("duguang_ocr_requests_total", "duguang_ocr_lines_total",
                 "duguang_ocr_batch_size_bucket", "duguang_ocr_queue_depth",
                 "duguang_ocr_request_seconds_bucket", "duguang_ocr_inflight_requests"):
        assert name in text


# ------------------------------------------------------------------- fake recognizers
def test_queue_full_is_503_with_retry_after_and_admitted_requests_are_right():
    rec = FakeRecognizer(gate=threading.Event())
    with running(ServeConfig(max_batch=2, queue=4, max_wait_ms=0), lambda: rec) as app:
        out: dict[str, requests.Response] = {}
        first = threading.Thread(target=lambda: out.update(a=post(app.url, [solid(3, 1)] * 2)))
        first.start()
        assert rec.entered.wait(10)  # the worker holds the first request's 2 lines
        second = threading.Thread(target=lambda: out.update(b=post(app.url, [solid(4, 2)] * 4)))
        second.start()
        deadline = time.monotonic() + 10
        while app.state.server.batcher.queued_lines < 4:  # the second fills the queue
            assert time.monotonic() < deadline
            time.sleep(0.01)
        full = post(app.url, [solid(5, 3)])
        assert full.status_code == 503
        assert int(full.headers["Retry-After"]) >= 1 and "queue full" in full.json()["error"]
        too_many = post(app.url, [solid(5, 3)] * 5, "json")
        assert too_many.status_code == 413 and "at most 4" in too_many.json()["error"]
        rec.gate.set()
        first.join()
        second.join()
        assert [r["text"] for r in out["a"].json()["results"]] == ["3x8:1"] * 2
        assert [r["text"] for r in out["b"].json()["results"]] == ["4x8:2"] * 4
        assert metric(app.url, 'duguang_ocr_requests_total{code="503"}') == 1


def test_timeout_answers_504_and_drops_the_queued_job():
    rec = FakeRecognizer(gate=threading.Event())
    with running(ServeConfig(max_batch=1, timeout=0.5, max_wait_ms=0), lambda: rec) as app:
        blocked = threading.Thread(target=post, args=(app.url, [solid(3, 1)]))
        blocked.start()  # times out inside the model call
        assert rec.entered.wait(10)
        r = post(app.url, [solid(4, 1)])  # times out while queued
        assert r.status_code == 504 and "no result within 0.5 s" in r.json()["error"]
        rec.gate.set()
        blocked.join()
        assert metric(app.url, "duguang_ocr_cancelled_jobs_total") >= 1
        assert [n for n, _ in rec.calls] == [1]  # the queued one never ran
        assert post(app.url, [solid(6, 2)]).json()["results"][0]["text"] == "6x8:2"


def raw_exchange(port: int, head: bytes, parts: list[bytes], pause: float = 0.0,
                 close: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        for p in parts:
            try:
                s.sendall(p)
            except OSError:
                break
            time.sleep(pause)
        if close:
            return b""
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data


def port_of(app) -> int:
    return int(app.url.rsplit(":", 1)[1])


def test_slow_body_gets_408_while_others_are_served():
    rec = FakeRecognizer()
    with running(ServeConfig(timeout=0.6), lambda: rec) as app:
        body = solid(7, 1)
        head = (b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        out = {}
        t = threading.Thread(target=lambda: out.update(a=raw_exchange(
            port_of(app), head, [body[i : i + 4] for i in range(0, len(body), 4)], 0.1)))
        t.start()
        time.sleep(0.2)
        assert post(app.url, [solid(8, 1)]).status_code == 200  # not blocked meanwhile
        t.join()
        assert out["a"].startswith(b"HTTP/1.1 408")
        assert b"not received within 0.6 s" in out["a"]


def test_client_leaving_while_queued_drops_its_job():
    rec = FakeRecognizer(gate=threading.Event())
    with running(ServeConfig(max_batch=1, max_wait_ms=0), lambda: rec) as app:
        blocked = threading.Thread(target=post, args=(app.url, [solid(3, 1)]))
        blocked.start()
        assert rec.entered.wait(10)
        body = solid(9, 9)
        head = (b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        raw_exchange(port_of(app), head, [body], close=True)
        deadline = time.monotonic() + 10
        while metric(app.url, "duguang_ocr_cancelled_jobs_total") < 1:
            assert time.monotonic() < deadline, "the left job was not dropped"
            time.sleep(0.05)
        # and a client gone mid-body never reaches the queue
        raw_exchange(port_of(app), head, [body[:10]], close=True)
        rec.gate.set()
        blocked.join()
        assert post(app.url, [solid(4, 4)]).json()["results"][0]["text"] == "4x8:4"
        assert [n for n, _ in rec.calls] == [1, 1]


def test_token_on_every_route_but_healthz():
    rec = FakeRecognizer()
    with running(ServeConfig(token="s3cret"), lambda: rec) as app:
        good = {"Authorization": "Bearer s3cret"}
        assert requests.get(app.url + "/healthz").status_code == 200
        for path in ("/readyz", "/metrics"):
            assert requests.get(app.url + path).status_code == 401
            assert requests.get(app.url + path, headers=good).status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"},
                        {"Authorization": "Basic s3cret"}, {"Authorization": "Bearer s3cre"},
                        {"Authorization": "Bearer s3cret2"}):
            r = post(app.url, [solid(3, 1)], headers=headers)
            assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert rec.calls == []
        for scheme in ("Bearer", "bearer"):  # the scheme is case-insensitive (RFC 9110)
            r = post(app.url, [solid(3, 1)], headers={"Authorization": f"{scheme} s3cret"})
            assert r.json()["results"][0]["text"] == "3x8:1"


def test_body_limit_413_by_header_and_while_streaming():
    rec = FakeRecognizer()
    with running(ServeConfig(max_body_bytes=1000), lambda: rec) as app:
        big = b"x" * 2000
        r = requests.post(app.url + "/v1/recognize", data=big,
                          headers={"Content-Type": "image/png"})
        assert r.status_code == 413 and "exceeds the 1000 B limit" in r.json()["error"]
        r = requests.post(app.url + "/v1/recognize", data=iter([big[:600], big[600:]]),
                          headers={"Content-Type": "image/png"})  # chunked: no length
        assert r.status_code == 413
        assert post(app.url, [solid(3, 1)]).status_code == 200
        assert rec.calls == [(1, {"beam_width": None})]


def test_readyz_while_loading_then_load_failure():
    release = threading.Event()

    def load():
        assert release.wait(10)
        raise OSError("weights missing")

    with running(ServeConfig(), load, ready=False) as app:
        r = requests.get(app.url + "/readyz")
        assert r.status_code == 503 and r.json()["status"] == "loading"
        r = post(app.url, [solid(3, 1)])
        assert r.status_code == 503 and r.headers["Retry-After"] == "1"
        assert requests.get(app.url + "/healthz").status_code == 200
        release.set()
        app.state.server.batcher._thread.join(10)
        r = requests.get(app.url + "/readyz")
        assert r.status_code == 503 and r.json()["error"] == "OSError: weights missing"
        assert "weights missing" in post(app.url, [solid(3, 1)]).json()["error"]


def test_model_failure_is_500_and_the_server_goes_on():
    rec = FakeRecognizer(fail=True)
    with running(ServeConfig(), lambda: rec) as app:
        r = post(app.url, [solid(3, 1)])
        assert r.status_code == 500 and "MemoryError" in r.json()["error"]
        rec.fail = False
        assert post(app.url, [solid(3, 1)]).status_code == 200
