"""Grow a trained model's vocabulary without forgetting: measured with and without replay.

Fine-tunes the embedded default model with ``--new`` symbols it has never seen (Chinese
characters of the synthetic charset missing from its vocabulary), on synthetic lines made of
those symbols, once per ``--replay`` share. Every run scores two held-back sets before its
first step and at its end (``eval.at_start``): lines over the old vocabulary (what the model
must not forget) and lines of the new symbols (what it must learn).

    python benchmarks/grow_vocab.py runs/grow --steps 600 --replay 0 0.3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from duguang_ocr import hub
from duguang_ocr.data.lmdb import write_lmdb
from duguang_ocr.synth import LineGenerator, load_charset
from duguang_ocr.synth.charset import is_hanzi
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


def render_set(path: Path, symbols: list[str], n: int, seed: int) -> Path:
    """``n`` synthetic lines over ``symbols`` (seed ``seed``) as an LMDB, once."""
    if not path.exists():
        gen = LineGenerator.default(charset=symbols)
        write_lmdb(((encode_image(img), text) for img, text in (gen(seed, i) for i in range(n))),
                   path)
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
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    base = Vocab.from_file(hub.resolve("default") / "vocab.txt")
    new = new_symbols(base, args.new)
    vocab = args.work / "vocab.txt"
    vocab.write_text("".join(s + "\n" for s in base.symbols + new), encoding="utf-8")
    data = {"new_train": render_set(args.work / "new_train.lmdb", new, args.train_lines, 1),
            "old": render_set(args.work / "old.lmdb", base.symbols, args.eval_lines, 2),
            "new": render_set(args.work / "new.lmdb", new, args.eval_lines, 3)}
    rows = []
    for replay in args.replay:
        out = train("default", data["new_train"], [data["old"], data["new"]],
                    args.work / f"replay{replay:g}", vocab=str(vocab), replay=replay,
                    at_start=True, max_steps=args.steps, lr=args.lr, warmup_steps=50,
                    augment=0.0, train__batch_size=32, eval__every_steps=args.steps,
                    num_workers=1, save_every=args.steps)
        before, after = out["eval_at_start"], out["eval"]
        rows.append({"replay": replay, **{f"{k}_before": before[f"{k}.lmdb"]["char_acc"]
                                          for k in ("old", "new")},
                     **{f"{k}_after": after[f"{k}.lmdb"]["char_acc"] for k in ("old", "new")}})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{len(new)} new symbols: {''.join(new)}; {args.steps} steps of 32 lines")
    print("| data.replay | old-vocabulary lines: char acc before -> after | new symbols' "
          "lines: char acc after |\n|---|---|---|")
    for r in rows:
        print(f"| {r['replay']:g} | {r['old_before']:.1%} -> {r['old_after']:.1%} | "
              f"{r['new_after']:.1%} |")


if __name__ == "__main__":
    main()
