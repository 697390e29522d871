"""Part 4, masking: padding masks and multi-head attention.

Shapes: B batch, L query length, S key length, E embedding size, H heads,
Dh = E / H head size.
"""

from torch import Tensor, nn

from solutions.attention import scaled_dot_product_attention


def padding_mask(tokens: Tensor, pad_idx: int = 0) -> Tensor:
    """Mark the padding in a matrix of token indices.

    Args:
        tokens: integer tensor of any shape, e.g. (B, S).
        pad_idx: the index used for padding.

    Returns:
        bool tensor of the same shape and device: True where ``tokens == pad_idx``.
    """
    return tokens == pad_idx


class MultiHeadAttention(nn.Module):
    """Multi-head self- or cross-attention, batch first, with a key padding mask.

    Equal to ``nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)`` in
    eval mode when its ``in_proj_weight`` is the concatenation of ``q_proj``,
    ``k_proj`` and ``v_proj``'s weights (biases likewise) and it has the same
    ``out_proj``, except that a query whose keys are all padding gets zero
    weights, so its output is ``out_proj.bias``, instead of NaN.

    Submodules: ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``, each
    ``nn.Linear(embed_dim, embed_dim)`` with bias.
    """

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        """Args: embed_dim: E. num_heads: H, at least 1 and dividing E (else ValueError)."""
        if num_heads < 1 or embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Attend with H heads of size Dh = E / H, each scaled by sqrt(Dh).

        Args:
            query: (B, L, E).
            key: (B, S, E).
            value: (B, S, E).
            key_padding_mask: optional bool (B, S), True where the key is padding.

        Returns:
            (output, weights): output (B, L, E) after ``out_proj``; weights
            (B, L, S), the attention weights averaged over the heads.
        """
        B, L, E = query.shape
        S = key.shape[1]
        H = self.num_heads
        Dh = E // H
        # 1) project, 2) split the heads
        q = self.q_proj(query).view(B, L, H, Dh).transpose(1, 2)  # (B, H, L, Dh)
        k = self.k_proj(key).view(B, S, H, Dh).transpose(1, 2)  # (B, H, S, Dh)
        v = self.v_proj(value).view(B, S, H, Dh).transpose(1, 2)  # (B, H, S, Dh)
        # 3) attend, with the mask broadcast over heads and queries
        mask = None if key_padding_mask is None else key_padding_mask.view(B, 1, 1, S)
        out, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, H, L, Dh), (B, H, L, S)
        # 4) merge the heads
        out = out.transpose(1, 2).reshape(B, L, E)  # (B, L, E)
        return self.out_proj(out), weights.mean(dim=1)  # (B, L, E), (B, L, S)
