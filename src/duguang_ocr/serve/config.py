"""Server settings, in one dataclass that the CLI fills and the tests build directly.

Kept free of FastAPI/uvicorn imports so that ``duguang-ocr serve --help`` and the address
checks work without the ``[serve]`` extra installed.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any

from .. import io

TOKEN_ENV = "DUGUANG_OCR_TOKEN"


@dataclass
class ServeConfig:
    """Everything the app and the batcher need to know.

    Attributes:
        model: what :meth:`Recognizer.from_pretrained` loads (None: the embedded model).
        recognizer_kwargs: extra :class:`Recognizer` arguments (device, mode, dtype, ...).
        max_batch: lines per ``recognize`` call; the worker starts a batch once this many
            lines wait, or when the oldest has waited ``max_wait_ms``. The recognizer runs
            each call in forward passes of its own ``batch_size``.
        max_wait_ms: how long the first line of a batch may wait for company.
        queue: lines allowed to wait for the model; a request that does not fit gets 503.
            It is also the most lines one request may carry (413 past it).
        timeout: seconds one request may take end to end (408 while its body is still
            arriving, 504 while it waits for the model).
        max_body_bytes: largest request body (413 past it, checked against Content-Length
            first and again while reading).
        max_pixels: the loader's decompression-bomb limit per image (at most io.MAX_PIXELS,
            which the recognizer applies again).
        allow_urls: let JSON requests name http(s) URLs for the server to fetch. Off by
            default: a URL field turns the server into a proxy into its own network (SSRF).
        token: bearer token required on every route but ``/healthz`` (None: no auth).
        drain_timeout: seconds SIGTERM waits for in-flight requests before exiting anyway.
    """

    model: str | None = None
    recognizer_kwargs: dict[str, Any] = field(default_factory=dict)
    max_batch: int = 32
    max_wait_ms: float = 10.0
    queue: int = 256
    timeout: float = 30.0
    max_body_bytes: int = io.MAX_DOWNLOAD_BYTES
    max_pixels: int = io.MAX_PIXELS
    allow_urls: bool = False
    token: str | None = None
    drain_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.queue < 1:
            raise ValueError("max_batch and queue must be >= 1")
        if self.max_wait_ms < 0 or self.timeout <= 0 or self.drain_timeout < 0:
            raise ValueError("max_wait_ms and drain_timeout must be >= 0, timeout > 0")
        if not 1 <= self.max_pixels <= io.MAX_PIXELS:
            # The recognizer loads the decoded array again with the default limit, so a
            # larger server limit would only move the refusal to a less clear place.
            raise ValueError(f"max_pixels must be in 1..{io.MAX_PIXELS}")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be >= 1")
        if self.token is not None and not self.token.strip():
            raise ValueError("the token must not be empty")


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def resolve_token(token: str | None, host: str) -> str | None:
    """The bearer token to enforce: ``token``, else ``$DUGUANG_OCR_TOKEN``, else None.

    Raises:
        ValueError: ``host`` is not a loopback address and there is no token, which would
            put an unauthenticated OCR service (and with ``--allow-urls`` a fetcher) on the
            network.
    """
    token = token or os.environ.get(TOKEN_ENV) or None
    if token is None and not is_loopback(host):
        raise ValueError(f"binding {host} (not a loopback address) needs a token: pass "
                         f"--token or set {TOKEN_ENV}")
    return token
