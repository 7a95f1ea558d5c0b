"""Grow a trained model's vocabulary without forgetting: measured with and without replay.

Fine-tunes the embedded default model with ``--new`` symbols it has never seen (Chinese
characters of the synthetic charset missing from its vocabulary), on synthetic lines made of
those symbols, once per ``--replay`` share. Every run scores two held-back sets before its
first step and at its end (``eval.at_start``): lines over the old vocabulary (what the model
must not forget) and lines of the new symbols (what it must learn).

    python benchmarks/grow_vocab.py runs/grow --steps 400 --batch-size 64 --lr 1e-3 \
        --body-lr-scale 0 --head-rows new --replay 0.5 --train-lines 8000 --workers 2
    python benchmarks/grow_vocab.py runs/grow --device cuda --precision bf16 \
        --batch-size 128 --workers 2 --steps 300 --lr 1e-4 --replay 0 0.5   # on a GPU
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from duguang_ocr import hub
from duguang_ocr.data.lmdb import write_lmdb
from duguang_ocr.synth import LineGenerator, load_charset
from duguang_ocr.synth.charset import is_hanzi
from duguang_ocr.synth.corpus import TextSampler
from duguang_ocr.synth.fonts import discover_fonts
from duguang_ocr.synth.make import encode_image
from duguang_ocr.training import train
from duguang_ocr.vocab import Vocab


def new_symbols(base: Vocab, n: int) -> list[str]:
    """``n`` Chinese characters ``base`` lacks, spread evenly over the synthetic charset's
    frequency order (not just its most frequent ones); when ``base`` covers that charset,
    from the CJK block's characters the installed fonts draw."""
    missing = [c for c in load_charset() if is_hanzi(c) and c not in base]
    if len(missing) < n:
        block = [chr(c) for c in range(0x4E00, 0x9FA6) if chr(c) not in base]
        drawable = discover_fonts(block).coverage()
        missing = [c for c in block if c in drawable]
    return missing[:: max(1, len(missing) // n)][:n]


@dataclass
class WithNewSymbols:
    """Texts of ``base`` with a ``share`` of their characters swapped for new symbols: the
    new symbols inside ordinary text, as a user's own data has them. (Lines of new symbols
    alone teach the model that they are everywhere: it then reads look-alike old
    characters as new ones, which cost the old set 2-4 points in a first measurement.)"""

    base: TextSampler
    new: list[str]
    share: float = 0.3

    def sample(self, rng: np.random.Generator, max_chars: int | None = None) -> str:
        text = self.base.sample(rng, max_chars)
        return "".join(self.new[int(rng.integers(len(self.new)))]
                       if c != " " and rng.random() < self.share else c for c in text)


def _render_range(symbols: list[str], new: list[str] | None, seed: int, lo: int,
                  hi: int) -> list[tuple[bytes, str]]:
    gen = LineGenerator.default(charset=symbols + (new or []))
    if new:
        gen.sampler = WithNewSymbols(LineGenerator.default(charset=symbols,
                                                           fonts=gen.fonts).sampler, new)
    return [(encode_image(img), text) for img, text in (gen(seed, i) for i in range(lo, hi))]


def render_set(path: Path, symbols: list[str], n: int, seed: int, workers: int = 1,
               new: list[str] | None = None) -> Path:
    """``n`` synthetic lines over ``symbols`` (seed ``seed``; with ``new``, ordinary texts
    with new symbols mixed in) as an LMDB, once; line ``i`` depends only on ``(seed, i)``,
    however many ``workers`` render."""
    if not path.exists():
        bounds = [(n * k // workers, n * (k + 1) // workers) for k in range(workers)]
        with ProcessPoolExecutor(workers) as pool:
            parts = pool.map(partial(_render_range, symbols, new, seed), *zip(*bounds))
            write_lmdb((item for part in parts for item in part), path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--new", type=int, default=50, help="symbols to add")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--replay", type=float, nargs="+", default=[0.0, 0.3])
    ap.add_argument("--train-lines", type=int, default=4000)
    ap.add_argument("--eval-lines", type=int, default=300)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--train-text", choices=["mixed", "new-only"], default="mixed",
                    help="training lines: ordinary text with 30%% new symbols, or new symbols only")
    ap.add_argument("--head-rows", choices=["all", "new"], default="all",
                    help="optim.head_rows: new keeps the trained head rows exactly")
    ap.add_argument("--body-lr-scale", type=float, default=1.0,
                    help="lr of everything but the head, as a fraction of --lr")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--augment", type=float, default=0.3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    ap.add_argument("--workers", type=int, default=1, help="rendering and DataLoader processes")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    base = Vocab.from_file(hub.resolve("default") / "vocab.txt")
    new = new_symbols(base, args.new)
    vocab = args.work / "vocab.txt"
    vocab.write_text("".join(s + "\n" for s in base.symbols + new), encoding="utf-8")
    w = args.workers
    train_set = (render_set(args.work / "new_train.lmdb", new, args.train_lines, 1, w)
                 if args.train_text == "new-only" else
                 render_set(args.work / "mixed_train.lmdb", base.symbols, args.train_lines, 1, w,
                            new=new))
    data = {"new_train": train_set,
            "old": render_set(args.work / "old.lmdb", base.symbols, args.eval_lines, 2, w),
            "new": render_set(args.work / "new.lmdb", new, args.eval_lines, 3, w)}
    rows = []
    for replay in args.replay:
        out = train("default", data["new_train"], [data["old"], data["new"]],
                    args.work / f"{args.train_text}_replay{replay:g}_lr{args.lr:g}_body{args.body_lr_scale:g}"
                    f"_rows-{args.head_rows}", vocab=str(vocab), replay=replay,
                    at_start=True, max_steps=args.steps, lr=args.lr,
                    warmup_steps=max(1, args.steps // 10), augment=args.augment,
                    train__batch_size=args.batch_size, eval__every_steps=args.steps,
                    num_workers=w, save_every=args.steps, train__device=args.device,
                    train__precision=args.precision, body_lr_scale=args.body_lr_scale,
                    head_rows=args.head_rows)
        before, after = out["eval_at_start"], out["eval"]
        rows.append({"replay": replay, **{f"{k}_before": before[f"{k}.lmdb"]["char_acc"]
                                          for k in ("old", "new")},
                     **{f"{k}_after": after[f"{k}.lmdb"]["char_acc"] for k in ("old", "new")}})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{len(new)} new symbols: {''.join(new)}; {args.steps} steps of "
          f"{args.batch_size} lines at lr {args.lr:g} (body x{args.body_lr_scale:g}, head rows: "
          f"{args.head_rows}), training text: {args.train_text}")
    print("| data.replay | old-vocabulary lines: char acc before -> after | new symbols' "
          "lines: char acc after |\n|---|---|---|")
    for r in rows:
        print(f"| {r['replay']:g} | {r['old_before']:.1%} -> {r['old_after']:.1%} | "
              f"{r['new_after']:.1%} |")


if __name__ == "__main__":
    main()
