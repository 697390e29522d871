"""Does the reference agree with PyTorch's own routines and with every example of EXERCISES.md?"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from solutions.attention import scaled_dot_product_attention
from solutions.masking import MultiHeadAttention, padding_mask
from solutions.smoother import gaussian_kernel, smooth
from solutions.vocab import build_vocab, tokenize

CORPUS = ["ik zit op de bank", "ik werk bij de bank", "bij de bank is het heel druk"]
TOKENS = [[4, 6, 7, 2, 3, 0, 0], [4, 8, 5, 2, 3, 0, 0], [5, 2, 3, 9, 10, 1, 1]]


# smoother


@pytest.mark.parametrize("size", [1, 2, 5, 8, 9])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5])
def test_gaussian_kernel_is_the_normalised_density_at_centred_offsets(size, sigma):
    """Is the kernel N(0, sigma^2) at arange(size) - (size - 1) / 2, summing to 1, in float32?"""
    normal = torch.distributions.Normal(0.0, sigma)
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    density = normal.log_prob(offsets).exp()
    kernel = gaussian_kernel(size, sigma)
    assert kernel.dtype == torch.float32
    assert kernel.shape == (size,)
    torch.testing.assert_close(kernel, (density / density.sum()).float())
    torch.testing.assert_close(kernel, kernel.flip(0))


def test_gaussian_kernel_of_size_8_is_centred_between_samples_3_and_4():
    """Is the kernel of the notebook symmetric (the original's arange(-4, 4) was not)?"""
    kernel = gaussian_kernel(8)
    assert kernel[3] == kernel[4]
    assert kernel.argmax() in (3, 4)


@pytest.mark.parametrize(("size", "sigma"), [(0, 1.0), (-3, 1.0), (5, 0.0), (5, -1.0), (5, math.nan)])
def test_gaussian_kernel_rejects_bad_arguments(size, sigma):
    """Do size < 1 and sigma <= 0 raise ValueError?"""
    with pytest.raises(ValueError, match=r"^(size must be at least 1|sigma must be greater than 0), got "):
        gaussian_kernel(size, sigma)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("shape", "size"), [((50,), 5), ((3, 40), 8), ((1, 7), 7), ((2, 9), 1)])
def test_smooth_equals_conv1d_without_bias(shape, size, dtype):
    """Is smooth exactly F.conv1d with no bias and no flip, in the signal's dtype?"""
    generator = torch.Generator().manual_seed(sum(shape) * size)
    signal = torch.randn(shape, generator=generator, dtype=dtype)
    kernel = torch.randn(size, generator=generator)  # float32: smooth casts it
    out = smooth(signal, kernel)
    rows = signal.reshape(-1, 1, shape[-1])
    expected = F.conv1d(rows, kernel.to(dtype).view(1, 1, size)).reshape(*shape[:-1], -1)
    assert out.dtype == dtype
    assert out.shape == (*shape[:-1], shape[-1] - size + 1)
    torch.testing.assert_close(out, expected)


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(1, 40),
    size=st.integers(1, 40),
    batch=st.one_of(st.none(), st.integers(1, 4)),
    seed=st.integers(0, 2**16),
)
def test_smooth_is_the_sum_of_shifted_products(length, size, batch, seed):
    """Does output[i] equal sum_k signal[i + k] * kernel[k] for any lengths and batch?"""
    if size > length:
        return
    generator = torch.Generator().manual_seed(seed)
    shape = (length,) if batch is None else (batch, length)
    signal = torch.randn(shape, generator=generator, dtype=torch.float64)
    kernel = torch.randn(size, generator=generator, dtype=torch.float64)
    expected = sum(signal[..., k : length - size + 1 + k] * kernel[k] for k in range(size))
    torch.testing.assert_close(smooth(signal, kernel), expected)


def test_smooth_leaves_inputs_unchanged():
    signal, kernel = torch.randn(2, 30), gaussian_kernel(5)
    before = signal.clone(), kernel.clone()
    smooth(signal, kernel)
    assert torch.equal(signal, before[0])
    assert torch.equal(kernel, before[1])


# vocab


def test_build_vocab_on_the_notebook_corpus():
    """EXERCISES.md: v["bank"] == 3, v["test"] == 1, len(v) == 11."""
    v = build_vocab(CORPUS, max_size=11)
    assert (v["bank"], v["test"], len(v)) == (3, 1, 11)
    assert (v["<pad>"], v["<unk>"], v["de"], v["ik"], v["bij"]) == (0, 1, 2, 4, 5)
    assert "bank" in v
    assert "<pad>" in v
    assert "<unk>" in v
    assert "test" not in v
    assert "druk" not in v
    assert "heel" not in v
    assert len(v) == 11, "looking up unknown words must not add them"


def test_build_vocab_breaks_ties_by_first_appearance_and_counts_specials():
    v = build_vocab(["b a c", "c a b d"], max_size=4)
    assert (v["b"], v["a"], len(v), v["c"], v["d"]) == (2, 3, 4, 1, 1)
    assert len(build_vocab(["x y"], max_size=100)) == 4
    assert len(build_vocab([], max_size=2)) == 2


@pytest.mark.parametrize("max_size", [1, 0, -5])
def test_build_vocab_rejects_max_size_below_2(max_size):
    with pytest.raises(ValueError, match="so it must be at least 2, got"):
        build_vocab(CORPUS, max_size)


def test_tokenize_the_notebook_corpus():
    """EXERCISES.md: the (3, 7) int64 matrix."""
    tokens = tokenize(CORPUS, build_vocab(CORPUS, max_size=11))
    assert tokens.dtype == torch.int64
    assert tokens.tolist() == TOKENS


def test_tokenize_edge_cases_keep_int64():
    v = build_vocab(CORPUS, max_size=11)
    for corpus, shape in [([], (0, 0)), ([""], (1, 0)), (["", "ik"], (2, 1)), (["zz zz"], (1, 2))]:
        tokens = tokenize(corpus, v)
        assert tokens.shape == shape
        assert tokens.dtype == torch.int64
    assert tokenize(["", "ik zz"], v).tolist() == [[0, 0], [4, 1]]


# attention


def _inputs(shape_q, shape_k, dv, seed, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    q = torch.randn(shape_q, generator=generator, dtype=dtype)
    k = torch.randn(shape_k, generator=generator, dtype=dtype)
    v = torch.randn((*shape_k[:-1], dv), generator=generator, dtype=dtype)
    return q, k, v, generator


@pytest.mark.parametrize(
    ("shape_q", "shape_k", "dv"),
    [((2, 5, 8), (2, 7, 8), 3), ((2, 3, 4, 6), (2, 3, 9, 6), 6), ((1, 1, 4), (1, 1, 4), 2)],
)
def test_attention_equals_torch_sdpa_with_the_mask_inverted(shape_q, shape_k, dv):
    """True = ignore here, True = keep in F.scaled_dot_product_attention's bool attn_mask."""
    q, k, v, generator = _inputs(shape_q, shape_k, dv, seed=len(shape_q) + dv)
    out, weights = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1], dtype=q.dtype))
    mask = torch.rand((*shape_q[:-1], shape_k[-2]), generator=generator) < 0.4  # (..., L, S)
    mask[..., 0] = False  # no fully masked row: PyTorch gives NaN there
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=~mask))
    assert (weights[mask] == 0).all()


def test_attention_fully_masked_rows_give_zeros_and_finite_gradients():
    q, k, v, _ = _inputs((2, 3, 4), (2, 5, 4), 6, seed=1)
    mask = torch.zeros(2, 1, 5, dtype=torch.bool)
    mask[1] = True  # every key of the second batch element is ignored
    q, k, v = (t.requires_grad_() for t in (q, k, v))
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert (out[1] == 0).all()
    assert (weights[1] == 0).all()
    assert not out.isnan().any()
    (out.sum() + weights.sum()).backward()
    assert all(t.grad.isfinite().all() for t in (q, k, v))
    assert (q.grad[1] == 0).all()


def test_attention_leaves_inputs_unchanged():
    q, k, v, _ = _inputs((2, 3, 4), (2, 5, 4), 4, seed=2)
    mask = torch.zeros(2, 3, 5, dtype=torch.bool)
    before = [t.clone() for t in (q, k, v, mask)]
    scaled_dot_product_attention(q, k, v, mask)
    assert all(torch.equal(a, b) for a, b in zip(before, (q, k, v, mask)))


# masking


def test_padding_mask_marks_pad_idx():
    tokens = torch.tensor(TOKENS)
    assert padding_mask(tokens).tolist() == (tokens == 0).tolist()
    assert padding_mask(tokens).dtype == torch.bool
    assert padding_mask(tokens, pad_idx=1)[2].tolist() == [False] * 5 + [True] * 2


def _torch_mha(mha: MultiHeadAttention) -> nn.MultiheadAttention:
    reference = nn.MultiheadAttention(mha.embed_dim, mha.num_heads, batch_first=True).double().eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(torch.cat([mha.q_proj.weight, mha.k_proj.weight, mha.v_proj.weight]))
        reference.in_proj_bias.copy_(torch.cat([mha.q_proj.bias, mha.k_proj.bias, mha.v_proj.bias]))
        reference.out_proj.load_state_dict(mha.out_proj.state_dict())
    return reference


@pytest.mark.parametrize(
    ("batch", "length", "source", "embed", "heads"), [(3, 7, 7, 4, 2), (2, 5, 9, 12, 3), (1, 1, 1, 8, 8)]
)
def test_mha_equals_torch_multihead_attention_with_copied_weights(batch, length, source, embed, heads):
    torch.manual_seed(batch * embed + heads)
    mha = MultiHeadAttention(embed, heads).double().eval()
    query = torch.randn(batch, length, embed, dtype=torch.float64)
    key, value = torch.randn(2, batch, source, embed, dtype=torch.float64)
    mask = torch.rand(batch, source) < 0.3
    mask[:, 0] = False  # no query whose keys are all padding
    out, weights = mha(query, key, value, key_padding_mask=mask)
    expected, expected_weights = _torch_mha(mha)(query, key, value, key_padding_mask=mask)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(weights, expected_weights)
    out, weights = mha(query, key, value)
    expected, expected_weights = _torch_mha(mha)(query, key, value)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(weights, expected_weights)


def test_mha_all_padding_gives_out_proj_bias_not_nan():
    torch.manual_seed(0)
    mha = MultiHeadAttention(4, 2)
    x = torch.randn(2, 3, 4)
    mask = torch.tensor([[False, True, True], [True, True, True]])
    out, weights = mha(x, x, x, key_padding_mask=mask)
    assert not out.isnan().any()
    torch.testing.assert_close(out[1], mha.out_proj.bias.expand(3, 4))
    assert (weights[1] == 0).all()


def test_mha_submodules_and_bad_heads():
    mha = MultiHeadAttention(12, 3)
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        layer = getattr(mha, name)
        assert isinstance(layer, nn.Linear)
        assert layer.weight.shape == (12, 12)
        assert layer.bias is not None
    for embed, heads in [(4, 3), (10, 4), (4, 0)]:
        with pytest.raises(ValueError, match=r"must be divisible by num_heads"):
            MultiHeadAttention(embed, heads)
