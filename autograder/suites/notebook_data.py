"""The notebooks' own data, shared by the suites: what the student saw, so it may be shown in full."""

from __future__ import annotations

import math

import torch

#: The notebooks' token matrix of the three "bank" sentences (vocab, attention and masking).
TOKENS = torch.tensor([[4, 6, 7, 2, 3, 0, 0], [4, 8, 5, 2, 3, 0, 0], [5, 2, 3, 9, 10, 1, 1]])


def notebook_embedding() -> torch.Tensor:
    """The notebooks' embedding of TOKENS: ``torch.manual_seed(0)``, then ``nn.Embedding(11, 4, padding_idx=0)``."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return torch.nn.Embedding(11, 4, padding_idx=0)(TOKENS).detach()


#: The notebooks' corpus: the three Dutch "bank" sentences.
CORPUS = ["ik zit op de bank", "ik werk bij de bank", "bij de bank is het heel druk"]
#: The words of the first sentence as the attention heatmaps label them.
FIRST_SENTENCE = ["ik", "zit", "op", "de", "bank", "<pad>", "<pad>"]


def noisy_sine(seed: int = 0) -> torch.Tensor:
    """The notebook's signal: a sine over two periods, 100 samples, noise from ``manual_seed(0)``."""
    t = torch.linspace(0, 4 * math.pi, 100)
    return torch.sin(t) + 0.1 * torch.randn(100, generator=torch.Generator().manual_seed(seed))
