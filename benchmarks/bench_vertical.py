"""Measure vertical-line reading: tall crops read as they are vs as columns.

Sets: rendered vertical Chinese columns (upright characters stacked, render_lines.py),
rendered horizontal lines turned 90 degrees either way, and every crop of
shared/realtest's English scene subsets taller than 1.5x its width (stacked signs, rotated
words, and plain horizontal words that happen to be tall). For each it prints the line
and character accuracy with ``vertical=False`` and ``vertical=True``, of each candidate
reading (as is, stacked, rotated counter-clockwise, rotated clockwise) and of the best of
them, and what each rule for picking among them gets (how ``vertical.view_score`` was
chosen).

    python benchmarks/bench_vertical.py [--model DIR] [--n 100] [--realtest DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from render_lines import FONTS, column_lines, mixed_lines, render_line  # noqa: E402


def _tall_realtest(root: Path) -> tuple[list, list[str], list[str]]:
    from duguang_ocr.evaluate import iter_labelled, labelled_sets

    images, labels, protocols = [], [], []
    if not root.is_dir():
        return images, labels, protocols
    for subset in labelled_sets(root):
        if not subset.name.startswith("en_scene_"):
            continue
        for _, path, label in iter_labelled(subset.path):
            w, h = Image.open(path).size
            if h > 1.5 * w:
                images.append(path)
                labels.append(label)
                protocols.append(subset.protocol)
    return images, labels, protocols


def _char_acc(pred: str, label: str, protocol: str) -> float:
    from duguang_ocr.evaluate import PROTOCOLS, edit_distance

    p, t = PROTOCOLS[protocol](pred), PROTOCOLS[protocol](label)
    return max(0.0, 1 - edit_distance(p, t) / max(1, len(t)))


RULES = {
    "mean char confidence": lambda r: float(np.mean(r.char_confidences)) if r.text else 0.0,
    "line confidence (product)": lambda r: r.confidence if r.text else 0.0,
    "min char confidence": lambda r: min(r.char_confidences) if r.text else 0.0,
}


def main(argv: list[str] | None = None) -> int:
    from duguang_ocr import Recognizer
    from duguang_ocr.io import load_image
    from duguang_ocr.vertical import is_tall, views

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=100, help="rendered lines per rendered set")
    ap.add_argument("--realtest", default=str(Path(__file__).resolve().parents[2] / "shared"
                                              / "realtest"))
    args = ap.parse_args(argv)
    rec = Recognizer.from_pretrained(args.model, device="cpu")
    print(f"model: {rec.spec.variant} ({args.model or 'embedded default'})")

    cols = column_lines(args.n, seed=5)
    short = [ln for ln in mixed_lines(12 * args.n, seed=6) if len(ln.text) <= 10][: args.n]
    flat = [render_line(ln.text, *FONTS[i % len(FONTS)]) for i, ln in enumerate(cols)]
    sets = {
        "rendered columns (zh)": ([ln.image for ln in cols], [ln.text for ln in cols],
                                  ["exact"] * len(cols)),
        "(reference: their texts rendered horizontally)": (
            [ln.image for ln in flat], [ln.text for ln in flat], ["exact"] * len(flat)),
        "rendered lines turned 90 cw": ([ln.image.rotate(-90, expand=True) for ln in short],
                                        [ln.text for ln in short], ["exact"] * len(short)),
        "rendered lines turned 90 ccw": ([ln.image.rotate(90, expand=True) for ln in short],
                                         [ln.text for ln in short], ["exact"] * len(short)),
        "realtest tall crops": _tall_realtest(Path(args.realtest)),
    }
    names = ["as is", "stack", "rotate_ccw", "rotate_cw"]
    print("Character accuracy (line accuracy in brackets):\n")
    print("| set | lines | vertical=False | vertical=True | best view (oracle) | "
          + " | ".join(names) + " | " + " | ".join(f"pick by {r}" for r in RULES) + " |")
    print("|---|---|---|---|---|" + "---|" * (len(names) + len(RULES)))
    for name, (images, labels, protocols) in sets.items():
        if not images:
            continue
        arrays = [load_image(x) for x in images]  # RGB (a bare array would be read as BGR)
        readings = [rec.recognize([Image.fromarray(a) for a in arrays], vertical=False)] + [
            rec.recognize([Image.fromarray(views(a)[k].image) for a in arrays], vertical=False)
            for k in range(3)]
        acc = np.array([[_char_acc(r.text, t, p) for r, t, p in zip(rs, labels, protocols)]
                        for rs in readings])  # (views, lines): character accuracy
        exact = acc == 1.0
        cols = np.arange(len(images))

        def cell(a: np.ndarray, e: np.ndarray) -> str:
            return f"{a.mean():.1%} ({e.mean():.0%})"

        on = [_char_acc(p, t, q) for p, t, q in zip(rec(images, vertical=True), labels,
                                                        protocols)]
        cells = [cell(acc[0], exact[0]), cell(np.array(on), np.array(on) == 1.0),
                 cell(acc.max(0), exact.any(0))]
        cells += [cell(a, e) for a, e in zip(acc, exact)]
        tall = np.array([is_tall(*a.shape[:2]) for a in arrays])
        for rule in RULES.values():
            scores = np.array([[rule(r) for r in rs] for rs in readings])
            scores[1:, ~tall] = -1.0  # as the recognizer: only tall crops get views
            pick = scores.argmax(0)
            cells.append(cell(acc[pick, cols], exact[pick, cols]))
        print(f"| {name} | {len(images)} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
