"""The torch watch: records calls of forbidden APIs, and holds meta-device runs to CUDA's rules.

PyTorch lets a CPU tensor meet a meta tensor in some operations (F.conv1d) where CUDA would
refuse; the guard holds meta runs to CUDA's rule, so that a tensor left on the CPU is caught
without a GPU. CPU scalars (0-dim) are allowed, as on CUDA.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

from ..protocol import FORBIDDEN_APIS

MIXING_ALLOWED = ("to", "copy_", "type_as", "__getitem__", "__setitem__", "new_tensor", "__repr__", "__format__")


def _resolve(path: str):
    obj = torch
    for attr in path.split(".")[1:]:
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


def forbidden_functions() -> dict:
    """Function object -> the name a report uses, for every forbidden API this torch has."""
    found = {}
    for name, paths in FORBIDDEN_APIS.items():
        for path in paths:
            fn = _resolve(path)
            if fn is not None:
                found[fn] = name
    return found


class Watch:
    """A TorchFunctionMode: ``seen`` collects the forbidden APIs called; ``meta_guard`` forbids mixing devices."""

    def __init__(self, forbidden: dict, meta_guard: bool) -> None:
        watch = self

        class Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                api = forbidden.get(func)
                if api is not None:
                    watch.seen.add(api)
                name = getattr(func, "__name__", "")
                internal = name.startswith("_") and not name.startswith("__")  # e.g. nn.Module.to's helpers
                if meta_guard and not internal and name not in MIXING_ALLOWED:
                    guard_devices(func, args, kwargs)
                return func(*args, **kwargs)

        self.seen: set[str] = set()
        self.mode = Mode()

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)


def guard_devices(func, args, kwargs) -> None:
    devices = set()
    for value in [*args, *kwargs.values()]:
        for t in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(t, torch.Tensor) and not (t.device.type == "cpu" and t.dim() == 0):
                devices.add(t.device.type)
    if "meta" in devices and len(devices) > 1:
        others = ", ".join(sorted(devices - {"meta"}))
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, meta and {others}! "
            f"(in {getattr(func, '__name__', func)})"
        )
