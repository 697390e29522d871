"""Does the decoder refuse replies that would make the grader build more than the child sent?"""

import json

import pytest
import torch

from autograder.sandbox import wire
from autograder.sandbox.launch import Limits


def tensor(offset: int, nbytes: int, shape: list[int], dtype: str = "uint8", device: str = "cpu") -> dict:
    return {"$tensor": {"dtype": dtype, "shape": shape, "device": device, "offset": offset, "nbytes": nbytes}}


def frame(message: dict) -> bytes:
    return json.dumps(message).encode()


def test_an_honest_reply_decodes_to_the_same_tensors():
    sent = {"result": (torch.arange(6.0).reshape(2, 3), [torch.ones(4, dtype=torch.int64)], torch.empty(0))}
    data, _ = wire.encode(sent)
    text_len, _ = wire.HEADER.unpack(data[: wire.HEADER.size])
    text, blob = data[wire.HEADER.size : wire.HEADER.size + text_len], data[wire.HEADER.size + text_len :]
    got = wire.decode(text, blob, max_bytes=Limits.reply_size)["result"]
    assert torch.equal(got[0], sent["result"][0])
    assert torch.equal(got[1][0], sent["result"][1][0])
    assert got[2].shape == (0,)


def test_ten_thousand_tensors_on_the_same_bytes_are_refused_before_any_is_built():
    blob = bytes(1 << 20)
    message = {"result": [tensor(0, 1 << 20, [1 << 20]) for _ in range(10_000)]}
    built = []
    with pytest.raises(wire.WireError, match="the same bytes are claimed twice"):
        wire.decode(frame(message), blob, place=lambda t, device: built.append(t) or t, max_bytes=1 << 40)
    assert built == []  # refused on the descriptors: not one of the ten thousand MiB copies was made


def test_overlapping_ranges_are_refused():
    message = {"result": [tensor(0, 64, [64]), tensor(32, 64, [64])]}
    with pytest.raises(wire.WireError, match="the same bytes are claimed twice"):
        wire.decode(frame(message), bytes(128))


def test_overlapping_ranges_are_refused_in_any_order_and_nesting():
    message = {"a": {"$dict": [["k", tensor(64, 64, [64])]]}, "b": {"$tuple": [[tensor(0, 72, [72])]]}}
    with pytest.raises(wire.WireError, match="the same bytes are claimed twice"):
        wire.decode(frame(message), bytes(128))


def test_adjacent_ranges_are_accepted():
    message = {"result": [tensor(0, 64, [64]), tensor(64, 64, [64]), tensor(0, 0, [0])]}
    got = wire.decode(frame(message), bytes(range(128)))["result"]
    assert got[1].tolist() == list(range(64, 128))
    assert got[2].numel() == 0


def test_tensors_over_the_total_limit_are_refused():
    message = {"result": [tensor(0, 600, [600]), tensor(640, 600, [600])]}
    assert len(wire.decode(frame(message), bytes(1280), max_bytes=2000)["result"]) == 2
    with pytest.raises(wire.WireError, match="builds more than 1000 bytes"):
        wire.decode(frame(message), bytes(1280), max_bytes=1000)


def test_thousands_of_empty_tensors_count_against_the_limit():
    message = {"result": [tensor(0, 0, [0]) for _ in range(5000)]}
    with pytest.raises(wire.WireError, match="builds more than"):
        wire.decode(frame(message), b"", max_bytes=1 << 20)


def test_a_huge_meta_tensor_is_refused():
    shape = [1 << 30, 1 << 30]
    message = {"result": {"$tensor": {"dtype": "float32", "shape": shape, "device": "meta"}}}
    with pytest.raises(wire.WireError, match="a meta tensor of 1152921504606846976 elements is over the limit"):
        wire.decode(frame(message), b"", max_bytes=Limits.reply_size)


def test_a_meta_tensor_within_the_limit_is_built_on_meta():
    message = {"result": {"$tensor": {"dtype": "float16", "shape": [4, 1024], "device": "meta"}}}
    got = wire.decode(frame(message), b"", max_bytes=Limits.reply_size)["result"]
    assert (got.device.type, tuple(got.shape), got.dtype) == ("meta", (4, 1024), torch.float16)


def test_shared_region_ranges_may_not_overlap_either():
    arena = wire.Arena.create(1 << 16)
    try:
        desc = {"dtype": "uint8", "shape": [256], "device": "cpu", "shared": 0, "nbytes": 256}
        message = {"result": [{"$tensor": desc}, {"$tensor": {**desc, "shared": 128}}]}
        with pytest.raises(wire.WireError, match="the same bytes are claimed twice"):
            wire.decode(frame(message), b"", arena=arena)
    finally:
        arena.map.close()


def test_placing_on_a_device_happens_once_per_distinct_range():
    placed = []
    message = {"result": [tensor(0, 16, [16], device="cuda"), tensor(16, 16, [16], device="cuda")]}
    wire.decode(frame(message), bytes(32), place=lambda t, device: placed.append(device) or t)
    assert placed == ["cuda", "cuda"]
    with pytest.raises(wire.WireError):
        wire.decode(frame({"result": [message["result"][0]] * 2}), bytes(32), place=lambda t, d: placed.append(d))
    assert len(placed) == 2
