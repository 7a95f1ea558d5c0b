"""The package's one HTTP client, used by the two places that talk HTTP: image URLs
(:mod:`.io`) and model downloads (:mod:`.hub.download`).

:func:`open_stream` makes one streaming GET (our user agent, a bounded number of redirects
even on a caller's session); :func:`read_body` reads the body in chunks into any sink with a
size cap checked against ``Content-Length`` before reading and against the bytes received
while reading, a truncation check, and a sha256 of what arrived. Each caller turns the
failures into its own messages (an image that cannot be loaded, a download to retry).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

USER_AGENT = "duguang-ocr (+requests)"
MAX_REDIRECTS = 5
CHUNK_SIZE = 1 << 16

_POOL_PREFIXES = ("HTTPConnectionPool(", "HTTPSConnectionPool(")


class BodyTooLarge(Exception):
    """The body is larger than allowed; ``declared``: known from ``Content-Length`` before
    anything was read."""

    def __init__(self, size: int, limit: int, declared: bool):
        super().__init__(f"{size} B exceeds the {limit} B limit")
        self.size, self.limit, self.declared = size, limit, declared


class BodyTruncated(Exception):
    """The connection closed before ``Content-Length`` bytes arrived."""

    def __init__(self, received: int, expected: int):
        super().__init__(f"got {received} of {expected} bytes")
        self.received, self.expected = received, expected


class DeadlineExceeded(Exception):
    """The whole download took longer than allowed (a server trickling bytes slower than the
    read timeout would otherwise never be cut off)."""

    def __init__(self, received: int):
        super().__init__(f"deadline passed after {received} B")
        self.received = received


@dataclass(frozen=True)
class Body:
    """What :func:`read_body` read: its size, its sha256 and the declared length."""

    size: int
    sha256: str
    declared: int | None


@contextlib.contextmanager
def open_stream(url: str, *, timeout: float | tuple[float, float],
                session: requests.Session | None = None, headers: dict[str, str] | None = None,
                max_redirects: int = MAX_REDIRECTS) -> Iterator[requests.Response]:
    """A streaming GET of ``url``, closed when the block ends.

    Args:
        timeout: ``(connect, read)`` seconds as in ``requests``.
        session: a session to reuse (connection pooling); not modified, and closed only if
            this call made it.
        headers: extra request headers (the user agent is set unless given).
        max_redirects: more redirects raise ``requests.TooManyRedirects``, also on a
            caller's session that allows more.

    Raises:
        requests.RequestException: whatever ``requests`` raises for the request itself.
    """
    own = session is None
    s = requests.Session() if own else session
    if own:
        s.max_redirects = max_redirects
    try:
        with s.get(url, stream=True, timeout=timeout,
                   headers={"User-Agent": USER_AGENT, **(headers or {})}) as response:
            if len(response.history) > max_redirects:
                raise requests.TooManyRedirects()
            yield response
    finally:
        if own:
            s.close()


def content_length(response: requests.Response) -> int | None:
    """The declared body size, or None when the header is missing or malformed."""
    value = response.headers.get("Content-Length", "").strip()
    return int(value) if value.isdigit() else None


def read_body(response: requests.Response, write: Callable[[bytes], Any], *,
              max_bytes: int | None = None, chunk_size: int = CHUNK_SIZE,
              deadline: float | None = None) -> Body:
    """Stream ``response``'s body into ``write`` chunk by chunk, until ``time.monotonic()``
    passes ``deadline`` at the latest (checked as data arrives, so the read timeout bounds
    the overshoot).

    Raises:
        BodyTooLarge: more than ``max_bytes`` declared or received (headers can lie or be
            absent, and compressed bodies can expand).
        BodyTruncated: fewer bytes than ``Content-Length`` arrived (not checked when a
            ``Content-Encoding`` makes the header count compressed bytes).
        DeadlineExceeded: ``deadline`` passed before the body was complete.
        requests.RequestException: a connection dropped or timed out mid-body.
    """
    declared = content_length(response)
    if max_bytes is not None and declared is not None and declared > max_bytes:
        raise BodyTooLarge(declared, max_bytes, declared=True)
    digest, received = hashlib.sha256(), 0
    for chunk in response.iter_content(chunk_size):
        received += len(chunk)
        if max_bytes is not None and received > max_bytes:
            raise BodyTooLarge(received, max_bytes, declared=False)
        digest.update(chunk)
        write(chunk)
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded(received)
    if (declared is not None and received < declared
            and "Content-Encoding" not in response.headers):
        raise BodyTruncated(received, declared)
    return Body(received, digest.hexdigest(), declared)


def root_cause(exc: BaseException | None) -> str:
    """The innermost useful reason in ``requests``' nested exception chains, for messages:
    ``ReadTimeoutError: Read timed out. (read timeout=15.0)`` rather than three levels of
    wrapped reprs. urllib3's connection-pool prefix (``HTTPConnectionPool(host=..):``) is
    dropped: the caller's message names the URL already."""
    if exc is None:
        return "unknown error"
    reason: Any = exc
    for _ in range(4):
        inner = getattr(reason, "reason", None) or (reason.args[0] if reason.args else None)
        if not isinstance(inner, BaseException):
            break
        reason = inner
    text = str(reason)
    if text.startswith(_POOL_PREFIXES) and "): " in text:
        text = text.split("): ", 1)[1]
    return f"{type(reason).__name__}: {text}"


__all__ = ["Body", "BodyTooLarge", "BodyTruncated", "MAX_REDIRECTS", "USER_AGENT",
           "content_length", "open_stream", "read_body", "root_cause"]
