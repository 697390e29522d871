"""float64 inside, einsum over unfolded windows, then cast back"""

import math

import torch


def gaussian_kernel(size, sigma=1.0):
    if size < 1 or not sigma > 0:
        raise ValueError("size must be at least 1 and sigma positive")
    centre = (size - 1) / 2
    weights = [math.exp(-((i - centre) ** 2) / (2 * sigma**2)) for i in range(size)]
    total = sum(weights)
    return torch.tensor([w / total for w in weights], dtype=torch.float64).to(torch.float32)


def smooth(signal, kernel):
    k = kernel.to(device=signal.device, dtype=torch.float64)
    windows = signal.to(torch.float64).unfold(-1, k.shape[0], 1)  # (..., L - K + 1, K)
    return torch.einsum("...lk,k->...l", windows, k).to(signal.dtype)
