"""training/class_subset.py: CTC over a per-step subset of the head's classes."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from duguang_ocr.training.class_subset import SubsetHead, choose, install
from duguang_ocr.training.evaluate import ctc_per_line

C = 50  # classes: blank 0, then 1..49


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_choose_keeps_blank_targets_case_pairs_and_each_frames_best_classes():
    scores = torch.full((2, 3, C), -5.0)
    scores[..., 0] = 1.0  # frames of blank
    scores[0, 0, 7] = scores[1, 2, 30] = 5.0  # two frames' best classes
    pairs = torch.tensor([[11, 21]])
    s = choose(scores, torch.tensor([3, 4, 3]), pairs, top=1, random=5, generator=_gen())
    kept = {0, 3, 4, 7, 11, 21, 30}
    assert s.classes[0] == 0 and kept <= set(s.classes.tolist())
    assert s.classes.numel() == len(kept) + 5 and len(set(s.classes.tolist())) == s.classes.numel()
    # The five random ones stand for the 43 classes not kept; the kept ones are exact.
    assert torch.equal(s.correction[:len(kept)], torch.zeros(len(kept)))
    assert torch.allclose(s.correction[len(kept):], torch.full((5,), math.log(43 / 5)))
    assert torch.equal(s.classes[s.positions(torch.tensor([3, 4, 3]))], torch.tensor([3, 4, 3]))
    assert torch.equal(s.classes[s.positions(pairs)], pairs)
    absent = [c for c in range(C) if c not in s.classes.tolist()]
    assert (s.lookup[absent] == -1).all()
    # Seeded: the same generator seed draws the same classes.
    again = choose(scores, torch.tensor([3, 4, 3]), pairs, top=1, random=5, generator=_gen())
    assert torch.equal(again.classes, s.classes)


def test_the_random_draws_estimate_the_rest_of_the_softmax():
    """exp(logsumexp) of the corrected subset averages to the full partition function."""
    logits = torch.randn(C) * 2
    estimates = []
    for seed in range(400):
        s = choose(logits.new_full((1, C), 0.0), torch.tensor([1]), torch.zeros(0, 2,
                   dtype=torch.long), top=0, random=10, generator=_gen(seed))
        estimates.append(torch.logsumexp(logits[s.classes] + s.correction, 0).exp())
    full = torch.logsumexp(logits, 0).exp()
    assert abs(torch.stack(estimates).mean() / full - 1) < 0.05


def _head_and_features(seed: int = 0):
    torch.manual_seed(seed)
    linear = nn.Linear(8, C)
    x = torch.randn(3, 10, 8)
    return linear, x


def _ctc(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return ctc_per_line(logits, targets, torch.tensor([2, 3, 1])).mean()


def test_a_subset_with_every_class_gives_the_full_softmaxs_loss_and_gradients():
    linear, x = _head_and_features()
    targets = torch.tensor([5, 6, 7, 8, 9, 5])
    full = _ctc(linear(x), targets)
    gw = torch.autograd.grad(full, linear.weight)[0]
    head = SubsetHead(linear, top=C, random=0)
    head.arm(targets, torch.zeros(0, 2, dtype=torch.long), _gen())
    out = head(x)
    subset = head.disarm()
    assert out.shape == (3, 10, C) and subset.classes.numel() == C
    sub = _ctc(out, subset.positions(targets))
    torch.testing.assert_close(sub, full)
    torch.testing.assert_close(torch.autograd.grad(sub, linear.weight)[0], gw)


def test_top_classes_keep_the_gradient_of_a_confident_head():
    """A head whose frames each favour a few classes: the best ones per frame plus a random
    sample give nearly the full gradient; the random sample alone does not."""
    linear, x = _head_and_features(1)
    with torch.no_grad():
        linear.weight.mul_(4)
    targets = torch.tensor([5, 6, 7, 8, 9, 5])
    gw = torch.autograd.grad(_ctc(linear(x), targets), linear.weight)[0]

    def cosine(top: int, random: int) -> float:
        head = SubsetHead(linear, top=top, random=random)
        head.arm(targets, torch.zeros(0, 2, dtype=torch.long), _gen())
        out = head(x)
        s = head.disarm()
        g = torch.autograd.grad(_ctc(out, s.positions(targets)), linear.weight)[0]
        return float(F.cosine_similarity(g.flatten(), gw.flatten(), 0))

    assert cosine(top=3, random=5) > 0.99
    assert cosine(top=0, random=5) < cosine(top=3, random=5)


def test_unarmed_head_is_the_plain_linear_and_install_keeps_the_state_dict():
    from duguang_ocr.models import create_model

    model = create_model("convnextvit_test", num_classes=C)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(2, 3, 32, 300)
    expected = model(x)
    head = install(model, model.config.head_prefix, top=2, random=4)
    assert model.vitstr.head is head and head.weight is not None
    assert list(model.state_dict()) == list(before)
    torch.testing.assert_close(model(x), expected)
    head.arm(torch.tensor([1, 2]), torch.zeros(0, 2, dtype=torch.long), _gen())
    narrow = model(x)
    assert narrow.shape[-1] == head.disarm().classes.numel() < C
    torch.testing.assert_close(model(x), expected)  # disarmed: every class again
    with pytest.raises(TypeError, match="not the nn.Linear"):
        install(model, "cnn_model.", top=2, random=4)
