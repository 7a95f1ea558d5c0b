import io as _io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from duguang_ocr.io import ImageLoadError, describe, load_image


def png_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = _io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def rgb():
    a = np.zeros((8, 12, 3), np.uint8)
    a[:, :, 0] = 200  # red
    a[2, 3] = (0, 0, 255)  # one blue pixel
    return Image.fromarray(a)


def test_file_path_str_and_pathlib(tmp_path, rgb):
    p = tmp_path / "x.png"
    rgb.save(p)
    for src in (p, str(p)):
        out = load_image(src)
        assert out.dtype == np.uint8 and out.shape == (8, 12, 3) and out.flags["C_CONTIGUOUS"]
        assert tuple(out[2, 3]) == (0, 0, 255)


@pytest.mark.parametrize("fmt", ["BMP", "WEBP", "TIFF", "JPEG", "GIF"])
def test_formats(tmp_path, rgb, fmt):
    p = tmp_path / f"x.{fmt.lower()}"
    rgb.save(p, fmt)
    assert load_image(p).shape == (8, 12, 3)


def test_cv2_arrays_are_bgr(tmp_path, rgb):
    p = tmp_path / "x.png"
    rgb.save(p)
    bgr = cv2.imread(str(p))
    assert tuple(load_image(bgr)[2, 3]) == (0, 0, 255)
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    assert tuple(load_image(bgra)[2, 3]) == (0, 0, 255)
    gray = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
    assert load_image(gray).shape == (8, 12, 3)
    assert load_image(gray[:, :, None]).shape == (8, 12, 3)


def test_array_dtypes_and_non_contiguous():
    a = np.arange(8 * 12 * 3, dtype=np.uint8).reshape(8, 12, 3)
    assert np.array_equal(load_image(a[:, ::-1]), a[:, ::-1, ::-1])
    assert load_image(np.full((4, 4), 65535, np.uint16)).max() == 255
    assert load_image(np.ones((4, 4), bool)).min() == 255
    assert load_image(np.full((4, 4, 3), 0.5, np.float32))[0, 0, 0] == 128
    assert load_image(np.full((4, 4), 200.0))[0, 0, 0] == 200


def test_pil_modes(rgb):
    for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I", "F", "I;16"):
        img = rgb.convert(mode) if mode != "I;16" else Image.fromarray(
            np.full((8, 12), 40000, np.uint16))
        out = load_image(img)
        assert out.shape == (8, 12, 3) and out.dtype == np.uint8, mode
    sixteen = Image.fromarray(np.full((3, 3), 65535, np.uint16))
    assert load_image(sixteen).min() == 255  # scaled, not clipped to 255 from 65535


def test_alpha_composite_and_parity_drop(tmp_path):
    a = np.zeros((6, 6, 4), np.uint8)
    a[:3, :, 3] = 255  # top opaque black, bottom transparent black
    p = tmp_path / "t.png"
    Image.fromarray(a, "RGBA").save(p)
    out = load_image(p)
    assert out[0, 0].tolist() == [0, 0, 0] and out[5, 5].tolist() == [255, 255, 255]
    dropped = load_image(p, composite_alpha=False)
    assert dropped[5, 5].tolist() == [0, 0, 0]


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "RGB"])
def test_parity_loading_is_byte_identical_to_pillow(tmp_path, rgb, mode):
    p = tmp_path / "x.png"
    rgb.convert(mode).save(p)
    expected = np.array(ImageOps.exif_transpose(Image.open(p)).convert("RGB"))
    assert np.array_equal(load_image(p, composite_alpha=False), expected)


def test_exif_orientation(tmp_path):
    img = Image.new("RGB", (40, 10), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    p = tmp_path / "r.jpg"
    img.save(p, exif=exif.tobytes())
    assert load_image(p).shape == (40, 10, 3)


def test_bytes_and_tensors(rgb):
    data = png_bytes(rgb)
    for src in (data, bytearray(data), memoryview(data)):
        assert tuple(load_image(src)[2, 3]) == (0, 0, 255)
    t = torch.from_numpy(np.array(rgb)).permute(2, 0, 1).float() / 255
    assert tuple(load_image(t)[2, 3]) == (0, 0, 255)  # tensors are RGB
    assert tuple(load_image(t.permute(1, 2, 0))[2, 3]) == (0, 0, 255)
    assert load_image(t[0]).shape == (8, 12, 3)
    assert load_image((t * 255).to(torch.uint8)).shape == (8, 12, 3)


@pytest.mark.parametrize("make,match", [
    (lambda d: d / "missing.png", "no such file"),
    (lambda d: d, "is a directory"),
    (lambda d: (d / "zero.png").write_bytes(b"") and d / "zero.png" or d / "zero.png", "empty file"),
    (lambda d: (d / "txt.png").write_text("hello") and d / "txt.png", "cannot decode"),
])
def test_bad_files_name_the_path(tmp_path, make, match):
    src = make(tmp_path)
    with pytest.raises(ImageLoadError, match=match) as e:
        load_image(src)
    assert str(src) in str(e.value)


def test_truncated_png(tmp_path, rgb):
    p = tmp_path / "trunc.png"
    p.write_bytes(png_bytes(rgb.resize((200, 200)))[:300])
    with pytest.raises(ImageLoadError, match="trunc.png"):
        load_image(p)


@pytest.mark.parametrize("arr,match", [
    (np.zeros((0, 5), np.uint8), "empty image"),
    (np.zeros((5, 0, 3), np.uint8), "empty image"),
    (np.full((4, 4), np.nan), "NaN"),
    (np.zeros((4, 4), np.complex64), "unsupported dtype"),
    (np.zeros(10, np.uint8), "expected H x W"),
    (np.zeros((2, 4, 4, 3), np.uint8), "expected H x W"),
    (np.zeros((4, 4, 2), np.uint8), "expected H x W"),
    (np.full((4, 4), -3.0), "must lie in"),
])
def test_bad_arrays(arr, match):
    with pytest.raises(ImageLoadError, match=match) as e:
        load_image(arr)
    assert describe(arr) in str(e.value)


def test_pixel_limit_is_checked_before_decoding(tmp_path):
    p = tmp_path / "big.png"
    Image.new("L", (300, 300)).save(p)
    with pytest.raises(ImageLoadError, match="exceeds the limit of 10000"):
        load_image(p, max_pixels=10_000)
    with pytest.raises(ImageLoadError, match="exceeds the limit"):
        load_image(np.zeros((200, 200), np.uint8), max_pixels=10_000)


def test_wrong_types():
    for bad in (12, None, {"a": 1}, 3.5):
        with pytest.raises(TypeError, match="cannot read an image"):
            load_image(bad)
    with pytest.raises(ImageLoadError, match="NaN"):
        load_image(torch.full((3, 4, 4), float("nan")))


# ------------------------------------------------------------------------------ URLs
class _Handler(BaseHTTPRequestHandler):
    image = b""

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path
        if path == "/ok.png":
            self._send(200, self.image, "image/png")
        elif path in ("/404", "/500"):
            self._send(int(path[1:]), b"nope", "text/plain")
        elif path == "/html":
            self._send(200, b"<html>hi</html>", "text/html")
        elif path == "/big":
            self._send(200, b"x" * 5000, "image/png")
        elif path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.image)))
            self.end_headers()
            self.wfile.write(self.image[: len(self.image) // 2])
            self.close_connection = True
        elif path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            time.sleep(1.5)
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()

    def _send(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server(monkeypatch_module=None):
    _Handler.image = png_bytes(Image.new("RGB", (20, 10), (9, 9, 9)))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def test_url_ok(server):
    assert load_image(server + "/ok.png").shape == (10, 20, 3)


@pytest.mark.parametrize("path,kw,match", [
    ("/404", {}, "HTTP 404"),
    ("/500", {}, "HTTP 500"),
    ("/html", {}, "not an image.*text/html"),
    ("/big", {"max_bytes": 1000}, "exceeds the 1000 B limit"),
    ("/truncated", {}, "truncated|IncompleteRead|ChunkedEncoding|ProtocolError|cannot decode"),
    ("/slow", {"timeout": (2.0, 0.3)}, "timed out|Timeout|ConnectionError"),
    ("/loop", {}, "too many redirects"),
])
def test_url_failures(server, path, kw, match):
    with pytest.raises(ImageLoadError, match=match) as e:
        load_image(server + path, **kw)
    assert path in str(e.value)


def test_connection_refused_and_bad_schemes():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ImageLoadError, match=f"127.0.0.1:{port}"):
        load_image(f"http://127.0.0.1:{port}/x.png", timeout=(1.0, 1.0))
    for url in ("file:///etc/passwd", "ftp://example.com/x.png"):
        with pytest.raises(ImageLoadError, match="only http"):
            load_image(url)
