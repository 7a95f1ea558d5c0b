"""Small helpers shared by the two places that talk HTTP: image URLs (:mod:`.io`) and model
downloads (:mod:`.hub.download`)."""

from __future__ import annotations

from typing import Any

_POOL_PREFIXES = ("HTTPConnectionPool(", "HTTPSConnectionPool(")


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
