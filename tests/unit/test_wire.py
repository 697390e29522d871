"""Does the wire codec carry every kind of plain data both ways, and refuse every malformed frame?"""

import json
import re
import socket
import struct

import pytest
import torch

from autograder.sandbox import wire
from autograder.sandbox.wire import DTYPES, HEADER, MAX_DEPTH, Arena, Handle, Lookup, WireError, Words


def round_trip(message: dict, arena: Arena | None = None) -> dict:
    """``message`` encoded to one frame and decoded back, as the other side would."""
    frame, _ = wire.encode(message, arena)
    text_len, blob_len = HEADER.unpack(frame[: HEADER.size])
    text = frame[HEADER.size : HEADER.size + text_len]
    blob = frame[HEADER.size + text_len :]
    assert len(blob) == blob_len
    return wire.decode(text, blob, arena)


def decode_tree(tree, blob: bytes = b"") -> dict:
    """A hand-written JSON tree decoded as a received frame would be."""
    return wire.decode(json.dumps(tree).encode(), blob)


def sample(dtype: torch.dtype, shape) -> torch.Tensor:
    """Distinct values of ``dtype`` in ``shape`` (booleans alternate)."""
    values = torch.arange(1, 1 + torch.Size(shape).numel())
    if dtype == torch.bool:
        return (values % 2 == 0).reshape(shape)
    return values.to(dtype).reshape(shape) if not dtype.is_complex else (values + 1j * values).to(dtype).reshape(shape)


# ---------------------------------------------------------------- round trips


def test_plain_values_lists_tuples_and_nested_dicts_come_back_equal_with_their_types():
    message = {"none": None, "flag": True, "n": -3, "x": 0.25, "s": "bank", "items": [1, (2, "3"), [None]]}
    message["nested"] = {"a": {"b": (1.5, [True])}}
    got = round_trip(message)
    assert got == message
    assert type(got["items"][1]) is tuple
    assert type(got["nested"]["a"]["b"]) is tuple


def test_dicts_keep_their_non_string_keys():
    got = round_trip({"d": {1: "one", 2.5: "half", False: "no", None: "none", "w": 0}})
    assert got["d"] == {1: "one", 2.5: "half", False: "no", None: "none", "w": 0}
    assert list(got["d"]) == [1, 2.5, False, None, "w"]
    assert [type(k) for k in got["d"]] == [int, float, bool, type(None), str]


def test_a_lookup_comes_back_as_a_lookup_that_answers_its_default():
    got = round_trip({"vocab": Lookup({"<pad>": 0, "<unk>": 1, "bank": 3}, default=1)})["vocab"]
    assert type(got) is Lookup
    assert dict(got) == {"<pad>": 0, "<unk>": 1, "bank": 3}
    assert (got["bank"], got["test"]) == (3, 1)


def test_words_come_back_as_words_that_are_no_dict():
    """A vocabulary that offers only v[word], word in v and len(v): no .get, no iteration."""
    got = round_trip({"vocab": Words({"bank": 0, "<unk>": 7, "<pad>": 3}, default=7)})["vocab"]
    assert type(got) is Words
    assert not isinstance(got, dict)
    assert (got["bank"], got["<pad>"], got["test"], len(got)) == (0, 3, 7, 3)
    assert "bank" in got
    assert "test" not in got
    assert not hasattr(got, "get")
    with pytest.raises(TypeError):
        iter(got)


def test_dtypes_and_devices_come_back_as_torch_objects():
    message = {"dtypes": list(DTYPES.values()), "devices": [torch.device("cpu"), torch.device("meta")]}
    message["cuda"] = [torch.device("cuda"), torch.device("cuda:1")]
    got = round_trip(message)
    assert got["dtypes"] == list(DTYPES.values())
    assert got["devices"] == [torch.device("cpu"), torch.device("meta")]
    assert got["cuda"] == [torch.device("cuda"), torch.device("cuda:1")]


def test_a_handle_comes_back_as_a_handle_of_the_same_id_and_type():
    got = round_trip({"h": Handle(7, "Vocab")})["h"]
    assert type(got) is Handle
    assert (got.id, got.type) == (7, "Vocab")
    assert repr(got) == "<Vocab #7 in the sandbox>"


def test_a_handle_is_resolved_by_the_receiving_side():
    frame, _ = wire.encode({"h": Handle(7, "Vocab")})
    text_len, _ = HEADER.unpack(frame[: HEADER.size])
    text = frame[HEADER.size : HEADER.size + text_len]
    assert wire.decode(text, b"", resolve=lambda id: f"object {id}") == {"h": "object 7"}


@pytest.mark.parametrize("name", list(DTYPES))
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)], ids=str)
def test_tensors_of_every_dtype_and_shape_come_back_bit_for_bit(name, shape):
    t = sample(DTYPES[name], shape)
    got = round_trip({"t": t})["t"]
    assert type(got) is torch.Tensor
    assert (got.dtype, tuple(got.shape), got.device.type) == (t.dtype, shape, "cpu")
    assert torch.equal(got, t)


def test_a_non_contiguous_tensor_comes_back_with_its_values():
    t = torch.arange(12.0).reshape(3, 4).t()
    got = round_trip({"t": t})["t"]
    assert got.is_contiguous()
    assert torch.equal(got, t)


def test_a_tensor_subclass_comes_back_as_a_plain_tensor():
    class Liar(torch.Tensor):
        pass

    got = round_trip({"t": torch.ones(2).as_subclass(Liar)})["t"]
    assert type(got) is torch.Tensor
    assert torch.equal(got, torch.ones(2))


@pytest.mark.parametrize("name", ["float32", "int64", "bool", "complex64"])
def test_meta_tensors_travel_as_shape_and_dtype_only(name):
    t = torch.empty(2, 3, dtype=DTYPES[name], device="meta")
    frame, _ = wire.encode({"t": t})
    assert HEADER.unpack(frame[: HEADER.size])[1] == 0  # no bytes for a tensor without data
    got = round_trip({"t": t})["t"]
    assert (got.device.type, got.dtype, tuple(got.shape)) == ("meta", DTYPES[name], (2, 3))


def test_tensors_through_an_arena_share_its_memory_and_leave_the_blob_empty():
    arena = Arena.create(1 << 16)
    a, b = torch.arange(6.0).reshape(2, 3), torch.tensor([True, False, True])
    frame, encoder = wire.encode({"args": [a, b, torch.empty(0)]}, arena)
    text_len, blob_len = HEADER.unpack(frame[: HEADER.size])
    assert blob_len == 0
    assert [offset for offset, _ in encoder.shared] == [0, 64, 128]  # each on its own 64-byte boundary
    got = wire.decode(frame[HEADER.size : HEADER.size + text_len], b"", arena)["args"]
    assert torch.equal(got[0], a)
    assert torch.equal(got[1], b)
    assert got[2].shape == (0,)
    got[0][0, 0] = 100.0  # the decoded tensor is a view of the region: the sender sees the change
    assert arena.tensor(0, torch.float32, [2, 3])[0, 0].item() == 100.0
    assert bytes(arena.view(0, 24)) != encoder.shared[0][1]  # what the grader compares after a call


def test_a_full_arena_sends_the_tensor_in_the_blob_instead():
    arena = Arena.create(64)
    t = torch.arange(32, dtype=torch.float32)  # 128 bytes: more than the region holds
    frame, encoder = wire.encode({"t": t}, arena)
    assert encoder.shared == []
    assert HEADER.unpack(frame[: HEADER.size])[1] == 128
    assert torch.equal(round_trip({"t": t}, arena)["t"], t)


def test_objects_that_are_not_plain_data_are_refused_or_exported():
    with pytest.raises(WireError, match="cannot send a set"):
        wire.encode({"x": {1, 2}})
    with pytest.raises(WireError, match=r"unsupported dtype torch\.uint16"):
        wire.encode({"x": torch.zeros(2, dtype=torch.uint16)})
    frame, _ = wire.encode({"x": {1, 2}}, export=lambda obj: Handle(9, type(obj).__name__))
    assert b'{"x":{"$handle":9,"type":"set"}}' in frame


def test_encoding_refuses_data_nested_deeper_than_max_depth():
    deep: list = []
    for _ in range(MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(WireError, match="data nested too deeply"):
        wire.encode({"x": deep})


# ---------------------------------------------------------------- hostile frames


def tensor_node(**desc) -> dict:
    return {"$tensor": {"dtype": "float32", "shape": [2], "device": "cpu", "offset": 0, "nbytes": 8, **desc}}


@pytest.mark.parametrize(
    ("node", "error"),
    [
        ({"$pickle": "gASV"}, "unknown tag"),
        ({"tuple": [1]}, "unknown tag"),
        ({"a": 1, "b": 2, "c": 3}, "malformed node"),
        ({}, "malformed node"),
        ({"$tuple": "not a list"}, "malformed node"),
        ({"$dict": [[1, 2, 3]]}, "malformed dict"),
        ({"$dict": ["k"]}, "malformed dict"),
        ({"$dict": [[[1, 2], "v"]]}, "unhashable dict key"),
        ({"$dict": [[{"$tuple": [1]}, "v"]]}, "unhashable dict key"),
        ({"$lookup": 5, "default": 1}, "malformed node"),
        ({"$dtype": "float128"}, "unknown dtype"),
        ({"$device": "tpu"}, "unexpected device 'tpu'"),
        ({"$device": "cuda:x"}, "unexpected device 'cuda:x'"),
        ({"$device": 0}, "malformed device"),
        ({"$handle": "7"}, "malformed handle"),
        ({"$handle": True}, "malformed handle"),
        ({"$handle": 7, "type": ["Vocab"]}, "malformed handle"),
        ({"$tensor": "float32"}, "malformed tensor"),
        (tensor_node(dtype="object"), "malformed tensor"),
        (tensor_node(shape="2"), "malformed tensor shape"),
        (tensor_node(shape=[-1]), "malformed tensor shape"),
        (tensor_node(shape=[True]), "malformed tensor shape"),
        (tensor_node(shape=[1] * 33), "malformed tensor shape"),
        (tensor_node(device="disk"), "unexpected device 'disk'"),
    ],
    ids=lambda x: x if isinstance(x, str) else json.dumps(x)[:50],
)
def test_malformed_nodes_are_refused_with_what_is_wrong(node, error):
    with pytest.raises(WireError, match=f"^{re.escape(error)}$"):
        decode_tree({"x": node}, bytes(64))


@pytest.mark.parametrize("nbytes", [7, 9, 0, None, "8"])
def test_a_tensor_whose_nbytes_disagree_with_its_shape_is_refused(nbytes):
    with pytest.raises(WireError, match="tensor size does not match its shape"):
        decode_tree({"x": tensor_node(nbytes=nbytes)}, bytes(64))


@pytest.mark.parametrize("offset", [57, 64, 1 << 40, -8, None, 2.0])
def test_a_tensor_outside_the_blob_is_refused(offset):
    with pytest.raises(WireError, match="tensor outside the blob"):
        decode_tree({"x": tensor_node(offset=offset)}, bytes(64))


def test_a_tensor_at_the_end_of_the_blob_is_read():
    blob = bytes(56) + struct.pack("<2f", 1.5, -2.0)
    got = decode_tree({"x": tensor_node(offset=56)}, blob)["x"]
    assert got.tolist() == [1.5, -2.0]


def test_a_shared_tensor_without_a_region_or_outside_it_is_refused():
    with pytest.raises(WireError, match="no shared region"):
        decode_tree({"x": tensor_node(shared=0)})
    arena = Arena.create(64)
    text = json.dumps({"x": tensor_node(shared=60)}).encode()
    with pytest.raises(WireError, match="tensor outside the shared region"):
        wire.decode(text, b"", arena)
    text = json.dumps({"x": tensor_node(shared=-1)}).encode()
    with pytest.raises(WireError, match="no shared region"):
        wire.decode(text, b"", arena)


def test_nesting_deeper_than_max_depth_is_refused():
    deep: object = 1
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(WireError, match="data nested too deeply"):
        decode_tree({"x": deep})
    shallow: object = 1
    for _ in range(MAX_DEPTH):
        shallow = [shallow]
    assert decode_tree({"x": shallow}) == {"x": shallow}


def test_nesting_too_deep_for_json_itself_is_refused():
    text = b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(WireError, match=r"^malformed JSON$"):  # json.loads gives up first
        wire.decode(text, b"")


@pytest.mark.parametrize("text", [b"[1, 2]", b'"message"', b"3", b"null"])
def test_a_json_that_is_not_an_object_is_refused(text):
    with pytest.raises(WireError, match="a message must be an object"):
        wire.decode(text, b"")


@pytest.mark.parametrize("text", [b"{", b"\xff\xfe", b'{"x": NaNa}', b""])
def test_text_that_is_not_json_is_refused(text):
    with pytest.raises(WireError, match="malformed JSON"):
        wire.decode(text, b"")


# ---------------------------------------------------------------- frames on a socket


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_a_frame_sent_on_a_socket_is_received_whole(pair):
    a, b = pair
    message = {"op": "call", "args": [torch.arange(5.0), (1, "x")], "kwargs": {"mask": None}}
    frame, _ = wire.encode(message)
    wire.send(a, frame)
    text, blob = wire.receive(b, deadline=None)
    got = wire.decode(text, blob)
    assert got["op"] == "call"
    assert got["kwargs"] == {"mask": None}
    assert torch.equal(got["args"][0], torch.arange(5.0))
    assert got["args"][1] == (1, "x")


@pytest.mark.parametrize(
    ("header", "limit"),
    [
        (HEADER.pack(wire.MAX_JSON + 1, 0), None),
        (HEADER.pack(10, (1 << 30) + 1), None),
        (HEADER.pack(10, 1025), 1024),
        (HEADER.pack(1 << 31, 1 << 62), None),
    ],
)
def test_a_frame_header_over_the_limit_is_refused_before_reading_on(pair, header, limit):
    a, b = pair
    a.sendall(header)
    text_len, blob_len = HEADER.unpack(header)
    with pytest.raises(WireError, match=f"message of {text_len + blob_len} bytes is over the limit"):
        wire.receive(b, None, **({"max_blob": limit} if limit else {}))


def test_a_frame_cut_short_is_the_end_of_the_stream(pair):
    a, b = pair
    frame, _ = wire.encode({"x": torch.arange(100.0)})
    a.sendall(frame[:-1])
    a.shutdown(socket.SHUT_WR)
    with pytest.raises(EOFError):
        wire.receive(b, None)


def test_a_silent_peer_is_a_timeout_at_the_deadline(pair):
    _, b = pair
    with pytest.raises(TimeoutError):
        wire.receive(b, deadline=0.0)  # a deadline already past: no wait, whatever the machine's speed


def test_sending_on_a_closed_socket_is_a_broken_channel(pair):
    a, b = pair
    b.close()
    with pytest.raises(WireError, match="channel broke"):
        wire.send(a, b"x" * (1 << 20))
