"""The child: one submission's code, answering the grader's requests over its socket.

Forked by the zygote for each submission. It loads the student's code and answers requests: call
a function or method, read an attribute, copy parameters into a module. Everything it sends back
is plain data (``wire``); objects that are not stay in the child and travel as numbered handles.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import sys
import traceback
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch

from .. import protocol, wire
from . import seeds
from .load import checked_cells, is_answer_file, load_answers, public_callables
from .reset import KEYCTL_JOIN_SESSION_KEYRING, keyctl
from .watch import CALLED, Watch, forbidden_functions, found, moved_with, on_host, returned_from_host
from .zygote import die_with


def warm_gradients() -> None:
    """Import what torch imports on the first gradient from given upstream gradients (``autograd.grad(...,
    grad_outputs=...)``: its shape checks, with sympy; about 0.3 s), so that the children forked after it do not."""
    import torch.fx.experimental.symbolic_shapes  # noqa: F401


class Child:
    """Loads one submission and answers the grader's requests over a socket."""

    def __init__(self, sock: socket.socket, arena: wire.Arena | None) -> None:
        self.sock = sock
        self.arena = arena
        self.module: types.ModuleType | None = None
        self.objects: dict[int, object] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> handle
        self.forbidden = forbidden_functions()

    # --- plain data in and out

    def export(self, obj: Any) -> Any:
        """What to send for an object that is not plain data: a number, or a handle."""
        if type(obj).__module__ == "numpy" and getattr(obj, "ndim", None) == 0:  # a numpy scalar: its number
            return obj.item()
        key = id(obj)
        if key not in self.ids:
            handle = len(self.objects) + 1
            self.objects[handle] = obj
            self.ids[key] = handle
        return wire.Handle(self.ids[key], type(obj).__name__)

    def resolve(self, handle: int) -> object:
        if handle not in self.objects:
            raise LookupError(f"no object #{handle}")
        return self.objects[handle]

    def place(self, t: torch.Tensor, device: str) -> torch.Tensor:
        return t if device == "cpu" else t.to(device)

    # --- requests

    def serve(self) -> None:
        while True:
            try:
                text, blob = wire.receive(self.sock)
            except (EOFError, wire.WireError):
                return
            try:
                message = wire.decode(text, blob, self.arena, self.resolve, self.place)
                reply = self.dispatch(message)
            except LookupError as error:
                reply = {"error": {"type": "LookupError", "types": ["LookupError"], "message": str(error)}}
            except wire.WireError as error:
                reply = {"error": {"type": "WireError", "types": ["WireError"], "message": str(error)}}
            try:
                frame, _ = wire.encode(reply, export=self.export)
            except BaseException as error:  # the answer itself could not be sent
                reply = {"error": error_info(error, "could not send back the result: ")}
                frame, _ = wire.encode(reply)
            wire.send(self.sock, frame)
            if reply.get("bye"):
                return

    def dispatch(self, message: dict) -> dict:
        op = message.get("op")
        if op not in protocol.REQUESTS:
            raise wire.WireError(f"unknown request {op!r}")
        try:
            return getattr(self, f"op_{op}")(message)
        except BaseException as error:  # the student's code raised (SystemExit included)
            return {"error": error_info(error)}

    def op_load(self, message: dict) -> dict:
        module = types.ModuleType("submission")
        sys.modules["submission"] = module
        seeds.seed(0)  # what the code draws when it is loaded: the same each time
        with Watch(self.forbidden):  # where the tensors it makes at the top level live
            notes = load_answers(checked_cells(message.get("cells")), module, error_info)
        found()
        self.module = module
        return {"ok": True, "names": public_callables(module), "notes": notes[:10]}

    def target(self, message: dict) -> Any:
        if "handle" in message:  # already resolved when the message was decoded
            obj = message["handle"]
        else:
            name = message["name"]
            if self.module is None or not hasattr(self.module, name):
                raise NameError(f"your code does not define {name}")
            obj = getattr(self.module, name)
        for attr in message.get("attr", "").split(".") if message.get("attr") else ():
            obj = getattr(obj, attr)
        return obj

    def op_call(self, message: dict) -> dict:
        fn = self.target(message)
        args, kwargs = message.get("args", []), message.get("kwargs", {})
        grad = message.get("grad")
        leaves: list[torch.Tensor] = []
        if grad is not None:
            args, kwargs = _map_tensors((args, kwargs), lambda t: _leaf(t, leaves))
        seed = message.get("seed")
        if type(seed) is int:  # random numbers of the student's own (dropout): the same for the same call
            seeds.seed(seed)
        watch = Watch(self.forbidden)
        before = _snapshot(args, kwargs)
        found()
        with self.stand_in(message.get("stand_in")):
            if message.get("watch", True):
                moved_with(fn if isinstance(fn, torch.nn.Module) else getattr(fn, "__self__", None))
                on_host(args, message.get("on_host", []))
                with watch:
                    result = fn(*args, **kwargs)
                returned_from_host(result)
            else:
                result = fn(*args, **kwargs)
        reply = {"ok": True, "result": result, "apis": sorted(watch.seen | CALLED), "origins": found()}
        if message.get("watch", True):  # the lists and dicts it was given, as they are now: the grader compares
            reply["containers_after"] = _containers(args, kwargs)
        after = _snapshot(args, kwargs)
        reply["changed_args"] = [key for key, value in before.items() if after.get(key) != value]
        if grad is not None:
            reply.update(self.gradients(fn, result, leaves, grad))
        if message.get("modules"):
            reply["modules"] = _module_types(result)
        return reply

    @contextlib.contextmanager
    def stand_in(self, names: Any) -> Iterator[None]:
        """For one call, the grader's stand-in in place of the student's ``scaled_dot_product_attention`` (copied
        from part 3, and not compiling or raising), so that the code calling it is graded: see ``attention``."""
        name = "scaled_dot_product_attention"
        if names != [name] or self.module is None:
            yield
            return
        missing = object()
        own = self.module.__dict__.get(name, missing)
        self.module.__dict__[name] = lambda *args, **kwargs: attention(*args, **kwargs)
        try:
            yield
        finally:
            if own is missing:
                self.module.__dict__.pop(name, None)
            else:
                self.module.__dict__[name] = own

    def gradients(self, fn: Any, result: Any, leaves: list[torch.Tensor], grad: dict[str, Any]) -> dict:
        outputs = [t for t in _tensors(result) if t.is_floating_point()]
        upstream = list(grad.get("upstream", []))
        if len(outputs) != len(upstream):
            raise ValueError(f"expected {len(upstream)} floating-point outputs, got {len(outputs)}")
        params = []
        owner = fn if isinstance(fn, torch.nn.Module) else getattr(fn, "__self__", None)
        if grad.get("params") and isinstance(owner, torch.nn.Module):
            params = list(owner.named_parameters())
        inputs = leaves + [p for _, p in params]
        grads = torch.autograd.grad(outputs, inputs, grad_outputs=upstream, allow_unused=True)
        return {
            "input_grads": list(grads[: len(leaves)]),
            "param_grads": {name: g for (name, _), g in zip(params, grads[len(leaves) :])},
        }

    def op_get(self, message: dict) -> dict:
        return {"ok": True, "result": self.target(message)}

    def op_len(self, message: dict) -> dict:
        return {"ok": True, "result": len(self.target(message))}

    def op_set_params(self, message: dict) -> dict:
        module = self.target(message)
        with torch.no_grad():
            for name, value in message["params"].items():
                param = module
                try:
                    for attr in name.split("."):
                        param = getattr(param, attr)
                except AttributeError:
                    raise AttributeError(f"{type(module).__name__} has no {name}") from None
                if not isinstance(param, torch.Tensor) or param.shape != value.shape:
                    shape = tuple(param.shape) if isinstance(param, torch.Tensor) else type(param).__name__
                    raise ValueError(f"{name} should be a tensor of shape {tuple(value.shape)}, found {shape}")
                param.copy_(value)
        return {"ok": True}

    def op_lookup(self, message: dict) -> dict:
        """Many ``obj[key]`` (or ``key in obj``) in one round trip."""
        obj = self.target(message)
        contains = message.get("how") == "contains"
        values = []
        for key in message["keys"]:
            try:
                values.append(contained(obj, key) if contains else obj[key])
            except BaseException as error:
                what = f"{key!r} in the object" if contains else f"looking up {key!r}"
                return {"error": error_info(error, f"{what}: ")}
        return {"ok": True, "result": values}

    def op_echo(self, message: dict) -> dict:
        return {"ok": True, "result": message.get("args")}


class EndlessIn(Exception):
    """``key in obj`` read ``protocol.ENDLESS_IN_READS`` items without the key or the end."""


def contained(obj: Any, key: object) -> bool:
    """``key in obj`` as Python answers it, except that an answer by reading items (no ``__contains__``: the
    object's ``__iter__``, else ``obj[0]``, ``obj[1]``, ... until IndexError) that reads ``ENDLESS_IN_READS``
    items without the key or the end raises EndlessIn: a ``__getitem__`` that answers every key never ends."""
    kind = type(obj)
    if hasattr(kind, "__contains__") or not (hasattr(kind, "__iter__") or hasattr(kind, "__getitem__")):
        return key in obj
    for read, item in enumerate(iter(obj), start=1):  # what Python's own `in` does: identity, then ==
        if item is key or item == key:
            return True
        if read >= protocol.ENDLESS_IN_READS:
            raise EndlessIn(f"{read} items read without the key or an end")
    return False


def _copy_plain(obj: Any) -> Any:
    """A deep copy of plain data, for comparing before and after: a tensor by its metadata (shape,
    strides, storage offset, dtype, device), lists and dicts by their items, anything else by identity."""
    if isinstance(obj, torch.Tensor):
        return ("tensor", tuple(obj.shape), obj.stride(), obj.storage_offset(), str(obj.dtype), str(obj.device))
    if type(obj) in (list, tuple):
        return type(obj)(_copy_plain(x) for x in obj)
    if type(obj) is dict:
        return {k: _copy_plain(v) for k, v in obj.items()}
    return obj if type(obj) in (str, int, float, bool, type(None)) else id(obj)


def _containers(args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict:
    """Every list or dict argument (position or keyword) as it is after the call, for the grader to compare
    with its own copy of what it sent."""
    found: dict = {str(i): a for i, a in enumerate(args) if type(a) in (list, dict)}
    found.update({k: v for k, v in kwargs.items() if type(v) in (list, dict)})
    return found


def _snapshot(args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict:
    """Every argument (position or keyword) as ``_copy_plain`` sees it."""
    found: dict = {i: _copy_plain(a) for i, a in enumerate(args)}
    found.update({k: _copy_plain(v) for k, v in kwargs.items()})
    return found


def _module_types(obj: object) -> list[str]:
    if not isinstance(obj, torch.nn.Module):
        return []
    return sorted({type(m).__module__ + "." + type(m).__name__ for m in obj.modules()})


def _tensors(obj: object) -> Iterator[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _tensors(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _tensors(x)


def _map_tensors(obj: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, tuple):
        return tuple(_map_tensors(x, fn) for x in obj)
    if isinstance(obj, list):
        return [_map_tensors(x, fn) for x in obj]
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj


def _leaf(t: torch.Tensor, leaves: list[torch.Tensor]) -> torch.Tensor:
    if not t.is_floating_point():
        return t
    leaf = t.detach().requires_grad_()
    leaves.append(leaf)
    return leaf


def attention(query: Any, key: Any, value: Any, mask: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The grader's stand-in for a student's attention: torch's own F.scaled_dot_product_attention (the original,
    which only the grader reaches), the weights as the attention of an identity value; True in ``mask`` = ignore.
    A row whose keys are all ignored gives 0. Its calls are not the student's: the watch does not see them."""
    sdpa = next(  # the C function: F's Python wrapper looks its stub up at call time
        fn
        for fn, name in forbidden_functions().items()
        if name == "F.scaled_dot_product_attention" and isinstance(fn, types.BuiltinFunctionType)
    )
    with torch._C.DisableTorchFunction():  # no mode: it would look the stub up by name and run it
        return _attention(sdpa, query, key, value, mask)


def _attention(sdpa: Callable, query: Any, key: Any, value: Any, mask: Any) -> tuple[torch.Tensor, torch.Tensor]:
    eye = torch.eye(key.shape[-2], dtype=query.dtype, device=query.device).expand(*key.shape[:-1], key.shape[-2])
    if mask is None:
        out, weights = sdpa(query, key, value), sdpa(query, key, eye)
    else:
        full = mask.all(-1, keepdim=True)  # rows whose keys are all ignored: computed over every key, then 0
        keep = ~(mask & ~full)
        out = sdpa(query, key, value, attn_mask=keep).masked_fill(full, 0.0)
        weights = sdpa(query, key, eye, attn_mask=keep).masked_fill(full, 0.0)
    return out, weights


def error_info(error: BaseException, prefix: str = "") -> dict:
    """The student's exception as plain data: type names, message, and frames of their code.

    A frame names its code by filename (``<answer cell 2>, line 7, in tokenize: ...``): the grader
    puts it in words.
    """
    frames = [
        f"{f.filename}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}"
        for f in traceback.extract_tb(error.__traceback__)
        if is_answer_file(f.filename)
    ]
    try:
        message = str(error)
    except BaseException:  # a hostile __str__
        message = "(the exception's message could not be read)"
    return {
        "type": type(error).__name__[:100],
        "types": [cls.__name__[:100] for cls in type(error).__mro__][:20],
        "message": prefix + message[:2000],
        "frames": frames[-5:],
    }


def child_main(sock_fd: int, control_fd: int, arena: wire.Arena | None, limits: dict, isolated: bool) -> None:
    """The forked child's life: its user, limits, a clean working directory, then serve until the socket closes."""
    os.close(control_fd)
    if limits.get("uid") is not None:  # a user of its own: no capability is left once every id is its
        uid, gid = int(limits["uid"]), int(limits["gid"])
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
            os._exit(111)
    if (
        not isolated
    ):  # in bubblewrap, the sandbox's PID namespace ends with its init; here, the child ends with the zygote
        die_with(limits.get("parent"))  # after the change of user, which clears the death signal
    keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0)  # a session keyring of its own, which dies with its processes
    if not isolated:
        os.setsid()
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the child)
    workdir = limits.get("workdir", "/tmp")
    os.chdir(workdir)  # made afresh by the zygote, and checked, before this fork
    os.environ["HOME"] = workdir
    os.environ["MPLCONFIGDIR"] = os.path.join(workdir, ".matplotlib")
    for name, value in (
        ("RLIMIT_CORE", 0),
        ("RLIMIT_DATA", limits.get("memory")),
        ("RLIMIT_NPROC", limits.get("processes")),
        ("RLIMIT_FSIZE", limits.get("file_size")),
        ("RLIMIT_NOFILE", limits.get("open_files")),
        ("RLIMIT_CPU", limits.get("cpu_seconds")),
    ):
        if value is not None:
            _lower(getattr(resource, name), int(value))
    sock = socket.socket(fileno=sock_fd)
    try:
        Child(sock, arena).serve()
    finally:
        os._exit(0)


def _lower(kind: int, value: int) -> None:
    _soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))
