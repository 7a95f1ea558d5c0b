"""Load and fault test of ``duguang-ocr serve`` on loopback, bounded in count and time.

What it measures, in one run on one machine (so ratios are comparable):

1. **in-process**: ``Recognizer.recognize`` on all the lines at once (the default forward
   batch of 32 lines, as the server's ``--batch-size``; images given as encoded bytes, like
   the server receives them): lines/s, CPU ms per line and the strings.
2. **through the server** at each ``--concurrency`` (default 1, 8, 64 clients, each a
   thread with a keep-alive session sending ``--per-request`` lines per multipart
   request until every line has been sent once): lines/s, ratio to in-process, p50/p99
   request latency, errors, strings that differ from the in-process ones, and the server's
   and the clients' CPU ms per line (/proc; steadier than lines/s on a shared machine: the
   server's efficiency is in-process CPU ms per line / server CPU ms per line). Steps 1 and
   2 alternate for ``--rounds`` rounds and the medians are reported, each round's ratio
   against its own in-process run (the speed of a shared machine drifts).
3. **faults** against the same server: a malformed JSON body, a wrong content type, a
   truncated multipart body, a decompression bomb (a 10,000 x 10,000 PNG of a few KB),
   a client that disconnects mid-body and one that leaves while queued, then a
   correct request (the server must still answer it right).
4. **SIGKILL and restart**: clients keep sending while the server is killed with SIGKILL and
   started again on the same port; every answer that arrives must be right (errors are
   expected and counted, wrong strings are not).
5. on the restarted server (``--queue 16 --max-wait-ms 500 --timeout 2``): a **burst**
   past the queue (503 with ``Retry-After``, every 200 right; 504 for admitted requests
   that outlive the timeout on a slow machine), a **slow client** trickling
   its body (408 at the timeout while another client is served), and **SIGTERM drain**
   (the in-flight request answers 200, a new one 503, exit status 0).

    python benchmarks/bench_serve.py [--n 600] [--lines DIR ...] [--per-request 4]
        [--concurrency 1,8,64] [--rounds 3] [--model default] [--json out.json]

Lines: the ``../shared/realtest`` crops when present (every subset, shuffled), else lines
rendered by ``bench_inference.make_lines``. The clients share the CPU with the server, so on
a 2-core machine the ratio includes the clients' own cost. Nothing is asserted here (the
test ``tests/serve/test_bench_serve.py`` does, on a few lines).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
MEDIANS = ("lines_per_s", "ratio", "p50_ms", "p99_ms", "server_cpu_ms", "client_cpu_ms",
           "cpu_ratio")  # the rest are summed over rounds
REALTEST = ROOT.parent / "shared" / "realtest"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


# ----------------------------------------------------------------------------- workload
def realtest_lines(dirs: list[Path], n: int, seed: int) -> list[bytes]:
    """Encoded bytes of up to ``n`` images from labelled folders, shuffled with ``seed``."""
    paths = sorted(p for d in dirs for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    random.Random(seed).shuffle(paths)
    return [p.read_bytes() for p in paths[:n]]


def rendered_lines(n: int, seed: int, tmp: Path) -> list[bytes]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_inference import make_lines

    paths, _ = make_lines(tmp, n, seed)
    return [Path(p).read_bytes() for p in paths]


def bomb_png(side: int = 10_000) -> bytes:
    """A valid all-black 1-bit PNG of side x side pixels: a few KB, 300 MB as RGB."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


# ------------------------------------------------------------------------------ server
class Server:
    """``duguang-ocr serve`` in a child process on 127.0.0.1."""

    def __init__(self, args: list[str], port: int = 0, env: dict | None = None):
        cmd = [sys.executable, "-m", "duguang_ocr.cli", "serve", "--port", str(port), *args]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        line = self.proc.stderr.readline()
        if "serving on" not in line:
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line}{self.proc.stderr.read()}")
        self.url = line.split("serving on ", 1)[1].split()[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # never block it

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            time.sleep(0.1)
        raise TimeoutError("server not ready")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def post_lines(session: requests.Session, url: str, images: list[bytes],
               timeout: float = 60) -> requests.Response:
    files = [("file", (f"{i}.png", data, "application/octet-stream"))
             for i, data in enumerate(images)]
    return session.post(url + "/v1/recognize", files=files, timeout=timeout)


def texts(response: requests.Response) -> list[str]:
    return [r["text"] for r in response.json()["results"]]


# -------------------------------------------------------------------------------- load
class InProcess:
    """The baseline: one Recognizer in this process, ``recognize`` on all lines at once."""

    def __init__(self, model: str | None):
        from duguang_ocr import Recognizer

        self.rec = Recognizer.from_pretrained(model)  # batch_size 32, as the server's

    def run(self, images: list[bytes]) -> tuple[list[str], float, float]:
        """Strings, lines/s and CPU ms per line (all threads) of one call."""
        start, cpu = time.perf_counter(), time.process_time()
        out = self.rec.recognize(images)
        cpu_ms = (time.process_time() - cpu) * 1000 / len(images)
        return [r.text for r in out], len(images) / (time.perf_counter() - start), cpu_ms


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(url: str, images: list[bytes], ref: list[str], concurrency: int,
             per_request: int, deadline: float, server_pid: int | None = None) -> dict:
    """Every line sent once by ``concurrency`` threads; stops early at ``deadline``.
    With ``server_pid``, also the server's and the clients' CPU ms per line."""
    chunks = [(i, images[i : i + per_request]) for i in range(0, len(images), per_request)]
    it = iter(chunks)
    lock = threading.Lock()
    latencies: list[float] = []
    stats = {"requests": 0, "lines": 0, "errors": 0, "wrong": 0}

    def client() -> None:
        with requests.Session() as s:
            while time.monotonic() < deadline:
                with lock:
                    item = next(it, None)
                if item is None:
                    return
                start, batch = item
                t0 = time.perf_counter()
                try:
                    r = post_lines(s, url, batch)
                    ok = r.status_code == 200
                    got = texts(r) if ok else None
                except requests.RequestException:
                    ok, got = False, None
                dt = time.perf_counter() - t0
                with lock:
                    stats["requests"] += 1
                    if not ok:
                        stats["errors"] += 1
                        continue
                    latencies.append(dt)
                    stats["lines"] += len(batch)
                    stats["wrong"] += sum(a != b for a, b in
                                          zip(got, ref[start : start + len(batch)]))

    t0, own0 = time.perf_counter(), time.process_time()
    server0 = cpu_seconds(server_pid) if server_pid else 0.0
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = np.array(latencies or [float("nan")]) * 1000
    row = {"concurrency": concurrency, **stats, "lines_per_s": stats["lines"] / wall,
           "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99))}
    if server_pid:
        n = max(stats["lines"], 1)
        row["server_cpu_ms"] = (cpu_seconds(server_pid) - server0) * 1000 / n
        row["client_cpu_ms"] = (time.process_time() - own0) * 1000 / n
    return row


# ------------------------------------------------------------------------------ faults
def raw_request(port: int, head: bytes, body_parts: list[bytes], pause: float = 0.0,
                close_early: bool = False, read_timeout: float = 10) -> bytes:
    """Send a hand-made HTTP request (optionally trickled or cut off); return the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(head)
        for part in body_parts:
            try:
                s.sendall(part)
            except OSError:  # the server answered and closed first (e.g. 408)
                break
            time.sleep(pause)
        if close_early:
            return b""
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def status_of(answer: bytes) -> int | None:
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def faults(server: Server, images: list[bytes], ref: list[str]) -> dict:
    """Malformed and hostile requests against a running server, then a correct one."""
    url, s, out = server.url, requests.Session(), {}
    r = s.post(url + "/v1/recognize", data=b'{"images": [', timeout=30,
               headers={"Content-Type": "application/json"})
    out["malformed JSON"] = (r.status_code, r.json()["error"][:90])
    r = s.post(url + "/v1/recognize", data=b"hello", timeout=30,
               headers={"Content-Type": "text/plain"})
    out["wrong content type"] = (r.status_code, r.json()["error"][:90])
    r = s.post(url + "/v1/recognize", data=b"--XX\r\nContent-Disposition: form-data; na",
               headers={"Content-Type": "multipart/form-data; boundary=XX"}, timeout=30)
    out["truncated multipart body"] = (r.status_code, r.json()["error"][:90])
    r = post_lines(s, url, [bomb_png()])
    out["decompression bomb (10000x10000 PNG)"] = (r.status_code, r.json()["error"][:110])
    body = b"\x89PNG" * 1000
    head = (b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    raw_request(server.port, head, [body[:500]], close_early=True)
    out["client disconnects mid-body"] = (None, "connection closed, nothing to answer")
    before = cancelled(url, s)
    head = (b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Content-Length: %d\r\n\r\n" % len(images[0]))
    for _ in range(8):  # some of these are still queued when their client leaves
        raw_request(server.port, head, [images[0]], close_early=True)
    time.sleep(0.5)
    out["client leaves while queued (x8)"] = (
        None, f"{cancelled(url, s) - before:.0f} job(s) dropped before the model ran them")
    r = post_lines(s, url, images[:4])
    right = r.status_code == 200 and texts(r) == ref[:4]
    out["then a correct request"] = (r.status_code, "right strings" if right else "WRONG")
    return out


def cancelled(url: str, s: requests.Session) -> float:
    for line in s.get(url + "/metrics", timeout=30).text.splitlines():
        if line.startswith("duguang_ocr_cancelled_jobs_total"):
            return float(line.split()[-1])
    return 0.0


def kill_and_restart(server: Server, args: list[str], images: list[bytes], ref: list[str],
                     clients: int = 8, seconds: float = 0.5) -> tuple[Server, dict]:
    """Clients keep sending while the server is SIGKILLed (after ``seconds``) and restarted
    on its port, until ``clients`` answers came from the new server (at most 60 s)."""
    stop = threading.Event()
    lock = threading.Lock()
    stats = {"ok": 0, "errors": 0, "wrong": 0, "ok_after_restart": 0}
    restarted = threading.Event()

    def client(k: int) -> None:
        with requests.Session() as s:
            i = k
            while not stop.is_set():
                start = (i * 4) % max(1, len(images) - 4)
                try:
                    r = post_lines(s, server.url, images[start : start + 4], timeout=10)
                    good = r.status_code == 200
                    wrong = good and texts(r) != ref[start : start + 4]
                except requests.RequestException:
                    good, wrong = False, False
                with lock:
                    stats["wrong"] += wrong
                    stats["ok"] += good and not wrong
                    stats["errors"] += not good
                    stats["ok_after_restart"] += good and restarted.is_set()
                if not good:  # back off: a retry storm would take the CPU from the restart
                    time.sleep(0.2)
                i += clients

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    rc = server.stop(signal.SIGKILL)
    new = Server(args, port=server.port)
    new.wait_ready()
    restarted.set()
    deadline = time.monotonic() + 60
    while stats["ok_after_restart"] < clients and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    return new, {**stats, "killed_exit": rc}


def burst(server: Server, images: list[bytes], ref: list[str], clients: int = 32) -> dict:
    """``clients`` simultaneous 4-line requests against a small queue."""
    results: list[tuple[int, bool, bool]] = []
    barrier = threading.Barrier(clients)

    def client(k: int) -> None:
        start = (k * 4) % max(1, len(images) - 4)
        barrier.wait()
        r = post_lines(requests, server.url, images[start : start + 4])
        good = r.status_code == 200 and texts(r) == ref[start : start + 4]
        results.append((r.status_code, good, "Retry-After" in r.headers))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(c for c, _, _ in results)
    return {**{str(c): codes.count(c) for c in dict.fromkeys(codes)},
            "200 right": sum(g for c, g, _ in results if c == 200),
            "503 with Retry-After": sum(h for c, _, h in results if c == 503)}


def slow_client(server: Server, images: list[bytes], ref: list[str]) -> dict:
    """A body trickled 10 B every 0.25 s, while a normal client is served meanwhile."""
    body = images[0]
    head = (b"POST /v1/recognize HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    out: dict = {}

    def trickle() -> None:
        t0 = time.perf_counter()
        parts = [body[i : i + 10] for i in range(0, len(body), 10)]
        out["status"] = status_of(raw_request(server.port, head, parts, pause=0.25))
        out["after_s"] = round(time.perf_counter() - t0, 1)

    t = threading.Thread(target=trickle)
    t.start()
    time.sleep(0.3)
    r = post_lines(requests, server.url, images[:2])
    out["other client"] = r.status_code == 200 and texts(r) == ref[:2]
    t.join()
    return out


def drain(server: Server, images: list[bytes], ref: list[str]) -> dict:
    """SIGTERM while a request waits in the queue; then a new request; then the exit code."""
    out: dict = {}

    def inflight() -> None:
        r = post_lines(requests, server.url, images[:2])
        out["in-flight"] = (r.status_code, r.status_code == 200 and texts(r) == ref[:2])

    t = threading.Thread(target=inflight)
    t.start()
    time.sleep(0.15)  # it is queued now (the server waits --max-wait-ms for company)
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    try:
        r = post_lines(requests, server.url, images[:1])
        out["new request"] = (r.status_code, r.headers.get("Retry-After"))
    except requests.ConnectionError:
        out["new request"] = ("refused", None)
    t.join()
    out["exit"] = server.proc.wait(30)
    return out


# -------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600, help="lines (each sent once per level)")
    ap.add_argument("--lines", type=Path, action="append", default=[],
                    help="folders of line images (default: every ../shared/realtest subset)")
    ap.add_argument("--per-request", type=int, default=4)
    ap.add_argument("--concurrency", default="1,8,64")
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--model", default=None)
    ap.add_argument("--rounds", type=int, default=3,
                    help="in-process then every load level, this many times; medians count "
                    "(a shared machine's speed drifts: each round's ratio uses its own "
                    "in-process run)")
    ap.add_argument("--time-limit", type=float, default=300,
                    help="seconds per load level before it stops early")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-warm", action="store_true",
                    help="skip the unmeasured first pass through the server (quick tests)")
    ap.add_argument("--json", type=Path, help="also write the summary here")
    args = ap.parse_args(argv)

    dirs = args.lines or sorted(d for d in REALTEST.glob("*") if d.is_dir())
    if dirs:
        images, source = realtest_lines(dirs, args.n, args.seed), f"{len(dirs)} folder(s)"
    else:
        import tempfile

        images = rendered_lines(args.n, args.seed, Path(tempfile.mkdtemp()))
        source = "rendered lines"
    print(f"{len(images)} lines from {source}", flush=True)
    model_args = ["--model", args.model] if args.model else []
    base = InProcess(args.model)
    ref, _, _ = base.run(images)  # the reference strings; also warms the in-process model

    serve_args = [*model_args, "--max-batch", str(args.max_batch)]
    server = Server(serve_args)
    server.wait_ready()
    summary: dict = {"lines": len(images), "source": source, "load": []}
    levels = [int(c) for c in args.concurrency.split(",")]
    rows: dict[int, list[dict]] = {c: [] for c in levels}
    bases, base_cpu = [], []
    try:
        if not args.no_warm:  # every line once, unmeasured, as in-process had its first run
            run_load(server.url, images, ref, 8, args.per_request, time.monotonic() + 600)
        for _ in range(args.rounds):
            got, speed, cpu_ms = base.run(images)
            bases.append(speed)
            base_cpu.append(cpu_ms)
            assert got == ref, "in-process strings changed between runs"
            for c in levels:
                row = run_load(server.url, images, ref, c, args.per_request,
                               time.monotonic() + args.time_limit, server.proc.pid)
                row["ratio"] = row["lines_per_s"] / speed
                row["cpu_ratio"] = cpu_ms / row["server_cpu_ms"]
                rows[c].append(row)
        summary["in_process_lines_per_s"] = float(np.median(bases))
        summary["in_process_cpu_ms"] = float(np.median(base_cpu))
        print(f"in-process recognize(): {summary['in_process_lines_per_s']:.1f} lines/s, "
              f"{summary['in_process_cpu_ms']:.2f} CPU ms/line (median of {len(bases)}: "
              f"{', '.join(f'{b:.0f}' for b in bases)} lines/s)")
        for c in levels:
            row = {k: (float(np.median([r[k] for r in rows[c]])) if k in MEDIANS else
                       sum(r[k] for r in rows[c])) for k in rows[c][0]}
            row["concurrency"] = c
            summary["load"].append(row)
            print(f"  {c:3d} clients: {row['lines_per_s']:.1f} lines/s ({row['ratio']:.2f}x), "
                  f"p50 {row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms, "
                  f"{row['errors']} errors, {row['wrong']} wrong; CPU ms/line: server "
                  f"{row['server_cpu_ms']:.2f} ({row['cpu_ratio']:.2f}x in-process's "
                  f"efficiency), clients {row['client_cpu_ms']:.2f} "
                  f"(ratios {', '.join(format(r['ratio'], '.2f') for r in rows[c])})",
                  flush=True)
        summary["faults"] = faults(server, images, ref)
        small = [*serve_args, "--queue", "16", "--max-wait-ms", "500", "--timeout", "2"]
        server, summary["kill"] = kill_and_restart(server, small, images, ref)
        summary["burst"] = burst(server, images, ref)
        summary["slow_client"] = slow_client(server, images, ref)
        summary["drain"] = drain(server, images, ref)
    finally:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)
    for key in ("faults", "kill", "burst", "slow_client", "drain"):
        print(f"{key}: {json.dumps(summary[key], ensure_ascii=False)}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return summary


if __name__ == "__main__":
    main()
