"""Line augmentation: determinism, output contract, identity when off, glyph safety, speed."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from duguang_ocr.data.augment import DEFAULT_AUGMENT, NO_AUGMENT, AugmentConfig, augment_line

ALL_OFF = {f.name: 0.0 for f in dataclasses.fields(AugmentConfig) if f.name.endswith("_p")}


def only(name: str, **ranges) -> AugmentConfig:
    """A config in which exactly one transform always fires."""
    return AugmentConfig(**{**ALL_OFF, name: 1.0}, **ranges)


def line(h: int = 32, w: int = 300, seed: int = 0) -> np.ndarray:
    """Dark 'glyph' boxes on a light background, kept 4 px away from every edge."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 235, np.uint8)
    for x in range(6, w - 16, 14):
        top = int(rng.integers(5, 10))
        cv2.rectangle(img, (x, top), (x + 8, h - 6), (20, 20, 20), thickness=2)
    return img


def ink(img: np.ndarray) -> float:
    """Amount of dark 'ink' relative to the background level."""
    gray = img.astype(np.float64).mean(axis=2)
    return float(np.clip(np.median(gray) - gray, 0, None).sum())


def test_same_rng_state_gives_same_output():
    img = line()
    a = [augment_line(img, np.random.default_rng(7), p=1.0) for _ in range(3)]
    assert all(np.array_equal(a[0], x) for x in a[1:])
    rng1, rng2 = np.random.default_rng(11), np.random.default_rng(11)
    for _ in range(50):
        assert np.array_equal(augment_line(img, rng1), augment_line(img, rng2))


def test_different_seeds_give_varied_outputs():
    img = line()
    outs = [augment_line(img, np.random.default_rng(s), p=1.0) for s in range(30)]
    distinct = {(o.shape, o.tobytes()) for o in outs}
    assert len(distinct) >= 25


@pytest.mark.parametrize("shape", [(32, 300), (48, 1000), (1, 1), (2, 5), (5, 1), (100, 3)])
def test_output_is_uint8_rgb_and_never_empty(shape):
    img = line(*shape) if min(shape) >= 20 else np.random.default_rng(0).integers(
        0, 256, (*shape, 3), dtype=np.uint8)
    before = img.copy()
    rng = np.random.default_rng(3)
    for _ in range(150):
        out = augment_line(img, rng, p=1.0)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert out.shape[0] >= 1 and out.shape[1] >= 1
        assert out.flags.c_contiguous
    np.testing.assert_array_equal(img, before)  # never modified in place


def test_identity_when_off():
    img = line()
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert augment_line(img, rng, p=1.0, config=NO_AUGMENT) is img
        assert augment_line(img, rng, p=0.0) is img
    assert not NO_AUGMENT.enabled and DEFAULT_AUGMENT.enabled


def test_p_is_the_probability_of_augmenting_a_line():
    img = line()
    rng = np.random.default_rng(5)
    untouched = sum(augment_line(img, rng, p=0.5) is img for _ in range(1000)) / 1000
    # 0.5 skipped outright, plus the ~6% of augmented lines where no transform fires.
    assert 0.45 < untouched < 0.62


def test_every_transform_changes_the_image():
    img = line()
    for name in ALL_OFF:
        cfg = only(name)
        changed = 0
        for seed in range(5):
            out = augment_line(img, np.random.default_rng(seed), p=1.0, config=cfg)
            changed += out.shape != img.shape or not np.array_equal(out, img)
        assert changed >= 4, name


def test_inversion_is_exact():
    img = line()
    out = augment_line(img, np.random.default_rng(0), p=1.0, config=only("invert_p"))
    np.testing.assert_array_equal(out, 255 - img)


def test_crop_pad_is_pad_biased_and_bounded():
    img = line(32, 300)
    cfg = only("crop_pad_p")
    pad, crop = round(cfg.pad_frac * 32), int(cfg.crop_frac * 32)
    rng = np.random.default_rng(1)
    growth = []
    for _ in range(300):
        h, w = augment_line(img, rng, p=1.0, config=cfg).shape[:2]
        assert 32 - 2 * crop <= h <= 32 + 2 * pad and 300 - 2 * crop <= w <= 300 + 2 * pad
        growth.append(h - 32 + w - 300)
    assert np.mean(growth) > 4  # mostly padding


def bars(h: int, w: int) -> np.ndarray:
    """Thin bars along the top and bottom edges: any tilt without a larger canvas cuts them."""
    img = np.full((h, w, 3), 235, np.uint8)
    img[3:5, 4:w - 4] = img[h - 5:h - 3, 4:w - 4] = 20
    return img


def test_rotation_grows_canvas_within_limits_and_keeps_glyphs():
    for h, w in ((32, 300), (32, 1200)):
        img = bars(h, w)
        cfg = only("rotate_p")
        rng = np.random.default_rng(2)
        for _ in range(40):
            out = augment_line(img, rng, p=1.0, config=cfg)
            assert out.shape[0] >= h and out.shape[1] >= w
            assert out.shape[0] - h <= cfg.rotate_max_growth * h + 2
            assert 0.95 < ink(out) / ink(img) < 1.05  # nothing cut off


def test_perspective_keeps_size_and_glyphs():
    img = bars(32, 300)
    rng = np.random.default_rng(4)
    for _ in range(40):
        out = augment_line(img, rng, p=1.0, config=only("perspective_p"))
        assert out.shape == img.shape
        dark = out.mean(axis=2)[:, 8:-8] < 150  # both bars still span the whole line
        assert dark[:16].any(axis=0).all() and dark[16:].any(axis=0).all()


def test_jpeg_and_downscale_keep_size():
    img = line()
    for name in ("jpeg_p", "downscale_p", "blur_p", "noise_p", "color_p"):
        out = augment_line(img, np.random.default_rng(0), p=1.0, config=only(name))
        assert out.shape == img.shape, name


@pytest.mark.parametrize("bad", [
    np.zeros((32, 100), np.uint8), np.zeros((32, 100, 3), np.float32),
    np.zeros((32, 100, 4), np.uint8), np.zeros((0, 100, 3), np.uint8), [[0, 0, 0]],
])
def test_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        augment_line(bad, np.random.default_rng(0))


def test_rejects_bad_probability_and_config():
    with pytest.raises(ValueError, match="p must lie"):
        augment_line(line(), np.random.default_rng(0), p=1.5)
    with pytest.raises(ValueError, match="blur_p"):
        AugmentConfig(blur_p=1.2)
    with pytest.raises(ValueError, match="jpeg_quality"):
        AugmentConfig(jpeg_quality=(90, 20))
    with pytest.raises(ValueError, match="downscale"):
        AugmentConfig(downscale=(0.0, 0.5))
