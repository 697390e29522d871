"""The notebooks' own data, shared by the suites: what the student saw, so it may be shown in full.

``is_public`` tells the notebook's examples from hidden inputs: what the student's code says on
a call whose inputs are all public is shown in their feedback in full (``sandbox.student``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import torch

#: The notebooks' token matrix of the three "bank" sentences (vocab, attention and masking).
TOKENS = torch.tensor([[4, 6, 7, 2, 3, 0, 0], [4, 8, 5, 2, 3, 0, 0], [5, 2, 3, 9, 10, 1, 1]])


def notebook_embedding() -> torch.Tensor:
    """The notebooks' embedding of TOKENS: ``torch.manual_seed(0)``, then ``nn.Embedding(11, 4, padding_idx=0)``."""
    with torch.random.fork_rng(devices=[]):  # the CPU's generator, as torch.manual_seed(0) seeds it
        torch.default_generator.manual_seed(0)
        return torch.nn.Embedding(11, 4, padding_idx=0)(TOKENS).detach()


#: The notebooks' corpus: the three Dutch "bank" sentences.
CORPUS = ["ik zit op de bank", "ik werk bij de bank", "bij de bank is het heel druk"]
#: The words of the first sentence as the attention heatmaps label them.
FIRST_SENTENCE = ["ik", "zit", "op", "de", "bank", "<pad>", "<pad>"]


def noisy_sine(seed: int = 0) -> torch.Tensor:
    """The notebook's signal: a sine over two periods, 100 samples, noise from ``manual_seed(0)``."""
    t = torch.linspace(0, 4 * math.pi, 100)
    return torch.sin(t) + 0.1 * torch.randn(100, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- what is public


#: Words the notebooks show: their corpus, and the vocabulary's specials.
PUBLIC_WORDS = frozenset(" ".join(CORPUS).split()) | frozenset(FIRST_SENTENCE) | {"<unk>"}


@cache
def public_tensors() -> tuple[torch.Tensor, ...]:
    """The notebooks' example tensors, flat: the tokens, their padding, the embedding, the signal and its kernel."""
    from solutions.smoother import gaussian_kernel

    tensors = (TOKENS, TOKENS == 0, notebook_embedding(), noisy_sine(), gaussian_kernel(8))
    return tuple(t.flatten() for t in tensors)


def is_public(value: object, made_public: Callable[[object], bool] = lambda obj: False) -> bool:
    """Is ``value`` made of the notebook's own examples only? Anything else is a hidden input.

    A tensor is public when its values are those of one of ``public_tensors`` (in any shape, dtype
    or device: ``.to(dtype)``, a mask's ``[:, None, :]``) or it has none (the meta device); a
    string when its words are the notebook's (``PUBLIC_WORDS``); numbers, booleans and None are
    parameters that messages show anyway; lists, tuples and dicts when all they hold is public; any
    other object when ``made_public`` says so (an object the sandbox made from public inputs).
    """
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return all(word in PUBLIC_WORDS for word in value.split())
    if isinstance(value, (list, tuple)):
        return all(is_public(v, made_public) for v in value)
    if isinstance(value, dict):
        return all(is_public(k, made_public) and is_public(v, made_public) for k, v in value.items())
    if isinstance(value, torch.Tensor):
        if value.device.type == "meta":
            return True
        if value.numel() not in {t.numel() for t in public_tensors()}:  # nothing copied: a call's timing is untouched
            return False
        flat = value.detach().flatten().cpu()
        return any(flat.numel() == t.numel() and torch.equal(flat, t.to(flat.dtype)) for t in public_tensors())
    return made_public(value)
