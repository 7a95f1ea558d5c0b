"""``duguang-ocr serve``: bind, run uvicorn, drain on SIGTERM.

uvicorn's own SIGTERM handling closes the listening socket at once (new clients get
"connection refused" rather than an answer) and re-raises the signal after its graceful
shutdown, so the process exits with status 143. A server behind a load balancer or a
process manager wants the other contract: on SIGTERM, ``/readyz`` and new recognize
requests answer 503 while in-flight requests finish, then the process exits 0. Hence the
small :class:`DrainingServer` subclass; a second signal stops at once.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from .. import io
from .config import ServeConfig, resolve_token

log = logging.getLogger("duguang_ocr.serve")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The server's own options; the model's (``--model``, ``--device``, ``--dtype``,
    ``--beam-width`` as the default for requests, ``--batch-size`` lines per forward pass...)
    are the CLI's shared ``add_model_options``."""
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind; anything but loopback needs --token")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed)")
    p.add_argument("--max-batch", type=int, default=32,
                   help="lines collected from the queue per model call (each call runs "
                   "forward passes of --batch-size lines)")
    p.add_argument("--max-wait-ms", type=float, default=10.0,
                   help="how long a line waits for others to fill its batch")
    p.add_argument("--queue", type=int, default=256,
                   help="lines allowed to wait (503 past it); also the most per request")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument("--max-body-mb", type=float, default=io.MAX_DOWNLOAD_BYTES / 2**20,
                   help="largest request body in MiB")
    p.add_argument("--max-pixels", type=int, default=io.MAX_PIXELS,
                   help="per-image decompression-bomb limit (at most the default)")
    p.add_argument("--allow-urls", action="store_true",
                   help="let JSON requests name http(s) URLs for the server to fetch "
                   "(off: it lets clients reach the server's own network)")
    p.add_argument("--token", default=None, help="bearer token for every route but "
                   "/healthz (default: $DUGUANG_OCR_TOKEN; prefer the variable: "
                   "command lines are visible to other users)")
    p.add_argument("--drain-timeout", type=float, default=30.0,
                   help="on SIGTERM, seconds to let in-flight requests finish")
    p.add_argument("--max-connections", type=int, default=1024,
                   help="concurrent connections before uvicorn answers 503 itself")
    p.add_argument("--log-level", default="warning",
                   choices=("critical", "error", "warning", "info", "debug"),
                   help="uvicorn's log level (info logs startup and shutdown)")


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    return ServeConfig(
        model=args.model, max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms, queue=args.queue, timeout=args.timeout,
        max_body_bytes=int(args.max_body_mb * 2**20), max_pixels=args.max_pixels,
        allow_urls=args.allow_urls, token=resolve_token(args.token, args.host),
        drain_timeout=args.drain_timeout,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port`` (bound here so ``--port 0`` can be printed
    and so a busy port is a clear error rather than uvicorn's exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise RuntimeError(f"cannot bind {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)
    return sock


def _server_class() -> type:
    import uvicorn

    class DrainingServer(uvicorn.Server):
        """uvicorn.Server whose first SIGTERM/SIGINT drains instead of closing at once."""

        def __init__(self, config: uvicorn.Config, state: Any, drain_timeout: float):
            super().__init__(config)
            self.state, self.drain_timeout = state, drain_timeout
            self.drain_deadline: float | None = None

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.drain_deadline is not None:  # second signal: stop now
                self.should_exit = self.force_exit = True
                return
            log.warning("signal %d: draining %d in-flight request(s)", sig,
                        self.state.inflight)
            self.state.draining = True
            self.drain_deadline = time.monotonic() + self.drain_timeout

        async def on_tick(self, counter: int) -> bool:
            if self.drain_deadline is not None and not self.should_exit and (
                    self.state.inflight == 0 or time.monotonic() > self.drain_deadline):
                self.should_exit = True
            return await super().on_tick(counter)

    return DrainingServer


def run(args: argparse.Namespace, load: Callable[[], Any]) -> int:
    """Entry point of ``duguang-ocr serve``: ``load`` builds the Recognizer from the model
    options (in the model thread, after the socket is bound); returns the exit code."""
    try:
        import uvicorn

        from .app import create_app, warm
    except ImportError as e:
        print(f"duguang-ocr: error: the server needs the [serve] extra ({e}); "
              "pip install 'duguang-ocr[serve]'", file=sys.stderr)
        return 2
    config = config_from_args(args)
    app = create_app(config, lambda: warm(load()))
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"duguang-ocr: serving on http://{shown}:{port} (model loads in the background; "
          "GET /readyz says when it is ready)", file=sys.stderr, flush=True)
    uv_config = uvicorn.Config(app, log_level=args.log_level, access_log=False,
                               limit_concurrency=args.max_connections,
                               timeout_graceful_shutdown=config.drain_timeout + 5)
    server = _server_class()(uv_config, app.state.server, config.drain_timeout)
    server.run(sockets=[sock])
    return 0
