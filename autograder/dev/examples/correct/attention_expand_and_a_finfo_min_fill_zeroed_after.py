"""masks broadcast with expand, a finfo.min fill, ignored keys zeroed after the softmax"""

import math

import torch


def scaled_dot_product_attention(query, key, value, mask=None):
    scores = torch.matmul(query, key.transpose(-1, -2)) * (1.0 / math.sqrt(key.size(-1)))
    if mask is not None:
        mask = mask.expand(scores.shape)
        scores = scores.masked_fill(mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=scores.dim() - 1)
    if mask is not None:
        weights = weights * ~mask  # a query whose keys are all ignored was uniform: now 0
    return torch.matmul(weights, value), weights
