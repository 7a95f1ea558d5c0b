"""GPU inference: lines/s in float32, bf16 and fp16, and how many strings change.

For each model (default: a random-weight ConvNextViT-tiny in ModelScope format, plus any
``--model DIR``), the same line images are read by ``Recognizer(device="cuda", dtype=...)``
at one batch size; the first pass warms up (cuDNN autotuning, allocator), the second is
timed with the GPU synchronised. Printed per dtype: lines/s, the ratio to float32 measured in
the same run, and the share of lines whose string equals float32's (meaningful on trained
weights: pass ``--model``). Nothing is asserted.

    python benchmarks/bench_gpu.py [--n 2000] [--batch-size 128] [--model DIR]... [--lines DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_inference import existing_lines, make_lines, make_random_tiny  # noqa: E402

from duguang_ocr import Recognizer  # noqa: E402

DTYPES = ("fp32", "bf16", "fp16")


def time_dtype(model: str, paths: list[str], dtype: str, batch_size: int) -> tuple[float, list]:
    """(lines/s, texts) of one timed pass after a warm-up pass."""
    rec = Recognizer.from_pretrained(model, device="cuda", dtype=dtype, batch_size=batch_size)
    rec(paths)  # warm-up: cuDNN picks kernels per shape
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    texts = rec(paths)
    torch.cuda.synchronize()
    return len(paths) / (time.perf_counter() - t0), texts


def bench(model: str, name: str, paths: list[str], batch_size: int) -> None:
    print(f"\n{name}: {len(paths)} lines, batch {batch_size}, {torch.cuda.get_device_name()}")
    print("| dtype | lines/s | vs fp32 | strings equal to fp32 |\n|---|---|---|---|")
    base_speed, base_texts = None, None
    for dtype in DTYPES:
        speed, texts = time_dtype(model, paths, dtype, batch_size)
        if base_texts is None:
            base_speed, base_texts = speed, texts
        same = sum(a == b for a, b in zip(texts, base_texts)) / len(texts)
        print(f"| {dtype} | {speed:.0f} | {speed / base_speed:.2f}x | {same:.1%} |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="rendered lines (default 2000)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--model", action="append", default=[], help="trained model dir(s)")
    ap.add_argument("--lines", metavar="DIR", help="real crops (labelled folder or LMDB)")
    ap.add_argument("--no-random", action="store_true", help="skip the random-weight tiny")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.lines:
            paths = existing_lines(Path(args.lines), args.n, tmp / "lines")
        else:
            paths, _ = make_lines(tmp / "lines", args.n)
        models = [(m, m) for m in args.model]
        if not args.no_random:
            models.insert(0, (str(make_random_tiny(tmp / "tiny")), "random ConvNextViT-tiny"))
        for model, name in models:
            bench(model, name, paths, args.batch_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
