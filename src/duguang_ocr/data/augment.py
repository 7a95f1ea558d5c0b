"""Train-time augmentation for text-line images (cv2 and numpy only).

Real text lines come from detector crops of scans, photos and screenshots, so the
transforms imitate what those pipelines do to a line: slightly loose or tight crops, a
small tilt or keystone, defocus and motion blur, resampling, lighting changes, sensor
noise and JPEG artefacts. Geometry never cuts into the line: crops are at most a pixel or
two while padding is larger, rotation enlarges the canvas, and perspective moves corners
inwards; new border pixels replicate the edge so no black frames appear.

Every random number comes from the ``numpy.random.Generator`` passed in, so a given
generator state always yields the same output (reproducible runs, per-worker seeding).
Resampling, sensor noise and JPEG are :mod:`duguang_ocr.degrade`'s steps, shared with the
synthetic renderer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import cv2
import numpy as np

from ..degrade import jpeg_roundtrip, resample, sensor_noise

_REPLICATE = cv2.BORDER_REPLICATE


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities (``*_p``) and ranges of the line augmentations.

    Distances are fractions of the line height, so a 64 px line is jittered like a 32 px
    one. Ranges are ``(low, high)`` and sampled uniformly (gamma log-uniformly).
    """

    crop_pad_p: float = 0.5
    pad_frac: float = 0.15  # per side, at most; padding dominates so glyphs stay whole
    crop_frac: float = 0.04  # per side, at most (1 px on a 32 px line)
    rotate_p: float = 0.2
    max_angle: float = 3.0  # degrees
    rotate_max_growth: float = 0.5  # long lines tilt less: canvas grows <= this x height
    perspective_p: float = 0.2
    perspective_frac: float = 0.1  # inward corner shift, at most
    downscale_p: float = 0.15
    downscale: tuple[float, float] = (0.4, 0.85)
    blur_p: float = 0.2
    motion_blur_share: float = 0.4  # of the blurs, this share is motion blur
    blur_sigma: tuple[float, float] = (0.4, 1.2)
    motion_kernel: tuple[int, int] = (3, 5)
    color_p: float = 0.5
    contrast: tuple[float, float] = (0.6, 1.4)
    brightness: tuple[float, float] = (-40.0, 40.0)
    gamma: tuple[float, float] = (0.7, 1.5)
    invert_p: float = 0.03
    noise_p: float = 0.25
    noise_sigma: tuple[float, float] = (2.0, 12.0)
    color_noise_share: float = 0.3  # of the noisy lines, this share gets per-channel noise
    jpeg_p: float = 0.25
    jpeg_quality: tuple[int, int] = (20, 90)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(("_p", "_share")) and not 0.0 <= value <= 1.0:
                raise ValueError(f"AugmentConfig.{f.name} must lie in [0, 1], got {value}")
            if isinstance(value, tuple) and not (len(value) == 2 and value[0] <= value[1]):
                raise ValueError(f"AugmentConfig.{f.name} must be (low, high), got {value}")
        checks = {
            "pad_frac": self.pad_frac >= 0, "crop_frac": 0 <= self.crop_frac < 0.25,
            "max_angle": 0 <= self.max_angle <= 45,
            "rotate_max_growth": self.rotate_max_growth >= 0,
            "perspective_frac": 0 <= self.perspective_frac < 0.25,
            "downscale": 0 < self.downscale[0] and self.downscale[1] <= 1,
            "blur_sigma": self.blur_sigma[0] > 0, "motion_kernel": self.motion_kernel[0] >= 1,
            "contrast": self.contrast[0] >= 0, "gamma": self.gamma[0] > 0,
            "noise_sigma": self.noise_sigma[0] >= 0,
            "jpeg_quality": 0 <= self.jpeg_quality[0] and self.jpeg_quality[1] <= 100,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"AugmentConfig.{name} is out of range: {getattr(self, name)}")

    @property
    def enabled(self) -> bool:
        """Whether any transform can fire at all."""
        return any(getattr(self, f.name) > 0 for f in fields(self) if f.name.endswith("_p"))


DEFAULT_AUGMENT = AugmentConfig()
NO_AUGMENT = AugmentConfig(
    **{f.name: 0.0 for f in fields(AugmentConfig) if f.name.endswith("_p")})
"""Identity configuration for evaluation: ``augment_line`` returns its input unchanged."""


def _crop_pad(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    h, w = img.shape[:2]
    pad, crop = max(1, round(cfg.pad_frac * h)), int(cfg.crop_frac * h)
    top, bottom, left, right = (int(d) for d in rng.integers(-crop, pad + 1, size=4))
    ct, cb, cl, cr = max(-top, 0), max(-bottom, 0), max(-left, 0), max(-right, 0)
    if ct + cb >= h:
        ct = cb = 0
    if cl + cr >= w:
        cl = cr = 0
    img = img[ct:h - cb, cl:w - cr]
    return cv2.copyMakeBorder(img, max(top, 0), max(bottom, 0), max(left, 0), max(right, 0),
                              _REPLICATE)


def _rotate(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    h, w = img.shape[:2]
    # Rotating a long line by a fixed angle would make its box very tall (tiny text after
    # resizing to the model height); cap the angle so the canvas grows by a bounded amount.
    limit = math.degrees(math.asin(min(1.0, cfg.rotate_max_growth * h / w)))
    bound = min(cfg.max_angle, limit)
    angle = rng.uniform(-bound, bound)
    cos, sin = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    nw, nh = math.ceil(w * cos + h * sin - 1e-6), math.ceil(h * cos + w * sin - 1e-6)
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    m[0, 2] += (nw - w) / 2
    m[1, 2] += (nh - h) / 2
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=_REPLICATE)


def _perspective(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    h, w = img.shape[:2]
    if h < 4 or w < 4:
        return img
    jy = cfg.perspective_frac * h
    jx = min(jy, (w - 1) / 4)
    src = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], np.float32)
    shift = rng.uniform(0.0, 1.0, size=(4, 2)).astype(np.float32) * np.float32([jx, jy])
    m = cv2.getPerspectiveTransform(src, src + inward * shift)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=_REPLICATE)


def _downscale(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    h, w = img.shape[:2]
    f = rng.uniform(*cfg.downscale)
    interp = (cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST)[int(rng.integers(3))]
    return resample(img, (max(1, round(w * f)), max(1, round(h * f))), interp)


def _motion_kernel(size: int, angle: float) -> np.ndarray:
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    t = np.linspace(-c, c, 2 * size)
    xs = np.rint(c + t * math.cos(angle)).astype(int)
    ys = np.rint(c + t * math.sin(angle)).astype(int)
    kernel[ys, xs] = 1.0
    return kernel / kernel.sum()


def _blur(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    if rng.random() < cfg.motion_blur_share:
        size = int(rng.integers(cfg.motion_kernel[0], cfg.motion_kernel[1] + 1)) | 1
        kernel = _motion_kernel(size, rng.uniform(0.0, math.pi))
        return cv2.filter2D(img, -1, kernel, borderType=_REPLICATE)
    sigma = rng.uniform(*cfg.blur_sigma)
    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=_REPLICATE)


def _tone_lut(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
              color: bool, invert: bool) -> np.ndarray:
    """One 256-entry table for gamma, contrast, brightness and inversion (one cheap pass)."""
    lut = np.arange(256, dtype=np.float32)
    if color:
        gamma = math.exp(rng.uniform(math.log(cfg.gamma[0]), math.log(cfg.gamma[1])))
        contrast, brightness = rng.uniform(*cfg.contrast), rng.uniform(*cfg.brightness)
        lut = np.power(lut / 255.0, gamma) * 255.0
        level = int(sum(cv2.mean(img)[:3]) / 3 + 0.5)
        pivot = lut[level]  # contrast around the (gamma'd) mean level
        lut = (lut - pivot) * contrast + pivot + brightness
    if invert:
        lut = 255.0 - lut
    return np.clip(lut + 0.5, 0, 255).astype(np.uint8)


def _noise(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    h, w = img.shape[:2]
    noise = sensor_noise(rng, h, w, rng.uniform(*cfg.noise_sigma), cfg.color_noise_share)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _jpeg(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    return jpeg_roundtrip(img, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))


def augment_line(img: np.ndarray, rng: np.random.Generator, p: float = 0.5,
                 config: AugmentConfig | None = None) -> np.ndarray:
    """Randomly distort one text-line image the way scanning and cropping pipelines do.

    With probability ``p`` the line is augmented at all; each transform then fires with its
    own probability from ``config`` (default: ``DEFAULT_AUGMENT``), in a fixed order:
    crop/pad, rotation, perspective, downscale-upscale, blur, tone (gamma, contrast,
    brightness, inversion), noise, JPEG. The output size may differ from the input's
    (padding, rotation).

    Args:
        img: H x W x 3 RGB ``uint8`` line image.
        rng: source of all randomness; the same generator state gives the same output.
        p: probability of augmenting this line (0 disables augmentation).
        config: probabilities and ranges; ``NO_AUGMENT`` makes this the identity.

    Returns:
        An H' x W' x 3 ``uint8`` array with H', W' >= 1; the input object itself when
        nothing was applied (it is never modified in place).

    Raises:
        ValueError: ``img`` is not a non-empty H x W x 3 uint8 array or ``p`` is outside
            [0, 1].
    """
    if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
            and img.shape[2] == 3 and img.shape[0] >= 1 and img.shape[1] >= 1):
        shape = getattr(img, "shape", None)
        raise ValueError(f"augment_line expects an H x W x 3 uint8 array, got "
                         f"{type(img).__name__} {shape} {getattr(img, 'dtype', '')}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    cfg = DEFAULT_AUGMENT if config is None else config
    if p == 0.0 or not cfg.enabled or rng.random() >= p:
        return img
    out = np.ascontiguousarray(img)
    for prob, op in ((cfg.crop_pad_p, _crop_pad), (cfg.rotate_p, _rotate),
                     (cfg.perspective_p, _perspective), (cfg.downscale_p, _downscale),
                     (cfg.blur_p, _blur)):
        if rng.random() < prob:
            out = op(out, rng, cfg)
    color, invert = rng.random() < cfg.color_p, rng.random() < cfg.invert_p
    if color or invert:
        out = cv2.LUT(out, _tone_lut(out, rng, cfg, color, invert))
    if rng.random() < cfg.noise_p:
        out = _noise(out, rng, cfg)
    if rng.random() < cfg.jpeg_p:
        out = _jpeg(out, rng, cfg)
    return out
