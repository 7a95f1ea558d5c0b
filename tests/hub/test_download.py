"""Hub download tests against a real HTTP server on 127.0.0.1 (no other network access).

The fake hub speaks ModelScope's file API (``/api/v1/models/<id>/repo?Revision=&FilePath=``)
and can be scripted per file to fail in the ways real downloads fail: 404, 5xx, 429, and a
connection dropped after announcing the full ``Content-Length``.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from duguang_ocr.hub import download
from duguang_ocr.hub.aliases import ALIASES, MODEL_FILES, resolve_model_id
from duguang_ocr.hub.cache import cache_dir, is_offline, sha256_file
from duguang_ocr.hub.download import (
    COMPLETE_MARKER,
    DownloadError,
    OfflineError,
    download_file,
    file_url,
    snapshot_dir,
    snapshot_download,
)

MODEL_ID = "damo/cv_convnextTiny_ocr-recognition-general_damo"
FILES = {
    "configuration.json": json.dumps({"task": "ocr-recognition", "model": {"type": "x"}}).encode(),
    # Larger than one 64 KiB read chunk so a mid-body drop really splits the stream.
    "pytorch_model.pt": bytes(range(256)) * 1200,
    "vocab.txt": "的\n一\n是\nA\nb\n".encode(),
}
_ROUTE = re.compile(r"^/api/v1/models/(?P<model>.+)/repo$")
_FILES_ROUTE = re.compile(r"^/api/v1/models/(?P<model>.+)/repo/files$")


@dataclass
class FakeHub:
    """State shared between the test and the server thread."""

    endpoint: str = ""
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    #: file name -> actions for its successive requests ("drop", "404", "500", "429", "ok").
    plans: dict[str, list[str]] = field(default_factory=dict)
    #: (model id, revision, file path) of every request, in arrival order.
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    #: delays download_file asked to sleep (sleeping itself is patched out).
    sleeps: list[float] = field(default_factory=list)
    #: file name -> sha256 served by the file listing (None: no listing, like a bare mirror).
    listing: dict[str, str] | None = None
    listed: int = 0  # listing requests served
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, filename: str, model_id: str = MODEL_ID) -> str:
        return file_url(model_id, filename, endpoint=self.endpoint)

    def count(self, filename: str | None = None) -> int:
        with self.lock:
            return sum(1 for r in self.requests if filename is None or r[2] == filename)


def _make_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest output clean

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if _FILES_ROUTE.match(parts.path) and hub.listing is not None:
                with hub.lock:
                    hub.listed += 1
                files = [{"Path": n, "Type": "blob", "Sha256": s} for n, s in hub.listing.items()]
                self._send(200, json.dumps({"Code": 200, "Data": {"Files": files}}).encode())
                return
            match = _ROUTE.match(parts.path)
            query = parse_qs(parts.query)
            if not match or "FilePath" not in query:
                self._send(400, b"bad route")
                return
            model_id = match["model"]
            revision = query.get("Revision", [""])[0]
            filename = query["FilePath"][0]
            with hub.lock:
                hub.requests.append((model_id, revision, filename))
                plan = hub.plans.get(filename, [])
                action = plan.pop(0) if plan else "ok"
            body = hub.files.get((model_id, filename))
            if action == "ok" and body is None:
                action = "404"
            if action == "404":
                self._send(404, b'{"Code": 10010205001, "Message": "file not found"}')
            elif action == "500":
                self._send(500, b"internal error")
            elif action == "429":
                self._send(429, b"slow down", {"Retry-After": "0"})
            elif action == "drop":
                # Promise the whole file, deliver a third, then hang up.
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 3])
                self.wfile.flush()
                self.close_connection = True
            else:
                self._send(200, body, {"Content-Type": "application/octet-stream"})

    return Handler


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep requests on 127.0.0.1: an environment proxy must not see or swallow them."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for var in ("DUGUANG_OCR_OFFLINE", "DUGUANG_OCR_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_only: None) -> Iterator[FakeHub]:
    """A fake ModelScope on an ephemeral 127.0.0.1 port, with the cache under ``tmp_path``."""
    monkeypatch.setenv("DUGUANG_OCR_CACHE", str(tmp_path / "cache"))

    fake = FakeHub(files={(MODEL_ID, name): body for name, body in FILES.items()})
    monkeypatch.setattr(download, "_sleep", fake.sleeps.append)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(fake))
    server.daemon_threads = True
    # A short poll interval keeps shutdown() (once per test) from costing half a second.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    fake.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _leftovers(directory: Path) -> list[str]:
    """Temp files (``.name.tmp-pid-rand``) still lying in ``directory``."""
    return sorted(p.name for p in directory.glob(".*.tmp-*"))


# --------------------------------------------------------------------------- snapshot_download


def test_snapshot_download_fetches_every_file_and_marks_complete(
    hub: FakeHub, tmp_path: Path
) -> None:
    directory = snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)

    assert directory == tmp_path / "cache" / "models" / MODEL_ID.replace("/", "--") / "master"
    for name, body in FILES.items():
        assert (directory / name).read_bytes() == body
    manifest = json.loads((directory / COMPLETE_MARKER).read_text())
    assert manifest["model_id"] == MODEL_ID
    assert manifest["files"]["pytorch_model.pt"] == len(FILES["pytorch_model.pt"])
    assert sorted(hub.requests) == sorted((MODEL_ID, "master", name) for name in MODEL_FILES)
    assert _leftovers(directory) == []


def test_downloads_are_checked_against_the_hubs_sha256(hub: FakeHub, tmp_path: Path) -> None:
    hub.listing = {name: hashlib.sha256(body).hexdigest() for name, body in FILES.items()}
    directory = snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)
    assert hub.listed == 1 and (directory / "vocab.txt").read_bytes() == FILES["vocab.txt"]

    # The hub lists one digest and serves other bytes (a corrupted mirror): refused, nothing
    # kept under the final name, and the other files are still fetched.
    hub.listing["vocab.txt"] = "0" * 64
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        snapshot_download(MODEL_ID, endpoint=hub.endpoint, cache_dir=tmp_path / "c2",
                          progress=False)
    fresh = snapshot_dir(MODEL_ID, cache_dir=tmp_path / "c2")
    assert not (fresh / "vocab.txt").exists() and _leftovers(fresh) == []


def test_second_snapshot_call_makes_no_request(hub: FakeHub) -> None:
    first = snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)
    assert hub.count() == len(MODEL_FILES)

    second = snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)

    assert second == first
    assert hub.count() == len(MODEL_FILES)


def test_alias_and_explicit_cache_dir_and_revision(hub: FakeHub, tmp_path: Path) -> None:
    directory = snapshot_download(
        "general",
        revision="v1.0.1",
        cache_dir=tmp_path / "elsewhere",
        endpoint=hub.endpoint,
        progress=False,
    )

    assert directory == tmp_path / "elsewhere" / "models" / MODEL_ID.replace("/", "--") / "v1.0.1"
    assert {r[1] for r in hub.requests} == {"v1.0.1"}
    assert (directory / "vocab.txt").read_bytes() == FILES["vocab.txt"]


def test_endpoint_comes_from_environment(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUGUANG_OCR_ENDPOINT", hub.endpoint + "/")

    directory = snapshot_download(MODEL_ID, progress=False)

    assert (directory / COMPLETE_MARKER).is_file()
    assert hub.count() == len(MODEL_FILES)


def test_offline_with_complete_cache_needs_no_network(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)
    monkeypatch.setenv("DUGUANG_OCR_OFFLINE", "1")

    assert snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False) == directory
    assert hub.count() == len(MODEL_FILES)


def test_offline_with_missing_cache_raises_actionable_error(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUGUANG_OCR_OFFLINE", "yes")

    with pytest.raises(OfflineError) as info:
        snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)

    message = str(info.value)
    for name in MODEL_FILES:
        assert name in message
    assert "DUGUANG_OCR_OFFLINE" in message
    assert hub.url("pytorch_model.pt") in message  # tells the user where to fetch it
    assert isinstance(info.value, DownloadError)
    assert hub.count() == 0


def test_offline_without_marker_is_not_complete(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)
    (directory / COMPLETE_MARKER).unlink()
    monkeypatch.setenv("DUGUANG_OCR_OFFLINE", "1")

    with pytest.raises(OfflineError, match=re.escape(COMPLETE_MARKER)):
        snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)


def test_interrupted_snapshot_refetches_only_missing_files(hub: FakeHub) -> None:
    directory = snapshot_dir(MODEL_ID)
    # State left by a run killed mid-weights: config done, weights only as a stale temp of a
    # dead writer, no vocab, no marker.
    directory.mkdir(parents=True)
    (directory / "configuration.json").write_bytes(FILES["configuration.json"])
    stale = directory / ".pytorch_model.pt.tmp-999999999-deadbeef"
    stale.write_bytes(b"partial")

    snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)

    assert sorted(r[2] for r in hub.requests) == ["pytorch_model.pt", "vocab.txt"]
    assert (directory / "pytorch_model.pt").read_bytes() == FILES["pytorch_model.pt"]
    assert (directory / COMPLETE_MARKER).is_file()
    assert not stale.exists()


def test_always_dropping_server_leaves_no_file_and_no_marker(hub: FakeHub) -> None:
    hub.plans["pytorch_model.pt"] = ["drop"] * 10

    with pytest.raises(DownloadError, match="pytorch_model.pt"):
        snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)

    directory = snapshot_dir(MODEL_ID)
    assert hub.count("pytorch_model.pt") == 3  # the default number of attempts
    assert not (directory / "pytorch_model.pt").exists()
    assert not (directory / COMPLETE_MARKER).exists()
    assert _leftovers(directory) == []


@pytest.mark.parametrize("bad", ["../escape", "damo/..", "/abs/model", "damo//x", "damo\\x"])
def test_snapshot_rejects_ids_that_escape_the_cache(hub: FakeHub, bad: str) -> None:
    with pytest.raises(ValueError):
        snapshot_download(bad, endpoint=hub.endpoint, progress=False)
    assert hub.count() == 0


def test_snapshot_rejects_file_names_that_escape(hub: FakeHub) -> None:
    with pytest.raises(ValueError):
        snapshot_download(MODEL_ID, endpoint=hub.endpoint, files=["../x"], progress=False)
    assert hub.count() == 0


# ------------------------------------------------------------------------------- download_file


def test_404_fails_fast_without_partial_file(hub: FakeHub, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "missing.bin"
    url = hub.url("missing.bin")

    with pytest.raises(DownloadError) as info:
        download_file(url, dest, retries=5, backoff=0)

    assert "404" in str(info.value)
    assert "missing.bin" in str(info.value)
    assert hub.count("missing.bin") == 1
    assert hub.sleeps == []
    assert not dest.exists()
    assert _leftovers(dest.parent) == []


def test_dropped_connection_is_retried(hub: FakeHub, tmp_path: Path) -> None:
    hub.plans["pytorch_model.pt"] = ["drop"]
    dest = tmp_path / "w.pt"

    result = download_file(hub.url("pytorch_model.pt"), dest, backoff=0.25)

    assert result == dest
    assert dest.read_bytes() == FILES["pytorch_model.pt"]
    assert hub.count("pytorch_model.pt") == 2
    assert hub.sleeps == [0.25]
    assert _leftovers(tmp_path) == []


def test_always_dropping_gives_up_after_retries(hub: FakeHub, tmp_path: Path) -> None:
    hub.plans["pytorch_model.pt"] = ["drop"] * 10
    dest = tmp_path / "w.pt"
    url = hub.url("pytorch_model.pt")

    with pytest.raises(DownloadError) as info:
        download_file(url, dest, retries=4, backoff=0.5)

    assert url in str(info.value)
    assert "4 attempt" in str(info.value)
    assert hub.count("pytorch_model.pt") == 4
    assert hub.sleeps == [0.5, 1.0, 2.0]  # exponential, none after the last attempt
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


def test_failed_download_keeps_previous_file(hub: FakeHub, tmp_path: Path) -> None:
    dest = tmp_path / "w.pt"
    dest.write_bytes(b"old but whole")
    hub.plans["pytorch_model.pt"] = ["drop"] * 2

    with pytest.raises(DownloadError):
        download_file(hub.url("pytorch_model.pt"), dest, retries=2, backoff=0)

    assert dest.read_bytes() == b"old but whole"


@pytest.mark.parametrize("status", ["500", "429"])
def test_server_error_then_success(hub: FakeHub, tmp_path: Path, status: str) -> None:
    hub.plans["vocab.txt"] = [status]
    dest = tmp_path / "vocab.txt"

    download_file(hub.url("vocab.txt"), dest, backoff=0.1)

    assert dest.read_bytes() == FILES["vocab.txt"]
    assert hub.count("vocab.txt") == 2
    assert len(hub.sleeps) == 1


def test_persistent_server_error_reports_status(hub: FakeHub, tmp_path: Path) -> None:
    hub.plans["vocab.txt"] = ["500"] * 5
    dest = tmp_path / "vocab.txt"

    with pytest.raises(DownloadError, match="500"):
        download_file(hub.url("vocab.txt"), dest, retries=2, backoff=0)

    assert hub.count("vocab.txt") == 2
    assert not dest.exists()


def test_sha256_is_checked(hub: FakeHub, tmp_path: Path) -> None:
    body = FILES["pytorch_model.pt"]
    good = tmp_path / "good.pt"
    download_file(
        hub.url("pytorch_model.pt"), good, expected_sha256=hashlib.sha256(body).hexdigest().upper()
    )
    assert good.read_bytes() == body

    bad = tmp_path / "bad.pt"
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        download_file(hub.url("pytorch_model.pt"), bad, expected_sha256="0" * 64)

    assert not bad.exists()
    assert hub.count("pytorch_model.pt") == 2  # a whole body with a wrong digest is not retried
    assert _leftovers(tmp_path) == []


def test_download_file_refuses_when_offline(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUGUANG_OCR_OFFLINE", "true")

    with pytest.raises(OfflineError):
        download_file(hub.url("vocab.txt"), tmp_path / "v.txt")

    assert hub.count() == 0


def test_connection_refused_is_retried_then_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_only: None
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(download, "_sleep", sleeps.append)
    # Bind then close a loopback port so nothing listens there.
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()

    with pytest.raises(DownloadError, match="2 attempt"):
        download_file(f"http://127.0.0.1:{port}/x", tmp_path / "x", retries=2, timeout=2)

    assert sleeps == [0.5]
    assert not (tmp_path / "x").exists()


def test_progress_bar_only_when_asked(
    hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    download_file(hub.url("vocab.txt"), tmp_path / "quiet.txt")
    assert capsys.readouterr().err == ""

    download_file(hub.url("vocab.txt"), tmp_path / "loud.txt", progress=True)
    assert "loud.txt" in capsys.readouterr().err


# ---------------------------------------------------------------------------- ids and URLs


def test_resolve_model_id() -> None:
    for alias, model_id in ALIASES.items():
        assert resolve_model_id(alias) == model_id
    assert resolve_model_id("crnn") == "damo/cv_crnn_ocr-recognition-general_damo"
    assert resolve_model_id(MODEL_ID) == MODEL_ID
    iic = "iic/cv_convnextTiny_ocr-recognition-general_damo"
    assert resolve_model_id(iic) == iic
    for not_an_id in (
        "./models/general",
        "models/general",
        "user/model",
        "/abs/damo/model",
        "damo/",
        "damo/a/b",
        "damo\\x",
        "damo",
        "General",
        "",
    ):
        assert resolve_model_id(not_an_id) is None, not_an_id


def test_file_url_quotes_query_values() -> None:
    url = file_url(MODEL_ID, "sub dir/a&b.txt", revision="v1.0 rc", endpoint="http://hub.test/")

    assert url == (
        f"http://hub.test/api/v1/models/{MODEL_ID}/repo"
        "?Revision=v1.0%20rc&FilePath=sub%20dir%2Fa%26b.txt"
    )
    query = parse_qs(urlsplit(url).query)
    assert query == {"Revision": ["v1.0 rc"], "FilePath": ["sub dir/a&b.txt"]}


def test_file_url_default_and_env_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUGUANG_OCR_ENDPOINT", raising=False)
    assert file_url(MODEL_ID, "vocab.txt").startswith("https://modelscope.cn/api/v1/models/damo/")
    monkeypatch.setenv("DUGUANG_OCR_ENDPOINT", "http://mirror.test")
    assert file_url(MODEL_ID, "vocab.txt").startswith("http://mirror.test/api/v1/models/")
    assert file_url(MODEL_ID, "vocab.txt", endpoint="http://arg.test").startswith(
        "http://arg.test/"
    )


# ----------------------------------------------------------------------------------- cache


def test_cache_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DUGUANG_OCR_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    default = cache_dir()
    assert default == tmp_path / "home" / ".cache" / "duguang_ocr"
    assert default.is_dir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "duguang_ocr"

    monkeypatch.setenv("DUGUANG_OCR_CACHE", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "arg") == tmp_path / "arg"
    assert (tmp_path / "arg").is_dir()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        (" On ", True),
        ("0", False),
        ("no", False),
        ("", False),
        (None, False),
    ],
)
def test_is_offline(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    if value is None:
        monkeypatch.delenv("DUGUANG_OCR_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("DUGUANG_OCR_OFFLINE", value)
    assert is_offline() is expected


def test_sha256_file(tmp_path: Path) -> None:
    data = b"duguang" * 1000
    path = tmp_path / "b.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(path, chunk_size=7) == hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ end to end via Recognizer
def test_from_pretrained_downloads_a_real_model_then_works_offline(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ModelScope id resolves through the fake hub (one dropped connection on the
    weights, retried), lands in the cache, loads, and later loads with the network off."""
    from duguang_ocr import Recognizer
    from tests.helpers import make_model_dir, render

    model_dir = make_model_dir(tmp_path / "src")
    for name in MODEL_FILES:
        hub.files[(MODEL_ID, name)] = (model_dir / name).read_bytes()
    hub.plans["pytorch_model.pt"] = ["drop"]
    monkeypatch.setenv("DUGUANG_OCR_ENDPOINT", hub.endpoint)
    rec = Recognizer.from_pretrained("general", device="cpu")
    local = Recognizer.from_pretrained(model_dir, device="cpu")
    img = render("cache me")
    assert rec(img) == local(img)
    assert hub.count("pytorch_model.pt") == 2
    monkeypatch.setenv("DUGUANG_OCR_OFFLINE", "1")
    before = hub.count()
    assert Recognizer.from_pretrained(MODEL_ID, device="cpu")(img) == local(img)
    assert hub.count() == before
    with pytest.raises(OfflineError):
        Recognizer.from_pretrained("iic/cv_crnn_ocr-recognition-general_damo", device="cpu")


def test_from_pretrained_404_is_a_clear_error(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from duguang_ocr import Recognizer

    monkeypatch.setenv("DUGUANG_OCR_ENDPOINT", hub.endpoint)
    with pytest.raises(DownloadError, match="404"):
        Recognizer.from_pretrained("damo/cv_convnextTiny_ocr-recognition-missing_damo")


# ------------------------------------------------------------- silent hubs and failure advice
@pytest.fixture
def silent_hub(loopback_only: None) -> Iterator[tuple[str, list[socket.socket]]]:
    """A hub that accepts every connection and never sends a byte (a hung proxy or an
    overloaded server): only timeouts and the deadline can end a download from it."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_deadline_stops_retrying_a_silent_hub(
    silent_hub: tuple[str, list[socket.socket]], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint, accepted = silent_hub
    with caplog.at_level("WARNING", logger="duguang_ocr.hub.download"), \
            pytest.raises(DownloadError, match="ReadTimeout") as info:
        download_file(f"{endpoint}/x", tmp_path / "x", retries=50, timeout=(1, 0.1),
                      deadline=0.3, backoff=0.01)
    # 50 attempts were allowed; the deadline ended it after a handful, each one logged.
    attempts = int(re.search(r"after (\d+) attempt", str(info.value)).group(1))
    assert 2 <= attempts < 10 and len(accepted) == attempts
    assert sum("retrying" in r.getMessage() for r in caplog.records) == attempts - 1
    assert not (tmp_path / "x").exists()


def test_failed_snapshot_says_what_to_do_and_leaves_no_empty_folder(
    silent_hub: tuple[str, list[socket.socket]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint, _ = silent_hub
    monkeypatch.setenv("DUGUANG_OCR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "DEFAULT_TIMEOUT", (1, 0.1))
    monkeypatch.setattr(download, "DEFAULT_DEADLINE", 0.2)
    with pytest.raises(DownloadError) as info:
        snapshot_download(MODEL_ID, endpoint=endpoint, progress=False)
    message = str(info.value)
    directory = snapshot_dir(MODEL_ID)
    assert f"from {endpoint}" in message and "DUGUANG_OCR_ENDPOINT" in message
    for name in MODEL_FILES:  # the offline error's recipe: every file, its URL, the folder
        assert file_url(MODEL_ID, name, endpoint=endpoint) in message
    assert str(directory) in message and COMPLETE_MARKER in message
    assert not directory.exists() and not (tmp_path / "cache" / "models").exists()
    assert (tmp_path / "cache").is_dir()  # the cache root itself stays


def test_failed_snapshot_keeps_fetched_files_and_lists_only_the_rest(hub: FakeHub) -> None:
    hub.plans["pytorch_model.pt"] = ["404"]
    with pytest.raises(DownloadError, match="404") as info:
        snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)
    directory = snapshot_dir(MODEL_ID)
    assert (directory / "configuration.json").is_file()  # kept for the next run
    assert hub.url("pytorch_model.pt") in str(info.value)
    assert hub.url("configuration.json") not in str(info.value)
    snapshot_download(MODEL_ID, endpoint=hub.endpoint, progress=False)
    assert hub.count("configuration.json") == 1


def test_snapshot_progress_is_automatic(
    hub: FakeHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot_download(MODEL_ID, endpoint=hub.endpoint)  # stderr is not a terminal here
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    snapshot_download(MODEL_ID, endpoint=hub.endpoint, revision="v2")
    err = capsys.readouterr().err
    assert "pytorch_model.pt" in err and "kB" in err  # a byte count, not a file count
