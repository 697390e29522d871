"""The sandbox side: a warm zygote that forks one fresh child per submission.

This file runs inside the sandbox, as a script beside a copy of ``wire.py``; it never runs in the
grader's process. The zygote imports torch once, drops its privileges, and then, for each
submission, receives a socket from the grader, forks a child that owns that socket, waits for it,
kills whatever the child left behind, wipes the temporary directory, and reports how the child
ended. The child loads the student's code and answers requests: call a function or method, read an
attribute, copy parameters into a module. Everything it sends back is plain data (``wire``);
objects that are not stay in the child and travel as numbered handles.
"""

from __future__ import annotations
import __future__

import argparse
import ast
import ctypes
import json
import linecache
import os
import resource
import select
import shutil
import signal
import socket
import sys
import time
import traceback
import types

if __package__:  # imported by the grader's tests
    from autograder import wire
else:  # run as a script in the sandbox, beside a copy of wire.py
    import wire

#: The imports every graded answer runs after: the first code cell of every notebook.
PRELUDE = "import math\nimport torch\nimport torch.nn.functional as F\nfrom torch import Tensor, nn\n"
SUBMISSION = "<submission>"
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
PREIMPORT = ("collections", "itertools", "functools", "typing", "dataclasses", "string", "re", "numpy")


def prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


# ---------------------------------------------------------------- the child: one submission


class Child:
    """Loads one submission and answers the grader's requests over a socket."""

    def __init__(self, sock: socket.socket, arena: wire.Arena | None) -> None:
        import torch

        self.torch = torch
        self.sock = sock
        self.arena = arena
        self.module: types.ModuleType | None = None
        self.objects: dict[int, object] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> handle
        self.forbidden = _forbidden_apis(torch)

    # --- plain data in and out

    def export(self, obj):
        """What to send for an object that is not plain data: a number, or a handle."""
        if type(obj).__module__ == "numpy" and getattr(obj, "ndim", None) == 0:  # a numpy scalar: its number
            return obj.item()
        key = id(obj)
        if key not in self.ids:
            handle = len(self.objects) + 1
            self.objects[handle] = obj
            self.ids[key] = handle
        return wire.Handle(self.ids[key], type(obj).__name__)

    def resolve(self, handle: int):
        if handle not in self.objects:
            raise LookupError(f"no object #{handle}")
        return self.objects[handle]

    def place(self, t, device: str):
        return t if device in ("cpu", "meta") else t.to(device)

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
                reply = {"error": describe(error, "could not send back the result: ")}
                frame, _ = wire.encode(reply)
            wire.send(self.sock, frame)
            if reply.get("bye"):
                return

    def dispatch(self, message: dict) -> dict:
        op = message.get("op")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise wire.WireError(f"unknown request {op!r}")
        try:
            return handler(message)
        except BaseException as error:  # the student's code raised (SystemExit included)
            return {"error": describe(error)}

    def op_load(self, message: dict) -> dict:
        """Run the answer cells' code one top-level statement at a time.

        As in a notebook, where a failing cell does not stop the next one: a statement that raises
        (a test line using a variable of another cell, say) is skipped and reported as a note.
        """
        code = message["code"]
        module = types.ModuleType("submission")
        module.__file__ = SUBMISSION
        sys.modules["submission"] = module
        linecache.cache[SUBMISSION] = (len(code), None, code.splitlines(True), SUBMISSION)
        exec(compile(PRELUDE, "<prelude>", "exec"), module.__dict__)
        tree = compile(code, SUBMISSION, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)  # SyntaxError: no load
        flags, notes = 0, []
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                flags |= sum(getattr(__future__, alias.name).compiler_flag for alias in node.names)
            statement = compile(ast.Module(body=[node], type_ignores=[]), SUBMISSION, "exec", flags, dont_inherit=True)
            try:
                exec(statement, module.__dict__)
            except Exception as error:
                notes.append(f"line {node.lineno} raised {describe(error)['type']}: {describe(error)['message'][:200]}")
        self.module = module
        names = [n for n, v in vars(module).items() if not n.startswith("_") and callable(v)]
        return {"ok": True, "names": names, "notes": notes[:10]}

    def target(self, message: dict):
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
        torch = self.torch
        fn = self.target(message)
        args, kwargs = message.get("args", []), message.get("kwargs", {})
        grad = message.get("grad")
        leaves = []
        if grad is not None:
            args, kwargs = _map_tensors((args, kwargs), lambda t: _leaf(t, leaves))
        watch = Watch(self.forbidden, meta_guard=bool(message.get("meta_guard")))
        if message.get("return_args"):  # the grader compares these with what it sent
            sent = _copy_plain((args, kwargs))
        if message.get("watch", True):
            with watch:
                result = fn(*args, **kwargs)
        else:
            result = fn(*args, **kwargs)
        reply = {"ok": True, "result": result, "apis": sorted(watch.seen)}
        if message.get("return_args"):
            reply["args_changed"] = _copy_plain((args, kwargs)) != sent
        if grad is not None:
            reply.update(self.gradients(fn, result, leaves, grad))
        if message.get("modules"):
            reply["modules"] = _module_types(torch, result)
        return reply

    def gradients(self, fn, result, leaves, grad) -> dict:
        torch = self.torch
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

    def op_getitem(self, message: dict) -> dict:
        return {"ok": True, "result": self.target(message)[message["key"]]}

    def op_contains(self, message: dict) -> dict:
        return {"ok": True, "result": message["key"] in self.target(message)}

    def op_set_params(self, message: dict) -> dict:
        torch = self.torch
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
                values.append(key in obj if contains else obj[key])
            except BaseException as error:
                what = f"{key!r} in the object" if contains else f"looking up {key!r}"
                return {"error": describe(error, f"{what}: ")}
        return {"ok": True, "result": values}

    def op_echo(self, message: dict) -> dict:
        return {"ok": True, "result": message.get("args")}

    def op_exit(self, message: dict) -> dict:
        return {"ok": True, "bye": True}


class Watch:
    """Records calls of APIs the exercises forbid; on the meta device, forbids mixing devices.

    PyTorch lets a CPU tensor meet a meta tensor in some operations (F.conv1d) where CUDA would
    refuse; the guard holds meta runs to CUDA's rule, so that a tensor left on the CPU is caught
    without a GPU. CPU scalars (0-dim) are allowed, as on CUDA.
    """

    MIXING_ALLOWED = ("to", "copy_", "type_as", "__getitem__", "__setitem__", "new_tensor", "__repr__", "__format__")

    def __init__(self, forbidden: dict, meta_guard: bool) -> None:
        from torch.overrides import TorchFunctionMode

        watch = self

        class Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                api = forbidden.get(func)
                if api is not None:
                    watch.seen.add(api)
                name = getattr(func, "__name__", "")
                internal = name.startswith("_") and not name.startswith("__")  # e.g. nn.Module.to's helpers
                if meta_guard and not internal and name not in Watch.MIXING_ALLOWED:
                    _guard_devices(func, args, kwargs)
                return func(*args, **kwargs)

        self.seen: set[str] = set()
        self.mode = Mode()

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)


def _guard_devices(func, args, kwargs) -> None:
    import torch

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


def _forbidden_apis(torch) -> dict:
    F = torch.nn.functional
    names = {
        F.scaled_dot_product_attention: "F.scaled_dot_product_attention",
        F.multi_head_attention_forward: "F.multi_head_attention_forward",
        torch.nn.MultiheadAttention.forward: "nn.MultiheadAttention",
    }
    native = getattr(torch, "_native_multi_head_attention", None)
    if native is not None:
        names[native] = "nn.MultiheadAttention"
    sdpa = getattr(torch._C._nn, "scaled_dot_product_attention", None)
    if sdpa is not None:
        names[sdpa] = "F.scaled_dot_product_attention"
    return names


def _copy_plain(obj):
    """A deep copy of plain Python data (lists, dicts, strings), for comparing before and after."""
    if type(obj) in (list, tuple):
        return type(obj)(_copy_plain(x) for x in obj)
    if type(obj) is dict:
        return {k: _copy_plain(v) for k, v in obj.items()}
    return obj if type(obj) in (str, int, float, bool, type(None)) else id(obj)


def _module_types(torch, obj) -> list[str]:
    if not isinstance(obj, torch.nn.Module):
        return []
    return sorted({type(m).__module__ + "." + type(m).__name__ for m in obj.modules()})


def _tensors(obj):
    import torch

    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _tensors(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _tensors(x)


def _map_tensors(obj, fn):
    import torch

    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, tuple):
        return tuple(_map_tensors(x, fn) for x in obj)
    if isinstance(obj, list):
        return [_map_tensors(x, fn) for x in obj]
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    return obj


def _leaf(t, leaves: list):
    if not t.is_floating_point():
        return t
    leaf = t.detach().requires_grad_()
    leaves.append(leaf)
    return leaf


def describe(error: BaseException, prefix: str = "") -> dict:
    """The student's exception as plain data: type names, message, and frames of their code."""
    frames = [
        f"line {f.lineno}, in {f.name}: {(f.line or '').strip()}"
        for f in traceback.extract_tb(error.__traceback__)
        if f.filename == SUBMISSION
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
    os.close(control_fd)
    if not isolated:
        os.setsid()
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    workdir = limits.get("workdir", "/tmp")
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
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
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


# ---------------------------------------------------------------- the zygote


def describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exited with code {os.WEXITSTATUS(status)}"


class Zygote:
    def __init__(
        self, control: socket.socket, arena: wire.Arena | None, isolated: bool, workdir: str, own_uid: bool = False
    ) -> None:
        self.own_uid = own_uid  # no other process runs as this user: kill(-1) reaches only ours
        self.control = control
        self.arena = arena
        self.isolated = isolated
        self.workdir = workdir

    def tell(self, message: dict) -> None:
        self.control.send(json.dumps(message).encode())

    def listen(self):
        data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 4)
        if not data:
            return None, []
        return json.loads(data), fds

    def run(self) -> None:
        while True:
            message, fds = self.listen()
            if message is None:
                return
            if message.get("op") != "fork" or len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                continue
            pid = os.fork()
            if pid == 0:
                child_main(fds[0], self.control.fileno(), self.arena, message.get("limits", {}), self.isolated)
            os.close(fds[0])
            self.tell({"forked": pid})
            status = self.wait(pid)
            self.clean(pid)
            self.tell({"exited": pid, "status": status})
            if status is None:  # the grader went away
                return

    def wait(self, pid: int) -> str | None:
        pidfd = os.pidfd_open(pid)
        try:
            while True:
                ready, _, _ = select.select([self.control, pidfd], [], [])
                if pidfd in ready:
                    _, status = os.waitpid(pid, 0)
                    return describe_status(status)
                message, fds = self.listen()
                for fd in fds:
                    os.close(fd)
                if message is None:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return None
                if message.get("op") == "kill":
                    os.kill(pid, signal.SIGKILL)
        finally:
            os.close(pidfd)

    @staticmethod
    def reap() -> None:
        """Collect the exit status of every child that ended (orphans come to us: a subreaper)."""
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    return
            except ChildProcessError:
                return

    def clean(self, pid: int) -> None:
        """Kill every process the child left behind, and wipe the temporary directory."""
        if self.isolated or self.own_uid:  # our PID namespace, or a user of our own: everything but us goes
            for _ in range(500):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
                self.reap()
                time.sleep(0.001)
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.reap()
        for root in (self.workdir, "/dev/shm" if self.isolated else None):
            if root and os.path.isdir(root):
                for entry in os.scandir(root):
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            shutil.rmtree(entry.path, ignore_errors=True)
                        else:
                            os.unlink(entry.path)
                    except OSError:
                        pass


def exact_float32(torch) -> None:
    """No TF32 on the GPU: the grader turns it off for the reference, and so here (see runner.py)."""
    for backend in (getattr(torch.backends.cuda, "matmul", None), getattr(torch.backends.cudnn, "conv", None)):
        if backend is not None and hasattr(backend, "fp32_precision"):
            backend.fp32_precision = "ieee"


def warm_up(torch) -> None:
    """Run once what the checks use, so that torch's lazy imports happen here, not in every child."""
    F = torch.nn.functional
    for device in ("cpu", "meta"):
        x = torch.ones(2, 3, 4, device=device)
        mask = torch.zeros(2, 1, 4, dtype=torch.bool, device=device)
        scores = (x @ x.transpose(-2, -1)).masked_fill(mask[..., :3], float("-inf"))
        torch.softmax(scores, dim=-1).nan_to_num(0.0)
        F.conv1d(x.reshape(-1, 1, 4), torch.ones(1, 1, 2, device=device))
        torch.nn.Linear(4, 4).to(device)(x)
        x.unfold(-1, 2, 1)
        torch.einsum("bld,bsd->bls", x, x)
    with Watch(_forbidden_apis(torch), meta_guard=True):
        torch.ones(2, device="meta") + 1
    leaf = torch.ones(3, requires_grad=True)
    torch.autograd.grad((leaf * 2).sum(), [leaf])


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("could not drop privileges")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--arena", type=int)
    parser.add_argument("--arena-size", type=int, default=0)
    parser.add_argument("--uid", type=int)
    parser.add_argument("--gid", type=int)
    parser.add_argument("--isolated", action="store_true", help="in a sandbox with its own PID namespace")
    parser.add_argument("--workdir", default="/tmp")
    args = parser.parse_args(argv)

    if not args.isolated:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    import torch

    torch.set_num_threads(1)
    exact_float32(torch)
    warm_up(torch)
    for name in PREIMPORT:
        try:
            __import__(name)
        except ImportError:
            pass
    if args.uid is not None:
        drop_privileges(args.uid, args.gid if args.gid is not None else args.uid)
    prctl(PR_SET_DUMPABLE, 0)  # children of the same user may not read or trace the zygote
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of a child come to us, to be reaped
    control = socket.socket(fileno=args.control)
    arena = wire.Arena(args.arena, args.arena_size) if args.arena is not None else None
    zygote = Zygote(control, arena, args.isolated, args.workdir, own_uid=args.uid is not None)
    zygote.tell(
        {
            "ready": True,
            "uid": os.getuid(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "cuda": bool(torch.version.cuda),
        }
    )
    zygote.run()


if __name__ == "__main__":
    main()
