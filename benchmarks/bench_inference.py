"""Inference speed on the CPU: lines/s, ms/line and peak RSS for the recognizer's paths.

A fixed, seeded set of rendered text lines (5-60 characters at height 32, most narrower than
ModelScope's 804-px canvas) is written as PNG files, so every path below includes file
decoding. Each configuration runs in its own process (peak RSS = that process's
``VmHWM``, model loading included; a child inherits its parent's ``ru_maxrss``), on the
same files and the same checkpoint:

* ``parity``  - the per-image baseline, equivalent to ModelScope's path: ``mode="parity"``
  (804-px canvas, always 3 chunks), batch 1, one image at a time, no loader threads;
* ``default`` - ``Recognizer`` defaults: only the chunks each line needs, lines packed into
  batches, one loader thread;
* ``onnx``    - ``backend="onnxruntime"`` on a directory from ``duguang-ocr export``;
* ``int8``    - ``quantize="int8"`` (dynamic int8 Linear layers);
* ``bf16``    - ``dtype="bf16"``: bf16 oneDNN linear layers under CPU autocast (needs a CPU
  with AVX512-BF16 or AMX to be fast);
* ``fast``, ``fast-bf16`` - ``mode="fast"``: each line's last chunk cut to the line's width
  (float32, and with bf16);
* ``modelscope`` (``--msref``, on when ``.venv-msref/bin/python`` exists) - ModelScope's own
  model + preprocessor, one image at a time, in that virtualenv.

Speeds are printed with their ratio to ``parity`` (and to ModelScope) measured in the same
run; nothing is asserted. The int8 and bf16 accuracy costs are printed too: the share of
lines whose string equals the fp32 string, and the largest |logit difference|. On random weights
those numbers are only indicative; pass ``--model DIR`` for a trained model (``--model
default`` is the embedded one).

    python benchmarks/bench_inference.py [--n 200] [--threads N] [--model DIR] [--quick]
        [--lines DIR]   # real crops instead of rendered lines

Run it on an otherwise idle machine: the numbers are wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from compare_modes import OPTIONS  # configuration name -> Recognizer keyword arguments

ROOT = Path(__file__).resolve().parents[1]
MSREF_PYTHON = ROOT / ".venv-msref" / "bin" / "python"
CONFIGS = ("parity", "default", "onnx", "int8", "bf16", "fast", "fast-bf16")
LABELS = {
    "parity": "(a) per-image parity (ModelScope-equivalent)",
    "default": "(b) default (batched)",
    "onnx": "(c) backend=onnxruntime",
    "int8": "(d) quantize=int8",
    "bf16": "(e) dtype=bf16 (CPU AVX512-BF16/AMX)",
    "fast": "(f) mode=fast (last chunk cut to the line)",
    "fast-bf16": "(g) mode=fast, dtype=bf16",
    "modelscope": "ModelScope model+preprocessor",
}
MODELSCOPE_SYMBOLS = 7642
WARMUP = 2  # lines run before timing (first-call allocations, ORT graph warm-up)


# ----------------------------------------------------------------------------- inputs


def _text_length(rng: np.random.Generator) -> int:
    """5..60 characters, skewed to short lines as crops from a detector are."""
    return 5 + min(55, int(56 * rng.random() ** 2))


def _synth_lines(n: int, seed: int) -> list[np.ndarray]:
    """``n`` lines rendered by ``duguang_ocr.synth`` (installed fonts, varied styles)."""
    from duguang_ocr.synth.make import LineGenerator
    from duguang_ocr.synth.render import render_line

    gen = LineGenerator.default(max_chars=60)
    images = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        length = _text_length(rng)
        while True:
            text = ""
            while len(text) < length:
                part = gen.sampler.sample(rng, length)
                sep = " " if text and text[-1].isascii() and part[0].isascii() else ""
                text = f"{text}{sep}{part}"
            text = text[:length].strip()
            face = gen.fonts.pick(text, rng) if len(text) >= 5 else None
            if face is not None:
                break
        images.append(render_line(text, face, rng, height=32, config=gen.config))
    return images


def _plain_lines(n: int, seed: int) -> list[np.ndarray]:
    """Fallback when no fonts for the synth renderer are installed: PIL text on white."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 22)
    except OSError:
        font = ImageFont.load_default(22)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:-")
    images = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        text = "".join(rng.choice(alphabet, size=_text_length(rng))).strip() or "text"
        im = Image.new("RGB", (int(font.getlength(text)) + 8, 32), "white")
        ImageDraw.Draw(im).text((4, 4), text, fill="black", font=font)
        images.append(np.asarray(im))
    return images


def make_lines(out_dir: Path, n: int, seed: int = 0) -> tuple[list[str], str]:
    """Write ``n`` seeded line images as PNG files; returns (paths, renderer name)."""
    from PIL import Image

    try:
        images, source = _synth_lines(n, seed), "duguang_ocr.synth"
    except RuntimeError as e:  # no usable fonts
        print(f"note: synth renderer unavailable ({e}); plain PIL lines instead")
        images, source = _plain_lines(n, seed), "PIL fallback"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        path = out_dir / f"line_{i:05d}.png"
        Image.fromarray(img).save(path)
        paths.append(str(path))
    return paths, source


def existing_lines(data: Path, n: int, out_dir: Path) -> list[str]:
    """Paths of the first ``n`` images of a labelled folder or LMDB (LMDB images are
    written out as files, so every configuration decodes files)."""
    from duguang_ocr.evaluate import iter_labelled

    paths = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, (_, src, _) in enumerate(iter_labelled(data)):
        if i == n:
            break
        if isinstance(src, bytes):
            path = out_dir / f"line_{i:05d}.img"
            path.write_bytes(src)
            src = path
        paths.append(str(src))
    return paths


def tiny_vocab() -> list[str]:
    """7,642 symbols, the size of ModelScope's general vocabulary (so the head has the
    official 7,644 classes and ModelScope's own class can load the checkpoint): the embedded
    default model's symbols (or the synth charset), then CJK ideographs in code order."""
    from duguang_ocr.hub import DEFAULT_MODEL_DIR
    from duguang_ocr.synth.charset import load_charset
    from duguang_ocr.vocab import Vocab

    vocab_file = DEFAULT_MODEL_DIR / "vocab.txt"
    base = Vocab.from_file(vocab_file).symbols if vocab_file.is_file() else load_charset()
    symbols = list(dict.fromkeys(base))[:MODELSCOPE_SYMBOLS]
    seen, code = set(symbols), 0x4E00
    while len(symbols) < MODELSCOPE_SYMBOLS:
        if chr(code) not in seen:
            symbols.append(chr(code))
        code += 1
    return symbols


def make_random_tiny(out_dir: Path, seed: int = 0) -> Path:
    """Random-weight full ConvNextViT-tiny in ModelScope format."""
    import torch

    from duguang_ocr.hub.modelscope import save_model_dir
    from duguang_ocr.models import create_model
    from duguang_ocr.vocab import Vocab

    vocab = Vocab(tiny_vocab(), offset=2)
    torch.manual_seed(seed)
    model = create_model("convnextvit_tiny", num_classes=vocab.num_classes)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # random weights that make every layer matter, peaked outputs
        for name, p in model.named_parameters():
            p.add_(torch.randn(p.shape, generator=g) * (0.05 if p.dim() > 1 else 0.2))
            if name.endswith("head.weight"):
                p.mul_(20)
    return save_model_dir(out_dir, model.eval(), vocab, "convnextvit_tiny")


def width_summary(paths: list[str]) -> str:
    from PIL import Image

    from duguang_ocr.chunking import ChunkGeometry
    from duguang_ocr.preprocess import resized_width

    widths = []
    for p in paths:
        with Image.open(p) as im:
            widths.append(resized_width(im.height, im.width))
    chunks = np.bincount([ChunkGeometry().chunks_needed(w) for w in widths])
    hist = ", ".join(f"{k}: {c}" for k, c in enumerate(chunks) if c)
    return (f"widths at height 32: median {int(np.median(widths))} px, max {max(widths)} px, "
            f"{np.mean(np.array(widths) < 804):.0%} under 804 px; "
            f"chunks needed (default mode) {{{hist}}} vs 3 per line in parity mode")


# ----------------------------------------------------------------------------- one config


def peak_rss_mib() -> float:
    """This process's peak RSS in MiB.

    ``VmHWM`` where /proc exists: Linux carries ``ru_maxrss`` over ``fork`` + ``exec``, so
    a child started by a big parent would report the parent's peak; ``VmHWM`` belongs to
    the process's own address space.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_one(config: str, job: dict) -> dict:
    """Load one configuration, warm it up, time it over every file (in this process)."""
    import torch

    if job["threads"]:
        torch.set_num_threads(job["threads"])
    from duguang_ocr import Recognizer

    paths, model_dir = job["paths"], job["model_dir"]
    t0 = time.perf_counter()
    if config == "parity":
        rec = Recognizer(model_dir, device="cpu", mode="parity", batch_size=1, num_workers=0)
    elif config == "onnx":
        rec = Recognizer(job["onnx_dir"] or model_dir, device="cpu", backend="onnxruntime")
    elif config in OPTIONS:
        rec = Recognizer(model_dir, device="cpu", **OPTIONS[config])
    elif config.startswith("accuracy-"):
        return precision_accuracy(job, config.removeprefix("accuracy-"))
    else:
        raise ValueError(f"unknown configuration {config!r}")
    load_s = time.perf_counter() - t0
    per_image = config == "parity"
    if per_image:
        for p in paths[:WARMUP]:
            rec(p)
    else:
        rec(paths[:WARMUP])
    t0 = time.perf_counter()
    texts = [rec(p) for p in paths] if per_image else rec(paths)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "load_s": load_s, "rss_mib": peak_rss_mib(), "texts": texts,
            "threads": torch.get_num_threads()}


def precision_accuracy(job: dict, kind: str) -> dict:
    """Largest |logit difference| of ``kind`` (int8 or bf16) against float32, and the share
    of frames whose argmax agrees (one line per pass, default mode)."""
    from duguang_ocr import Recognizer

    fp32 = Recognizer(job["model_dir"], device="cpu")
    low = Recognizer(job["model_dir"], device="cpu", **OPTIONS[kind])
    paths = job["paths"][: job["acc_n"]]
    diff, scale, same, frames = 0.0, 0.0, 0, 0
    for a, b in zip(fp32.forward_logits(paths), low.forward_logits(paths)):
        diff = max(diff, float((a - b).abs().max()))
        scale = max(scale, float(a.abs().max()))
        same += int((a.argmax(-1) == b.argmax(-1)).sum())
        frames += a.shape[0]
    return {"max_abs_diff": diff, "max_abs_logit": scale, "lines": len(paths),
            "frame_agreement": same / max(frames, 1)}


# ----------------------------------------------------------------------------- ModelScope

MSREF_RUNNER = '''
import json, resource, sys, time
import torch
from modelscope.models.cv.ocr_recognition import OCRRecognition
from modelscope.models.cv.ocr_recognition.preprocessor import OCRRecognitionPreprocessor

job = json.load(open(sys.argv[1], encoding="utf-8"))
if job["threads"]:
    torch.set_num_threads(job["threads"])
t0 = time.perf_counter()
model = OCRRecognition(job["model_dir"]).eval()
pre = OCRRecognitionPreprocessor(job["model_dir"])
load_s = time.perf_counter() - t0
paths = job["paths"]
with torch.no_grad():
    def one(path):
        return model(pre(path)["image"])["preds"][0]
    for p in paths[: job["warmup"]]:
        one(p)
    t0 = time.perf_counter()
    texts = [one(p) for p in paths]
    dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
for line in open("/proc/self/status", encoding="ascii"):
    if line.startswith("VmHWM:"):  # ru_maxrss is inherited over fork + exec on Linux
        rss = int(line.split()[1]) / 1024
print(json.dumps({"seconds": dt, "load_s": load_s, "rss_mib": rss, "texts": texts,
                  "threads": torch.get_num_threads()}, ensure_ascii=False))
'''


def msref_supported(model_dir: str) -> str | None:
    """None if ModelScope's classes can build this checkpoint, else why not."""
    from duguang_ocr.hub.modelscope import read_spec
    from duguang_ocr.models import RECOGNIZER_TO_VARIANT

    spec = read_spec(model_dir)
    if spec.variant not in RECOGNIZER_TO_VARIANT.values():
        return f"ModelScope has no {spec.variant} architecture"
    return None


# ----------------------------------------------------------------------------- driver


def _run_child(cmd: list[str], timeout: float | None = None) -> dict | str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return f"failed (exit {proc.returncode}): {proc.stderr.strip()[-600:]}"
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return f"no result: {proc.stdout[-300:]} {proc.stderr[-300:]}"


def _fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="lines to time (default 200)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch/onnxruntime intra-op threads (default: torch's default)")
    ap.add_argument("--model", default=None,
                    help="model dir ('default': the embedded model; default: a random-weight "
                    "ConvNextViT-tiny)")
    ap.add_argument("--quick", action="store_true", help="few lines, for a smoke test")
    ap.add_argument("--msref", action=argparse.BooleanOptionalAction,
                    default=MSREF_PYTHON.exists(),
                    help="also time ModelScope's own code (needs .venv-msref; default: on "
                    "when it exists)")
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help=f"comma-separated subset of {','.join(CONFIGS)}")
    ap.add_argument("--acc-n", type=int, default=50,
                    help="lines for the int8/bf16 logit-difference checks (default 50)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lines", metavar="DIR",
                    help="time the first --n images of this labelled folder (labels.tsv) or "
                    "LMDB instead of rendered lines, e.g. ../shared/realtest/en_scene_iiit5k "
                    "for word crops")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one config from a job file
    ap.add_argument("--job", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.one:
        job = json.loads(Path(args.job).read_text(encoding="utf-8"))
        print(json.dumps(run_one(args.one, job), ensure_ascii=False))
        return 0

    n = min(args.n, 8) if args.quick else args.n
    acc_n = min(args.acc_n, n, 4 if args.quick else args.acc_n)
    configs = [c for c in args.configs.split(",") if c]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        ap.error(f"unknown configs {sorted(unknown)}; choose from {CONFIGS}")
    if "parity" not in configs:
        configs.insert(0, "parity")  # every ratio is taken against it

    with tempfile.TemporaryDirectory(prefix="bench_inference_") as tmp:
        tmp = Path(tmp)
        if args.model is None:
            model_dir = make_random_tiny(tmp / "model", args.seed)
            model_desc = "random-weight convnextvit_tiny"
        else:
            from duguang_ocr.hub import DEFAULT_MODEL_DIR

            model_dir = DEFAULT_MODEL_DIR if args.model == "default" else Path(args.model)
            if not (model_dir / "configuration.json").is_file():
                print(f"no model at {model_dir} (no configuration.json): train the default "
                      "model first, or pass --model DIR of a ModelScope-format model")
                return 1
            model_desc = str(model_dir)
        model_dir = str(model_dir)
        from duguang_ocr.hub.modelscope import read_spec

        print(f"model: {model_desc} ({read_spec(model_dir).variant})")
        t0 = time.perf_counter()
        if args.lines:
            paths, source = existing_lines(Path(args.lines), n, tmp / "lines"), args.lines
            n = len(paths)
        else:
            paths, source = make_lines(tmp / "lines", n, args.seed)
        origin = (f"images from {source}" if args.lines
                  else f"PNG lines rendered by {source} (seed {args.seed})")
        print(f"{n} {origin} in {time.perf_counter() - t0:.1f}s; {width_summary(paths)}")

        onnx_dir = None
        if "onnx" in configs:
            try:
                import onnxruntime  # noqa: F401

                from duguang_ocr.export import export_model_dir

                onnx_dir = str(export_model_dir(model_dir, tmp / "onnx"))
            except ImportError:
                print("note: onnxruntime not installed; skipping (c)")
                configs.remove("onnx")
        job = {"paths": paths, "model_dir": model_dir, "onnx_dir": onnx_dir,
               "threads": args.threads, "acc_n": acc_n, "warmup": WARMUP}
        job_file = tmp / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")

        results: dict[str, dict | str] = {}
        for config in configs:
            print(f"  running {config} ...", flush=True)
            results[config] = _run_child(
                [sys.executable, __file__, "--one", config, "--job", str(job_file)])
        if args.msref:
            why = msref_supported(model_dir) if MSREF_PYTHON.exists() else ".venv-msref missing"
            if why:
                print(f"note: skipping ModelScope timing: {why}")
            else:
                print("  running modelscope ...", flush=True)
                runner = tmp / "msref_runner.py"
                runner.write_text(MSREF_RUNNER, encoding="utf-8")
                results["modelscope"] = _run_child(
                    [str(MSREF_PYTHON), str(runner), str(job_file)])
        accuracy = {kind: _run_child([sys.executable, __file__, "--one", f"accuracy-{kind}",
                                      "--job", str(job_file)])
                    for kind in ("int8", "bf16") if kind in configs}

    report(results, n, accuracy)
    return 0


def report(results: dict[str, dict | str], n: int, accuracy: dict[str, dict | str]) -> None:
    def speed(name: str) -> float | None:
        r = results.get(name)
        return n / r["seconds"] if isinstance(r, dict) and r["seconds"] > 0 else None

    base, msref = speed("parity"), speed("modelscope")
    threads = {r["threads"] for r in results.values() if isinstance(r, dict)}
    print(f"\n{n} lines, intra-op threads {sorted(threads)}; load time and peak RSS (VmHWM) "
          "include model loading and int8 quantisation; (c) loads a `duguang-ocr export` dir; "
          "vs (a) / vs MS: speed ratio to (a) / to ModelScope, same run")
    head = (f"{'configuration':<46} {'lines/s':>8} {'ms/line':>8} {'peak RSS':>10} "
            f"{'load s':>7} {'vs (a)':>7} {'vs MS':>7}")
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        if not isinstance(r, dict):
            print(f"{LABELS[name]:<46} {r}")
            continue
        s = speed(name)
        print(f"{LABELS[name]:<46} {s:8.2f} {1000 / s:8.1f} {r['rss_mib']:7.0f} MiB "
              f"{r['load_s']:7.2f} {_fmt_ratio(s / base if base else None):>7} "
              f"{_fmt_ratio(s / msref if msref else None):>7}")

    def texts(name: str) -> list[str] | None:
        r = results.get(name)
        return r["texts"] if isinstance(r, dict) else None

    def agree(a: str, b: str) -> str:
        ta, tb = texts(a), texts(b)
        if ta is None or tb is None:
            return "n/a"
        return f"{np.mean([x == y for x, y in zip(ta, tb)]):.1%} of lines"

    print("\nstring agreement:")
    if texts("onnx") is not None:
        print(f"  (c) onnxruntime vs (b) torch, same chunk plan: {agree('onnx', 'default')}")
    if texts("modelscope") is not None:
        print(f"  ModelScope vs (a) parity: {agree('modelscope', 'parity')}")
    if texts("default") is not None:
        print(f"  (b) default vs (a) parity: {agree('default', 'parity')} (they differ by "
              "design: parity squashes lines wider than 804 px and runs chunks over the "
              "padding, where random weights read characters)")
    for name in ("fast", "fast-bf16"):
        if texts(name) is not None:
            print(f"  ({'f' if name == 'fast' else 'g'}) {name} vs (b) default: "
                  f"{agree(name, 'default')}")
    for kind, acc in accuracy.items():
        print(f"\n{kind} accuracy cost: {kind} string == fp32 string on "
              f"{agree(kind, 'default')}", end="")
        if isinstance(acc, dict):
            print(f"; max |logit diff| {acc['max_abs_diff']:.4f} over {acc['lines']} lines "
                  f"(largest |fp32 logit| {acc['max_abs_logit']:.1f}); per-frame argmax "
                  f"agreement {acc['frame_agreement']:.1%}")
        else:
            print(f"; logit check {acc}")

if __name__ == "__main__":
    sys.exit(main())
