"""Turn any supported user input into one kind of image: RGB ``uint8``, H x W x 3.

Every recognizer entry point funnels its inputs through :func:`load_image`, so that the
preprocessing code only ever sees a C-contiguous ``uint8`` array of shape (H, W, 3) in **RGB**
order with H >= 1 and W >= 1, and so that every failure is an :class:`ImageLoadError` whose
message names the offending input (see :func:`describe`).

Accepted inputs and their conventions
-------------------------------------

``str`` / ``os.PathLike`` (``pathlib.Path``) file path
    Decoded with Pillow: jpg, png, bmp, webp, tiff, gif (first frame) and the other raster
    formats Pillow reads, except EPS (Pillow renders it by running Ghostscript, an external
    interpreter that must never see untrusted input). EXIF orientation is applied
    (``ImageOps.exif_transpose``), so photos come out the way viewers show them. A missing
    path, a directory, an empty, truncated or non-image file raise :class:`ImageLoadError`.

``str`` ``http://`` / ``https://`` URL
    Fetched by :func:`fetch_url` with ``requests``: streamed, connect/read timeouts
    (``timeout``), at most :data:`MAX_REDIRECTS` redirects, the body capped at ``max_bytes``
    (checked against ``Content-Length`` first and again while streaming, so a lying or absent
    header cannot exhaust memory). HTTP errors, timeouts, refused or dropped connections and
    non-image bodies (an HTML error page, say; the message quotes its ``Content-Type``) all
    raise :class:`ImageLoadError`. A string containing ``://`` with any other scheme
    (``file://``, ``ftp://``...) and ``data:`` URLs are refused rather than guessed at.

``bytes`` / ``bytearray`` / ``memoryview``
    The contents of an encoded image file, decoded like a file path.

``numpy.ndarray``
    H x W (gray), H x W x 1 (gray), H x W x 3 taken as **BGR** and H x W x 4 taken as
    **BGRA**, because that is what ``cv2.imread`` (with ``IMREAD_UNCHANGED`` for BGRA)
    returns and OpenCV is where most arrays come from. dtypes:

    * ``uint8``: as is.
    * ``uint16``: scaled by 1/257 (65535 -> 255), rounded.
    * ``bool``: False -> 0, True -> 255.
    * floating point: NaN or infinity is refused. Values in [0, 1] are taken as [0, 1] and
      scaled by 255; otherwise, when all values lie in [0, 255], they are taken as already
      being on the 8-bit scale (the result of ``img.astype(np.float32)``). Anything negative
      or above 255 is refused, since every guess about such data would be wrong for someone.
      Note the one ambiguity: a [0, 255]-scaled image whose brightest pixel is <= 1 reads as
      [0, 1].
    * any other dtype (signed ints, complex, object...) and any other shape (1-D, 4-D, two
      channels, zero rows or columns) raise :class:`ImageLoadError` naming the shape/dtype.

    Non-contiguous arrays (slices, negative strides, Fortran order, broadcasts) are fine; the
    result never shares memory with the input.

``PIL.Image.Image`` in any mode
    1, L, LA, La, P (with or without transparency), RGB, RGBA, RGBa, CMYK, YCbCr... go through
    Pillow's own conversions. The high-bit modes are scaled to 8 bits by their real range
    instead of being clipped at 255 as Pillow's ``convert`` does: ``I;16*`` by 1/257; ``I``
    (32-bit int) as is when within [0, 255], by 1/257 when within [0, 65535], else stretched
    from its minimum..maximum; ``F`` (32-bit float) like float arrays, except that values
    outside [0, 255] are stretched from minimum..maximum instead of refused (NaN still is).

``torch.Tensor``
    C x H x W, H x W x C (C in 1, 3, 4) or H x W, in **RGB(A)** order (the torchvision
    convention, unlike numpy arrays). The channel axis is the first axis whose size is 1, 3
    or 4, so C x H x W wins when both ends qualify (a (3, 100, 3) tensor is a 100 x 3 RGB
    image). uint8, uint16, bool and float tensors follow the numpy dtype rules above (floats
    in [0, 1] being the usual case). Tensors are detached and moved to the CPU (from any
    device, e.g. CUDA); a ``meta``-device tensor, which has no data, is refused.

Anything else (``int``, ``None``, ``dict``, ``list``...) raises ``TypeError`` listing the
accepted types.

Transparency
------------
With ``composite_alpha=True`` (the default) transparent pixels are composited over white,
so black text on a transparent background stays black text on white instead of turning into
black on black; when what is opaque is light (white text on a transparent layer, a common
export of captions and logos) the background is black instead, or the text would vanish
white on white. This covers alpha channels (RGBA, LA, PA, BGRA arrays, RGBA tensors), palette
transparency and PNG ``tRNS`` colour keys.

With ``composite_alpha=False`` alpha is dropped exactly like Pillow's ``img.convert('RGB')``:
this is the "ModelScope parity" mode. For everything Pillow decodes (paths, URLs, bytes) and
for PIL images the result is byte-identical to
``np.array(ImageOps.exif_transpose(Image.open(f)).convert('RGB'))``, which is what ModelScope
feeds its recognizer. Parity includes Pillow's quirks: 16/32-bit images are clipped at 255
rather than rescaled. Arrays and tensors simply lose their alpha channel.

Decompression bombs
-------------------
An image whose width * height exceeds ``max_pixels`` (default :data:`MAX_PIXELS`, 50
megapixels: a text line is far smaller) is refused from its header, before any pixel data is
decoded; arrays and tensors above the limit are refused before they are copied. Pass a
larger ``max_pixels`` for trusted giant inputs (Pillow's own ``PIL.Image.MAX_IMAGE_PIXELS``
guard, about 179 megapixels, then applies too).
"""

from __future__ import annotations

import io as _io
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import requests
import urllib3
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from . import netutil
from .netutil import (
    BodyTooLarge,
    BodyTruncated,
    DeadlineExceeded,
    open_stream,
    read_body,
    root_cause,
)

__all__ = [
    "MAX_DOWNLOAD_BYTES",
    "MAX_PIXELS",
    "MAX_REDIRECTS",
    "ImageLoadError",
    "describe",
    "fetch_url",
    "image_size",
    "is_url",
    "load_image",
]

MAX_PIXELS: int = 50_000_000
"""Default decompression-bomb limit on width * height (see the module docstring)."""

MAX_DOWNLOAD_BYTES: int = 20 * 2**20
"""Default cap on the size of a downloaded body (20 MiB)."""

MAX_REDIRECTS: int = netutil.MAX_REDIRECTS
"""Redirects :func:`fetch_url` follows before giving up (redirect loops end here)."""

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 20.0)

DEFAULT_DEADLINE: float = 60.0
"""Seconds a whole image download may take (the read timeout only bounds each wait)."""

_URL_SCHEMES = ("http://", "https://")
_UNSAFE_FORMATS = frozenset({"EPS"})  # decoded by running Ghostscript on the input
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})
_PREMULTIPLIED = {"La": "LA", "RGBa": "RGBA"}  # Pillow cannot convert these to RGB directly
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_ACCEPTED = (
    "a file path (str or pathlib.Path), an http(s) URL string, encoded image bytes "
    "(bytes, bytearray, memoryview), a numpy array, a PIL image or a torch tensor"
)


class ImageLoadError(ValueError):
    """An input could not be turned into an image.

    A ``ValueError`` subclass so that callers validating user input can catch one family;
    the message always starts with :func:`describe` of the input so batch errors say which
    item failed.

    Attributes:
        too_large: True when the image was refused for its size (the decompression-bomb
            guard) rather than for being broken, so that callers such as the HTTP server
            can answer "too large" (413) without matching message text.
    """

    def __init__(self, message: str, *, too_large: bool = False):
        super().__init__(message)
        self.too_large = too_large


# ----------------------------------------------------------------------------- describing
def describe(src: Any) -> str:
    """Describe an input in a few words, for error messages.

    Never prints pixel data or whole payloads, so messages stay one short line even for a
    20 MiB ``bytes`` object or a huge array.

    Args:
        src: anything that might have been passed to :func:`load_image`.

    Returns:
        E.g. ``"'/a/b.png'"``, ``"URL 'http://h/x.png'"``, ``"bytes (123 B)"``,
        ``"numpy array (32, 100, 3) uint8"``, ``"PIL image RGBA 100x32"`` or
        ``"tensor (3, 32, 100) float32"``.
    """
    if isinstance(src, str):
        text = _short_repr(src)
        return f"URL {text}" if "://" in src else text
    if isinstance(src, os.PathLike):
        return _short_repr(os.fsdecode(os.fspath(src)))
    if isinstance(src, (bytes, bytearray)):
        return f"{type(src).__name__} ({len(src)} B)"
    if isinstance(src, memoryview):
        return f"memoryview ({src.nbytes} B)"  # len() counts items, not bytes
    if isinstance(src, np.ndarray):
        return f"numpy array {tuple(src.shape)} {src.dtype}"
    if isinstance(src, Image.Image):
        return f"PIL image {src.mode} {src.width}x{src.height}"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(src, torch.Tensor):
        dtype = str(src.dtype).replace("torch.", "")
        where = "" if src.device.type == "cpu" else f" on {src.device}"
        return f"tensor {tuple(src.shape)} {dtype}{where}"
    return f"{type(src).__name__} object"


def _short_repr(s: str, limit: int = 200) -> str:
    """``repr(s)``, cut in the middle when longer than ``limit`` (e.g. a pasted data URL)."""
    if len(s) <= limit:
        return repr(s)
    half = limit // 2
    return f"{s[:half]!r}...{s[-20:]!r} ({len(s)} chars)"


# ------------------------------------------------------------------------------------ URLs
def is_url(s: str) -> bool:
    """Whether ``s`` is an ``http://`` or ``https://`` URL (scheme case-insensitive).

    Only these two schemes are fetched: ``file://`` would turn a URL field into a way of
    reading local files, and the rest need clients we do not want to depend on.
    """
    return isinstance(s, str) and s[:8].lower().startswith(_URL_SCHEMES)


def fetch_url(url: str, *, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
              max_bytes: int = MAX_DOWNLOAD_BYTES,
              session: requests.Session | None = None,
              deadline: float | None = DEFAULT_DEADLINE) -> bytes:
    """Download an image URL's body, defensively.

    The body is streamed so that ``max_bytes`` is enforced against ``Content-Length`` before
    reading and against the bytes actually received while reading (headers can lie or be
    absent, and compressed bodies can expand). A body whose ``Content-Type`` is not an image
    type and whose bytes Pillow cannot identify (typically an HTML error or login page
    served with status 200) is refused here, quoting the content type, rather than failing
    later with a puzzling decode error.

    Args:
        url: an ``http://`` or ``https://`` URL.
        timeout: ``(connect, read)`` seconds as in ``requests``; the read timeout bounds each
            wait for data, not the whole download.
        max_bytes: the largest body accepted.
        session: a ``requests.Session`` to reuse (connection pooling, custom headers). It is
            not modified; more than :data:`MAX_REDIRECTS` redirects are refused either way.
        deadline: seconds the whole download may take (None: no limit beyond ``timeout``).

    Returns:
        The body bytes.

    Raises:
        ImageLoadError: on a bad scheme, HTTP status >= 400, too many redirects, a timeout,
            a connection failure or drop, an oversized or non-image body. The message names
            the URL.
    """
    return _fetch(url, timeout, max_bytes, session, deadline)[0]


def _fetch(url: str, timeout: float | tuple[float, float], max_bytes: int,
           session: requests.Session | None,
           deadline: float | None = DEFAULT_DEADLINE) -> tuple[bytes, str]:
    """:func:`fetch_url`, also returning the ``Content-Type`` for later error messages."""
    what = describe(url)
    if not is_url(url):
        raise ImageLoadError(f"{what}: only http:// and https:// URLs can be fetched")
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    chunks: list[bytes] = []
    end = None if deadline is None else time.monotonic() + deadline
    try:
        with open_stream(url, timeout=timeout, session=session, max_redirects=MAX_REDIRECTS,
                         headers={"Accept": "image/*, */*;q=0.5"}) as r:
            if r.status_code >= 400:
                raise ImageLoadError(f"{what}: HTTP {r.status_code} {r.reason or ''}".rstrip())
            ctype = r.headers.get("Content-Type", "")
            read_body(r, chunks.append, max_bytes=max_bytes, deadline=end)
    except DeadlineExceeded as e:
        raise ImageLoadError(f"{what}: download not finished within the {deadline:g} s "
                             f"deadline ({e.received} B received; pass a larger deadline= "
                             "for slow servers)") from None
    except BodyTooLarge as e:
        size = f"Content-Length {e.size} B exceeds" if e.declared else "body exceeds"
        raise ImageLoadError(f"{what}: {size} the {max_bytes} B limit (pass a larger "
                             "max_bytes= to download it)") from None
    except BodyTruncated as e:
        # urllib3 normally enforces Content-Length itself; this is the backstop.
        raise ImageLoadError(f"{what}: download truncated, connection closed after "
                             f"{e.received} of {e.expected} B") from None
    except requests.TooManyRedirects:
        raise ImageLoadError(
            f"{what}: too many redirects (more than {MAX_REDIRECTS})") from None
    except requests.Timeout as e:
        raise ImageLoadError(f"{what}: timed out ({_timeout_kind(e)}; timeout={timeout!r})") \
            from None
    except requests.exceptions.ChunkedEncodingError as e:
        raise ImageLoadError(
            f"{what}: download truncated, connection broken mid-body ({root_cause(e)})") \
            from None
    except requests.ConnectionError as e:
        cause = e.args[0] if e.args else None
        if isinstance(cause, urllib3.exceptions.ReadTimeoutError):  # raised mid-body
            raise ImageLoadError(
                f"{what}: timed out (read timeout while receiving the body; "
                f"timeout={timeout!r})") from None
        raise ImageLoadError(f"{what}: connection failed ({root_cause(e)})") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError) as e:
        raise ImageLoadError(f"{what}: {type(e).__name__}: {e}") from None
    data = b"".join(chunks)
    if not ctype.lower().startswith("image/") and not _looks_like_image(data):
        shown = ctype or "none sent"
        raise ImageLoadError(
            f"{what}: not an image (Content-Type {shown!r}, {len(data)} B starting "
            f"{data[:32]!r})")
    return data, ctype


def _timeout_kind(e: requests.Timeout) -> str:
    if isinstance(e, requests.ConnectTimeout):
        return "connect timeout"
    return "read timeout waiting for the response"


def _looks_like_image(data: bytes) -> bool:
    """Whether Pillow recognises ``data`` from its header (cheap: nothing is decoded)."""
    try:
        with Image.open(_io.BytesIO(data), formats=_safe_formats()):
            return True
    except Exception:
        return False


# --------------------------------------------------------------------- Pillow decoding
def _safe_formats() -> list[str]:
    Image.init()  # registers every plugin; Image.OPEN is incomplete until then
    return [f for f in Image.OPEN if f not in _UNSAFE_FORMATS]


def _check_pixels(w: int, h: int, max_pixels: int, what: str) -> None:
    if w < 1 or h < 1:
        raise ImageLoadError(f"{what}: empty image ({h} x {w}, H x W)")
    if w * h > max_pixels:
        raise ImageLoadError(
            f"{what}: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} "
            "(a decompression-bomb guard; pass a larger max_pixels= to load_image if you "
            "trust this input)", too_large=True)


def _decode(fp: Any, what: str, composite_alpha: bool, max_pixels: int) -> np.ndarray:
    """Decode a path or file object with Pillow, checking the size from the header first."""
    with _pillow_errors(what):
        with Image.open(fp, formats=_safe_formats()) as img:
            _check_pixels(img.width, img.height, max_pixels, what)  # header only so far
            img = ImageOps.exif_transpose(img)  # loads the pixels
            return _pil_to_rgb(img, composite_alpha, what)


def image_size(data: bytes, *, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """``(height, width)`` that :func:`load_image` would return for encoded image ``data``,
    read from the header alone (EXIF rotation included).

    About 40x faster than decoding, which makes a pass over a 100k-line data set take
    seconds (``duguang-ocr check-data``). The price: a file whose header is sound but whose
    pixel data is truncated passes here and fails in :func:`load_image`; and a PNG's EXIF
    orientation counts only when its ``eXIf`` chunk precedes the pixel data, since finding a
    later one means decoding the image.

    Raises:
        ImageLoadError: where :func:`load_image` would refuse ``data`` from its header
            (empty, not an image Pillow can identify, too many pixels).
    """
    what = describe(data)
    if not data:
        raise ImageLoadError(f"{what}: empty (0 bytes)")
    with _pillow_errors(what):
        with Image.open(_io.BytesIO(data), formats=_safe_formats()) as img:
            _check_pixels(img.width, img.height, max_pixels, what)
            w, h = img.size
            if img.format != "PNG" or "exif" in img.info:  # PNG: see the docstring
                if img.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8):
                    w, h = h, w  # a quarter turn (exif_transpose's TRANSPOSE..ROTATE_90)
            return h, w


@contextmanager
def _pillow_errors(what: str) -> Iterator[None]:
    """Turn whatever Pillow raises for bad data into an :class:`ImageLoadError` about
    ``what``."""
    try:
        yield
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageLoadError(
            f"{what}: refused as a decompression bomb by Pillow ({e}); if you trust it, raise "
            "max_pixels= and PIL.Image.MAX_IMAGE_PIXELS", too_large=True) from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{what}: not an image file Pillow can identify") from None
    except MemoryError:
        raise ImageLoadError(f"{what}: out of memory while decoding") from None
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError... for bad data
        raise ImageLoadError(f"{what}: cannot decode image ({type(e).__name__}: {e})") \
            from None


def _pil_to_rgb(img: Image.Image, composite_alpha: bool, what: str) -> np.ndarray:
    if not composite_alpha:
        return _pil_parity(img)
    alpha = None
    if img.mode in _SIXTEEN_BIT_MODES or img.mode in ("I", "F"):
        raw = np.asarray(img)
        if "transparency" in img.info and img.mode != "F":  # PNG tRNS gray key
            alpha = np.where(raw == img.info["transparency"], 0, 255).astype(np.uint8)
        img = Image.fromarray(_high_bit_to_uint8(raw, img.mode, what), "L")
    if alpha is not None:
        rgb = np.asarray(img.convert("RGB"))
        return _composite(rgb, alpha)
    if img.mode in _PREMULTIPLIED:
        img = img.convert(_PREMULTIPLIED[img.mode])
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA"))
        return _composite(rgba[:, :, :3], rgba[:, :, 3])
    return np.array(img.convert("RGB"), dtype=np.uint8, order="C")


def _pil_parity(img: Image.Image) -> np.ndarray:
    """Exactly ``np.array(img.convert('RGB'))``, ModelScope's conversion."""
    try:
        rgb = img.convert("RGB")
    except ValueError:  # premultiplied modes Pillow cannot convert in one step
        rgb = img.convert(_PREMULTIPLIED.get(img.mode, "RGBA")).convert("RGB")
    return np.array(rgb, dtype=np.uint8, order="C")


def _high_bit_to_uint8(raw: np.ndarray, mode: str, what: str) -> np.ndarray:
    """Scale a 16/32-bit Pillow band to 8 bits by its real range (see the module docstring)."""
    if mode in _SIXTEEN_BIT_MODES:
        return _uint16_to_uint8(raw.astype(np.uint32))
    a = raw.astype(np.float64)
    if not np.isfinite(a).all():
        raise ImageLoadError(f"{what}: contains NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if mode == "I":
        if lo >= 0 and hi <= 255:
            return a.astype(np.uint8)
        if lo >= 0 and hi <= 65535:
            return _uint16_to_uint8(a.astype(np.uint32))
    elif lo >= 0 and hi <= 255:  # "F": the float array rules
        return _round_uint8(a * 255.0 if hi <= 1.0 else a)
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return _round_uint8((a - lo) * (255.0 / (hi - lo)))


# -------------------------------------------------------------------- arrays and tensors
def _uint16_to_uint8(a: np.ndarray) -> np.ndarray:
    return ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)  # round(a / 257)


def _round_uint8(a: np.ndarray) -> np.ndarray:
    return np.floor(a + 0.5).clip(0, 255).astype(np.uint8)


def _composite(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``color`` over a plain background with 8-bit ``alpha``, rounded, in integers: white,
    unless what is opaque is light (white text on a transparent layer), then black, so the
    text keeps its contrast either way."""
    a = alpha.astype(np.uint32)[:, :, None]
    opaque = alpha > 127
    background = 255
    if opaque.any() and not opaque.all():
        luma = color[opaque].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        background = 0 if luma.mean() > 160 else 255
    out = (color.astype(np.uint32) * a + background * (255 - a) + 127) // 255
    return np.ascontiguousarray(out, dtype=np.uint8)


def _float_to_uint8(a: np.ndarray, what: str) -> np.ndarray:
    if not np.isfinite(a).all():
        raise ImageLoadError(f"{what}: contains NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0 or hi > 255:
        raise ImageLoadError(
            f"{what}: float values must lie in [0, 1] (or [0, 255]); got [{lo:g}, {hi:g}]")
    a = a.astype(np.float64)
    return _round_uint8(a * 255.0 if hi <= 1.0 else a)


def _to_uint8(a: np.ndarray, what: str) -> np.ndarray:
    kind, size = a.dtype.kind, a.dtype.itemsize
    if kind == "u" and size == 1:
        return a
    if kind == "u" and size == 2:  # any byte order
        return _uint16_to_uint8(a)
    if kind == "b":
        return a.astype(np.uint8) * np.uint8(255)
    if kind == "f":
        return _float_to_uint8(a, what)
    raise ImageLoadError(
        f"{what}: unsupported dtype {a.dtype}; use uint8, uint16, bool or float in [0, 1] "
        "(convert integers with .astype(np.uint8))")


def _from_array(src: np.ndarray, bgr: bool, composite_alpha: bool, max_pixels: int,
                what: str) -> np.ndarray:
    a = src[:, :, 0] if src.ndim == 3 and src.shape[2] == 1 else src
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        order = "BGR" if bgr else "RGB"
        raise ImageLoadError(
            f"{what}: unsupported shape {tuple(src.shape)}; expected H x W, H x W x 1, "
            f"H x W x 3 ({order}) or H x W x 4 ({order}A)")
    _check_pixels(a.shape[1], a.shape[0], max_pixels, what)
    a = _to_uint8(a, what)
    if a.ndim == 2:
        out = np.empty((*a.shape, 3), np.uint8)
        out[...] = a[:, :, None]
        return out
    color = a[:, :, 2::-1] if bgr else a[:, :, :3]
    if a.shape[2] == 4 and composite_alpha:
        return _composite(color, a[:, :, 3])
    out = np.ascontiguousarray(color)
    if np.may_share_memory(out, src):  # never hand back a view of the caller's buffer
        out = out.copy()
    return out


def _from_tensor(t: Any, composite_alpha: bool, max_pixels: int, what: str) -> np.ndarray:
    import torch

    shape = tuple(t.shape)
    if t.ndim == 3 and shape[0] in (1, 3, 4):
        perm: tuple[int, ...] | None = (1, 2, 0)  # C x H x W (wins when ambiguous)
    elif t.ndim == 3 and shape[2] in (1, 3, 4):
        perm = None  # H x W x C
    elif t.ndim == 2:
        perm = None
    else:
        hint = "; for a batch pass one image, e.g. t[0]" if t.ndim == 4 else ""
        raise ImageLoadError(
            f"{what}: unsupported shape {shape}; expected C x H x W, H x W x C (C in 1, 3, 4) "
            f"or H x W{hint}")
    h, w = (shape[1], shape[2]) if perm else (shape[0], shape[1])
    _check_pixels(w, h, max_pixels, what)  # before copying anything off the device
    if t.device.type == "meta":  # shape-only tensors: nothing to read
        raise ImageLoadError(f"{what}: a meta-device tensor has no data to read")
    t = t.detach()
    if t.dtype.is_floating_point:
        if not bool(torch.isfinite(t).all()):
            raise ImageLoadError(f"{what}: contains NaN or infinite values")
        if t.dtype not in (torch.float32, torch.float64):
            t = t.float()  # numpy has no bfloat16
    elif t.dtype not in (torch.uint8, torch.bool) and t.dtype != getattr(torch, "uint16", None):
        raise ImageLoadError(
            f"{what}: unsupported dtype {str(t.dtype).replace('torch.', '')}; use uint8, "
            "bool or float in [0, 1]")
    if perm:
        t = t.permute(*perm)
    try:
        a = t.cpu().numpy()
    except (RuntimeError, NotImplementedError) as e:  # a device that cannot copy to the host
        raise ImageLoadError(f"{what}: cannot copy to the CPU ({type(e).__name__}: {e})") \
            from None
    return _from_array(a, False, composite_alpha, max_pixels, what)


# --------------------------------------------------------------------------- entry point
def load_image(src: Any, *, composite_alpha: bool = True, max_pixels: int = MAX_PIXELS,
               timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
               max_bytes: int = MAX_DOWNLOAD_BYTES,
               deadline: float | None = DEFAULT_DEADLINE) -> np.ndarray:
    """Load any supported input as an RGB image array.

    See the module docstring for the accepted inputs and their conventions (BGR numpy
    arrays, RGB tensors, float ranges, alpha, EXIF orientation).

    Args:
        src: a file path, an http(s) URL, encoded bytes, a numpy array, a PIL image or a
            torch tensor.
        composite_alpha: composite transparency over white (default); ``False`` drops it
            like Pillow's ``convert('RGB')`` (ModelScope parity).
        max_pixels: refuse images with more than this many pixels (decompression bombs).
        timeout: ``(connect, read)`` seconds for URLs.
        max_bytes: largest body downloaded for URLs.
        deadline: seconds a URL's whole download may take (None: only ``timeout``).

    Returns:
        A new C-contiguous ``uint8`` array of shape (H, W, 3), RGB, H >= 1, W >= 1.

    Raises:
        ImageLoadError: the input is missing, unreadable, empty, malformed, too large or of
            an unsupported shape/dtype; the message starts with :func:`describe` of it.
        TypeError: ``src`` is of a type no image can come from.

    >>> load_image(np.zeros((32, 100), np.uint8)).shape
    (32, 100, 3)
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    what = describe(src)
    if isinstance(src, str) and ("://" in src or src[:5].lower() == "data:"):
        if not is_url(src):
            scheme = src.split(":", 1)[0]
            raise ImageLoadError(
                f"{what}: only http:// and https:// URLs are supported, not {scheme}: "
                "(pass a local file as a plain path, or the decoded bytes)")
        data, ctype = _fetch(src, timeout, max_bytes, None, deadline)
        try:
            return _decode(_io.BytesIO(data), what, composite_alpha, max_pixels)
        except ImageLoadError as e:
            raise ImageLoadError(f"{e} [Content-Type {ctype!r}, {len(data)} B]",
                                 too_large=e.too_large) from None
    if isinstance(src, (str, os.PathLike)):
        return _load_path(src, what, composite_alpha, max_pixels)
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = src.tobytes() if isinstance(src, memoryview) else bytes(src)
        if not data:
            raise ImageLoadError(f"{what}: empty (0 bytes)")
        return _decode(_io.BytesIO(data), what, composite_alpha, max_pixels)
    if isinstance(src, np.ndarray):
        return _from_array(src, True, composite_alpha, max_pixels, what)
    if isinstance(src, Image.Image):
        _check_pixels(src.width, src.height, max_pixels, what)
        try:
            return _pil_to_rgb(src, composite_alpha, what)
        except ImageLoadError:
            raise
        except Exception as e:  # a lazily loaded image can still fail to decode here
            raise ImageLoadError(f"{what}: cannot convert ({type(e).__name__}: {e})") \
                from None
    torch = sys.modules.get("torch")  # no tensor can exist unless torch is imported
    if torch is not None and isinstance(src, torch.Tensor):
        return _from_tensor(src, composite_alpha, max_pixels, what)
    raise TypeError(f"load_image() cannot read an image from {type(src).__name__}; "
                    f"pass {_ACCEPTED}")


def _load_path(src: str | os.PathLike, what: str, composite_alpha: bool,
               max_pixels: int) -> np.ndarray:
    path = Path(os.path.expanduser(os.fsdecode(os.fspath(src))))
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageLoadError(f"{what}: no such file") from None
    except OSError as e:
        raise ImageLoadError(f"{what}: cannot access ({type(e).__name__}: {e})") from None
    if path.is_dir():
        raise ImageLoadError(f"{what}: is a directory, not an image file")
    if not path.is_file():  # FIFOs and devices would block or never end
        raise ImageLoadError(f"{what}: not a regular file")
    if st.st_size == 0:
        raise ImageLoadError(f"{what}: empty file (0 bytes)")
    try:
        with open(path, "rb") as f:
            return _decode(f, what, composite_alpha, max_pixels)
    except OSError as e:  # _decode turns its own failures into ImageLoadError
        raise ImageLoadError(f"{what}: cannot open ({type(e).__name__}: {e})") from None
