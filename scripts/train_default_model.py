"""Train the embedded default model (convnextvit_nano) on rendered one-chunk lines, on CPU.

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
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from torch.utils.data import DataLoader, IterableDataset

from duguang_ocr.decoding import ctc_greedy
from duguang_ocr.hub.modelscope import save_model_dir
from duguang_ocr.models import create_model
from duguang_ocr.preprocess import canvas_to_chunks, plan_line, render_canvas
from duguang_ocr.vocab import Vocab

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "src/duguang_ocr/hub/default"
FONT_DIR = "/usr/share/fonts/truetype"
CJK_FONTS = [("wqy/wqy-microhei.ttc", 0), ("wqy/wqy-zenhei.ttc", 0), ("wqy/wqy-zenhei.ttc", 2)]
LATIN_FONTS = [(f"dejavu/{n}.ttf", 0) for n in (
    "DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "DejaVuSansMono", "DejaVuSansCondensed",
    "DejaVuSerif-Bold", "DejaVuSans-Oblique")]
PUNCT = list("，。！？；：、“”（）《》【】…—·")


class TextSampler:
    """Chinese words/phrases, English words/sentences, numbers, dates, money, phones, codes,
    names and addresses, mixed Chinese/English; only vocab symbols."""

    def __init__(self, corpus: dict, vocab: Vocab):
        self.c, self.vocab = corpus, vocab
        w = np.asarray(corpus["zh_weights"], dtype=np.float64) ** 0.5
        self.zh_p = w / w.sum()
        self.hanzi = [s for s in vocab.symbols if "\u4e00" <= s <= "\u9fff"]

    def zh(self, rng, n=None):
        n = n or int(rng.integers(1, 5))
        idx = rng.choice(len(self.zh_p), size=n, p=self.zh_p)
        words = [self.c["zh_words"][i] for i in idx]
        s = ""
        for w in words:
            s += w + (PUNCT[int(rng.integers(len(PUNCT)))] if rng.random() < 0.15 else "")
        return s

    def en(self, rng):
        n = int(rng.integers(1, 5))
        words = [self.c["en_words"][int(rng.integers(len(self.c["en_words"])))] for _ in range(n)]
        if rng.random() < 0.3:
            words[0] = words[0].capitalize()
        s = " ".join(words)
        if rng.random() < 0.2:
            s = s.upper()
        return s + (rng.choice([".", ",", "!", "?", ":", ";"]) if rng.random() < 0.2 else "")

    def number(self, rng):
        k = int(rng.integers(0, 7))
        if k == 0:
            return f"{int(rng.integers(1, 10**int(rng.integers(1, 9)))):,}"
        if k == 1:
            return f"{rng.uniform(0, 10000):.{int(rng.integers(1, 3))}f}"
        if k == 2:
            y, m, d = int(rng.integers(1990, 2031)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
            return [f"{y}-{m:02d}-{d:02d}", f"{y}年{m}月{d}日", f"{m:02d}/{d:02d}/{y}", f"{y}.{m}.{d}"][int(rng.integers(4))]
        if k == 3:
            v = rng.uniform(0, 99999)
            return [f"¥{v:,.2f}", f"${v:.2f}", f"{v / 10000:.1f}万元", f"{int(v)}元", f"￥{v:.2f}"][int(rng.integers(5))]
        if k == 4:
            return [f"1{int(rng.integers(3, 10))}{int(rng.integers(0, 10**9)):09d}",
                    f"0{int(rng.integers(10, 999))}-{int(rng.integers(10**6, 10**8))}",
                    f"+86 138 {int(rng.integers(1000, 9999))} {int(rng.integers(1000, 9999))}"][int(rng.integers(3))]
        if k == 5:
            letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
            prov = self.hanzi[int(rng.integers(min(300, len(self.hanzi))))] if rng.random() < 0.5 else "皖"
            return prov + letters[int(rng.integers(24))] + "".join(
                rng.choice(list(letters + "0123456789")) for _ in range(5))
        alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return "".join(rng.choice(list(alnum)) for _ in range(int(rng.integers(4, 14))))

    def sample(self, rng) -> str:
        k = rng.random()
        c = self.c
        if k < 0.35:
            s = self.zh(rng)
        elif k < 0.55:
            s = self.en(rng)
        elif k < 0.70:
            s = self.number(rng)
        elif k < 0.80:
            s = self.zh(rng, 1) + rng.choice(["：", ":", " "]) + self.number(rng)
        elif k < 0.87:
            s = self.zh(rng, int(rng.integers(1, 3))) + (" " if rng.random() < 0.5 else "") + self.en(rng).split(" ")[0]
        elif k < 0.91:
            s = c["zh_names"][int(rng.integers(len(c["zh_names"])))]
        elif k < 0.95:
            s = c["zh_addresses"][int(rng.integers(len(c["zh_addresses"])))]
        elif k < 0.98:
            s = c["en_names"][int(rng.integers(len(c["en_names"])))]
        else:
            s = c["en_sentences"][int(rng.integers(len(c["en_sentences"])))]
        s = "".join(ch for ch in s if ch in self.vocab).strip()
        return s or "0"


_FONT_CACHE: dict = {}


def _fonts(kind, size):
    key = (kind, size)
    cache = _FONT_CACHE
    if key not in cache:
        cache[key] = [ImageFont.truetype(os.path.join(FONT_DIR, p), size, index=i)
                      for p, i in (CJK_FONTS if kind == "cjk" else CJK_FONTS + LATIN_FONTS)]
    return cache[key]


def render(text: str, rng) -> tuple[np.ndarray, str]:
    """Draw ``text`` as a cropped line (RGB uint8), trimmed to fit one 300-px chunk."""
    size = int(rng.integers(22, 44))
    kind = "latin" if text.isascii() else "cjk"
    font = _fonts(kind, size)[int(rng.integers(len(_fonts(kind, size))))]
    spacing = rng.uniform(-0.02, 0.15) * size
    pad_top, pad_bot = rng.uniform(0.05, 0.4, 2) * size
    height = int(size * 1.2 + pad_top + pad_bot)
    max_w = 300 / 32 * height * rng.uniform(0.55, 1.0)
    while len(text) > 1:  # trim until the line fits the one-chunk budget
        width = font.getlength(text) + spacing * (len(text) - 1)
        if width + 0.3 * size <= max_w:
            break
        text = text[:-1].rstrip() or text[:1]
    width = int(font.getlength(text) + spacing * max(0, len(text) - 1) + rng.uniform(0.05, 0.6) * size) + 2
    bg = rng.integers(150, 256, 3) if rng.random() < 0.85 else rng.integers(0, 110, 3)
    fg = rng.integers(0, 90, 3) if bg.mean() > 128 else rng.integers(170, 256, 3)
    img = np.empty((height, width, 3), np.float32)
    img[:] = bg
    if rng.random() < 0.3:  # gradient background
        ramp = np.linspace(0, rng.uniform(-60, 60), width, dtype=np.float32)[None, :, None]
        img += ramp
    if rng.random() < 0.3:  # paper-like texture
        noise = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 2)
        img += noise[:, :, None] * rng.uniform(5, 20)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    x = rng.uniform(0.02, 0.3) * size
    y = pad_top
    color = tuple(int(v) for v in fg)
    for ch in text:
        draw.text((x, y), ch, font=font, fill=color)
        x += font.getlength(ch) + spacing
    if rng.random() < 0.1:  # underline clutter
        yy = int(min(height - 2, y + size * 1.15))
        draw.line([(0, yy), (width, yy)], fill=color, width=1)
    if rng.random() < 0.08:  # border clutter
        draw.rectangle([0, 0, width - 1, height - 1], outline=color)
    out = np.asarray(pil)
    if rng.random() < 0.3:
        out = np.asarray(pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2))))
    if rng.random() < 0.4:  # small rotation / perspective
        h, w = out.shape[:2]
        d = rng.uniform(-0.04, 0.04, (4, 2)) * [h, h]
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        m = cv2.getPerspectiveTransform(src, (src + d).astype(np.float32))
        out = cv2.warpPerspective(out, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.3:
        out = np.clip(out + rng.normal(0, rng.uniform(2, 12), out.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        out = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    return np.ascontiguousarray(out), text


def to_chunk(img: np.ndarray) -> torch.Tensor:
    plan = plan_line(img.shape[0], img.shape[1], parity=True, img_width=300)
    return canvas_to_chunks(render_canvas(img, plan), 1)[0]


class SynthLines(IterableDataset):
    def __init__(self, sampler: TextSampler, vocab: Vocab, seed: int):
        self.sampler, self.vocab, self.seed = sampler, vocab, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            img, text = render(self.sampler.sample(rng), rng)
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
                errs += cv2_edit(p.text, text)
    model.train()
    return correct / len(val), max(0.0, 1 - errs / max(1, chars))


def cv2_edit(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("work", type=Path)
    ap.add_argument("--variant", default="convnextvit_nano")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--export", action="store_true")
    ap.add_argument("--init", type=Path, help="start from this model dir's weights "
                    "(e.g. the shipped default) when WORK has no train_state.pt")
    args = ap.parse_args()
    torch.set_num_threads(2)
    vocab = Vocab.from_file(DEFAULT_DIR / "vocab.txt")
    corpus = json.loads((ROOT / "scripts/default_corpus.json").read_text(encoding="utf-8"))
    args.work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = create_model(args.variant, num_classes=vocab.num_classes)
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
        save_model_dir(DEFAULT_DIR, model.eval(), vocab, args.variant, half=True,
                       extra={"trained_steps": step, "batch_size": args.batch})
        print(f"exported step {step} to {DEFAULT_DIR}")
        return
    sampler = TextSampler(corpus, vocab)
    val_rng = np.random.default_rng(12345)
    val = [(to_chunk(img), text) for img, text in
           (render(sampler.sample(val_rng), val_rng) for _ in range(256))]
    loader = DataLoader(SynthLines(sampler, vocab, seed=1000 + step), batch_size=args.batch,
                        num_workers=1, collate_fn=collate, prefetch_factor=4)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    model.train()
    t0, seen, losses = time.time(), 0, []
    metrics = open(args.work / "metrics.jsonl", "a")
    for x, targets, lengths, _ in loader:
        if step >= args.steps:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, 200)
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
