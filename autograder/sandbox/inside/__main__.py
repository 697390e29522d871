"""``python -m sandbox.inside``: start the zygote (in bubblewrap, or a plain process when degraded)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import socket
import sys
from types import ModuleType

from .. import protocol
from . import seeds
from .reset import empty
from .zygote import (
    PR_SET_CHILD_SUBREAPER,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    Zygote,
    die_with,
    drop_privileges,
    prctl,
)

#: Imported once in the zygote, so that no child pays for them.
PREIMPORT = ("collections", "itertools", "functools", "typing", "dataclasses", "string", "re", "numpy")


def warm_up(torch: ModuleType) -> None:
    """Run once what the checks use, so that torch's lazy imports happen here, not in every child."""
    from .watch import Watch, forbidden_functions, found

    F = torch.nn.functional
    for device in ("cpu",):
        x = torch.ones(2, 3, 4, device=device)
        mask = torch.zeros(2, 1, 4, dtype=torch.bool, device=device)
        scores = (x @ x.transpose(-2, -1)).masked_fill(mask[..., :3], float("-inf"))
        torch.softmax(scores, dim=-1).nan_to_num(0.0)
        F.conv1d(x.reshape(-1, 1, 4), torch.ones(1, 1, 2, device=device))
        torch.nn.Linear(4, 4).to(device)(x)
        x.unfold(-1, 2, 1)
        torch.einsum("bld,bsd->bls", x, x)
    with Watch(forbidden_functions()):
        torch.ones(2) + torch.arange(2, dtype=torch.float32).to("cpu")
    found()
    leaf = torch.ones(3, requires_grad=True)
    torch.autograd.grad((leaf * 2).sum(), [leaf])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--arena", type=int)
    parser.add_argument("--arena-size", type=int, default=0)
    parser.add_argument("--uid", type=int, help="run as this user and its own group, and so do the children")
    parser.add_argument(
        "--child-gid", type=int, help="root in a sandbox: every child a uid of its own, with this group"
    )
    parser.add_argument("--isolated", action="store_true", help="in a sandbox with its own PID namespace")
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument("--parent", type=int, help="the grader's job that started it (without bubblewrap)")
    args = parser.parse_args(argv)

    if not args.isolated:
        die_with(args.parent)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    gc.disable()  # the imports and the warm-up make no garbage worth collecting (a tenth of a second of CPU)
    import torch  # after the death signal: a grader that dies during this import takes the zygote with it

    from .. import wire

    torch.set_num_threads(1)
    protocol.exact_float32(torch)
    warm_up(torch)
    from . import child  # noqa: F401 (its imports too, while Python's own directories are readable)
    from .watch import forbid

    forbid()  # before any student code: every child inherits the stubs
    seeds.install()  # before the imports below: a module that binds os.urandom when imported binds the stream
    for name in PREIMPORT:
        with contextlib.suppress(ImportError):
            __import__(name)
    gc.freeze()  # what lives as long as the zygote is out of the collector's sight, in every child too (see run)
    gc.enable()
    if args.isolated:  # what the warm-up left in /tmp (torch's caches) is not for the children
        empty(os.path.dirname(args.workdir))
    if args.child_gid is not None and (args.uid is not None or not args.isolated):
        raise SystemExit("a uid per child is given only in a sandbox with its own PID namespace, by a root zygote")
    if args.uid is not None:
        drop_privileges(args.uid, args.uid)
        if not args.isolated:
            die_with(args.parent)  # a change of user clears the death signal
    prctl(PR_SET_DUMPABLE, 0)  # children of the same user may not read or trace the zygote
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans of a child come to us, to be reaped
    control = socket.socket(fileno=args.control)
    arena = wire.Arena(args.arena, args.arena_size) if args.arena is not None else None
    zygote = Zygote(control, arena, args.isolated, args.workdir, own_uid=args.uid is not None, child_gid=args.child_gid)
    zygote.tell(
        {
            protocol.READY: True,
            "pid": os.getpid(),
            "uid": "one per child" if args.child_gid is not None else os.getuid(),
            "gid": args.child_gid if args.child_gid is not None else os.getgid(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "cuda": bool(torch.version.cuda),
        }
    )
    zygote.run()


if __name__ == "__main__":
    main()
