"""Train the embedded default model (convnextvit_nano) on one-chunk lines rendered by
duguang_ocr.synth, on CPU.

Lines are rendered on the fly in a DataLoader worker (so every step sees fresh data), the
model and optimizer state are checkpointed every ``--save-every`` steps and the run resumes
from ``WORK/train_state.pt`` after any interruption. ``--export`` writes the latest weights
(fp16) into the package as src/duguang_ocr/hub/default/.

    python scripts/train_default_model.py WORK --steps 4000          # train / resume
    python scripts/train_default_model.py WORK --export              # ship it
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from duguang_ocr.decoding import ctc_greedy
from duguang_ocr.evaluate import edit_distance
from duguang_ocr.hub.modelscope import save_model_dir
from duguang_ocr.models import VARIANT_TO_RECOGNIZER, VOCAB_OFFSET, create_model
from duguang_ocr.preprocess import canvas_to_chunks, plan_line, render_canvas
from duguang_ocr.synth import LineGenerator, RenderConfig, load_charset
from duguang_ocr.vocab import Vocab

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "src/duguang_ocr/hub/default"


def to_chunk(img: np.ndarray) -> torch.Tensor:
    """A rendered line (at most 300 px wide at height 32) as one model chunk."""
    plan = plan_line(img.shape[0], img.shape[1], parity=True, img_width=300)
    return canvas_to_chunks(render_canvas(img, plan), 1)[0]


class SynthLines(IterableDataset):
    """Endless one-chunk lines from :mod:`duguang_ocr.synth`; sample ``i`` is
    ``gen(seed, i)``, so a resumed run continues with fresh, reproducible samples.

    A curriculum by sample index: digits on plain backgrounds first (CTC learns to align on
    ten classes in a few hundred steps), then half ASCII / half everything, then everything.
    Starting on the full 3,700-symbol mix, every model we tried sat on the all-blank plateau.
    """

    def __init__(self, vocab: Vocab, seed: int, start: int, phases: tuple[int, int]):
        self.vocab, self.seed, self.start, self.phases = vocab, seed, start, phases

    def __iter__(self):
        ratio = 300 / 32
        full = LineGenerator.default(charset=self.vocab.symbols, max_width_ratio=ratio)
        ascii_ = LineGenerator.default(charset=[c for c in self.vocab.symbols if c.isascii()],
                                       fonts=full.fonts, max_width_ratio=ratio)
        digits = LineGenerator.default(charset=list("0123456789"), fonts=full.fonts,
                                       config=RenderConfig.plain(), max_width_ratio=ratio,
                                       max_chars=12)
        info = torch.utils.data.get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        i = self.start + wid
        while True:
            if i < self.phases[0]:
                gen = digits
            elif i < self.phases[1]:
                gen = ascii_ if i % 2 else full
            else:
                gen = full
            img, text = gen(self.seed, i)
            i += nw
            yield to_chunk(img), torch.tensor(self.vocab.encode(text)), text


def collate(batch):
    x = torch.stack([b[0] for b in batch])
    targets = torch.cat([b[1] for b in batch])
    lengths = torch.tensor([len(b[1]) for b in batch])
    return x, targets, lengths, [b[2] for b in batch]


def lr_at(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def evaluate(model, vocab, val):
    model.eval()
    correct = chars = errs = 0
    with torch.no_grad():
        for i in range(0, len(val), 64):
            x = torch.stack([v[0] for v in val[i:i + 64]])
            preds = ctc_greedy(model(x).softmax(-1), vocab.itos)
            for p, (_, text) in zip(preds, val[i:i + 64]):
                correct += p.text == text
                chars += len(text)
                errs += edit_distance(p.text, text)
    model.train()
    return correct / len(val), max(0.0, 1 - errs / max(1, chars))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", type=Path)
    ap.add_argument("--variant", default="crnn_lite")
    ap.add_argument("--phases", type=int, nargs=2, default=(300, 1000),
                    help="curriculum: steps of digits only, then of half ASCII")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--arch", nargs="*", default=[], metavar="KEY=VALUE",
                    help="architecture config overrides, e.g. drop_rate=0.0")
    ap.add_argument("--export", nargs="?", const=DEFAULT_DIR, type=Path, metavar="DIR",
                    help="write WORK's latest weights as a model dir (default: the package's "
                    "embedded model dir) and stop")
    ap.add_argument("--init", type=Path, help="start from this model dir's weights "
                    "(e.g. the shipped default) when WORK has no train_state.pt")
    args = ap.parse_args()
    torch.set_num_threads(2)
    # Before any cv2 call: a forked DataLoader worker deadlocks in cv2 if the parent has
    # already started OpenCV's thread pool.
    cv2.setNumThreads(1)
    vocab = Vocab(load_charset(), offset=VOCAB_OFFSET[VARIANT_TO_RECOGNIZER[args.variant]])
    args.work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    arch = {k: json.loads(v) for k, v in (a.split("=", 1) for a in args.arch)}
    model = create_model(args.variant, num_classes=vocab.num_classes, **arch)
    # No weight decay on norms, biases and layer scales (1-D parameters).
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    state_path = args.work / "train_state.pt"
    step = 0
    if state_path.exists():
        st = torch.load(state_path, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step = st["step"]
        print(f"resumed at step {step}", flush=True)
    elif args.init:
        from duguang_ocr.hub.modelscope import load_model_dir

        init, init_vocab, _ = load_model_dir(args.init)
        if init_vocab != vocab:
            raise SystemExit(f"{args.init} has a different vocabulary")
        model.load_state_dict(init.state_dict())
        step = int(json.loads((args.init / "configuration.json").read_text())["model"]
                   ["duguang_ocr"].get("trained_steps", 0))
        print(f"initialised from {args.init} (step {step})", flush=True)
    if args.export:
        save_model_dir(args.export, model.eval(), vocab, args.variant, half=True,
                       img_width=300, extra={"trained_steps": step, "batch_size": args.batch})
        print(f"exported step {step} to {args.export}")
        return
    val_gen = LineGenerator.default(charset=vocab.symbols, max_width_ratio=300 / 32)
    val = [(to_chunk(img), text) for img, text in (val_gen(12345, i) for i in range(512))]
    phases = (args.phases[0] * args.batch, args.phases[1] * args.batch)
    loader = DataLoader(SynthLines(vocab, seed=1000, start=step * args.batch, phases=phases),
                        batch_size=args.batch, num_workers=1, collate_fn=collate,
                        prefetch_factor=8)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    model.train()
    t0, seen, losses = time.time(), 0, []
    metrics = open(args.work / "metrics.jsonl", "a")
    for x, targets, lengths, _ in loader:
        if step >= args.steps:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, 50)
        logp = model(x).log_softmax(-1).permute(1, 0, 2)
        loss = ctc(logp, targets, torch.full((x.shape[0],), logp.shape[0]), lengths)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        seen += x.shape[0]
        losses.append(loss.item())
        if step % 20 == 0:
            rec = {"step": step, "loss": float(np.mean(losses)), "lr": opt.param_groups[0]["lr"],
                   "samples_per_s": seen / (time.time() - t0)}
            losses = []
            if step % args.eval_every == 0:
                rec["val_line_acc"], rec["val_char_acc"] = evaluate(model, vocab, val)
            print(json.dumps(rec), flush=True)
            metrics.write(json.dumps(rec) + "\n")
            metrics.flush()
        if step % args.save_every == 0 or step == args.steps:
            tmp = state_path.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, tmp)
            os.replace(tmp, state_path)


if __name__ == "__main__":
    main()
