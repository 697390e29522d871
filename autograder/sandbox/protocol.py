"""Every message that crosses the trust boundary, by name; what both sides agree on.

Two protocols. The zygote's control socket carries small JSON messages: the grader sends
``fork`` (with one socket to hand to the new child) and ``kill``; the zygote answers ``ready``
once, then ``forked`` and ``exited`` for every child, or ``unusable`` when the sandbox cannot take
one. A child's socket carries ``wire`` frames:
one request (``op``), one reply (``ok`` or ``error``).

This module runs on both sides and imports nothing but the standard library.
"""

from __future__ import annotations

from types import ModuleType

# ---------------------------------------------------------------- the zygote's control socket

#: grader -> zygote: {"op": "fork", "limits": {memory, processes, file_size, open_files, cpu_seconds, workdir}}
#: with the child's socket as SCM_RIGHTS
FORK = "fork"
#: In a fork request: the child will compute gradients from given upstream gradients (a gradient check's); the
#: zygote imports what torch imports for them on first use (its shape checks, sympy: 0.3 s) once, before the
#: fork, instead of every such child paying it, and a zygote that never forks one never pays it.
GRADIENTS = "gradients"
KILL = "kill"  # grader -> zygote: kill the current child
READY = "ready"  # zygote -> grader, once: {"ready": true, "pid", "uid", "python", "torch", "cuda"}
FORKED = "forked"  # zygote -> grader: {"forked": pid, "check_ms": the check before it}
UNUSABLE = "unusable"  # zygote -> grader, instead of forked: {"unusable": why the sandbox cannot take a child}
EXITED = "exited"  # zygote -> grader: {"exited": pid, "status": "exited with code 0" | "killed by SIGKILL", "reset_ms"}

# ---------------------------------------------------------------- requests to a child

LOAD = "load"  # {"cells": [[filename, source], ...]} -> {"names", "notes"}: run the answer cells in order
CALL = "call"  # {"name" | "handle", "attr"?, "args", "kwargs", options} -> {"result", "apis", ...}
GET = "get"  # {"name" | "handle", "attr"} -> {"result"}
LEN = "len"  # -> {"result": len(target)}
LOOKUP = "lookup"  # {"keys", "how": "getitem" | "contains"} -> {"result": [...]}
#: ``key in obj`` on an object without ``__contains__`` is answered, as Python does, by reading its items (its
#: ``__iter__``, else ``obj[0]``, ``obj[1]``, ... until IndexError); the child gives up after this many reads
#: without the key or the end, and says so with an error of this type, rather than running to its time limit.
ENDLESS_IN = "EndlessIn"
ENDLESS_IN_READS = 100_000
SET_PARAMS = "set_params"  # {"params": {name: tensor}} -> {}: copy weights into a module
ECHO = "echo"  # {"args"} -> {"result": args}: a round trip that runs no student code
REQUESTS = (LOAD, CALL, GET, LEN, LOOKUP, SET_PARAMS, ECHO)

#: What one load may carry: answer cells, and characters of code in all of them (JSON-encoded, for
#: the grader: well within the wire's limit on a message).
MAX_CELLS = 1000
MAX_CODE = 8 << 20
#: The code's filename: a .py file is one piece, a notebook's answer cells each have their own.
SUBMISSION = "<submission>"


def cell_filename(number: int) -> str:
    """The filename answer cell ``number`` (from 1) is compiled with; 0: a .py file."""
    return f"<answer cell {number}>" if number else SUBMISSION


#: The imports every graded answer runs after: the first code cell of every notebook.
PRELUDE = "import math\nimport torch\nimport torch.nn.functional as F\nfrom torch import Tensor, nn\n"

# ---------------------------------------------------------------- what the exercises forbid

#: The one list of forbidden APIs: the name a report uses -> where torch keeps it (attribute paths).
#: The child resolves the paths to the functions it watches; the grader scans code for the names.
FORBIDDEN_APIS: dict[str, tuple[str, ...]] = {
    "F.scaled_dot_product_attention": (
        "torch.nn.functional.scaled_dot_product_attention",
        "torch._C._nn.scaled_dot_product_attention",
    ),
    "F.multi_head_attention_forward": ("torch.nn.functional.multi_head_attention_forward",),
    "nn.MultiheadAttention": (
        "torch.nn.MultiheadAttention.forward",
        "torch.nn.MultiheadAttention.__init__",
        "torch._native_multi_head_attention",
    ),
}


def forbidden_names() -> set[str]:
    """What a scan of the code looks for: the last name of every forbidden path (a method: its class)."""
    names = set()
    for paths in FORBIDDEN_APIS.values():
        for path in paths:
            *owner, last = path.split(".")
            names.add(owner[-1] if last in ("forward", "__init__") else last)
    return names


def exact_float32(torch: ModuleType) -> None:
    """No TF32 on the GPU, for the reference in the grader and for the student in the sandbox alike."""
    for backend in (getattr(torch.backends.cuda, "matmul", None), getattr(torch.backends.cudnn, "conv", None)):
        if backend is not None and hasattr(backend, "fp32_precision"):
            backend.fp32_precision = "ieee"
