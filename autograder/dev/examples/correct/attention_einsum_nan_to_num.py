"""einsum, nan_to_num"""

import math

import torch


def scaled_dot_product_attention(query, key, value, mask=None):
    d = query.size(-1)
    scores = torch.einsum("...ld,...sd->...ls", query / math.sqrt(d), key)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.nan_to_num(scores.softmax(-1), nan=0.0)
    return torch.einsum("...ls,...sv->...lv", weights, value), weights
