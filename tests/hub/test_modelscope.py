import json

import pytest
import torch

from duguang_ocr.hub import safetensors
from duguang_ocr.hub.modelscope import (
    CheckpointError,
    clean_state_dict,
    load_model_dir,
    read_spec,
)
from duguang_ocr.models import create_model
from duguang_ocr.vocab import VocabError
from tests.helpers import CHARS, make_model_dir


def test_round_trip_keeps_variant_and_weights(tmp_path):
    d = make_model_dir(tmp_path / "m")
    cfg = json.loads((d / "configuration.json").read_text())
    assert cfg["model"]["recognizer"] == "ConvNextViT"
    assert cfg["model"]["inference_kwargs"] == {"img_height": 32, "img_width": 804, "do_chunking": True}
    model, vocab, spec = load_model_dir(d)
    assert spec.variant == "convnextvit_test" and len(vocab) == len(CHARS)
    assert model.config.num_classes == len(CHARS) + 2
    saved = torch.load(d / "pytorch_model.pt", weights_only=True)
    for k, v in model.state_dict().items():
        assert torch.equal(v, saved[k])


def test_crnn_dir_uses_offset_one(tmp_path):
    _, vocab, spec = load_model_dir(make_model_dir(tmp_path / "c", "crnn"))
    assert vocab.offset == 1 and spec.recognizer == "CRNN" and not spec.do_chunking


def test_prefixes_are_stripped_like_modelscope(tmp_path):
    d = make_model_dir(tmp_path / "m")
    sd = torch.load(d / "pytorch_model.pt", weights_only=True)
    torch.save({f"module.recognizer.{k}": v for k, v in sd.items()}, d / "pytorch_model.pt")
    model, _, _ = load_model_dir(d)
    assert torch.equal(model.state_dict()["vitstr.pos_embed"], sd["vitstr.pos_embed"])
    assert set(clean_state_dict({"recognizer.a": torch.zeros(1), "step": 3})) == {"a"}


def test_safetensors_weights_are_accepted(tmp_path):
    d = make_model_dir(tmp_path / "m")
    sd = torch.load(d / "pytorch_model.pt", weights_only=True)
    (d / "pytorch_model.pt").unlink()
    safetensors.save_file(sd, d / "model.safetensors")
    model, _, _ = load_model_dir(d)
    assert torch.equal(model.state_dict()["vitstr.head.weight"], sd["vitstr.head.weight"])


def test_missing_unexpected_and_mismatched_keys_are_reported(tmp_path):
    d = make_model_dir(tmp_path / "m")
    sd = torch.load(d / "pytorch_model.pt", weights_only=True)
    sd.pop("vitstr.norm.weight")
    sd["vitstr.extra"] = torch.zeros(1)
    sd["vitstr.pos_embed"] = torch.zeros(1, 70, 16)
    torch.save(sd, d / "pytorch_model.pt")
    with pytest.raises(CheckpointError) as e:
        load_model_dir(d)
    msg = str(e.value)
    assert "missing keys (1): vitstr.norm.weight" in msg
    assert "unexpected keys (1): vitstr.extra" in msg
    assert "vitstr.pos_embed: checkpoint (1, 70, 16) vs model (1, 75, 16)" in msg


def test_vocab_not_matching_head(tmp_path):
    d = make_model_dir(tmp_path / "m")
    (d / "vocab.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match="2 symbols -> 4 classes.*head has"):
        load_model_dir(d)


def test_wrong_architecture_for_config(tmp_path):
    d = make_model_dir(tmp_path / "m")
    crnn = create_model("crnn", num_classes=len(CHARS) + 2)
    torch.save(crnn.state_dict(), d / "pytorch_model.pt")
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        load_model_dir(d)


def test_truncated_weights_and_bad_config(tmp_path):
    d = make_model_dir(tmp_path / "m")
    data = (d / "pytorch_model.pt").read_bytes()
    (d / "pytorch_model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot read weights"):
        load_model_dir(d)
    (d / "configuration.json").write_text('{"model": {"recognizer": "SVTR"}}')
    with pytest.raises(CheckpointError, match="unsupported recognizer 'SVTR'.*supported: CRNN"):
        read_spec(d)
    (d / "configuration.json").write_text("not json")
    with pytest.raises(CheckpointError, match="cannot read model.recognizer"):
        read_spec(d)
    with pytest.raises(CheckpointError, match="no configuration.json"):
        read_spec(tmp_path)


def test_bad_vocab_lines_are_errors(tmp_path):
    d = make_model_dir(tmp_path / "m")
    lines = (d / "vocab.txt").read_text(encoding="utf-8").split("\n")
    lines[3] = lines[2]
    (d / "vocab.txt").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(VocabError, match="appears twice"):
        load_model_dir(d)


def test_pickled_code_is_never_executed(tmp_path):
    d = make_model_dir(tmp_path / "m")

    marker = tmp_path / "PWNED"  # absolute: the payload must not depend on the cwd

    class Evil:
        def __reduce__(self):
            return (exec, (f"import pathlib; pathlib.Path({str(marker)!r}).touch()",))

    torch.save({"x": Evil()}, d / "pytorch_model.pt")
    with pytest.raises(CheckpointError, match=r"(?s)cannot read weights.*Unsupported global"):
        load_model_dir(d)
    assert not marker.exists()
    torch.load(d / "pytorch_model.pt", weights_only=False)  # the payload really is live
    assert marker.exists()
