"""The torch watch: forbidden APIs fail loudly, calls of them are recorded, tensors made on a default device too.

``forbid`` runs in the zygote, before any student code: every forbidden function (protocol's list,
and every aten operator with "attention" in its name, however it is reached: ``F.``, ``torch.``,
``torch._C._nn.``, ``torch.ops.aten.``) is replaced by a stub that raises, and
``nn.MultiheadAttention`` (subclasses too) cannot be built. A submission that uses one of them gets
a wrong result, whatever it does to hide the call; the recorded call only names the cause.

The origins: on every watched call (every call but the timed ones), whatever the device of its
inputs, the watch notes each tensor that the code makes on the default device rather than on a
device taken from an input (a factory such as ``torch.zeros``, ``torch.arange`` or ``torch.tensor``
without ``device=``, or with a device named by a string; ``.cpu()``; ``.to("cpu")``; and what is
computed from such tensors only), where the code made it, and what CUDA would refuse: such a tensor
(not a 0-dim one: CUDA takes CPU scalars) meeting a tensor on the inputs' device in one operation,
or returned. ``*_like``, ``x.new_*`` and ``device=x.device`` follow their input. Parameters and
registered buffers move with ``module.to(device)``, so they count as on the inputs' device. Nothing
changes for the code: the values are those of an ordinary call, on the CPU as on a GPU, so the code
cannot tell a device check from any other call (each call is watched alike). The record is the
child's word: the grader lets it fail a check, never pass one.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, NoReturn

import torch
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from ..protocol import FORBIDDEN_APIS
from .load import is_answer_file

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


#: Functions that make a tensor from nothing: on the default device unless ``device=`` names another.
FACTORIES = {
    getattr(torch, name)
    for name in (
        "zeros", "ones", "full", "empty", "empty_strided", "arange", "range", "linspace", "logspace", "eye",
        "tensor", "as_tensor", "asarray", "from_numpy", "frombuffer", "scalar_tensor", "rand", "randn", "randint",
        "randperm", "tril_indices", "triu_indices", "hann_window",
    )
    if hasattr(torch, name)
}  # fmt: skip
#: Tensors made on the default device -> (what made it, the student's file and line): kept only while they live.
ON_HOST: WeakIdKeyDictionary = WeakIdKeyDictionary()
#: What CUDA would refuse, in the order seen: (kind, what made the tensor, file, line, operation); bounded.
FOUND: list[tuple[str, str, str, int, str]] = []
MOST_FOUND = 8


def _tensors(value: Any, depth: int = 0) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)) and depth < 3:
        for v in value:
            yield from _tensors(v, depth + 1)
    elif isinstance(value, dict) and depth < 3:
        for v in value.values():
            yield from _tensors(v, depth + 1)


def _origin(t: torch.Tensor) -> tuple[str, str, int] | None:
    """Where ``t`` was made, if on the default device (a parameter or buffer moves with its module: never)."""
    if isinstance(t, torch.nn.Parameter):
        return None
    return ON_HOST.get(t)


def _where(made_by: str) -> tuple[str, str, int]:
    """``made_by`` and the innermost frame of the student's code that called it (frames only: no source read)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if is_answer_file(frame.f_code.co_filename):
            return made_by, frame.f_code.co_filename[:40], int(frame.f_lineno or 0)
        frame = frame.f_back
    return made_by, "", 0


def _note(kind: str, origin: tuple[str, str, int], op: str) -> None:
    entry = (kind, *origin, op[:60])
    if len(FOUND) < MOST_FOUND and entry not in FOUND:
        FOUND.append(entry)


def _names_the_host(device: Any) -> bool:
    """A device given as a string or left out (None) is the default one; a torch.device may be an input's."""
    return device is None or (isinstance(device, str) and device.split(":")[0] == "cpu")


def _tag(result: Any, origin: tuple[str, str, int], args: list[torch.Tensor]) -> None:
    """Mark the tensors of ``result`` as made on the default device (an argument changed in place keeps its mark)."""
    for t in _tensors(result):
        if not any(t is a for a in args):
            ON_HOST[t] = origin


def track(func: Callable[..., Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
    """Note where ``result`` lives (the default device or the inputs'), and what CUDA would refuse here."""
    if func in FACTORIES:
        if _names_the_host(kwargs.get("device")):
            _tag(result, _where(f"torch.{name}"), [])
        return
    tensors = list(_tensors((args, kwargs)))
    host = [(t, o) for t in tensors if (o := _origin(t)) is not None]
    if name == "cpu" or (
        name == "to" and any(isinstance(a, str) and _names_the_host(a) for a in (*args[1:], *kwargs.values()))
    ):
        _tag(result, host[0][1] if host else _where(f".{name}()"), [])
        return
    if not host:
        return
    first = args[0] if args and isinstance(args[0], torch.Tensor) else None
    if name in ("to", "type_as"):  # to(device): there; to(other), type_as(other): other's device; to(dtype): its own
        rest = (*args[1:], *kwargs.values())
        if any(isinstance(a, torch.device) for a in rest):
            return
        other = next((a for a in rest if isinstance(a, torch.Tensor)), first)
        origin = None if other is None else _origin(other)
        if origin is not None:
            _tag(result, origin, [])
        return
    if name in MIXING_ALLOWED or (name.startswith("_") and not name.startswith("__")):
        indexed = None if first is None else _origin(first)
        if indexed is not None:  # indexing follows the indexed tensor
            _tag(result, indexed, tensors)
        return
    on_inputs_device = [t for t in tensors if _origin(t) is None]
    big = [o for t, o in host if t.dim() > 0]
    if big and on_inputs_device:
        _note("mix", big[0], name)  # CUDA refuses this; what it gives counts as on the inputs' device
    elif not on_inputs_device:
        _tag(result, host[0][1], tensors)


def returned_from_host(result: Any) -> None:
    """Note each tensor of a function's result that lives on the default device."""
    for t in _tensors(result):
        origin = _origin(t)
        if origin is not None:
            _note("result", origin, "")


def found() -> list[list[Any]]:
    """What was noted since the last call (and forget it)."""
    entries = [list(e) for e in FOUND]
    FOUND.clear()
    return entries


def on_host(args: list[Any], positions: Any) -> None:
    """The grader's inputs at ``positions`` stand for tensors left on the CPU while the others are on a GPU."""
    for i in positions if isinstance(positions, list) else ():
        if type(i) is int and 0 <= i < len(args) and isinstance(args[i], torch.Tensor):
            ON_HOST[args[i]] = (f"input_{i}", "", 0)


def moved_with(module: Any) -> None:
    """A module's buffers move with ``module.to(device)``: on the inputs' device, whatever made them."""
    if isinstance(module, torch.nn.Module):
        for buffer in module.buffers():
            ON_HOST.pop(buffer, None)


class Watch:
    """A TorchFunctionMode: ``seen`` collects the forbidden APIs called; where tensors live is tracked (``track``)."""

    def __init__(self, forbidden: dict[Any, str]) -> None:
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
                result = func(*args, **kwargs)
                name = getattr(func, "__name__", "")
                if name in ("to", "cpu", "type_as") and args and result is args[0] and type(result) is torch.Tensor:
                    result = result.view_as(result)  # a tensor of its own, as a move to another device gives
                with contextlib.suppress(Exception):  # the watch never changes what the code computes
                    track(func, name, args, kwargs, result)
                return result

        self.seen: set[str] = set()
        self.mode = Mode()

    def __enter__(self) -> Watch:
        self.mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        return self.mode.__exit__(*exc)
