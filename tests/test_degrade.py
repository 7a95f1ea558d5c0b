"""The degradation steps the renderer and the augmenter share."""

import cv2
import numpy as np

from duguang_ocr.degrade import jpeg_roundtrip, resample, sensor_noise


def test_jpeg_roundtrip_keeps_size_and_channel_order():
    img = np.zeros((32, 64, 3), np.uint8)
    img[:, :32, 0] = 220  # a red half: R must stay R, not swap with B
    out = jpeg_roundtrip(img, 90)
    assert out.shape == img.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    assert out[:, :20, 0].mean() > 180 and out[:, :20, 2].mean() < 40
    assert np.abs(jpeg_roundtrip(img, 10).astype(int) - img).mean() > \
        np.abs(out.astype(int) - img).mean()  # lower quality, larger error


def test_sensor_noise_is_reproducible_and_colour_only_when_drawn():
    a = sensor_noise(np.random.default_rng(3), 8, 10, 5.0, color_share=0.0)
    b = sensor_noise(np.random.default_rng(3), 8, 10, 5.0, color_share=0.0)
    assert a.shape == (8, 10, 1) and a.dtype == np.float32 and np.array_equal(a, b)
    assert sensor_noise(np.random.default_rng(3), 8, 10, 5.0, color_share=1.0).shape == (8, 10, 3)
    big = sensor_noise(np.random.default_rng(0), 200, 200, 4.0, color_share=0.0)
    assert abs(float(big.std()) - 4.0) < 0.2


def test_resample_loses_detail_but_keeps_the_size():
    img = (np.indices((32, 64)).sum(0) % 2 * 255).astype(np.uint8)[:, :, None].repeat(3, 2)
    out = resample(img, (16, 8), cv2.INTER_LINEAR)
    assert out.shape == img.shape
    assert out.std() < img.std() / 4  # a 1-px checkerboard averages out
