"""training/evaluate.py's CTC loss, including the case-insensitive lines (fold_case)."""

import torch

from duguang_ocr.training.evaluate import ctc_per_line, fold_case
from duguang_ocr.vocab import Vocab

VOCAB = Vocab(list("abcABC"), offset=1)  # blank 0, a b c A B C = 1..6


def confident(text: str, frames: int = 12) -> torch.Tensor:
    """(T, C) logits that read ``text`` (one symbol every other frame, blanks between)."""
    logits = torch.full((frames, VOCAB.num_classes), -8.0)
    logits[:, 0] = 8.0
    for i, ch in enumerate(text):
        logits[2 * i + 1, 0], logits[2 * i + 1, VOCAB.char_id(ch)] = -8.0, 8.0
    return logits


def loss(logits: torch.Tensor, target: str, fold: bool) -> float:
    pairs = torch.tensor(VOCAB.case_pairs())
    ids = torch.tensor(VOCAB.encode(target))
    return float(ctc_per_line(logits[None], ids, torch.tensor([len(ids)]),
                              fold_rows=torch.tensor([fold]), case_pairs=pairs)[0])


def test_a_folded_line_accepts_either_case_and_a_plain_line_does_not():
    upper = confident("ABC")
    assert loss(upper, "abc", fold=False) > 20  # a case-sensitive line: wrong
    assert loss(upper, "abc", fold=True) < 0.01  # folded: the letters are right
    assert abs(loss(upper, "abc", fold=True) - loss(upper, "ABC", fold=False)) < 1e-3
    assert loss(confident("abc"), "abc", fold=True) < 0.01
    assert loss(confident("abb"), "abc", fold=True) > 10  # but a wrong letter stays wrong


def test_fold_case_touches_only_the_flagged_lines_and_keeps_gradients_finite():
    logits = torch.randn(3, 10, VOCAB.num_classes, requires_grad=True)
    logp = logits.log_softmax(-1)
    pairs = torch.tensor(VOCAB.case_pairs())
    folded = fold_case(logp, torch.tensor([False, True, False]), pairs)
    assert torch.equal(folded[0], logp[0]) and torch.equal(folded[2], logp[2])
    # The folded line is still a distribution, with all of a letter's mass on its lower case.
    torch.testing.assert_close(folded[1].exp().sum(-1), torch.ones(10))
    torch.testing.assert_close(folded[1, :, 1].exp(), logp[1, :, 1].exp() + logp[1, :, 4].exp())
    assert (folded[1, :, 4:] < -1e3).all()
    ids = torch.tensor(VOCAB.encode("abcab"))
    losses = ctc_per_line(logits, ids.repeat(3), torch.tensor([5, 5, 5]),
                          fold_rows=torch.tensor([False, True, False]), case_pairs=pairs)
    losses.sum().backward()
    assert torch.isfinite(logits.grad).all()
    # Upper-case logits of the folded line still learn (towards the letter, in either case).
    assert logits.grad[1, :, 4:].abs().sum() > 0
