"""float64 inside, torch.where"""

import torch


def scaled_dot_product_attention(query, key, value, mask=None):
    dtype = query.dtype
    q, k, v = query.double(), key.double(), value.double()
    scores = torch.matmul(q, k.mT) / q.shape[-1] ** 0.5
    if mask is not None:
        scores = torch.where(mask, torch.tensor(float("-inf"), dtype=scores.dtype), scores)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = torch.where(mask, torch.zeros((), dtype=weights.dtype), weights)
    return (weights @ v).to(dtype), weights.to(dtype)
