"""permute and an inline attention"""

import math

from torch import nn


def scaled_dot_product_attention(query, key, value, mask=None):
    scores = query.matmul(key.transpose(-1, -2)) / math.sqrt(query.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights.masked_fill(mask, 0)
    return weights.matmul(value), weights


def padding_mask(tokens, pad_idx=0):
    return tokens.eq(pad_idx)


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if num_heads < 1 or embed_dim % num_heads:
            raise ValueError("num_heads must divide embed_dim")
        self.h = num_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(embed_dim, embed_dim) for _ in range(4))

    def forward(self, query, key, value, key_padding_mask=None):
        b, t, e = query.shape
        s = key.shape[1]

        def heads(x, n):
            return x.reshape(b, n, self.h, e // self.h).permute(0, 2, 1, 3)

        q, k, v = heads(self.q_proj(query), t), heads(self.k_proj(key), s), heads(self.v_proj(value), s)
        mask = None if key_padding_mask is None else key_padding_mask[:, None, None, :]
        out, w = scaled_dot_product_attention(q, k, v, mask)
        out = out.permute(0, 2, 1, 3).reshape(b, t, e)
        return self.out_proj(out), w.mean(1)
