"""Part 3, attention: scaled dot-product attention.

Shapes: ... any leading dims (batch, heads), L query length, S key length,
D query/key features, Dv value features.
"""

import math

import torch
from torch import Tensor


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Attend from every query to every key: softmax(Q K^T / sqrt(D)) V.

    Args:
        query: (..., L, D).
        key: (..., S, D).
        value: (..., S, Dv).
        mask: optional bool tensor broadcastable to (..., L, S); True means
            "ignore this key" (the convention of ``nn.MultiheadAttention``'s
            key_padding_mask, the opposite of ``F.scaled_dot_product_attention``).

    Returns:
        (output, weights): output (..., L, Dv) and weights (..., L, S). Each row
        of weights sums to 1 over the kept keys and is exactly 0 at ignored
        keys; a row whose keys are all ignored is all 0, and so is its output.
        Same device and dtype as the inputs, which are left unchanged.
    """
    scale = 1.0 / math.sqrt(query.shape[-1])
    scores = query @ key.transpose(-2, -1) * scale  # (..., L, S)
    if mask is not None:
        if mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor, got {mask.dtype}")
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (..., L, S)
    if mask is not None:
        # a row of -inf softmaxes to NaN: every entry of it is masked, so this zeroes it
        weights = weights.masked_fill(mask, 0.0)
    return weights @ value, weights  # (..., L, Dv), (..., L, S)
