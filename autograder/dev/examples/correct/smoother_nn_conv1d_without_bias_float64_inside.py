"""nn.Conv1d without bias, float64 inside"""

import numpy as np
import torch
from torch import nn


def gaussian_kernel(size, sigma=1.0):
    if size < 1:
        raise ValueError("size")
    if sigma <= 0:
        raise ValueError("sigma")
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    w = np.exp(-0.5 * (offsets / sigma) ** 2)
    return torch.from_numpy(w / w.sum()).float()


def smooth(signal, kernel):
    conv = nn.Conv1d(1, 1, kernel.shape[0], bias=False).to(device=signal.device, dtype=signal.dtype)
    with torch.no_grad():
        conv.weight.copy_(kernel.reshape(1, 1, -1))
        x = signal.reshape(-1, 1, signal.shape[-1])
        return conv(x).reshape(*signal.shape[:-1], -1)
