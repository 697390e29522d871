"""The torch watch: forbidden APIs fail loudly, calls of them are recorded, meta runs keep CUDA's rules.

``forbid`` runs in the zygote, before any student code: every forbidden function (protocol's list,
and every aten operator with "attention" in its name, however it is reached: ``F.``, ``torch.``,
``torch._C._nn.``, ``torch.ops.aten.``) is replaced by a stub that raises, and
``nn.MultiheadAttention`` (subclasses too) cannot be built. A submission that uses one of them gets
a wrong result, whatever it does to hide the call; the recorded call only names the cause.

PyTorch lets a CPU tensor meet a meta tensor in some operations (F.conv1d) where CUDA would
refuse; the guard holds meta runs to CUDA's rule, so that a tensor left on the CPU is caught
without a GPU. CPU scalars (0-dim) are allowed, as on CUDA.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, NoReturn

import torch
from torch.overrides import TorchFunctionMode

from ..protocol import FORBIDDEN_APIS

MIXING_ALLOWED = ("to", "copy_", "type_as", "__getitem__", "__setitem__", "new_tensor", "__repr__", "__format__")


def _resolve(path: str) -> Any:
    obj: Any = torch
    for attr in path.split(".")[1:]:
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


_ORIGINALS: dict[Any, str] = {}
#: Forbidden APIs that student code called (through a stub), for the report.
CALLED: set[str] = set()


def forbidden_functions() -> dict[Any, str]:
    """The original function objects -> the name a report uses, for every forbidden API this torch has."""
    if not _ORIGINALS:
        for name, paths in FORBIDDEN_APIS.items():
            for path in paths:
                fn = _resolve(path)
                if fn is not None:
                    _ORIGINALS[fn] = name
    return _ORIGINALS


def _stub(name: str) -> Callable[..., NoReturn]:
    def forbidden(*args: Any, **kwargs: Any) -> NoReturn:
        CALLED.add(name)
        raise RuntimeError(f"this exercise does not allow {name}: write it with tensor operations")

    forbidden.__name__ = name.rsplit(".", 1)[-1]
    return forbidden


def _replace(owner: Any, attr: str, value: Any) -> None:
    # an extension type that takes no attributes: nothing to reach there
    with contextlib.suppress(AttributeError, TypeError):
        setattr(owner, attr, value)


def forbid() -> None:
    """Replace every forbidden function by a stub that raises (in this process and its children)."""
    forbidden_functions()  # keep the originals, for the watch
    for name, paths in FORBIDDEN_APIS.items():
        for path in paths:
            *owner_path, attr = path.split(".")
            owner = _resolve(".".join(owner_path)) if len(owner_path) > 1 else torch
            if owner is not None and hasattr(owner, attr) and attr != "__init__":
                _replace(owner, attr, _stub(name))
    for op in torch._C._dispatch_get_all_op_names():
        if op.startswith("aten::") and "attention" in op:
            base = op.removeprefix("aten::").split(".")[0]
            stub = _stub(f"torch.ops.aten.{base}")
            _replace(torch.ops.aten, base, stub)
            for owner in (torch, torch._C._VariableFunctions, torch._C._nn):
                if hasattr(owner, base):
                    _replace(owner, base, stub)

    def no_multihead_attention(self: torch.nn.MultiheadAttention, *args: Any, **kwargs: Any) -> NoReturn:
        CALLED.add("nn.MultiheadAttention")
        raise RuntimeError("this exercise does not allow nn.MultiheadAttention: write the heads yourself")

    # the constructor is replaced on purpose: nothing can build one
    torch.nn.MultiheadAttention.__init__ = no_multihead_attention  # type: ignore[method-assign]


class Watch:
    """A TorchFunctionMode: ``seen`` collects the forbidden APIs called; ``meta_guard`` forbids mixing devices."""

    def __init__(self, forbidden: dict[Any, str], meta_guard: bool) -> None:
        watch = self

        class Mode(TorchFunctionMode):
            def __torch_function__(
                self,
                func: Callable[..., Any],
                types: Any,
                args: tuple[Any, ...] = (),
                kwargs: dict[str, Any] | None = None,
            ) -> Any:
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

    def __enter__(self) -> Watch:
        self.mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        return self.mode.__exit__(*exc)


def guard_devices(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    devices: set[str] = set()
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
