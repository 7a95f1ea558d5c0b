import random

import numpy as np
import pytest
import torch

from duguang_ocr.hub.modelscope import load_model_dir
from duguang_ocr.models import create_model
from duguang_ocr.training import checkpoint
from duguang_ocr.training.config import ConfigError, ModelSection
from duguang_ocr.vocab import Vocab


def test_replace_dir_and_recovery_from_an_interrupted_swap(tmp_path):
    (tmp_path / "last.tmp-1").mkdir()
    (tmp_path / "last.tmp-1" / "f").write_text("new")
    (tmp_path / "last").mkdir()
    (tmp_path / "last" / "f").write_text("old")
    checkpoint.replace_dir(tmp_path / "last.tmp-1", tmp_path / "last")
    assert (tmp_path / "last" / "f").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]
    # A crash after "last -> last.old-9" and before "tmp -> last":
    (tmp_path / "last").rename(tmp_path / "last.old-9")
    (tmp_path / "last.tmp-9").mkdir()
    (tmp_path / "best.tmp-9").mkdir()
    checkpoint.recover_dirs(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]
    assert (tmp_path / "last" / "f").read_text() == "new"


def test_state_round_trip_is_weights_only(tmp_path):
    path = tmp_path / "train_state.pt"
    state = {"version": checkpoint.STATE_VERSION, "step": 3, "rng": [checkpoint.capture_rng()],
             "w": torch.arange(4)}
    checkpoint.save_state(path, state)
    back = checkpoint.load_state(path)
    assert back["step"] == 3 and torch.equal(back["w"], torch.arange(4))
    assert [p.name for p in tmp_path.iterdir()] == ["train_state.pt"]
    path.write_bytes(b"garbage")
    with pytest.raises(RuntimeError, match="cannot read the training state"):
        checkpoint.load_state(path)


def test_rng_states_restore_exactly():
    saved = checkpoint.capture_rng()
    draws = (random.random(), np.random.rand(), torch.rand(2))
    random.random(), np.random.rand(), torch.rand(5)
    checkpoint.restore_rng(saved)
    again = (random.random(), np.random.rand(), torch.rand(2))
    assert draws[:2] == again[:2] and torch.equal(draws[2], again[2])


def test_vocab_choices():
    labels = lambda: iter(["ba", "识别 a"])  # noqa: E731
    assert checkpoint.resolve_vocab("from_data", 2, None, labels).symbols == [" ", "a", "b",
                                                                              "别", "识"]
    base = Vocab(["z", "a"], offset=2)
    assert checkpoint.resolve_vocab("from_data", 2, base, labels).symbols == [
        "z", "a", " ", "b", "别", "识"]
    assert len(checkpoint.resolve_vocab("default", 2, None, labels)) > 3000
    with pytest.raises(ConfigError, match="model.vocab is required"):
        checkpoint.resolve_vocab(None, 2, None, labels)
    with pytest.raises(ConfigError, match="neither a file"):
        checkpoint.resolve_vocab("no/such/vocab.txt", 2, None, labels)


def test_fine_tune_with_a_new_vocab_keeps_shared_head_rows(tiny_model_dir, tmp_path):
    old_model, old_vocab, _ = load_model_dir(tiny_model_dir)
    new_symbols = ["你", "好", "新", "a", "字"]  # 3 shared with the checkpoint, 2 new
    (tmp_path / "vocab.txt").write_text("\n".join(new_symbols) + "\n", encoding="utf-8")
    cfg = ModelSection(init=str(tiny_model_dir), vocab=str(tmp_path / "vocab.txt"))
    model, vocab, variant = checkpoint.init_model(cfg, lambda: iter([]))
    assert variant == "convnextvit_test" and vocab.symbols == new_symbols
    old, new = old_model.state_dict(), model.state_dict()
    w_old, w_new = old["vitstr.head.weight"], new["vitstr.head.weight"]
    assert w_new.shape[0] == len(new_symbols) + 2
    assert torch.equal(w_new[:2], w_old[:2])  # blank and the reserved class
    for s in ("你", "好", "a"):
        assert torch.equal(w_new[vocab.char_id(s)], w_old[old_vocab.char_id(s)])
        assert torch.equal(new["vitstr.head.bias"][vocab.char_id(s)],
                           old["vitstr.head.bias"][old_vocab.char_id(s)])
    for s in ("新", "字"):  # new rows: the mean of the trained rows
        torch.testing.assert_close(w_new[vocab.char_id(s)], w_old.mean(0))
    assert all(torch.equal(old[k], new[k]) for k in old if not k.startswith("vitstr.head"))


def test_init_errors_and_spec_round_trip(tiny_model_dir):
    with pytest.raises(ConfigError, match="model.arch applies only"):
        checkpoint.init_model(ModelSection(init=str(tiny_model_dir), arch={"drop_rate": 0.1}),
                              lambda: iter([]))
    with pytest.raises(ConfigError, match="model.init"):
        checkpoint.init_model(ModelSection(init="convnextvit_huge", vocab="from_data"),
                              lambda: iter(["a"]))
    model = create_model("convnextvit_test", num_classes=5, drop_rate=0.2)
    spec = checkpoint.model_spec(model, Vocab(list("abc")), "convnextvit_test")
    rebuilt, vocab, variant = checkpoint.model_from_spec(spec)
    assert rebuilt.config == model.config and vocab.symbols == list("abc")



def test_new_head_rows_win_no_frame_before_training():
    """A bias-free head whose logits are all negative (as the embedded CRNN's mostly are):
    fresh random rows (logits near 0) would win every frame; rows at the old rows' mean
    leave every frame's winner where it was."""
    old, new = Vocab(list("abc"), offset=1), Vocab(list("abcxyz"), offset=1)
    torch.manual_seed(0)
    head = torch.nn.Module()
    head.cls = torch.nn.Linear(16, new.num_classes, bias=False)
    trained = -torch.rand(old.num_classes, 16)
    state = checkpoint.transfer_head(head, {"cls.weight": trained}, old, new, "cls.")
    feats = torch.rand(100, 16)  # post-ReLU features
    assert torch.equal((feats @ state["cls.weight"].T).argmax(1), (feats @ trained.T).argmax(1))
