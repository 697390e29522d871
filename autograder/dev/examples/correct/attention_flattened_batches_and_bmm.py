"""the leading dims flattened into one batch, torch.bmm and baddbmm"""

import torch


def scaled_dot_product_attention(query, key, value, mask=None):
    *lead, length, d = query.shape
    source, dv = key.shape[-2], value.shape[-1]
    q = query.reshape(-1, length, d)
    k = key.reshape(-1, source, d)
    v = value.reshape(-1, source, dv)
    zeros = q.new_zeros(q.shape[0], length, source)
    scores = torch.baddbmm(zeros, q, k.transpose(1, 2), beta=0.0, alpha=d**-0.5)
    if mask is not None:
        m = mask.expand(*lead, length, source).reshape(-1, length, source)
        scores = scores.masked_fill(m, float("-inf"))
        weights = scores.softmax(-1).masked_fill(m, 0.0)
    else:
        weights = scores.softmax(-1)
    out = torch.bmm(weights, v)
    return out.reshape(*lead, length, dv), weights.reshape(*lead, length, source)
