"""Plain data across the trust boundary: framing and a strict codec, no pickle.

A frame is a 12-byte header (JSON length, blob length), a JSON document, then a blob of raw tensor
bytes. Every JSON object is a tagged node: ``{"$tuple": [...]}``, ``{"$dict": [[k, v], ...]}``,
``{"$lookup": [[k, v], ...], "default": d}``, ``{"$words": [[k, v], ...], "default": d}``,
``{"$tensor": {...}}``, ``{"$dtype": name}``, ``{"$device": name}``, ``{"$handle": id}``; lists,
strings, numbers, booleans and null are themselves. Decoding checks every node: unknown tags,
wrong sizes and deep nesting are errors, and tensors are rebuilt from bytes as plain
``torch.Tensor``, whatever the other side claimed to send. No two tensors of a message may claim
the same bytes, and all of them together may build at most ``max_bytes``: what a message costs
the decoder is bounded by what was sent, not by what its descriptors say.

This module runs on both sides: in the grader, and in the sandbox beside ``runtime.py``. It needs
only the standard library and torch.
"""

from __future__ import annotations

import itertools
import json
import mmap
import socket
import struct
import time
from collections.abc import Callable
from typing import Any, TypeGuard

import torch

HEADER = struct.Struct("!IQ")
MAX_JSON = 16 << 20
MAX_DEPTH = 40
MAX_BUILT = 1 << 30  # bytes of tensors one message may build (the grader passes its own, smaller limit)
TENSOR_COST = 256  # what a tensor object costs besides its bytes: thousands of empty ones are not free
DTYPES = {
    name: getattr(torch, name)
    for name in (
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
    )
}
DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}
ALIGN = 64


class WireError(Exception):
    """A frame that is not well-formed plain data, or a channel that broke."""


class Handle:
    """An object that stays on the sandbox side, known to the grader by number."""

    __slots__ = ("id", "type")

    def __init__(self, id: int, type: str = "object") -> None:
        self.id, self.type = id, type

    def __repr__(self) -> str:
        return f"<{self.type} #{self.id} in the sandbox>"


class Lookup(dict):
    """A word-to-index map that answers ``default`` for missing keys: how a reference vocabulary travels."""

    def __init__(self, mapping: Any = (), default: Any = None) -> None:
        super().__init__(mapping)
        self.default = default

    def __missing__(self, key: Any) -> Any:
        return self.default


class Words:
    """A word-to-index map that is not a dict: only ``v[word]`` (``default`` for a missing word), ``word in v``
    and ``len(v)``. How a vocabulary travels when code may use nothing else of it."""

    __slots__ = ("default", "index")
    __iter__ = None  # not iterable (without it, iter() would call v[0], v[1], ... for ever)

    def __init__(self, mapping: Any = (), default: Any = None) -> None:
        self.index, self.default = dict(mapping), default

    def __getitem__(self, key: Any) -> Any:
        return self.index.get(key, self.default)

    def __contains__(self, key: object) -> bool:
        return key in self.index

    def __len__(self) -> int:
        return len(self.index)


class Arena:
    """A shared-memory region (a memfd) where CPU tensors travel without copies.

    The grader writes a call's CPU inputs here; the sandbox wraps them as tensors that share the
    memory. After the call the grader reads them back: whether an input was modified is observed
    by the grader itself, not reported by code in the sandbox.
    """

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self.map = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.used = 0

    @classmethod
    def create(cls, size: int = 256 << 20) -> Arena:
        """A region the sandbox can write but not resize (a shrunk region would crash the grader)."""
        import fcntl
        import os

        fd = os.memfd_create("autograder-arena", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, size)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
        return cls(fd, size)

    def reset(self) -> None:
        self.used = 0

    def clear(self) -> None:
        """Drop every page, so that nothing of one submission is seen by the next."""
        self.map.madvise(mmap.MADV_REMOVE)
        self.used = 0

    def put(self, data: bytes | memoryview) -> int | None:
        start = -(-self.used // ALIGN) * ALIGN
        if start + len(data) > self.size:
            return None
        self.map[start : start + len(data)] = data
        self.used = start + len(data)
        return start

    def view(self, offset: int, nbytes: int) -> bytes:
        if offset < 0 or nbytes < 0 or offset + nbytes > self.size:
            raise WireError("tensor outside the shared region")
        return self.map[offset : offset + nbytes]

    def tensor(self, offset: int, dtype: torch.dtype, shape: list[int]) -> torch.Tensor:
        """A tensor that shares the region's memory."""
        count = _numel(shape)
        if count == 0:
            return torch.empty(shape, dtype=dtype)
        nbytes = count * _itemsize(dtype)
        if offset < 0 or offset + nbytes > self.size:
            raise WireError("tensor outside the shared region")
        flat = torch.frombuffer(self.map, dtype=torch.uint8, count=nbytes, offset=offset)
        return flat.view(dtype).reshape(shape)


def _numel(shape: list[int] | tuple[int, ...]) -> int:
    count = 1
    for n in shape:
        count *= n
    return count


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


class Encoder:
    """Turns plain data into a JSON-able tree and a blob; tensors may go to an Arena."""

    def __init__(self, arena: Arena | None = None, export: Callable[[Any], Any] | None = None) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.arena = arena
        self.export = export  # called for objects that are not plain data (sandbox side)
        self.shared: list[tuple[int, bytes]] = []  # (offset, original bytes) of arena tensors

    def blob(self, data: bytes) -> int:
        offset = -(-self.size // ALIGN) * ALIGN
        if offset > self.size:
            self.parts.append(bytes(offset - self.size))
        self.parts.append(data)
        self.size = offset + len(data)
        return offset

    def node(self, obj: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("data nested too deeply")
        if obj is None or type(obj) in (bool, int, float, str):
            return obj
        if isinstance(obj, torch.Tensor):
            return self.tensor(obj)
        kind = type(obj)
        if kind is tuple:
            return {"$tuple": [self.node(x, depth + 1) for x in obj]}
        if kind is list:
            return [self.node(x, depth + 1) for x in obj]
        if kind is dict:
            return {"$dict": [[self.node(k, depth + 1), self.node(v, depth + 1)] for k, v in obj.items()]}
        if kind is Lookup or kind is Words:
            items = obj.items() if isinstance(obj, Lookup) else obj.index.items()
            pairs = [[self.node(k, depth + 1), self.node(v, depth + 1)] for k, v in items]
            tag = "$lookup" if kind is Lookup else "$words"
            return {tag: pairs, "default": self.node(obj.default, depth + 1)}
        if isinstance(obj, torch.dtype):
            return {"$dtype": DTYPE_NAMES[obj]}
        if isinstance(obj, torch.device):
            return {"$device": str(obj)}
        if isinstance(obj, Handle):
            return {"$handle": obj.id, "type": obj.type}
        if self.export is not None:
            return self.node(self.export(obj), depth + 1)
        raise WireError(f"cannot send a {type(obj).__name__}")

    def tensor(self, t: torch.Tensor) -> dict:
        if t.dtype not in DTYPE_NAMES:
            raise WireError(f"unsupported dtype {t.dtype}")
        desc: dict[str, Any] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "device": str(t.device)}
        if t.device.type == "meta":
            return {"$tensor": desc}
        data = tensor_bytes(t)
        if self.arena is not None and t.device.type == "cpu":
            offset = self.arena.put(data)
            if offset is not None:
                self.shared.append((offset, data))
                desc.update(shared=offset, nbytes=len(data))
                return {"$tensor": desc}
        desc.update(offset=self.blob(data), nbytes=len(data))
        return {"$tensor": desc}


def encode(
    message: dict[str, Any], arena: Arena | None = None, export: Callable[[Any], Any] | None = None
) -> tuple[bytes, Encoder]:
    enc = Encoder(arena, export)
    tree = {key: enc.node(value) for key, value in message.items()}
    text = json.dumps(tree, separators=(",", ":")).encode()
    if len(text) > MAX_JSON:
        raise WireError("message too large")
    return HEADER.pack(len(text), enc.size) + text + b"".join(enc.parts), enc


class Decoder:
    """Rebuilds plain data from a tree and a blob, checking every node."""

    def __init__(
        self,
        blob: bytes,
        arena: Arena | None = None,
        resolve: Callable[[int], Any] | None = None,
        place: Callable[[torch.Tensor, str], torch.Tensor] | None = None,
        max_bytes: int = MAX_BUILT,
    ) -> None:
        self.blob = blob
        self.arena = arena
        self.resolve = resolve  # handle id -> object (sandbox side); default: a Handle
        self.place = place  # (tensor, device string) -> tensor on the device it should be on
        self.left = max_bytes  # bytes this message may still build, over all its tensors
        self.max_bytes = max_bytes

    def spend(self, nbytes: int) -> None:
        self.left -= nbytes + TENSOR_COST
        if self.left < 0:
            raise WireError(f"the message builds more than {self.max_bytes} bytes of tensors")

    def node(self, x: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("data nested too deeply")
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, list):
            return [self.node(v, depth + 1) for v in x]
        if not isinstance(x, dict) or len(x) not in (1, 2):
            raise WireError("malformed node")
        if "$tuple" in x:
            return tuple(self.node(v, depth + 1) for v in _list(x["$tuple"]))
        if "$dict" in x or "$lookup" in x:
            return self.mapping(x, depth)
        if "$words" in x:
            pairs = self.mapping({"$dict": x["$words"]}, depth)
            return Words(pairs, self.node(x.get("default"), depth + 1))
        if "$tensor" in x:
            return self.tensor(x["$tensor"])
        if "$dtype" in x:
            if x["$dtype"] not in DTYPES:
                raise WireError("unknown dtype")
            return DTYPES[x["$dtype"]]
        if "$device" in x:
            return torch.device(_device_name(x["$device"]))
        if "$handle" in x:
            return self.handle(x)
        raise WireError("unknown tag")

    def mapping(self, x: dict, depth: int) -> dict:
        """A ``$dict`` (or a ``$lookup``, with its default) of plain keys."""
        out = {} if "$dict" in x else Lookup(default=self.node(x.get("default"), depth + 1))
        for pair in _list(x["$dict"] if "$dict" in x else x["$lookup"]):
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("malformed dict")
            key = self.node(pair[0], depth + 1)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise WireError("unhashable dict key")
            out[key] = self.node(pair[1], depth + 1)
        return out

    def handle(self, x: dict) -> Any:
        """An object of the other side: resolved there (sandbox side), a ``Handle`` here."""
        if not isinstance(x["$handle"], int) or isinstance(x["$handle"], bool):
            raise WireError("malformed handle")
        kind = x.get("type", "object")
        if not isinstance(kind, str):
            raise WireError("malformed handle")
        if self.resolve is not None:
            return self.resolve(x["$handle"])
        return Handle(x["$handle"], kind[:100])

    def tensor(self, desc: Any) -> torch.Tensor:
        if not isinstance(desc, dict) or desc.get("dtype") not in DTYPES:
            raise WireError("malformed tensor")
        dtype = DTYPES[desc["dtype"]]
        shape = desc.get("shape")
        if not isinstance(shape, list) or len(shape) > 32 or not all(_is_size(n) for n in shape):
            raise WireError("malformed tensor shape")
        device = _device_name(desc.get("device"))
        nbytes = _numel(shape) * _itemsize(dtype)
        if device == "meta":  # no memory behind it, but what is computed from it may have some
            if nbytes > self.max_bytes:
                raise WireError(f"a meta tensor of {_numel(shape)} elements is over the limit")
            self.spend(0)
            return torch.empty(shape, dtype=dtype, device="meta")
        if desc.get("nbytes") != nbytes:
            raise WireError("tensor size does not match its shape")
        self.spend(nbytes)
        if "shared" in desc:
            if self.arena is None or not _is_size(desc["shared"]):
                raise WireError("no shared region")
            t = self.arena.tensor(desc["shared"], dtype, shape)
        else:
            offset = desc.get("offset")
            if not _is_size(offset) or offset + nbytes > len(self.blob):
                raise WireError("tensor outside the blob")
            if nbytes == 0:
                t = torch.empty(shape, dtype=dtype)
            else:
                raw = bytearray(self.blob[offset : offset + nbytes])
                t = torch.frombuffer(raw, dtype=torch.uint8).view(dtype).reshape(shape)
        return self.place(t, device) if self.place is not None else t


def claimed_ranges(tree: Any) -> None:
    """WireError if two tensors of a message claim overlapping or repeated bytes of the blob or region.

    Checked on the JSON tree, before any tensor is built: a message whose thousands of tensors all
    point at the same bytes is refused at once, not after thousands of copies.
    """
    ranges: dict[str, list[tuple[int, int]]] = {"offset": [], "shared": []}
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            desc = node.get("$tensor")
            if isinstance(desc, dict):
                nbytes = desc.get("nbytes")
                for source, found in ranges.items():
                    start = desc.get(source)
                    if _is_size(start) and _is_size(nbytes) and nbytes > 0:
                        found.append((start, start + nbytes))
            else:
                stack.extend(node.values())
    for found in ranges.values():
        found.sort()
        for (_, end), (start, _) in itertools.pairwise(found):
            if start < end:
                raise WireError("tensors overlap: the same bytes are claimed twice")


def _list(x: Any) -> list:
    if not isinstance(x, list):
        raise WireError("malformed node")
    return x


def _is_size(n: object) -> TypeGuard[int]:
    return isinstance(n, int) and not isinstance(n, bool) and 0 <= n < (1 << 48)


def _device_name(name: object) -> str:
    if not isinstance(name, str):
        raise WireError("malformed device")
    if name in ("cpu", "meta", "cuda") or (name.startswith("cuda:") and name[5:].isdigit()):
        return name
    raise WireError(f"unexpected device {name[:20]!r}")


def decode(
    text: bytes,
    blob: bytes,
    arena: Arena | None = None,
    resolve: Callable[[int], Any] | None = None,
    place: Callable[[torch.Tensor, str], torch.Tensor] | None = None,
    max_bytes: int = MAX_BUILT,
) -> dict[str, Any]:
    """A message from a frame; ``max_bytes`` bounds what its tensors build, whatever the frame claims."""
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise WireError("malformed JSON") from error
    if not isinstance(tree, dict):
        raise WireError("a message must be an object")
    dec = Decoder(blob, arena, resolve, place, max_bytes)
    try:
        claimed_ranges(tree)
        return {key: dec.node(value) for key, value in tree.items()}
    except RecursionError as error:
        raise WireError("data nested too deeply") from error


def send(sock: socket.socket, frame: bytes, deadline: float | None = None) -> None:
    sock.settimeout(None if deadline is None else max(deadline - time.monotonic(), 0.001))
    try:
        sock.sendall(frame)
    except OSError as error:
        raise WireError(f"channel broke: {error}") from error


def _read(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
        else:
            sock.settimeout(None)
        try:
            k = sock.recv_into(view[got:], n - got)
        except TimeoutError as error:
            raise TimeoutError from error
        except OSError as error:
            raise WireError(f"channel broke: {error}") from error
        if k == 0:
            raise EOFError
        got += k
    return bytes(buf)


def receive(sock: socket.socket, deadline: float | None = None, max_blob: int = 1 << 30) -> tuple[bytes, bytes]:
    """One frame: (JSON text, blob). TimeoutError past the deadline, EOFError at end of stream."""
    text_len, blob_len = HEADER.unpack(_read(sock, HEADER.size, deadline))
    if text_len > MAX_JSON or blob_len > max_blob:
        raise WireError(f"message of {text_len + blob_len} bytes is over the limit")
    return _read(sock, text_len, deadline), _read(sock, blob_len, deadline)
