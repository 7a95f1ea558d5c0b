"""The one progress convention: automatic on terminals and in notebooks, forced by a flag."""

from __future__ import annotations

import sys
import types

import pytest

from duguang_ocr.progress import in_notebook, progress_bar, progress_enabled


def test_forced_either_way() -> None:
    assert progress_enabled(True) and not progress_enabled(False)


def test_automatic_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not progress_enabled(None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress_enabled(None)


def test_automatic_in_a_jupyter_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook's stderr is no terminal, but a widget shows well there."""
    ZMQInteractiveShell = type("ZMQInteractiveShell", (), {})
    fake = types.SimpleNamespace(get_ipython=ZMQInteractiveShell)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert in_notebook() and progress_enabled(None)
    monkeypatch.setattr(fake, "get_ipython", type("TerminalInteractiveShell", (), {}))
    assert not in_notebook()


def test_a_disabled_bar_still_counts_and_writes(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar(total=3, progress=False) as bar:
        bar.update(2)
        bar.write("note", file=sys.stderr)
    assert capsys.readouterr().err == "note\n"
