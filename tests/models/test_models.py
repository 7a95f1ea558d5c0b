import pytest
import torch

from duguang_ocr.inference import set_attention
from duguang_ocr.models import MODELS, ConvNextViT, create_model, list_models


def test_modelscope_tiny_shapes_and_key_layout():
    m = create_model("convnextvit_tiny")
    keys = m.state_dict().keys()
    # A few keys that official ModelScope checkpoints contain.
    for k in (
        "cnn_model.downsample_layers.0.0.weight",
        "cnn_model.downsample_layers.3.1.weight",
        "cnn_model.stages.2.7.gamma",
        "cnn_model.stages.3.2.pwconv2.weight",
        "vitstr.cls_token",
        "vitstr.pos_embed",
        "vitstr.patch_embed.proj.weight",
        "vitstr.blocks.11.attn.qkv.weight",
        "vitstr.blocks.11.mlp.fc2.bias",
        "vitstr.norm.weight",
        "vitstr.head.weight",
    ):
        assert k in keys
    assert m.state_dict()["vitstr.pos_embed"].shape == (1, 75, 192)
    assert m.state_dict()["vitstr.head.weight"].shape == (7644, 192)
    assert len(m.cnn_model.stages[2]) == 8


def test_crnn_keys_and_shape():
    m = create_model("crnn", num_classes=50).eval()
    sd = m.state_dict()
    assert "cls.bias" not in sd and sd["cls.weight"].shape == (50, 512)
    assert "rnn.1.embedding.weight" in sd and "conv4.0.weight" in sd
    with torch.no_grad():
        assert m(torch.rand(2, 3, 32, 64)).shape == (2, 16, 50)


@pytest.mark.parametrize("name", ["convnextvit_test", "convnextvit_small"])
def test_chunk_forward_shape(name):
    m = create_model(name, num_classes=30).eval()
    with torch.no_grad():
        assert m(torch.rand(2, 3, 32, 300)).shape == (2, 75, 30)


def test_wrong_chunk_width_is_a_clear_error():
    m = create_model("convnextvit_test").eval()
    with pytest.raises(ValueError, match="at most 75 frames"):
        m(torch.rand(1, 3, 32, 320))


def test_narrower_chunks_use_the_first_position_embeddings():
    torch.manual_seed(0)
    m = create_model("convnextvit_test", num_classes=12).eval()
    with torch.no_grad():
        m.vitstr.pos_embed.normal_()
        assert m(torch.rand(2, 3, 32, 128)).shape == (2, 32, 12)
        # Same computation by hand: a model whose position table is the first 32 rows.
        short = create_model("convnextvit_test", num_classes=12).eval()
        state = m.state_dict()
        state["vitstr.pos_embed"] = state["vitstr.pos_embed"][:, :32]
        short.vitstr.pos_embed = torch.nn.Parameter(torch.zeros(1, 32, 16))
        short.vitstr.num_frames = 32
        short.load_state_dict(state)
        x = torch.rand(2, 3, 32, 128)
        torch.testing.assert_close(m(x), short(x))


def test_fused_attention_matches_exact_path():
    torch.manual_seed(0)
    m = create_model("convnextvit_test", num_classes=12).eval()
    x = torch.rand(3, 3, 32, 300)
    with torch.no_grad():
        fused = m(x)
        exact = set_attention(m, exact=True)(x)
    torch.testing.assert_close(fused, exact, rtol=1e-5, atol=1e-5)


def test_create_model_errors_and_list():
    assert set(list_models()) == set(MODELS)
    with pytest.raises(ValueError, match="unknown model"):
        create_model("resnet")
    with pytest.raises(ValueError, match="unknown config fields"):
        create_model("convnextvit_test", widht=3)
    assert isinstance(create_model("convnextvit_test", dims=[8, 8, 8, 8]), ConvNextViT)
