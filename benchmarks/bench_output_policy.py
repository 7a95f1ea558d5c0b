"""Measure the mixed-script output policies (spaces=, punctuation=) and character boxes.

On rendered mixed Chinese/English lines (render_lines.py: conventional spaces and
punctuation widths, four fonts) and on shared/realtest/mixed_fixtures this prints:

1. line and character accuracy for every ``spaces`` x ``punctuation`` combination (also on
   shared/realtest/en_print, to check English lines are not hurt);
2. for neighbouring characters read right (matched to the label), how often each rule
   decides "space or not" right: the model's greedy spaces, the blank gap between them
   (line heights), the space probability in that gap (how ``textpolicy.SPACE_PROB`` was
   chosen, and why no gap threshold is used);
3. how well ``char_boxes`` and ``char_positions`` locate the rendered characters.

    python benchmarks/bench_output_policy.py [--model DIR] [--n 200] [--realtest DIR]
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from render_lines import mixed_lines  # noqa: E402


def _scores(preds: list[str], labels: list[str]) -> tuple[float, float]:
    from duguang_ocr.evaluate import edit_distance

    exact = float(np.mean([p == t for p, t in zip(preds, labels)]))
    edits = sum(edit_distance(p, t) for p, t in zip(preds, labels))
    return exact, 1 - edits / sum(len(t) for t in labels)


def policy_table(rec, sets: dict[str, tuple[list, list[str]]]) -> None:
    from duguang_ocr.textpolicy import PUNCTUATION, SPACES

    print("| spaces | punctuation | " + " | ".join(f"{k} line / char acc" for k in sets) + " |")
    print("|---|---|" + "---|" * len(sets))
    for spaces in SPACES:
        for punct in PUNCTUATION:
            cells = []
            for images, labels in sets.values():
                preds = rec(images, spaces=spaces, punctuation=punct)
                line_acc, char_acc = _scores(preds, labels)
                cells.append(f"{line_acc:.1%} / {char_acc:.1%}")
            print(f"| {spaces} | {punct} | " + " | ".join(cells) + " |")


def _pair_features(rec, src, label: str) -> list[tuple[float, float, bool, bool]]:
    """Per pair of neighbouring non-space characters read right (not both wide): (blank gap
    in line heights, space probability in the gap, model wrote a space, label has one)."""
    from duguang_ocr.decoding import ctc_greedy
    from duguang_ocr.textpolicy import is_wide, space_evidence

    probs = rec.forward_logits([src])[0].float().softmax(-1)
    line = ctc_greedy(probs[None], rec.vocab.itos)[0]
    spaces = [i for i, c in enumerate(rec.vocab.itos) if c == " "]
    evidence = space_evidence(line, probs[:, spaces].numpy())
    # Non-space characters of the reading and of the label, matched by difflib.
    pred = [(i, c) for i, c in enumerate(line.text) if c != " "]
    truth = [(i, c) for i, c in enumerate(label) if c != " "]
    sm = difflib.SequenceMatcher(a="".join(c for _, c in pred), b="".join(c for _, c in truth),
                                 autojunk=False)
    match = {a + k: b + k for a, b, n in sm.get_matching_blocks() for k in range(n)}
    frame_h = 4 / rec.spec.img_height
    out = []
    for j in range(len(pred) - 1):
        if match.get(j + 1) != match.get(j, -2) + 1:
            continue
        (i1, a), (i2, b) = pred[j], pred[j + 1]
        if is_wide(a) and is_wide(b):
            continue
        blank = line.char_spans[i2][0] - line.char_spans[i1][1] - 1
        seen = max(evidence[i1:i2]) if i2 == i1 + 1 else 1.0  # a model space between
        t1, t2 = truth[match[j]][0], truth[match[j + 1]][0]
        out.append((blank * frame_h, seen, i2 > i1 + 1, t2 > t1 + 1))
    return out


def gap_analysis(rec, sets: dict[str, tuple[list, list[str]]]) -> None:
    """How well each rule decides "space or not" between two neighbours read right."""
    print("| rule | " + " | ".join(f"{k}: pairs right" for k in sets) + " |")
    print("|---|" + "---|" * len(sets))
    feats = {k: np.array([f for x, t in zip(*v) for f in _pair_features(rec, x, t)])
             for k, v in sets.items()}
    rules = {"model (greedy spaces)": lambda f: f[:, 2] > 0}
    for thr in (0.375, 0.5, 0.625, 0.75, 1.0):
        rules[f"gap >= {thr} line heights"] = lambda f, t=thr: f[:, 0] >= t - 1e-9
    for p in (0.02, 0.05, 0.1, 0.2, 0.5):
        rules[f"space prob in gap >= {p}"] = lambda f, p=p: (f[:, 1] >= p) & (f[:, 0] > 0)
    rules["space prob >= 0.2 or gap >= 1 line height"] = (
        lambda f: ((f[:, 1] >= 0.2) & (f[:, 0] > 0)) | (f[:, 0] >= 1.0 - 1e-9))
    for name, rule in rules.items():
        cells = [f"{np.mean(rule(f) == (f[:, 3] > 0)):.1%} of {len(f)}" for f in feats.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")


def box_analysis(results, lines) -> None:
    inside, iou = [], []
    for r, line in zip(results, lines):
        if r.text != line.text:
            continue
        for (x0, x1), (t0, t1), c in zip(r.char_boxes, line.boxes, r.char_positions):
            inside.append(t0 <= c <= t1)
            inter = max(0.0, min(x1, t1) - max(x0, t0))
            iou.append(inter / (max(x1, t1) - min(x0, t0)))
    print(f"{len(inside)} characters of exactly read lines: centre inside the rendered "
          f"character {np.mean(inside):.1%}, box IoU with it mean {np.mean(iou):.2f}")


def main(argv: list[str] | None = None) -> int:
    from duguang_ocr import Recognizer
    from duguang_ocr.evaluate import iter_labelled

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--n", type=int, default=200, help="rendered mixed lines")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--realtest", default=str(Path(__file__).resolve().parents[2] / "shared"
                                              / "realtest"))
    args = ap.parse_args(argv)
    rec = Recognizer.from_pretrained(args.model, device="cpu")
    print(f"model: {rec.spec.variant} ({args.model or 'embedded default'})")
    lines = mixed_lines(args.n, args.seed)
    sets = {"rendered mixed": ([ln.image for ln in lines], [ln.text for ln in lines])}
    for subset in ("mixed_fixtures", "en_print", "plate_zh"):
        if (Path(args.realtest) / subset).is_dir():
            items = list(iter_labelled(Path(args.realtest) / subset))
            sets[subset] = ([x for _, x, _ in items], [t for _, _, t in items])
    policy_table(rec, sets)
    gap_analysis(rec, sets)
    box_analysis(rec.recognize([ln.image for ln in lines], spaces="model"), lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
