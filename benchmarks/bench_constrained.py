"""Measure constrained decoding: accuracy with and without a constraint, and its cost.

* ``plate_zh`` (shared/realtest) with a Chinese licence-plate pattern (the standard format:
  a province abbreviation, a letter, then five or six letters/digits; I and O are not used);
* ``en_scene_iiit5k`` with a 1,000-entry lexicon: the subset's label words (lower case,
  letters and digits, as the alnum-ci protocol compares them) plus the most frequent
  English words of ``wordfreq`` (``pip install wordfreq``) that are not among them, read
  case-insensitively. IIIT5K's own lexicon files are not in the public repository; this is
  the usual protocol's shape (every image's word plus distractors).

Speed is CPU time per line of the whole ``recognize`` call (model included) with torch on
one thread, best of ``--repeat`` rounds on a warm recognizer, greedy and constrained
alternating: on a shared machine wall-clock time measures the neighbours, CPU time of a
single-threaded process does not.

    python benchmarks/bench_constrained.py [--model DIR] [--realtest DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import torch

from duguang_ocr.synth.textformats import PLATE_LETTERS, PLATE_PROVINCES

PLATE = f"[{PLATE_PROVINCES}][{PLATE_LETTERS}][{PLATE_LETTERS}0-9]{{5,6}}"


def lexicon_for(labels: list[str], size: int = 1000) -> list[str]:
    """The labels' words plus the most frequent English words up to ``size`` entries."""
    from wordfreq import top_n_list

    words = sorted({re.sub(r"[^0-9a-z]", "", t.lower()) for t in labels} - {""})
    extra = [w for w in top_n_list("en", 20 * size) if w.isalpha() and w.isascii()
             and w not in set(words)]
    return words + extra[: max(0, size - len(words))]


def _compare(rec, images, repeat: int, **options) -> tuple[list, list, float, float]:
    """Greedy and constrained results, and the best ms/line of each over ``repeat`` rounds
    (alternating, so both see the same machine load)."""
    best = [float("inf"), float("inf")]
    results: list = [None, None]
    for _ in range(repeat):
        for k, opts in enumerate(({}, options)):
            t = time.process_time()
            results[k] = rec.recognize(images, **opts)
            best[k] = min(best[k], time.process_time() - t)
    return results[0], results[1], 1000 * best[0] / len(images), 1000 * best[1] / len(images)


def _row(name, labels, protocol, greedy, constrained, ms=None) -> str:
    from duguang_ocr.evaluate import EvalReport

    reports = []
    for results in (greedy, constrained):
        r = EvalReport(name, protocol)
        for i, (res, label) in enumerate(zip(results, labels)):
            r.add(str(i), label, res.text)
        reports.append(r)
    met = sum(bool(r.constraint_met) for r in constrained)
    row = (f"| {name} | {len(labels)} | {reports[0].line_acc:.1%} / {reports[0].char_acc:.1%} "
           f"| {reports[1].line_acc:.1%} / {reports[1].char_acc:.1%} | {met} |")
    if ms is not None:
        row += f" {ms[0]:.1f} | {ms[1]:.1f} | {ms[1] / ms[0]:.2f}x | {ms[1] - ms[0]:+.1f} |"
    return row


def main(argv: list[str] | None = None) -> int:
    from duguang_ocr import Recognizer
    from duguang_ocr.evaluate import iter_labelled
    from duguang_ocr.readout import CONSTRAINED_BEAM, build_constraint

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--realtest", default=str(Path(__file__).resolve().parents[2] / "shared"
                                              / "realtest"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rec = Recognizer.from_pretrained(args.model, device="cpu", num_workers=0)
    print(f"model: {rec.spec.variant} ({args.model or 'embedded default'})")
    root = Path(args.realtest)
    print("\n| data | lines | greedy line / char acc | constrained line / char acc | "
          "constraint met | greedy CPU ms/line | constrained CPU ms/line | ratio | extra |")
    print("|---|---|---|---|---|---|---|---|---|")

    plates = list(iter_labelled(root / "plate_zh"))
    images = [x for _, x, _ in plates]
    rec.recognize(images[:8])  # warm up
    greedy_plates, pattern, t0, t1 = _compare(rec, images, args.repeat, pattern=PLATE)
    print(_row("plate_zh, pattern", [t for _, _, t in plates], "exact", greedy_plates, pattern,
               (t0, t1)))

    words = list(iter_labelled(root / "en_scene_iiit5k"))
    images = [x for _, x, _ in words]
    lexicon = lexicon_for([t for _, _, t in words])
    rec.recognize(images[:8], lexicon=lexicon, ignore_case=True)  # compiles the trie
    greedy, lex, t0, t1 = _compare(rec, images, args.repeat, lexicon=lexicon, ignore_case=True)
    print(_row(f"en_scene_iiit5k, {len(lexicon)}-word lexicon", [t for _, _, t in words],
               "alnum-ci", greedy, lex, (t0, t1)))
    for beam in (8, 32):
        p = rec.recognize([x for _, x, _ in plates], pattern=PLATE, beam_width=beam)
        w = rec.recognize(images, lexicon=lexicon, ignore_case=True, beam_width=beam)
        print(f"\nbeam {beam} instead of {CONSTRAINED_BEAM} (readout.CONSTRAINED_BEAM):")
        print(_row("plate_zh, pattern", [t for _, _, t in plates], "exact", greedy_plates, p))
        print(_row("IIIT5K, lexicon", [t for _, _, t in words], "alnum-ci", greedy, w))
    t = time.perf_counter()

    build_constraint(rec.vocab.itos, lexicon=lexicon, ignore_case=True)
    print(f"\ncompiling the lexicon: {1000 * (time.perf_counter() - t):.0f} ms (once per "
          "lexicon; cached by the recognizer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
