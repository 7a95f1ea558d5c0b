"""Shared fixtures: tiny random-weight model dirs and rendered line images, made per test run.

Session fixtures are shared by many tests, so each checks at the end of the run that no test
changed it (a test that needs a variant copies it into its own ``tmp_path``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.helpers import dir_digest, font, make_model_dir, render


@pytest.fixture(scope="session", autouse=True)
def _private_model_cache(tmp_path_factory):
    """Point the model cache at a temp dir for the whole run (subprocesses inherit it), so
    tests never create or fill the user's ``~/.cache/duguang_ocr``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DUGUANG_OCR_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    path = make_model_dir(tmp_path_factory.mktemp("models") / "tiny")
    before = dir_digest(path)
    yield path
    assert dir_digest(path) == before, "a test changed the shared tiny_model_dir"


@pytest.fixture(scope="session")
def line_images(tmp_path_factory) -> dict[str, Path]:
    """A few rendered lines on disk: short, 804 px, long, gray, RGBA."""
    d = tmp_path_factory.mktemp("lines")
    out = {}
    render("Hi 42").save(out.setdefault("short", d / "short.png"))
    render("exactly 804 px wide", width=804).save(out.setdefault("exact804", d / "exact804.png"))
    render("a long line of text " * 6).save(out.setdefault("long", d / "long.png"))
    render("gray 你好", mode="L").save(out.setdefault("gray", d / "gray.png"))
    rgba = Image.new("RGBA", (200, 40), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).text((4, 4), "rgba", fill=(0, 0, 0, 255), font=font(26))
    rgba.save(out.setdefault("rgba", d / "rgba.png"))
    before = dir_digest(d)
    yield out
    assert dir_digest(d) == before, "a test changed the shared line images"

