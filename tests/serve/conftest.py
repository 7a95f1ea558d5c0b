"""Serve-test fixtures: apps run by uvicorn in a thread on a free loopback port, and fake
recognizers whose timing the tests control."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import uvicorn  # noqa: E402

from duguang_ocr.recognizer import RecognitionResult  # noqa: E402
from duguang_ocr.serve.app import create_app  # noqa: E402
from duguang_ocr.serve.config import ServeConfig  # noqa: E402


@contextmanager
def running(config: ServeConfig, load: Any = None, ready: bool = True) -> Iterator[Any]:
    """Serve ``create_app(config, load)`` on 127.0.0.1:<free port>; yields the app with
    ``app.url`` set. Waits for the model when ``ready``."""
    app = create_app(config, load)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.01)
        if ready:
            assert app.state.server.batcher.ready.wait(60), "model did not load"
        yield app
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


class FakeRecognizer:
    """Answers each image with a string made from its pixels (so cross-talk shows), and
    records every ``recognize`` call; ``gate`` (when set) blocks calls until released."""

    mode = "default"

    def __init__(self, gate: threading.Event | None = None, fail: bool = False):
        self.calls: list[tuple[int, dict]] = []
        self.gate, self.fail = gate, fail
        self.entered = threading.Event()

    def recognize(self, inputs: list, *, errors: str = "skip", batch_size: int | None = None,
                  beam_width: int | None = None) -> list[RecognitionResult]:
        self.calls.append((len(inputs), {"beam_width": beam_width}))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(30)
        if self.fail:
            raise MemoryError("out of memory")
        return [RecognitionResult(f"{img.shape[1]}x{img.shape[0]}:{int(img[0, 0, 0])}")
                for img in inputs]

    def iter_recognize(self, inputs: list, *, batch_size: int | None = None,
                       beam_width: int | None = None, errors: str | None = None,
                       window: int | None = None):
        raise NotImplementedError  # only its signature is read (supported options)
