"""Lovasz-softmax loss (Berman, Rannen Triki, Blaschko, "The Lovasz-Softmax loss: a tractable surrogate
for the optimization of the intersection-over-union measure in neural networks", CVPR 2018), written
from the paper's Algorithm 1 for the classes present in the batch."""

from __future__ import annotations

import torch


def _lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovasz extension of the Jaccard loss w.r.t. sorted errors (paper, eq. 8)."""
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def lovasz_softmax(probs: torch.Tensor, labels: torch.Tensor, ignore: int = 255) -> torch.Tensor:
    """Mean over present classes of the Lovasz hinge on per-pixel class errors.

    Args:
        probs: ``(N, C, H, W)`` softmax probabilities.
        labels: ``(N, H, W)`` int64 class ids; ``ignore`` pixels are skipped.
    Returns:
        scalar tensor (0 when no pixel is labelled).
    """
    c = probs.shape[1]
    p = probs.permute(0, 2, 3, 1).reshape(-1, c)
    y = labels.reshape(-1)
    keep = y != ignore
    p, y = p[keep], y[keep]
    if y.numel() == 0:
        return probs.sum() * 0.0
    losses = []
    for k in torch.unique(y).tolist():
        fg = (y == k).float()
        errors = (fg - p[:, k]).abs()
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, _lovasz_grad(fg[perm])))
    return torch.stack(losses).mean()
