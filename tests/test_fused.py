import pytest
import torch
from torch import nn

from duguang_ocr.backends import make_backend
from duguang_ocr.fused import (
    FusedLinear,
    cpu_has_native_bf16,
    fuse_linears,
    onednn_linear_available,
)
from duguang_ocr.inference import inference_copy
from duguang_ocr.models import create_model

CPU = torch.device("cpu")


def _linears(model: nn.Module, cls: type) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, cls)]


@pytest.mark.parametrize("use_onednn", [True, False])
@pytest.mark.parametrize("activation", ["none", "gelu"])
def test_fused_linear_equals_linear_then_activation(use_onednn, activation):
    if use_onednn and not onednn_linear_available():
        pytest.skip("this torch build has no oneDNN linear op")
    torch.manual_seed(0)
    lin = nn.Linear(24, 40)
    fused = FusedLinear(lin, activation)
    fused.use_onednn = use_onednn
    x = torch.randn(3, 5, 7, 24).permute(0, 2, 1, 3)  # non-contiguous, 4-D like ConvNeXt's
    want = lin(x) if activation == "none" else nn.functional.gelu(lin(x))
    with torch.inference_mode():
        got = fused(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_fused_linear_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        FusedLinear(nn.Linear(2, 2), "relu")


@pytest.mark.parametrize("variant", ["convnextvit_test", "crnn_lite"])
def test_fused_copy_gives_the_same_logits_and_shares_weights(variant):
    torch.manual_seed(0)
    model = create_model(variant, num_classes=30).eval()
    x = torch.rand(3, 3, 32, 300)
    fused = make_backend(model, device="cpu").model
    with torch.inference_mode():
        torch.testing.assert_close(fused(x), model(x), atol=1e-4, rtol=1e-4)
    # Every Linear was replaced in the copy, none in the original.
    assert not _linears(fused, nn.Linear) and _linears(fused, FusedLinear)
    assert _linears(model, nn.Linear) and not _linears(model, FusedLinear)
    # float32 copies cost no memory: every parameter tensor is the original's.
    original = {p.data_ptr() for p in model.parameters()}
    assert {p.data_ptr() for p in fused.parameters()} <= original
    assert all(f.weight.data_ptr() in original for f in _linears(fused, FusedLinear))
    # The fused copy saves like the original: same keys, same tensors.
    want, got = model.state_dict(), fused.state_dict()
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want)


def test_fusing_a_fused_model_changes_nothing():
    torch.manual_seed(0)
    model = create_model("convnextvit_test", num_classes=12).eval()
    once = fuse_linears(inference_copy(model, CPU))
    twice = fuse_linears(inference_copy(once, CPU))
    x = torch.rand(2, 3, 32, 300)
    with torch.inference_mode():
        torch.testing.assert_close(twice(x), once(x))
    assert twice.cnn_model.stages[0][0].pwconv1.activation == "gelu"


def test_convnext_gelu_moves_into_the_linear():
    fused = fuse_linears(create_model("convnextvit_test", num_classes=10))
    block = fused.cnn_model.stages[0][0]
    assert block.pwconv1.activation == "gelu" and isinstance(block.act, nn.Identity)
    mlp = fused.vitstr.blocks[0].mlp
    assert mlp.fc1.activation == "gelu" and mlp.fc2.activation == "none"


def test_bf16_copy_under_autocast_stays_close():
    torch.manual_seed(0)
    model = create_model("convnextvit_test", num_classes=30).eval()
    fused = fuse_linears(inference_copy(model, CPU), torch.bfloat16)
    assert all(f.weight.dtype == torch.bfloat16 for f in _linears(fused, FusedLinear))
    assert next(model.parameters()).dtype == torch.float32  # the original is untouched
    x = torch.rand(4, 3, 32, 300)
    with torch.inference_mode():
        want = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = fused(x).float()
    # bf16 keeps 8 bits of mantissa: ~1% of the logit scale.
    assert (got - want).abs().max() <= 0.02 * want.abs().max() + 1e-3
    assert (got.argmax(-1) == want.argmax(-1)).float().mean() >= 0.9


def test_fuse_rejects_other_dtypes():
    with pytest.raises(ValueError, match="float32 or bfloat16"):
        fuse_linears(create_model("convnextvit_test", num_classes=5), torch.float16)


def test_native_bf16_probe_returns_a_bool():
    assert isinstance(cpu_has_native_bf16(), bool)
