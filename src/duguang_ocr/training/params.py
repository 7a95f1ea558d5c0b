"""Which parameters learn, and how fast: optimizer groups and fine-tuning freezes.

Growing a trained model's vocabulary is where this matters: the trained body and the old
symbols' head rows should move slowly or not at all (``optim.body_lr_scale``,
``optim.head_rows``) while the new rows learn, or the model forgets what it read before
(README, "To grow a model's vocabulary", has the measurements).
"""

from __future__ import annotations

import torch
from torch import nn


def param_groups(model: nn.Module, weight_decay: float, lr: float,
                 body_lr_scale: float = 1.0, head_decay: bool = True) -> list[dict]:
    """Weight decay on matrices and kernels only (not on biases, norms, embeddings; not on
    the head without ``head_decay``); the CTC head (``config.head_prefix``) at ``lr``,
    everything else at ``lr * body_lr_scale``."""
    split = body_lr_scale != 1.0 or not head_decay
    head = getattr(model.config, "head_prefix", None) if split else None
    groups = []
    for is_head in (False, True):
        params = [p for name, p in model.named_parameters() if p.requires_grad
                  and (head is not None and name.startswith(head)) == is_head]
        group_lr = lr if is_head else lr * body_lr_scale
        decay = weight_decay if head_decay or not is_head else 0.0
        groups += [{"params": [p for p in params if p.ndim >= 2], "weight_decay": decay,
                    "lr": group_lr},
                   {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0,
                    "lr": group_lr}]
    return [g for g in groups if g["params"]]


def freeze_body(model: nn.Module) -> int:
    """Stop gradients everywhere but the CTC head (``config.head_prefix``): a body at lr 0
    needs no backward pass of its own. Returns the number of frozen tensors."""
    head = model.config.head_prefix
    frozen = [p for name, p in model.named_parameters() if not name.startswith(head)]
    for p in frozen:
        p.requires_grad_(False)
    return len(frozen)


def train_only_rows(model: nn.Module, rows: list[int]) -> None:
    """Let only these rows of the CTC head learn (``optim.head_rows: new``): the other rows'
    gradients are zeroed by a hook, so with no weight decay on the head (AdamW would still
    shrink them) they stay exactly as trained and the old symbols' logits cannot change."""
    head, classes = model.config.head_prefix, model.config.num_classes
    for name, p in model.named_parameters():
        if name.startswith(head) and p.shape[0] == classes:
            mask = torch.zeros(classes, *[1] * (p.ndim - 1), dtype=p.dtype, device=p.device)
            mask[rows] = 1
            p.register_hook(lambda grad, mask=mask: grad * mask)
