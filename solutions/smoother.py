"""Part 1, smoother: reweighing a signal by proximity.

Shapes: B batch, L signal length, K kernel size.
"""

import torch
import torch.nn.functional as F
from torch import Tensor


def gaussian_kernel(size: int, sigma: float = 1.0) -> Tensor:
    """A normalised Gaussian kernel, centred on the middle of its samples.

    Args:
        size: number of samples K, at least 1.
        sigma: standard deviation in samples, greater than 0.

    Returns:
        float32 tensor of shape (K,): the N(0, sigma^2) density at the offsets
        ``arange(K) - (K - 1) / 2``, divided by its sum so that it sums to 1.
        The offsets are symmetric about 0, so the kernel is symmetric too.

    Raises:
        ValueError: if ``size < 1`` or ``sigma <= 0``.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if not sigma > 0:
        raise ValueError(f"sigma must be greater than 0, got {sigma}")
    offsets = torch.arange(size, dtype=torch.float32) - (size - 1) / 2  # (K,)
    density = torch.exp(-0.5 * (offsets / sigma) ** 2)  # (K,), unnormalised
    return density / density.sum()


def smooth(signal: Tensor, kernel: Tensor) -> Tensor:
    """Slide ``kernel`` along ``signal``: a "valid" cross-correlation.

    Equivalent to ``F.conv1d(signal[:, None], kernel[None, None])[:, 0]`` with
    no bias and no flip of the kernel: output[..., i] = sum_k signal[..., i + k] * kernel[k].

    Args:
        signal: (L,) or (B, L).
        kernel: (K,) with K <= L. It is moved to the signal's device and cast to
            its dtype.

    Returns:
        (L - K + 1,) or (B, L - K + 1), on the signal's device, in its dtype.
    """
    if signal.dim() not in (1, 2):
        raise ValueError(f"signal must have shape (L,) or (B, L), got {tuple(signal.shape)}")
    if kernel.dim() != 1:
        raise ValueError(f"kernel must have shape (K,), got {tuple(kernel.shape)}")
    length, size = signal.shape[-1], kernel.shape[0]
    if size > length:
        raise ValueError(f"kernel of size {size} is longer than the signal ({length})")
    weight = kernel.to(device=signal.device, dtype=signal.dtype).view(1, 1, size)  # (1, 1, K)
    rows = signal.reshape(-1, 1, length)  # (B, 1, L)
    out = F.conv1d(rows, weight)  # (B, 1, L - K + 1)
    return out.reshape(*signal.shape[:-1], length - size + 1)
