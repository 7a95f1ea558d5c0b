"""Request parsing, options and the loopback/token rule (no server needed)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from duguang_ocr.serve.config import ServeConfig, is_loopback, resolve_token
from duguang_ocr.serve.schema import (
    RequestError,
    Source,
    load_sources,
    parse_json,
    parse_options,
    parse_options_field,
    supported_options,
)
from tests.test_hardening import bomb_png

from .conftest import FakeRecognizer


def png(width: int = 20, color=(10, 20, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, 8), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True),
                                       ("[::1]", True), ("localhost", True),
                                       ("0.0.0.0", False), ("::", False),
                                       ("192.168.1.4", False), ("myhost", False)])
def test_loopback(host, loop):
    assert is_loopback(host) is loop


def test_public_bind_needs_a_token(monkeypatch):
    monkeypatch.delenv("DUGUANG_OCR_TOKEN", raising=False)
    assert resolve_token(None, "127.0.0.1") is None
    with pytest.raises(ValueError, match="needs a token"):
        resolve_token(None, "0.0.0.0")
    assert resolve_token("s3cret", "0.0.0.0") == "s3cret"
    monkeypatch.setenv("DUGUANG_OCR_TOKEN", "from-env")
    assert resolve_token(None, "0.0.0.0") == "from-env"
    assert resolve_token(None, "127.0.0.1") == "from-env"  # enforced on loopback too


def test_config_refuses_a_pixel_limit_above_the_loaders():
    with pytest.raises(ValueError, match="max_pixels"):
        ServeConfig(max_pixels=10**9)
    with pytest.raises(ValueError, match="token"):
        ServeConfig(token=" ")


def test_json_body_base64_data_urls_and_urls():
    data = png()
    body = {"images": [base64.b64encode(data).decode(),
                       "data:image/png;base64," + base64.b64encode(data).decode()],
            "options": {"beam": 3}}
    import json

    sources, options = parse_json(json.dumps(body).encode(), allow_urls=False)
    assert [s.data for s in sources] == [data, data] and options == {"beam": 3}
    url_body = json.dumps({"images": ["https://example.com/a.png"]}).encode()
    with pytest.raises(RequestError, match="fetching URLs is off") as e:
        parse_json(url_body, allow_urls=False)
    assert e.value.status == 400
    assert parse_json(url_body, allow_urls=True)[0][0].data == "https://example.com/a.png"


@pytest.mark.parametrize("body,match", [
    (b"{", "Invalid JSON"),
    (b'{"images": []}', "at least 1 item"),
    (b'{"images": ["@@@"]}', r"images\[0\]: not valid base64"),
    (b'{"images": ["data:image/png,abc"]}', "only base64 data URLs"),
    (b'{"images": ["aGk="], "extra": 1}', "extra: Extra inputs are not permitted"),
    (b'{"images": [""]}', "empty image"),
])
def test_bad_json_bodies_are_400_with_a_reason(body, match):
    with pytest.raises(RequestError, match=match) as e:
        parse_json(body, allow_urls=False)
    assert e.value.status == 400


def test_options_validated_and_passed_only_when_supported():
    rec = FakeRecognizer()
    supported = supported_options(rec)
    assert supported == {"beam_width"}
    assert parse_options({"beam": "4"}).recognize_kwargs(supported) == {"beam_width": 4}
    assert parse_options({"beam": 2}, {"beam_width": 5}).recognize_kwargs(supported) == \
        {"beam_width": 5}  # later sources win (body over query)
    assert parse_options({}).recognize_kwargs(supported) == {}
    assert parse_options({"errors": "skip"}).errors == "skip"
    for bad, match in [({"beam": 0}, "greater than or equal to 1"),
                       ({"beam": 1000}, "less than or equal to 64"),
                       ({"bogus": 1}, "bogus: Extra inputs"),
                       ({"errors": "ignore"}, "errors")]:
        with pytest.raises(RequestError, match=match):
            parse_options(bad)
    with pytest.raises(RequestError, match="beam_width not supported"):
        parse_options({"beam": 2}).recognize_kwargs(frozenset())


def test_multipart_options_field():
    assert parse_options_field([]) == {}
    assert parse_options_field(['{"beam": 2}']) == {"beam": 2}
    for bad in (["[1]"], ["{"], ["{}", "{}"]):
        with pytest.raises(RequestError):
            parse_options_field(bad)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_loading_uses_the_loaders_checks():
    good = Source("images[0]", png(20, (10, 20, 30)))
    bomb = Source("images[1]", bomb_png(10_000, 10_000))
    junk = Source("images[2]", b"not an image")
    with pytest.raises(RequestError, match=r"^images\[1\]: bytes \(\d+ B\): 10000x10000 = "
                       r"100000000 pixels exceeds the limit of 50000000") as e:
        load_sources([good, bomb], max_pixels=50_000_000, composite_alpha=True,
                     skip_errors=False)
    assert e.value.status == 413
    with pytest.raises(RequestError, match="not an image file") as e:
        load_sources([junk], max_pixels=50_000_000, composite_alpha=True, skip_errors=False)
    assert e.value.status == 400
    with pytest.raises(RequestError) as e:  # the server's own, lower limit
        load_sources([good], max_pixels=100, composite_alpha=True, skip_errors=False)
    assert e.value.status == 413
    out = load_sources([good, bomb, junk], max_pixels=50_000_000, composite_alpha=True,
                       skip_errors=True)
    assert out.positions == [0] and set(out.errors) == {1, 2} and out.count == 3
    assert out.errors[1].startswith("ImageLoadError: bytes")
    assert out.images[0][0, 0].tolist() == [30, 20, 10]  # BGR, as Recognizer reads arrays


def test_cli_refuses_a_public_bind_without_a_token(monkeypatch, capsys):
    from duguang_ocr.cli import main

    monkeypatch.delenv("DUGUANG_OCR_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "binding 0.0.0.0 (not a loopback address) needs a token" in capsys.readouterr().err
