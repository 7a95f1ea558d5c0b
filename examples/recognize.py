"""The Python API in a dozen lines: run `python examples/recognize.py` from the repo root."""

import signal
from pathlib import Path

import cv2
from PIL import Image

from duguang_ocr import Recognizer

if hasattr(signal, "SIGPIPE"):  # `python examples/recognize.py | head` stops quietly, as
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # Unix tools do (no SIGPIPE on Windows)

here = Path(__file__).parent
rec = Recognizer()  # the embedded default model: no download, works offline

# One input -> one string. Paths, URLs, bytes, PIL images and arrays are all accepted.
print(rec(here / "en_hello.png"))

# A list -> a list; mixed input types are fine. cv2 arrays are BGR, as cv2.imread returns them.
inputs = [
    str(here / "zh_line.png"),
    Image.open(here / "en_hello.png"),
    cv2.imread(str(here / "long_line.png")),
    (here / "en_hello.png").read_bytes(),
]
for text in rec(inputs):
    print(text)

# Details: confidence, per-character confidences and x positions in the original image.
result = rec.recognize(here / "en_hello.png")
print(result.text, round(result.confidence, 3))
for ch, conf, x in zip(result.text, result.char_confidences, result.char_positions):
    print(f"  {ch!r} conf={conf:.2f} x={x:.0f}px")

# Alternatives per character, character boxes, and readings held to a pattern or word list.
result = rec.recognize(here / "en_hello.png", alternatives=3)
for ch, alts, (x0, x1) in zip(result.text, result.alternatives, result.char_boxes):
    print(f"  {ch!r} x={x0:.0f}..{x1:.0f}px  " + "  ".join(f"{c!r} {p:.2f}" for c, p in alts))
print(rec(here / "en_hello.png", pattern=r"[A-Za-z]+, [a-z]+! \d{4}"))
print(rec(here / "en_hello.png", lexicon=["hello", "world"], lexicon_mode="words",
          ignore_case=True, allowed_chars="helowrdHELOWRD "))  # no match: constraint_met=False
