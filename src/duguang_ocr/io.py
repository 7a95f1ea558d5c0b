"""Turn any supported input into an RGB ``uint8`` H x W x 3 array.

Accepted inputs and their conventions:

* ``str`` / ``pathlib.Path``: an image file (jpg/png/bmp/webp/tiff/gif...), decoded by
  Pillow with EXIF orientation applied; or an ``http://`` / ``https://`` URL, fetched with
  timeouts and a size cap. Other schemes (``file://``, ``ftp://``...) are refused.
* ``bytes`` / ``bytearray`` / ``memoryview``: an encoded image file.
* ``numpy.ndarray``: H x W gray, H x W x 1, H x W x 3 **BGR** (as ``cv2.imread`` returns)
  or H x W x 4 **BGRA**. uint8 as is; uint16 scaled by 1/257; bool to 0/255; floats must be
  finite and are taken as [0, 1] (values above 1 but at most 255 as [0, 255]).
* ``PIL.Image.Image`` of any mode (16/32-bit modes are scaled by their real range).
* ``torch.Tensor``: C x H x W (C in 1, 3, 4), H x W x C or H x W, **RGB** order
  (torchvision's convention); float in [0, 1] or uint8; moved to the CPU.

Transparency is composited over white by default (black text on a transparent background
stays readable); ``composite_alpha=False`` drops alpha exactly like Pillow's
``convert('RGB')``, which is what ModelScope does. Images above ``max_pixels`` are refused
before their pixels are decoded (decompression bombs).
"""

from __future__ import annotations

import io as _io
import os
from pathlib import Path
from typing import Any

import numpy as np
import requests
from PIL import Image, ImageOps

MAX_PIXELS: int = 50_000_000
MAX_DOWNLOAD_BYTES: int = 20 * 2**20
URL_SCHEMES = ("http://", "https://")


class ImageLoadError(ValueError):
    """An input could not be turned into an image; the message names the input."""


def describe(src: Any) -> str:
    """A short description of ``src`` for error messages."""
    if isinstance(src, Path):
        return repr(str(src))
    if isinstance(src, str):
        return f"URL {src!r}" if "://" in src else repr(src)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"bytes ({len(src)} B)"
    if isinstance(src, np.ndarray):
        return f"numpy array {tuple(src.shape)} {src.dtype}"
    if isinstance(src, Image.Image):
        return f"PIL image {src.mode} {src.width}x{src.height}"
    try:
        import torch

        if isinstance(src, torch.Tensor):
            return f"tensor {tuple(src.shape)} {str(src.dtype).replace('torch.', '')}"
    except ImportError:  # pragma: no cover
        pass
    return f"{type(src).__name__} object"


def is_url(s: str) -> bool:
    return s.lower().startswith(URL_SCHEMES)


def fetch_url(url: str, *, timeout=(5.0, 20.0), max_bytes: int = MAX_DOWNLOAD_BYTES,
              session: requests.Session | None = None) -> bytes:
    """GET ``url`` with connect/read timeouts, at most 5 redirects and a body size cap."""
    s = session or requests.Session()
    s.max_redirects = 5
    try:
        with s.get(url, stream=True, timeout=timeout) as r:
            if r.status_code >= 400:
                raise ImageLoadError(f"URL {url!r}: HTTP {r.status_code} {r.reason}")
            length = r.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise ImageLoadError(
                    f"URL {url!r}: body of {int(length)} B exceeds the {max_bytes} B limit")
            ctype = r.headers.get("Content-Type", "")
            chunks, total = [], 0
            for chunk in r.iter_content(64 * 1024):
                total += len(chunk)
                if total > max_bytes:
                    raise ImageLoadError(f"URL {url!r}: body exceeds the {max_bytes} B limit")
                chunks.append(chunk)
            if length and length.isdigit() and total < int(length):
                raise ImageLoadError(f"URL {url!r}: body truncated ({total} of {length} B)")
    except requests.TooManyRedirects:
        raise ImageLoadError(f"URL {url!r}: too many redirects") from None
    except requests.Timeout:
        raise ImageLoadError(f"URL {url!r}: timed out (connect/read timeouts {timeout})") from None
    except requests.RequestException as e:
        raise ImageLoadError(f"URL {url!r}: {type(e).__name__}: {e}") from None
    data = b"".join(chunks)
    if ctype and not ctype.startswith(("image/", "application/octet-stream")):
        try:
            Image.open(_io.BytesIO(data)).verify()
        except Exception:
            raise ImageLoadError(f"URL {url!r}: not an image (Content-Type {ctype!r})") from None
    return data


def _check_pixels(w: int, h: int, max_pixels: int, what: str) -> None:
    if w * h > max_pixels:
        raise ImageLoadError(
            f"{what}: {w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} "
            "(pass max_pixels=... to raise it)")
    if w < 1 or h < 1:
        raise ImageLoadError(f"{what}: empty image ({w}x{h})")


def _pil_to_rgb(img: Image.Image, composite_alpha: bool) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        lo, hi = (0.0, 65535.0) if img.mode.startswith("I;16") else (float(a.min()), float(a.max()))
        a = np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo) * 255.0
        img = Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), "L")
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (
        img.mode == "P" and "transparency" in img.info)
    if composite_alpha and has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def _decode(data: bytes, what: str, composite_alpha: bool, max_pixels: int) -> np.ndarray:
    if not data:
        raise ImageLoadError(f"{what}: empty file (0 bytes)")
    try:
        img = Image.open(_io.BytesIO(data))
        _check_pixels(img.width, img.height, max_pixels, what)
        img = ImageOps.exif_transpose(img)
        return _pil_to_rgb(img, composite_alpha)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageLoadError(f"{what}: {e}") from None
    except Exception as e:  # Pillow raises many types for damaged data
        raise ImageLoadError(f"{what}: cannot decode image ({type(e).__name__}: {e})") from None


def _float_to_uint8(a: np.ndarray, what: str) -> np.ndarray:
    if not np.isfinite(a).all():
        raise ImageLoadError(f"{what}: contains NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0 or hi > 255:
        raise ImageLoadError(f"{what}: float values must lie in [0, 1] (or [0, 255]); "
                             f"got [{lo:g}, {hi:g}]")
    scale = 255.0 if hi <= 1.0 else 1.0
    return (a * scale + 0.5).astype(np.uint8)


def _array_to_uint8(a: np.ndarray, what: str) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.uint16:
        return ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        return _float_to_uint8(a.astype(np.float64), what)
    raise ImageLoadError(f"{what}: unsupported dtype {a.dtype} (use uint8, uint16, bool or float)")


def _from_array(a: np.ndarray, bgr: bool, composite_alpha: bool, max_pixels: int,
                what: str) -> np.ndarray:
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageLoadError(f"{what}: expected H x W, H x W x 1, H x W x 3 or H x W x 4")
    _check_pixels(a.shape[1], a.shape[0], max_pixels, what)
    a = _array_to_uint8(a, what)
    if a.ndim == 2:
        return np.ascontiguousarray(np.repeat(a[:, :, None], 3, axis=2))
    color = a[:, :, 2::-1] if bgr else a[:, :, :3]
    if a.shape[2] == 4 and composite_alpha:
        alpha = a[:, :, 3:4].astype(np.float32) / 255.0
        color = color.astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        color = (color + 0.5).astype(np.uint8)
    return np.ascontiguousarray(color, dtype=np.uint8)


def _from_tensor(t, composite_alpha: bool, max_pixels: int, what: str) -> np.ndarray:
    a = t.detach().cpu()
    if a.dtype.is_floating_point:
        a = a.float()
    a = a.numpy()
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[2] not in (1, 3, 4):
        a = a.transpose(1, 2, 0)
    elif a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[2] in (1, 3, 4):
        a = a.transpose(1, 2, 0)  # ambiguous: C x H x W preferred
    return _from_array(a, False, composite_alpha, max_pixels, what)


def load_image(src: Any, *, composite_alpha: bool = True, max_pixels: int = MAX_PIXELS,
               timeout: tuple[float, float] = (5.0, 20.0),
               max_bytes: int = MAX_DOWNLOAD_BYTES) -> np.ndarray:
    """Load ``src`` as a C-contiguous RGB uint8 array of shape (H, W, 3).

    Raises:
        ImageLoadError: the input is unreadable, empty, too large or malformed (the message
            names it).
        TypeError: the input's type is not supported.

    >>> load_image(np.zeros((32, 100), np.uint8)).shape
    (32, 100, 3)
    """
    what = describe(src)
    if isinstance(src, (str, Path)):
        s = str(src)
        if isinstance(src, str) and "://" in s:
            if not is_url(s):
                raise ImageLoadError(f"{what}: only http:// and https:// URLs are supported")
            data = fetch_url(s, timeout=timeout, max_bytes=max_bytes)
            return _decode(data, what, composite_alpha, max_pixels)
        path = Path(os.path.expanduser(s))
        if not path.exists():
            raise ImageLoadError(f"{what}: no such file")
        if path.is_dir():
            raise ImageLoadError(f"{what}: is a directory, not an image file")
        return _decode(path.read_bytes(), what, composite_alpha, max_pixels)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return _decode(bytes(src), what, composite_alpha, max_pixels)
    if isinstance(src, np.ndarray):
        return _from_array(src, True, composite_alpha, max_pixels, what)
    if isinstance(src, Image.Image):
        _check_pixels(src.width, src.height, max_pixels, what)
        return _pil_to_rgb(src, composite_alpha)
    try:
        import torch

        if isinstance(src, torch.Tensor):
            if src.dtype.is_floating_point and not torch.isfinite(src).all():
                raise ImageLoadError(f"{what}: contains NaN or infinite values")
            return _from_tensor(src, composite_alpha, max_pixels, what)
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(
        f"cannot read an image from a {type(src).__name__}; pass a file path, an http(s) URL, "
        "bytes, a numpy array, a PIL image or a torch tensor")
