"""Test helpers: tiny random-weight model dirs and rendered line images, made per test run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from duguang_ocr.hub.modelscope import save_model_dir
from duguang_ocr.models import create_model, variant_config
from duguang_ocr.vocab import Vocab

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CHARS = [chr(c) for c in range(0x21, 0x7F)] + list("你好世界中文识别")


def font(size: int = 24) -> ImageFont.FreeTypeFont:
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def render(text: str, width: int | None = None, height: int = 32, mode: str = "RGB") -> Image.Image:
    """Black text on white, ``width`` defaulting to the text's extent."""
    f = font(int(height * 0.7))
    w = width or int(f.getlength(text)) + 8
    im = Image.new("RGB", (w, height), (255, 255, 255))
    ImageDraw.Draw(im).text((4, height * 0.1), text, fill=(0, 0, 0), font=f)
    return im.convert(mode)


def perturbed(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights that make every layer matter (no identity norms / zero scales)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(torch.randn(p.shape, generator=g) * (0.05 if p.dim() > 1 else 0.2))
            if name.endswith(("head.weight", "cls.weight")):
                p.mul_(20)
    return model.eval()


def make_model_dir(path: Path, variant: str = "convnextvit_test", seed: int = 0) -> Path:
    vocab = Vocab(CHARS, offset=variant_config(variant).vocab_offset)
    torch.manual_seed(seed)
    model = perturbed(create_model(variant, num_classes=vocab.num_classes), seed)
    return save_model_dir(path, model, vocab, variant)


def as_bgr(img: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.array(img.convert("RGB"))[:, :, ::-1])


def render_with(text: str, height: int = 48) -> Image.Image:
    """A clean line in the project's fonts (WenQuanYi for CJK, DejaVu otherwise)."""
    cjk = not text.isascii()
    path = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc" if cjk
            else "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    try:
        f = ImageFont.truetype(path, int(height * 0.62))
    except OSError:
        import pytest

        pytest.skip(f"font {path} not installed (run scripts/install_fonts.sh)")
    w = int(f.getlength(text)) + height // 2
    im = Image.new("RGB", (w, height), (250, 250, 246))
    ImageDraw.Draw(im).text((height // 4, height // 2), text, fill=(20, 20, 30), font=f, anchor="lm")
    return im


def load_script(relpath: str):
    """Import a script that is not part of the package (``benchmarks/x.py``,
    ``examples/y.py``) as a module, from the repository root; its folder goes on
    ``sys.path`` so its sibling imports work."""
    import importlib.util
    import sys

    path = ROOT / relpath
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs (a dataclass looks its module up there), then taken out again:
    # cloudpickle then ships the script's functions by value to Ray workers, which cannot
    # import it by name.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def blank_line_set(root: Path, labels: list[str]) -> Path:
    """A folder data set (``labels.tsv`` + images) of white crops, one per label, each 10 px
    wider than the last: for scripts whose plumbing, not reading, is under test."""
    root.mkdir()
    rows = []
    for i, label in enumerate(labels):
        Image.new("RGB", (40 + 10 * i, 16), "white").save(root / f"{i}.png")
        rows.append(f"{i}.png\t{label}")
    (root / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def dir_digest(path: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``path``: a shared fixture's contents."""
    import hashlib

    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(path).rglob("*")) if p.is_file()}


def recognizer_state(rec) -> tuple:
    """What a test could change on a shared :class:`~duguang_ocr.Recognizer`: its options,
    and its module's mode, layer types, attention paths and tensors."""
    model = rec.model
    modules = () if model is None else (
        model.training, [type(m).__name__ for m in model.modules()],
        [getattr(m, "fused", None) for m in model.modules()],
        {k: v.detach().clone() for k, v in model.state_dict().items()})
    return (rec.mode, rec.batch_size, rec.max_chunks, rec.options, rec.device, rec.dtype), modules


def assert_same_recognizer(before: tuple, after: tuple) -> None:
    """Fail if a shared recognizer changed while tests used it (see :func:`recognizer_state`)."""
    assert before[0] == after[0], "a test changed a shared recognizer's settings"
    if before[1]:
        assert before[1][:3] == after[1][:3], "a test changed a shared recognizer's module"
        for key, value in before[1][3].items():
            assert torch.equal(after[1][3][key], value), f"a test changed shared weights {key}"
