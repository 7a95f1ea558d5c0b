"""Bounded memory while streaming: RSS of ``duguang-ocr recognize --lmdb`` over a long run.

Builds an LMDB of ``--n`` small rendered lines (default 10,000), runs ``duguang-ocr
recognize --lmdb X.lmdb`` in a subprocess, samples its resident set size (``VmRSS`` from
``/proc/PID/status``) every 0.5 s and when 10%, 50% and 100% of the lines have been
printed, and prints those numbers: with streaming they stay flat however long the data set
(the recognizer holds at most two windows of pixels; names and results are not collected).

    python benchmarks/bench_stream.py [--n 10000] [--model DIR] [--workers 2]

Default model: a random-weight ``convnextvit_test`` (tiny, so the run measures the
streaming machinery rather than the network); ``--model`` picks any model dir or alias.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

MARKS = (0.1, 0.5, 1.0)


def read_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process in KiB ({} once it has exited)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(line.split()[1])
    except (OSError, ValueError):
        return {}
    return out


def _plain_samples(n: int, seed: int):
    from PIL import Image, ImageDraw, ImageFont

    from duguang_ocr.synth.make import encode_image

    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 22)
    except OSError:
        font = ImageFont.load_default(22)
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789")
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        text = "".join(rng.choice(alphabet, size=int(rng.integers(3, 13))))
        im = Image.new("RGB", (int(font.getlength(text)) + 8, 32), "white")
        ImageDraw.Draw(im).text((4, 4), text, fill="black", font=font)
        yield encode_image(np.asarray(im)), text


def build_lmdb(path: Path, n: int, seed: int, workers: int) -> str:
    """``n`` short synthetic lines (at most 12 characters, height 32) as PNG in an LMDB."""
    from duguang_ocr.data.lmdb import write_lmdb
    from duguang_ocr.synth.make import LineGenerator, iter_synth

    try:
        gen = LineGenerator.default(max_chars=12)
        samples, source = iter_synth(n, seed, workers, gen), "duguang_ocr.synth"
    except RuntimeError as e:  # no usable fonts
        print(f"note: synth renderer unavailable ({e}); plain PIL lines instead")
        samples, source = _plain_samples(n, seed), "PIL fallback"
    write_lmdb(samples, path)
    return source


def make_tiny_model(path: Path) -> Path:
    import torch

    from duguang_ocr.hub.modelscope import save_model_dir
    from duguang_ocr.models import create_model
    from duguang_ocr.synth.charset import load_charset
    from duguang_ocr.vocab import Vocab

    vocab = Vocab(load_charset(), offset=2)
    torch.manual_seed(0)
    model = create_model("convnextvit_test", num_classes=vocab.num_classes)
    return save_model_dir(path, model.eval(), vocab, "convnextvit_test")


def cli_command() -> list[str]:
    exe = shutil.which("duguang-ocr")
    return [exe] if exe else [sys.executable, "-m", "duguang_ocr.cli"]


def monitor(cmd: list[str], n: int, interval: float = 0.5) -> dict:
    """Run ``cmd``, count its output lines, sample its RSS; returns the samples and marks."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", bufsize=1)
    count = 0
    marks: dict[float, dict] = {}
    samples: list[tuple[float, int, int]] = []  # (seconds, lines done, VmRSS KiB)
    peak = 0
    t0 = time.perf_counter()
    stderr_tail: list[str] = []

    def reader() -> None:
        nonlocal count
        assert proc.stdout is not None
        for _ in proc.stdout:
            count += 1
            for m in MARKS:
                if m not in marks and count >= m * n:
                    marks[m] = {"lines": count, "seconds": time.perf_counter() - t0,
                                **read_status(proc.pid)}

    def drain_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            stderr_tail.append(line)
            del stderr_tail[:-20]

    threads = [threading.Thread(target=reader, daemon=True),
               threading.Thread(target=drain_stderr, daemon=True)]
    for t in threads:
        t.start()
    while proc.poll() is None:
        st = read_status(proc.pid)
        if st:
            samples.append((time.perf_counter() - t0, count, st.get("VmRSS", 0)))
            peak = max(peak, st.get("VmHWM", 0))
        time.sleep(interval)
    for t in threads:
        t.join(timeout=10)
    return {"returncode": proc.returncode, "lines": count, "marks": marks, "samples": samples,
            "peak_kib": peak, "seconds": time.perf_counter() - t0,
            "stderr": "".join(stderr_tail)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="lines in the LMDB (default 10000)")
    ap.add_argument("--model", default=None,
                    help="model dir or alias (default: a random-weight convnextvit_test)")
    ap.add_argument("--workers", type=int, default=1, help="rendering processes for the LMDB")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be >= 1")

    with tempfile.TemporaryDirectory(prefix="bench_stream_") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        source = build_lmdb(tmp / "lines.lmdb", args.n, args.seed, args.workers)
        print(f"LMDB of {args.n} lines ({source}) built in {time.perf_counter() - t0:.1f}s")
        model = args.model or str(make_tiny_model(tmp / "model"))
        cmd = [*cli_command(), "recognize", "--lmdb", str(tmp / "lines.lmdb"), "--model", model,
               "--device", "cpu", "--batch-size", str(args.batch_size)]
        print("running:", " ".join(cmd))
        run = monitor(cmd, args.n)

    print(f"\nexit {run['returncode']}, {run['lines']} of {args.n} lines in "
          f"{run['seconds']:.1f}s, {len(run['samples'])} RSS samples (every 0.5 s)")
    if run["returncode"] != 0 or run["lines"] != args.n:
        print("stderr tail:\n" + run["stderr"])
    print(f"{'progress':>9} {'lines':>7} {'seconds':>8} {'VmRSS MiB':>10}")
    for m in MARKS:
        r = run["marks"].get(m)
        if r is None or "VmRSS" not in r:
            print(f"{m:>9.0%} {'-':>7} {'-':>8} {'(not sampled)':>10}")
        else:
            print(f"{m:>9.0%} {r['lines']:>7} {r['seconds']:>8.1f} {r['VmRSS'] / 1024:>10.1f}")
    rss = [s[2] for s in run["samples"] if s[1] >= 0.1 * args.n]
    if rss:
        print(f"VmRSS from 10% on: min {min(rss) / 1024:.1f}, max {max(rss) / 1024:.1f} MiB; "
              f"peak VmHWM {run['peak_kib'] / 1024:.1f} MiB")
    return 0 if run["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
