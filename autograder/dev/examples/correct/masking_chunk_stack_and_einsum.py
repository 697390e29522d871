"""heads split with chunk and stack, merged with cat, attention with einsum, the mask expanded"""

import math

import torch
from torch import nn


def scaled_dot_product_attention(query, key, value, mask=None):
    scores = torch.einsum("...ld,...sd->...ls", query, key) / math.sqrt(query.shape[-1])
    if mask is not None:
        scores = torch.where(mask, torch.full_like(scores, float("-inf")), scores)
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = torch.where(mask, torch.zeros_like(weights), weights)
    return torch.einsum("...ls,...sv->...lv", weights, value), weights


def padding_mask(tokens, pad_idx=0):
    return torch.eq(tokens, pad_idx)


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        if not (num_heads > 0 and embed_dim % num_heads == 0):
            raise ValueError(f"{num_heads} heads cannot split {embed_dim} features")
        super().__init__()
        self.num_heads = num_heads
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self, name, nn.Linear(embed_dim, embed_dim))

    def forward(self, query, key, value, key_padding_mask=None):
        h = self.num_heads

        def split(x):  # (B, n, E) -> (B, H, n, E / H)
            return torch.stack(x.chunk(h, dim=-1), dim=1)

        q, k, v = split(self.q_proj(query)), split(self.k_proj(key)), split(self.v_proj(value))
        mask = None
        if key_padding_mask is not None:
            b, s = key_padding_mask.shape
            mask = key_padding_mask[:, None, None, :].expand(b, h, query.shape[1], s)
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        return self.out_proj(torch.cat(out.unbind(dim=1), dim=-1)), weights.mean(dim=1)
