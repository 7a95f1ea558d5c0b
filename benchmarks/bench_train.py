"""Training throughput on the CPU: lines per second for a few model/canvas settings.

Two numbers per setting, measured with the trainer's own pieces:

* ``step``: forward + CTC loss + backward + clipping + AdamW on ready batches (what the main
  process does);
* ``data``: LMDB read + decode + canvas + encode in one process (what one DataLoader worker
  does). A run sustains about ``min(step, workers x data)``.

Warm-up steps are excluded. ``python benchmarks/bench_train.py [--threads N] [--steps N]``
"""

from __future__ import annotations

import argparse
import io
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from duguang_ocr.chunking import ChunkGeometry
from duguang_ocr.data.collate import LineCollator
from duguang_ocr.data.lmdb import close_env, write_lmdb
from duguang_ocr.data.lmdb_dataset import LmdbDataset
from duguang_ocr.hub import DEFAULT_MODEL_DIR
from duguang_ocr.models import create_model
from duguang_ocr.training.evaluate import ctc_per_line, line_logits
from duguang_ocr.training.params import param_groups
from duguang_ocr.vocab import Vocab

# (label, variant, chunks per line, batch size, vocabulary)
SETTINGS = [
    ("tiny_test config", "convnextvit_test", 1, 16, "small"),
    ("convnextvit_tiny, 3 chunks", "convnextvit_tiny", 3, 16, "default"),
    ("convnextvit_small, 1 chunk", "convnextvit_small", 1, 32, "default"),
]
WORDS = ["hello", "world", "text", "2024", "line", "OCR", "42", "model"]


def make_lmdb(path: Path, n: int) -> Path:
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 24)
    except OSError:
        font = ImageFont.load_default(24)
    rng = np.random.default_rng(0)

    def sample(i: int) -> tuple[bytes, str]:
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 6))))
        im = Image.new("RGB", (int(font.getlength(text)) + 10, 32), "white")
        ImageDraw.Draw(im).text((4, 3), text, fill="black", font=font)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=90)
        return buf.getvalue(), text

    write_lmdb((sample(i) for i in range(n)), path)
    return path


def bench_data(ds: LmdbDataset, col: LineCollator, batch: int, batches: int) -> float:
    t = time.perf_counter()
    for b in range(batches):
        col([ds[(b * batch + i) % len(ds)] for i in range(batch)])
    return batches * batch / (time.perf_counter() - t)


def bench_step(model: torch.nn.Module, batch: dict, geometry: ChunkGeometry | None,
               warmup: int, steps: int) -> float:
    opt = torch.optim.AdamW(param_groups(model, 0.05, 1e-4), lr=1e-4)
    model.train()
    for i in range(warmup + steps):
        if i == warmup:
            t = time.perf_counter()
        logits = line_logits(model(batch["images"]), batch["chunk_counts"], geometry)
        loss = ctc_per_line(logits, batch["targets"], batch["target_lengths"]).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return steps * len(batch["texts"]) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per setting")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--only", help="run settings whose label contains this text")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    with tempfile.TemporaryDirectory() as tmp:
        ds = LmdbDataset(make_lmdb(Path(tmp) / "bench.lmdb", 256))
        small = Vocab(sorted(set("".join(WORDS) + " ")))
        default = Vocab.from_file(DEFAULT_MODEL_DIR / "vocab.txt")
        print("| setting | batch | params | step lines/s | data lines/s (1 worker) |")
        print("|---|---|---|---|---|")
        for label, variant, chunks, bs, vocab_name in SETTINGS:
            if args.only and args.only not in label:
                continue
            vocab = small if vocab_name == "small" else default
            torch.manual_seed(0)
            model = create_model(variant, num_classes=vocab.num_classes)
            geometry = ChunkGeometry.of(model.config)
            col = LineCollator(vocab, geometry, preprocess="squash", num_chunks=chunks)
            data = bench_data(ds, col, bs, max(4, math.ceil(64 / bs)))
            batch = col([ds[i] for i in range(bs)])
            step = bench_step(model, batch, geometry, args.warmup, args.steps)
            params = sum(p.numel() for p in model.parameters()) / 1e6
            print(f"| {label} | {bs} | {params:.2f}M | {step:.1f} | {data:.0f} |", flush=True)
        close_env(ds.path)


if __name__ == "__main__":
    main()
