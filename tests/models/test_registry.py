"""Every variant in ``MODELS``: its declared facts hold, and it builds, runs, saves, loads
and exports. A new architecture gets these checks by being listed."""

from __future__ import annotations

import pytest
import torch

from duguang_ocr.hub.modelscope import load_model_dir, read_spec, save_model_dir
from duguang_ocr.models import (
    ARCHITECTURES,
    RECOGNIZER_TO_VARIANT,
    VARIANT_TO_RECOGNIZER,
    VOCAB_OFFSET,
    architecture,
    create_model,
    list_models,
    variant_config,
)
from duguang_ocr.vocab import Vocab
from tests.helpers import CHARS, perturbed

# ModelScope-size variants (millions of parameters): their ONNX traces take seconds each, so
# they leave the fast inner loop (-m "not slow"); the small variants cover the same classes.
LARGE = {"convnextvit_tiny", "convnextvit_small", "crnn", "lightweight_edge"}
EXPORT_CASES = [pytest.param(n, marks=pytest.mark.slow) if n in LARGE else n
                for n in list_models()]


def _model(name: str) -> tuple[torch.nn.Module, Vocab]:
    vocab = Vocab(CHARS, offset=variant_config(name).vocab_offset)
    torch.manual_seed(0)
    return perturbed(create_model(name, num_classes=vocab.num_classes)), vocab


@pytest.mark.parametrize("name", list_models())
def test_declared_facts_describe_the_built_model(name):
    cfg = variant_config(name)
    model, vocab = _model(name)
    assert VARIANT_TO_RECOGNIZER[name] == cfg.modelscope_name
    assert architecture(cfg.modelscope_name) is type(cfg)
    assert VOCAB_OFFSET[cfg.modelscope_name] == cfg.vocab_offset
    # The head's rows are the vocabulary's classes: what vocabulary transfer relies on.
    head = model.state_dict()[cfg.head_prefix + "weight"]
    assert head.shape[0] == vocab.num_classes
    assert cfg.trace_width % 4 == 0 and cfg.default_width % 4 == 0
    if cfg.chunked:
        assert cfg.trace_width == cfg.chunk_width <= cfg.default_width


def test_every_architecture_has_modelscopes_own_variant():
    assert set(RECOGNIZER_TO_VARIANT) == set(ARCHITECTURES)
    for modelscope_name, variant in RECOGNIZER_TO_VARIANT.items():
        cfg = variant_config(variant)
        assert cfg == type(cfg)() and cfg.modelscope_name == modelscope_name
    with pytest.raises(ValueError, match="unsupported recognizer 'SVTR'"):
        architecture("SVTR")


@pytest.mark.parametrize("name", list_models())
def test_build_forward_save_load_round_trip(name, tmp_path):
    model, vocab = _model(name)
    cfg = model.config
    x = torch.rand(2, 3, cfg.height, cfg.trace_width, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, cfg.trace_width // 4, vocab.num_classes)
    save_model_dir(tmp_path, model, vocab, name)
    spec = read_spec(tmp_path)
    assert (spec.variant, spec.recognizer, spec.do_chunking) == (
        name, cfg.modelscope_name, cfg.chunked)
    loaded, loaded_vocab, _ = load_model_dir(tmp_path)
    assert type(loaded) is type(model) and loaded.config == cfg and loaded_vocab == vocab
    with torch.no_grad():
        assert torch.equal(loaded(x), out)


@pytest.mark.parametrize("name", EXPORT_CASES)
def test_onnx_export_matches_torch(name):
    ort = pytest.importorskip("onnxruntime")
    from duguang_ocr.export import example_input, export_onnx

    model, _ = _model(name)
    x = example_input(model, batch=1)
    session = ort.InferenceSession(export_onnx(model), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"images": x.numpy()})
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), model(x), rtol=1e-3, atol=1e-3)
