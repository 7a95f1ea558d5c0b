"""HTTP serving: ``duguang-ocr serve`` (``pip install 'duguang-ocr[serve]'``).

* :mod:`.config`  - :class:`ServeConfig` and the loopback/token rule (no web imports);
* :mod:`.schema`  - request bodies and options, loading images with :mod:`duguang_ocr.io`;
* :mod:`.batcher` - the bounded queue and the one model worker thread (dynamic batching);
* :mod:`.metrics` - Prometheus metrics;
* :mod:`.app`     - the FastAPI app (``create_app``);
* :mod:`.server`  - CLI options, socket binding, uvicorn with SIGTERM draining.

See docs/SERVING.md for the HTTP API.
"""

from .config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def __getattr__(name: str):
    if name == "create_app":  # imports FastAPI: only when asked for
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'duguang_ocr.serve' has no attribute {name!r}")
