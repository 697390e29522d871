"""an explicit loop over the heads, each a slice of the features, 3-D attention with a (B, 1, S) mask"""

import torch
import torch.nn.functional as F
from torch import nn


def scaled_dot_product_attention(query, key, value, mask=None):
    scores = query.matmul(key.transpose(-2, -1)).div(query.size(-1) ** 0.5)
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    weights = F.softmax(scores, dim=-1).nan_to_num(0.0)
    return weights.matmul(value), weights


def padding_mask(tokens, pad_idx=0):
    return tokens == pad_idx


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if num_heads <= 0 or embed_dim % num_heads:
            raise ValueError("num_heads must be a positive divisor of embed_dim")
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, key_padding_mask=None):
        q, k, v = self.q_proj(query), self.k_proj(key), self.v_proj(value)
        mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(1)  # (B, 1, S)
        outs, weights = [], []
        for h in range(self.num_heads):
            part = slice(h * self.head_dim, (h + 1) * self.head_dim)
            out, w = scaled_dot_product_attention(q[..., part], k[..., part], v[..., part], mask)
            outs.append(out)
            weights.append(w)
        return self.out_proj(torch.cat(outs, dim=-1)), torch.stack(weights).mean(dim=0)
