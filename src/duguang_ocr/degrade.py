"""Image degradations shared by synthetic rendering and train-time augmentation.

:func:`duguang_ocr.synth.render.render_line` (camera and scanner faults on a fresh
rendering) and :func:`duguang_ocr.data.augment.augment_line` (the same faults on real
crops) apply these steps. Each caller draws its own random parameters, in its own order, so
a seed reproduces the same pixels; the steps themselves are deterministic given them (noise
takes the generator it draws from).
"""

from __future__ import annotations

import cv2
import numpy as np


def sensor_noise(rng: np.random.Generator, height: int, width: int, sigma: float,
                 color_share: float) -> np.ndarray:
    """Gaussian sensor noise, (H, W, 3) per-channel with probability ``color_share`` (one
    draw from ``rng``), else (H, W, 1) shared by the channels; float32, std ``sigma``."""
    channels = 3 if rng.random() < color_share else 1
    return rng.standard_normal((height, width, channels), dtype=np.float32) * np.float32(sigma)


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """``rgb`` (H x W x 3 uint8) encoded as a JPEG of ``quality`` (0-100) and decoded again.

    Raises:
        RuntimeError: OpenCV cannot encode the image.
    """
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f"OpenCV could not JPEG-encode a {rgb.shape} image")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


def resample(img: np.ndarray, small: tuple[int, int], up_interpolation: int) -> np.ndarray:
    """Shrink ``img`` to ``small`` (width, height) with area averaging, then scale it back
    to its own size with ``up_interpolation``: detail lost as in a low-resolution capture."""
    h, w = img.shape[:2]
    low = cv2.resize(img, small, interpolation=cv2.INTER_AREA)
    return cv2.resize(low, (w, h), interpolation=up_interpolation)


__all__ = ["jpeg_roundtrip", "resample", "sensor_noise"]
