"""a softmax through logsumexp: exp(scores - logsumexp(scores)), rows of ignored keys zeroed"""

import math

import torch


def scaled_dot_product_attention(query, key, value, mask=None):
    scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(query.size(-1))  # (..., L, S)
    if mask is not None:
        scores = scores.masked_fill(mask, -math.inf)
    weights = torch.exp(scores - torch.logsumexp(scores, dim=-1, keepdim=True))  # -inf - -inf: NaN on empty rows
    if mask is not None:
        weights = weights.masked_fill(mask, 0.0)
    return torch.matmul(weights, value), weights
