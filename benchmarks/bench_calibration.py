"""Fit and check a model's confidence calibration; draw the reliability plot.

Splits a synthetic labelled set (``duguang-ocr synth`` with a seed the model never trained
on) into a fitting part and a held-out part, fits each calibration method on the first,
and reports expected calibration error (ECE, 10 bins) and the accuracy (and share of lines
kept) at 90 % / 99 % confidence on the held-out part and on every subset of
shared/realtest, for raw scores and each fitted map. Optionally stores the default
method's map in the model directory and writes a reliability plot (PNG, drawn with PIL).

    duguang-ocr synth runs/calib_synth.lmdb --n 3000 --seed 90210
    python benchmarks/bench_calibration.py --data runs/calib_synth.lmdb --fit 2000 \\
        [--model DIR] [--write] [--plot docs/reliability.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
          (140, 86, 75), (227, 119, 194), (127, 127, 127)]


def _plot(path: Path, panels: dict[str, dict[str, tuple[list[float], list[bool]]]]) -> None:
    """One reliability diagram per panel (accuracy against mean confidence per bin, dot
    area ~ lines in the bin), one colour per data set."""
    from duguang_ocr.calibration import expected_calibration_error, reliability_bins

    size, margin = 360, 48
    legend = 48 + 16 * max(len(sets) for sets in panels.values())
    im = Image.new("RGB", (len(panels) * (size + margin) + margin, size + 2 * margin + legend),
                   "white")
    d = ImageDraw.Draw(im)
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 13)
    except OSError:
        font = ImageFont.load_default()
    for k, (title, sets) in enumerate(panels.items()):
        x0, y0 = margin + k * (size + margin), margin

        def pt(conf: float, acc: float, x0=x0, y0=y0) -> tuple[float, float]:
            return x0 + conf * size, y0 + (1 - acc) * size

        d.rectangle([x0, y0, x0 + size, y0 + size], outline="black")
        d.line([pt(0, 0), pt(1, 1)], fill=(160, 160, 160), width=1)
        for t in (0.0, 0.5, 1.0):
            d.text((x0 + t * size - 8, y0 + size + 4), f"{t:.1f}", fill="black", font=font)
            d.text((x0 - 28, y0 + (1 - t) * size - 7), f"{t:.1f}", fill="black", font=font)
        d.text((x0, 12), title, fill="black", font=font)
        d.text((x0 + size / 2 - 40, y0 + size + 20), "confidence", fill="black", font=font)
        for j, (name, (conf, hits)) in enumerate(sets.items()):
            color = COLORS[j % len(COLORS)]
            bins = reliability_bins(conf, hits)
            pts = [pt(c, a) for _, _, _, c, a in bins]
            if len(pts) > 1:
                d.line(pts, fill=color, width=2)
            for (_, _, n, _, _), (px, py) in zip(bins, pts):
                r = 2 + 6 * (n / max(1, len(conf))) ** 0.5
                d.ellipse([px - r, py - r, px + r, py + r], fill=color)
            ece = expected_calibration_error(conf, hits)
            d.text((x0, y0 + size + 40 + 16 * j), f"{name}: ECE {ece:.3f} ({len(conf)} lines)",
                   fill=color, font=font)
    d.text((8, y0 + size // 2 - 60), "acc", fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def main(argv: list[str] | None = None) -> int:
    from duguang_ocr import Recognizer, hub
    from duguang_ocr.calibration import (
        METHODS,
        accuracy_above,
        expected_calibration_error,
        fit_isotonic,
        fit_logistic,
        read_features,
        save_calibration,
    )
    from duguang_ocr.evaluate import iter_labelled, labelled_sets

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model dir (default: the embedded model)")
    ap.add_argument("--data", required=True, help="synthetic labelled LMDB/folder")
    ap.add_argument("--fit", type=int, default=2000, help="lines to fit on; the rest is held out")
    ap.add_argument("--realtest", default=str(Path(__file__).resolve().parents[2] / "shared"
                                              / "realtest"))
    ap.add_argument("--write", action="store_true",
                    help=f"store the {METHODS[0]} map fitted here in the model dir")
    ap.add_argument("--plot", default=None, help="write a reliability plot (PNG) here")
    args = ap.parse_args(argv)

    model_dir = hub.resolve(args.model)
    rec = Recognizer(model_dir, device="cpu")
    print(f"model: {rec.spec.variant} ({model_dir})")
    pairs = [(x, t) for _, x, t in iter_labelled(args.data)]
    fit_feats, fit_hits = read_features(rec, pairs[: args.fit], "exact")
    maps = {"raw": lambda f: f.raw, "logistic": fit_logistic(fit_feats, fit_hits),
            "isotonic": fit_isotonic(fit_feats, fit_hits)}
    print(f"fitted on {len(fit_feats)} lines (line accuracy {np.mean(fit_hits):.1%}); "
          f"logistic weights {maps['logistic'].weights}")
    sets = {f"synthetic held-out ({Path(args.data).name})": (pairs[args.fit :], "exact")}
    realtest = args.realtest if Path(args.realtest).is_dir() else None
    for s in labelled_sets(realtest):
        sets[s.name] = ([(x, t) for _, x, t in iter_labelled(s.path)], s.protocol)
    print("\n| data | lines | line acc | " + " | ".join(f"ECE {m}" for m in maps)
          + " | raw: acc at >= 90% (kept) | at >= 99% (kept) | logistic: at >= 90% | "
          "at >= 99% |")
    print("|---|---|---|" + "---|" * len(maps) + "---|---|---|---|")
    panels: dict[str, dict] = {"raw score": {}, "calibrated (logistic)": {}}
    for name, (data, protocol) in sets.items():
        if not data:
            continue
        feats, hits = read_features(rec, data, protocol)
        confs = {m: [f_(f) for f in feats] for m, f_ in maps.items()}
        cells = [f"{expected_calibration_error(confs[m], hits):.3f}" for m in maps]
        for m in ("raw", "logistic"):
            for t in (0.9, 0.99):
                acc, cov = accuracy_above(confs[m], hits, t)
                cells.append(f"{'–' if acc != acc else f'{acc:.1%}'} ({cov:.1%})")
        print(f"| {name} | {len(data)} | {np.mean(hits):.1%} | " + " | ".join(cells) + " |")
        if len(data) >= 50:
            panels["raw score"][name] = (confs["raw"], hits)
            panels["calibrated (logistic)"][name] = (confs["logistic"], hits)
    if args.plot:
        _plot(Path(args.plot), panels)
        print(f"\nwrote {args.plot}")
    if args.write:
        d = maps["logistic"].to_dict()
        print(f"wrote the logistic map into {save_calibration(model_dir, d)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
