"""a loop over the kernel taps"""

import torch


def gaussian_kernel(size, sigma=1.0):
    if not (size >= 1 and sigma > 0):
        raise ValueError("bad arguments")
    u = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    w = torch.exp(-(u * u) / (2.0 * sigma * sigma))
    return (w / w.sum()).float()


def smooth(signal, kernel):
    size = kernel.shape[0]
    n = signal.shape[-1] - size + 1
    kernel = kernel.to(signal)
    out = torch.zeros_like(signal[..., :n])
    for k in range(size):  # K steps, each over every position at once
        out = out + signal[..., k : k + n] * kernel[k]
    return out
