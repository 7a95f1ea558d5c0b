"""Tests for duguang_ocr.io: every input type, the colour conventions and every failure path.

URL tests run against real HTTP servers on 127.0.0.1 (there is no internet here).
"""

from __future__ import annotations

import io as _io
import socket
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
import torch
from PIL import Image, ImageFile, ImageOps

from duguang_ocr.io import (
    MAX_DOWNLOAD_BYTES,
    MAX_PIXELS,
    MAX_REDIRECTS,
    ImageLoadError,
    describe,
    fetch_url,
    is_url,
    load_image,
)

RED, GREEN, BLUE = (200, 0, 0), (0, 180, 0), (0, 0, 255)


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = _io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def parity(src) -> np.ndarray:
    """ModelScope's conversion, verbatim: the reference for composite_alpha=False."""
    return np.array(ImageOps.exif_transpose(Image.open(src)).convert("RGB"))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG with a valid IHDR claiming width x height and no pixel data at all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.fixture
def rgb_array() -> np.ndarray:
    a = np.zeros((8, 12, 3), np.uint8)
    a[:] = RED
    a[2, 3] = BLUE
    a[5, 7] = GREEN
    return a


@pytest.fixture
def rgb_image(rgb_array) -> Image.Image:
    return Image.fromarray(rgb_array)


def check_output(out: np.ndarray, shape: tuple[int, int]) -> None:
    assert out.dtype == np.uint8
    assert out.shape == (*shape, 3)
    assert out.flags["C_CONTIGUOUS"] and out.flags["WRITEABLE"]


# --------------------------------------------------------------------------- describe/is_url
def test_describe_formats():
    assert describe("/a/b.png") == "'/a/b.png'"
    assert describe(Path("/a/b.png")) == "'/a/b.png'"
    assert describe("http://h/x.png") == "URL 'http://h/x.png'"
    assert describe(b"x" * 123) == "bytes (123 B)"
    assert describe(bytearray(5)) == "bytearray (5 B)"
    assert describe(memoryview(np.zeros((2, 4), np.uint16))) == "memoryview (16 B)"
    assert describe(np.zeros((32, 100, 3), np.uint8)) == "numpy array (32, 100, 3) uint8"
    assert describe(Image.new("RGBA", (100, 32))) == "PIL image RGBA 100x32"
    assert describe(torch.zeros(3, 32, 100)) == "tensor (3, 32, 100) float32"
    assert describe({"a": 1}) == "dict object"
    long = describe("x" * 10_000)
    assert len(long) < 300 and "10000 chars" in long


def test_is_url():
    assert is_url("http://example.com/a.png") and is_url("HTTPS://example.com/a.png")
    for s in ("file:///etc/passwd", "ftp://x", "data:image/png;base64,AAAA", "/tmp/a.png",
              "httpx://a", "example.com/a.png"):
        assert not is_url(s), s


# ------------------------------------------------------------------------------ file paths
def test_path_str_and_pathlib_are_exact(tmp_path, rgb_image, rgb_array):
    p = tmp_path / "x.png"
    rgb_image.save(p)
    for src in (p, str(p)):
        out = load_image(src)
        check_output(out, (8, 12))
        assert np.array_equal(out, rgb_array)


@pytest.mark.parametrize("fmt,kw,tol", [
    ("PNG", {}, 0), ("BMP", {}, 0), ("TIFF", {}, 0), ("GIF", {}, 0),
    ("WEBP", {"lossless": True}, 0), ("JPEG", {"quality": 95}, 60),
])
def test_file_formats(tmp_path, fmt, kw, tol):
    a = np.zeros((16, 24, 3), np.uint8)
    a[:, :12] = BLUE  # big flat blocks survive JPEG
    a[:, 12:] = (255, 255, 255)
    p = tmp_path / f"x.{fmt.lower()}"
    Image.fromarray(a).save(p, fmt, **kw)
    out = load_image(p)
    check_output(out, (16, 24))
    assert np.abs(out.astype(int) - a).max() <= tol


def test_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (6, 4), RED), Image.new("RGB", (6, 4), BLUE)]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(p).n_frames == 2
    out = load_image(p)
    assert out.shape == (4, 6, 3) and tuple(out[0, 0]) == RED


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 10), (255, 255, 255))
    img.paste((0, 0, 0), (0, 0, 8, 10))  # black block on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    p = tmp_path / "r.jpg"
    img.save(p, exif=exif.tobytes(), quality=95)
    out = load_image(p)
    assert out.shape == (40, 10, 3)  # was 10 x 40
    assert out[:6].mean() < 30 and out[-20:].mean() > 225  # left block is now on top


def test_cmyk_file_and_image(tmp_path):
    cmyk = Image.new("CMYK", (5, 3), (0, 255, 255, 0))  # red in CMYK
    assert tuple(load_image(cmyk)[1, 1]) == (255, 0, 0)
    p = tmp_path / "c.tif"
    cmyk.save(p)
    assert tuple(load_image(p)[1, 1]) == (255, 0, 0)


def test_sixteen_bit_png_scaled_by_range_not_clipped(tmp_path):
    a = np.array([[0, 257 * 100, 40000, 65535]], np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(a).save(p)
    assert Image.open(p).mode == "I;16"
    assert load_image(p)[0, :, 0].tolist() == [0, 100, 156, 255]
    # Parity keeps Pillow's clipping, because that is what ModelScope sees.
    assert np.array_equal(load_image(p, composite_alpha=False), parity(p))
    assert load_image(p, composite_alpha=False)[0, :, 0].tolist() == [0, 255, 255, 255]


# ---------------------------------------------------------------------------------- alpha
def test_transparent_png_black_text_becomes_black_on_white(tmp_path):
    a = np.zeros((6, 6, 4), np.uint8)  # all black
    a[:2, :, 3] = 255  # opaque "text" rows
    a[2:4, :, 3] = 128  # anti-aliased edge
    p = tmp_path / "t.png"
    Image.fromarray(a, "RGBA").save(p)
    out = load_image(p)
    assert out[0].tolist() == [[0, 0, 0]] * 6
    assert out[2, 0].tolist() == [127, 127, 127]  # 255 * (1 - 128/255), rounded
    assert out[5].tolist() == [[255, 255, 255]] * 6
    dropped = load_image(p, composite_alpha=False)
    assert (dropped == 0).all()  # alpha dropped: all black, like convert('RGB')


def test_palette_and_colour_key_transparency(tmp_path):
    pal = Image.new("P", (4, 2), 0)
    pal.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    pal.putpixel((0, 0), 1)
    p = tmp_path / "p.png"
    pal.save(p, transparency=0)  # index 0 (black) is transparent
    out = load_image(p)
    assert tuple(out[0, 0]) == (200, 0, 0) and tuple(out[1, 3]) == (255, 255, 255)
    assert tuple(load_image(p, composite_alpha=False)[1, 3]) == (0, 0, 0)
    # Palette without transparency is just colours.
    q = tmp_path / "q.png"
    pal.save(q)
    assert tuple(load_image(q)[1, 3]) == (0, 0, 0)

    gray = Image.fromarray(np.array([[0, 90]], np.uint8))
    g = tmp_path / "g.png"
    gray.save(g, transparency=0)  # tRNS colour key on a gray image
    assert load_image(g)[0, :, 0].tolist() == [255, 90]

    g16 = tmp_path / "g16.png"
    Image.fromarray(np.array([[0, 65535, 257 * 40]], np.uint16)).save(g16, transparency=0)
    assert load_image(g16)[0, :, 0].tolist() == [255, 255, 40]


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")  # Pillow's, in both
@pytest.mark.parametrize("mode", ["RGBA", "P", "P+transparency", "L", "LA", "RGB", "1"])
def test_parity_is_byte_identical_to_pillow(tmp_path, rgb_array, mode):
    rgba = np.dstack([rgb_array, np.full((8, 12), 255, np.uint8)])
    rgba[:, :4, 3] = 0  # transparent left third, partially transparent middle
    rgba[:, 4:8, 3] = 100
    img = Image.fromarray(rgba, "RGBA")
    p = tmp_path / "x.png"
    if mode == "P+transparency":
        img.convert("RGB").quantize(8).save(p, transparency=0)
    elif mode == "P":
        img.convert("RGB").convert("P").save(p)
    else:
        img.convert(mode).save(p)
    data = p.read_bytes()
    expected = parity(p)
    for src in (p, str(p), data, memoryview(data)):
        out = load_image(src, composite_alpha=False)
        assert out.dtype == np.uint8 and np.array_equal(out, expected)
    assert np.array_equal(load_image(Image.open(p), composite_alpha=False), expected)


def test_parity_exif_rotated_jpeg(tmp_path):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (10, 30, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 8
    p = tmp_path / "r.jpg"
    img.save(p, exif=exif.tobytes())
    expected = parity(p)
    assert expected.shape == (30, 10, 3)
    assert np.array_equal(load_image(p, composite_alpha=False), expected)
    assert np.array_equal(load_image(p.read_bytes(), composite_alpha=False), expected)
    assert np.array_equal(load_image(p), expected)  # no alpha: both modes agree


# ---------------------------------------------------------------------------- numpy arrays
def test_cv2_imread_arrays_are_bgr(tmp_path, rgb_image):
    p = tmp_path / "x.png"
    rgb_image.save(p)
    bgr = cv2.imread(str(p))
    assert tuple(bgr[2, 3]) == (255, 0, 0)  # cv2 stores blue first
    out = load_image(bgr)
    check_output(out, (8, 12))
    assert tuple(out[2, 3]) == BLUE and tuple(out[0, 0]) == RED

    rgba = rgb_image.convert("RGBA")
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    q = tmp_path / "a.png"
    rgba.save(q)
    bgra = cv2.imread(str(q), cv2.IMREAD_UNCHANGED)
    assert bgra.shape == (8, 12, 4)
    out = load_image(bgra)
    assert tuple(out[2, 3]) == BLUE and tuple(out[0, 0]) == (255, 255, 255)
    assert tuple(load_image(bgra, composite_alpha=False)[0, 0]) == (0, 0, 0)

    gray = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
    for g in (gray, gray[:, :, None]):
        out = load_image(g)
        check_output(out, (8, 12))
        assert (out == gray[:, :, None]).all()


@pytest.mark.parametrize("arr,value", [
    (np.full((2, 3), 200, np.uint8), 200),
    (np.full((2, 3), 257 * 77, np.uint16), 77),
    (np.full((2, 3), 65535, np.dtype(">u2")), 255),  # big-endian still uint16
    (np.ones((2, 3), bool), 255),
    (np.zeros((2, 3), bool), 0),
    (np.full((2, 3), 0.5, np.float32), 128),
    (np.full((2, 3), 1.0, np.float64), 255),
    (np.full((2, 3), 0.25, np.float16), 64),
    (np.full((2, 3), 200.0, np.float32), 200),  # max > 1: already on the 0..255 scale
    (np.full((2, 3), 254.6), 255),
])
def test_array_dtypes(arr, value):
    out = load_image(arr)
    check_output(out, (2, 3))
    assert (out == value).all()


def test_float_range_rule_uses_the_whole_array():
    a = np.array([[0.0, 0.5, 1.0]], np.float32)
    assert load_image(a)[0, :, 0].tolist() == [0, 128, 255]
    a[0, 0] = 2.0  # one value above 1 switches the whole image to the 0..255 scale
    assert load_image(a)[0, :, 0].tolist() == [2, 1, 1]


def test_non_contiguous_arrays(rgb_array):
    bgr = np.ascontiguousarray(rgb_array[:, :, ::-1])
    cases = {
        "flipped": (bgr[:, ::-1], rgb_array[:, ::-1]),
        "strided": (bgr[::2, 1::3], rgb_array[::2, 1::3]),
        "fortran": (np.asfortranarray(bgr), rgb_array),
        "transposed": (bgr.transpose(1, 0, 2), rgb_array.transpose(1, 0, 2)),
        "channel-view": (np.dstack([bgr, bgr])[:, :, :3], rgb_array),
    }
    for name, (src, expected) in cases.items():
        out = load_image(src)
        assert out.flags["C_CONTIGUOUS"], name
        assert np.array_equal(out, expected), name
    broadcast = np.broadcast_to(np.array([255, 0, 0], np.uint8), (4, 5, 3))  # stride 0
    assert (load_image(broadcast) == BLUE).all()


def test_output_never_aliases_the_input():
    rgb = torch.zeros(6, 5, 3, dtype=torch.uint8)  # H x W x C RGB: no conversion needed
    out = load_image(rgb)
    assert out.shape == (6, 5, 3)
    out[:] = 9
    assert int(rgb.sum()) == 0
    gray = np.zeros((4, 5), np.uint8)
    load_image(gray)[:] = 9
    assert gray.sum() == 0


@pytest.mark.parametrize("arr,match", [
    (np.zeros((0, 5), np.uint8), "empty image"),
    (np.zeros((5, 0, 3), np.uint8), "empty image"),
    (np.full((4, 4), np.nan), "NaN"),
    (np.array([[0.5, np.inf]], np.float32), "NaN or infinite"),
    (np.full((4, 4), -3.0), r"must lie in \[0, 1\]"),
    (np.full((4, 4), 300.0), r"got \[300, 300\]"),
    (np.zeros((4, 4), np.complex64), "unsupported dtype complex64"),
    (np.zeros((4, 4), np.int64), "unsupported dtype int64"),
    (np.zeros((4, 4), object), "unsupported dtype object"),
    (np.zeros(10, np.uint8), r"unsupported shape \(10,\)"),
    (np.zeros((2, 4, 4, 3), np.uint8), r"unsupported shape \(2, 4, 4, 3\)"),
    (np.zeros((4, 4, 2), np.uint8), r"unsupported shape \(4, 4, 2\)"),
    (np.array(7, np.uint8), r"unsupported shape \(\)"),
])
def test_bad_arrays(arr, match):
    with pytest.raises(ImageLoadError, match=match) as e:
        load_image(arr)
    assert str(e.value).startswith(describe(arr) + ":")


# ------------------------------------------------------------------------------ PIL images
@pytest.mark.parametrize("mode,expected", [
    ("1", None),  # dithered: whatever Pillow's convert("RGB") gives
    ("L", (60, 60, 60)),
    ("LA", (60, 60, 60)),
    ("La", (60, 60, 60)),
    ("P", (200, 0, 0)),
    ("RGB", (200, 0, 0)),
    ("RGBA", (200, 0, 0)),
    ("RGBa", (200, 0, 0)),
    ("CMYK", (200, 0, 0)),
    ("I", (60, 60, 60)),
    ("F", (60, 60, 60)),
])
def test_pil_modes(rgb_image, mode, expected):
    img = rgb_image.convert("RGBA").convert(mode)
    out = load_image(img)
    check_output(out, (8, 12))
    if expected is None:
        assert np.array_equal(out, np.array(img.convert("RGB")))
    else:
        assert tuple(out[0, 0]) == expected


def test_pil_high_bit_modes_scaled_by_real_range():
    i16 = Image.fromarray(np.array([[0, 257 * 3, 65535]], np.uint16))
    assert i16.mode == "I;16"
    assert load_image(i16)[0, :, 0].tolist() == [0, 3, 255]  # Pillow would clip 771 to 255
    i32 = Image.fromarray(np.array([[0, 257 * 3, 65535]], np.int32))
    assert load_image(i32)[0, :, 0].tolist() == [0, 3, 255]
    wide = Image.fromarray(np.array([[-1000, 0, 1000]], np.int32))
    assert load_image(wide)[0, :, 0].tolist() == [0, 128, 255]  # stretched
    f01 = Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32))
    assert load_image(f01)[0, :, 0].tolist() == [0, 128, 255]
    fwide = Image.fromarray(np.array([[-2.0, 0.0, 2.0]], np.float32))
    assert load_image(fwide)[0, :, 0].tolist() == [0, 128, 255]
    fnan = Image.fromarray(np.array([[np.nan, 0.0]], np.float32))
    with pytest.raises(ImageLoadError, match="PIL image F 2x1: contains NaN"):
        load_image(fnan)


def test_pil_rgba_composite_and_drop():
    img = Image.new("RGBA", (3, 1), (0, 0, 0, 0))
    img.putpixel((0, 0), (10, 20, 30, 255))
    assert load_image(img)[0].tolist() == [[10, 20, 30], [255, 255, 255], [255, 255, 255]]
    assert load_image(img, composite_alpha=False)[0].tolist() == [[10, 20, 30], [0, 0, 0],
                                                                  [0, 0, 0]]


# --------------------------------------------------------------------------- bytes/tensors
def test_bytes_like_inputs(rgb_image, rgb_array):
    data = encode(rgb_image)
    for src in (data, bytearray(data), memoryview(data)):
        out = load_image(src)
        check_output(out, (8, 12))
        assert np.array_equal(out, rgb_array)


def test_tensors_are_rgb(rgb_array):
    hwc = torch.from_numpy(rgb_array)
    chw = hwc.permute(2, 0, 1).float() / 255
    for t in (chw, hwc, chw.permute(1, 2, 0), hwc.permute(2, 0, 1), chw.double(),
              chw.to(torch.bfloat16).float(), chw.clone().requires_grad_(True)):
        out = load_image(t)
        check_output(out, (8, 12))
        assert np.array_equal(out, rgb_array)
    assert load_image(chw[0])[0, 0].tolist() == [200, 200, 200]  # H x W
    assert load_image(chw[:1])[0, 0].tolist() == [200, 200, 200]  # 1 x H x W
    assert load_image(hwc[:, :, :1])[0, 0].tolist() == [200, 200, 200]  # H x W x 1
    assert (load_image(torch.ones(2, 3, dtype=torch.bool)) == 255).all()
    bf16 = torch.full((3, 2, 2), 0.5, dtype=torch.bfloat16)
    assert (load_image(bf16) == 128).all()


def test_tensor_rgba_and_ambiguous_layout():
    rgba = torch.zeros(4, 2, 5)  # C x H x W, transparent black
    rgba[3, 0] = 1.0  # top row opaque
    out = load_image(rgba)
    assert out[0].tolist() == [[0, 0, 0]] * 5 and out[1].tolist() == [[255, 255, 255]] * 5
    assert (load_image(rgba, composite_alpha=False) == 0).all()
    ambiguous = torch.zeros(3, 10, 3)
    ambiguous[0] = 1.0  # red plane if C x H x W
    out = load_image(ambiguous)
    assert out.shape == (10, 3, 3) and (out == (255, 0, 0)).all()


@pytest.mark.parametrize("t,match", [
    (torch.full((3, 4, 4), float("nan")), "NaN"),
    (torch.zeros(1, 3, 4, 4), r"unsupported shape \(1, 3, 4, 4\).*t\[0\]"),
    (torch.zeros(2, 5, 5), r"unsupported shape \(2, 5, 5\)"),
    (torch.zeros(3, 4, 4, dtype=torch.int64), "unsupported dtype int64"),
    (torch.zeros(3, 0, 4), "empty image"),
    (torch.full((3, 2, 2), -0.5), "must lie in"),
])
def test_bad_tensors(t, match):
    with pytest.raises(ImageLoadError, match=match) as e:
        load_image(t)
    assert str(e.value).startswith(describe(t) + ":")


# ------------------------------------------------------------------------------- bad files
def _truncated_png(d: Path) -> Path:
    noise = np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8)
    data = encode(Image.fromarray(noise))
    p = d / "trunc.png"
    p.write_bytes(data[: len(data) // 2])
    return p


def _truncated_jpeg(d: Path) -> Path:
    noise = np.random.default_rng(2).integers(0, 255, (64, 64, 3), np.uint8)
    data = encode(Image.fromarray(noise), "JPEG")
    p = d / "trunc.jpg"
    p.write_bytes(data[: len(data) // 3])
    return p


def _write(d: Path, name: str, data: bytes) -> Path:
    (d / name).write_bytes(data)
    return d / name


@pytest.mark.parametrize("make,match", [
    (lambda d: d / "missing.png", "no such file"),
    (lambda d: d, "is a directory"),
    (lambda d: _write(d, "zero.png", b""), r"empty file \(0 bytes\)"),
    (lambda d: _write(d, "text.png", b"hello, I am not a PNG\n"), "not an image file"),
    (_truncated_png, "cannot decode image"),
    (_truncated_jpeg, "cannot decode image"),
    (lambda d: _write(d, "x.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"),
     "not an image file"),  # EPS would run Ghostscript: never identified
])
def test_bad_files_name_the_path(tmp_path, make, match):
    src = make(tmp_path)
    for s in (src, str(src)):
        with pytest.raises(ImageLoadError, match=match) as e:
            load_image(s)
        assert str(e.value).startswith(repr(str(src)) + ":")


@pytest.mark.parametrize("data,match", [
    (b"", r"bytes \(0 B\): empty"),
    (b"<html>nope</html>", r"bytes \(17 B\): not an image file"),
])
def test_bad_bytes(data, match):
    with pytest.raises(ImageLoadError, match=match):
        load_image(data)


# ----------------------------------------------------------------------------- pixel limit
def test_pixel_limit_defaults():
    assert MAX_PIXELS == 50_000_000 and MAX_DOWNLOAD_BYTES == 20 * 2**20 and MAX_REDIRECTS == 5


def test_pixel_limit_is_checked_before_decoding(tmp_path, monkeypatch):
    p = tmp_path / "big.png"
    Image.new("L", (300, 300)).save(p)
    assert load_image(p, max_pixels=90_000).shape == (300, 300, 3)  # the limit is inclusive

    def no_decoding(self):
        raise AssertionError("pixel data decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ImageLoadError, match=r"90000 pixels exceeds the limit of 10000.*max_pix"):
        load_image(p, max_pixels=10_000)
    # A header claiming 60 megapixels and no data at all: refused from the header alone.
    header = png_header_only(10_000, 6_000)
    with pytest.raises(ImageLoadError, match="exceeds the limit of 50000000"):
        load_image(header)
    # Far beyond Pillow's own guard: its DecompressionBombError is reported the same way.
    with pytest.raises(ImageLoadError, match=r"bytes \(\d+ B\): .*decompression bomb"):
        load_image(png_header_only(100_000, 100_000), max_pixels=10**12)


def test_pixel_limit_for_arrays_images_and_tensors():
    huge = np.broadcast_to(np.uint8(0), (8_000, 8_000))  # 64 Mpx, no memory behind it
    with pytest.raises(ImageLoadError, match="numpy array .*exceeds the limit of 50000000"):
        load_image(huge)
    with pytest.raises(ImageLoadError, match="exceeds the limit of 10000"):
        load_image(np.zeros((200, 200), np.uint8), max_pixels=10_000)
    with pytest.raises(ImageLoadError, match="PIL image L 200x200: .*exceeds"):
        load_image(Image.new("L", (200, 200)), max_pixels=10_000)
    with pytest.raises(ImageLoadError, match=r"tensor \(3, 200, 200\) float32: .*exceeds"):
        load_image(torch.zeros(3, 200, 200), max_pixels=10_000)


def test_wrong_types_raise_type_error():
    for bad in (12, None, {"a": 1}, [1, 2], 3.5):
        with pytest.raises(TypeError, match=type(bad).__name__) as e:
            load_image(bad)
        for accepted in ("file path", "URL", "bytes", "numpy array", "PIL image", "tensor"):
            assert accepted in str(e.value)


# -------------------------------------------------------------------------------------- URLs
class _Handler(BaseHTTPRequestHandler):
    image = b""
    loop_hits = 0
    release = threading.Event()  # set at teardown so sleeping handlers return at once

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: C901 - one route table
        path = self.path
        if path == "/ok.png":
            self._send(200, self.image, "image/png")
        elif path == "/mislabelled":
            self._send(200, self.image, "text/plain")
        elif path == "/empty":
            self._send(200, b"", "image/png")
        elif path in ("/404", "/500"):
            self._send(int(path[1:]), b"nope", "text/plain")
        elif path == "/html":
            self._send(200, b"<!doctype html><html>login</html>", "text/html; charset=utf-8")
        elif path == "/big":
            self._send(200, b"\x89PNG" + b"x" * 5000, "image/png")
        elif path == "/big-no-length":  # HTTP/1.0: the body ends when the connection closes
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(b"x" * 5000)
        elif path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(self.image)))
            self.end_headers()
            self.wfile.write(self.image[: len(self.image) // 2])
        elif path == "/truncated-no-length":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(self.image[: len(self.image) // 2])
        elif path == "/slow-headers":
            self.release.wait(3.0)
            self._send(200, self.image, "image/png")
        elif path == "/slow-body":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(self.image)))
            self.end_headers()
            self.wfile.write(self.image[:10])
            self.wfile.flush()
            self.release.wait(3.0)
        elif path == "/drip":  # a byte every 50 ms: each wait is short, the whole is not
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(self.image)))
            self.end_headers()
            for byte in self.image:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if self.release.wait(0.05):
                    break
        elif path == "/loop":
            type(self).loop_hits += 1
            self._redirect("/loop")
        elif path.startswith("/hops/"):
            n = int(path.rsplit("/", 1)[1])
            self._redirect(f"/hops/{n - 1}" if n > 1 else "/ok.png")
        else:
            self._send(404, b"", "text/plain")

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


URL_IMAGE = np.zeros((10, 20, 3), np.uint8)
URL_IMAGE[:, :10] = BLUE


@pytest.fixture(scope="module")
def server():
    _Handler.image = encode(Image.fromarray(URL_IMAGE))
    _Handler.release.clear()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        _Handler.release.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)


def test_url_ok(server):
    out = load_image(server + "/ok.png")
    check_output(out, (10, 20))
    assert np.array_equal(out, URL_IMAGE)
    assert fetch_url(server + "/ok.png") == _Handler.image
    # A wrong Content-Type does not matter when the bytes are an image.
    assert np.array_equal(load_image(server + "/mislabelled"), URL_IMAGE)
    assert np.array_equal(load_image(server + f"/hops/{MAX_REDIRECTS}"), URL_IMAGE)


@pytest.mark.parametrize("path,kw,match", [
    ("/404", {}, "HTTP 404 Not Found"),
    ("/500", {}, "HTTP 500 Internal Server Error"),
    ("/html", {}, "not an image .*Content-Type 'text/html; charset=utf-8'"),
    ("/empty", {}, "not an image file.*Content-Type 'image/png', 0 B"),
    ("/big", {"max_bytes": 1000}, "Content-Length 5004 B exceeds the 1000 B limit"),
    ("/big-no-length", {"max_bytes": 1000}, "body exceeds the 1000 B limit"),
    ("/truncated", {}, "download truncated"),
    ("/truncated-no-length", {}, "cannot decode image.*Content-Type 'image/png'"),
    ("/slow-headers", {"timeout": (2.0, 0.3)}, "timed out"),
    ("/slow-body", {"timeout": (2.0, 0.3)}, "timed out .*body"),
    ("/drip", {"timeout": (2.0, 0.3), "deadline": 0.3}, r"not finished within the 0.3 s "
                                                         r"deadline \(\d+ B received"),
    ("/loop", {}, "too many redirects"),
    (f"/hops/{MAX_REDIRECTS + 1}", {}, "too many redirects"),
])
def test_url_failures_name_the_url(server, path, kw, match):
    url = server + path
    with pytest.raises(ImageLoadError, match=match) as e:
        load_image(url, **kw)
    assert str(e.value).startswith(f"URL {url!r}:")


def test_redirect_loop_stops_after_max_redirects(server):
    _Handler.loop_hits = 0
    with pytest.raises(ImageLoadError, match="too many redirects"):
        fetch_url(server + "/loop")
    assert _Handler.loop_hits == MAX_REDIRECTS + 1  # the first request and 5 redirects


def test_fetch_url_refuses_non_image_bodies(server):
    with pytest.raises(ImageLoadError, match="not an image .*'text/html; charset=utf-8'.*doctype"):
        fetch_url(server + "/html")
    assert fetch_url(server + "/mislabelled") == _Handler.image  # sniffed: it is a PNG


def test_fetch_url_with_a_session(server):
    with requests.Session() as s:
        s.max_redirects = 30
        assert fetch_url(server + "/hops/2", session=s) == _Handler.image
        with pytest.raises(ImageLoadError, match="too many redirects"):
            fetch_url(server + f"/hops/{MAX_REDIRECTS + 1}", session=s)
        assert s.max_redirects == 30  # the caller's session is not modified
    with pytest.raises(ImageLoadError, match="only http"):
        fetch_url("file:///etc/passwd")


def test_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/x.png"
    with pytest.raises(ImageLoadError, match="connection failed") as e:
        load_image(url, timeout=(1.0, 1.0))
    assert str(e.value).startswith(f"URL {url!r}:")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x", "FTP://x/a.png",
                                 "data:image/png;base64,iVBORw0KGgo="])
def test_other_schemes_are_refused(url):
    with pytest.raises(ImageLoadError, match="only http:// and https://") as e:
        load_image(url)
    assert describe(url) in str(e.value)


def test_invalid_http_url():
    with pytest.raises(ImageLoadError, match="URL 'http://'"):
        load_image("http://")


@pytest.mark.parametrize("ink, background", [(255, 0), (0, 255), ((200, 30, 30), 255)])
def test_transparent_layers_are_composited_over_the_background_that_keeps_the_text(
        ink, background):
    """White text on a transparent layer (RapidOCR's fixture) used to vanish, white on white;
    the background is black when the opaque pixels are light, else white."""
    rgba = np.zeros((20, 60, 4), np.uint8)
    rgba[..., :3] = 197  # what the transparent pixels happen to hold
    rgba[5:15, 10:50, :3] = ink
    rgba[5:15, 10:50, 3] = 255
    buf = _io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    out = load_image(buf.getvalue())
    assert (out[0, 0] == background).all()
    assert (out[10, 30] == np.broadcast_to(ink, 3)).all()
    assert abs(int(out[10, 30].mean()) - int(out[0, 0].mean())) > 100  # the text stands out
