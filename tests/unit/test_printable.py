"""Is every string from the child made safe for a terminal, JSON and HTML, and every reply cleaned?"""

import json

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.sandbox import wire
from autograder.sandbox.connection import MAX_TEXT, clean, printable
from autograder.text import ESCAPES, SPACES, _escape, _plain, shown


def test_ansi_escape_sequences_are_removed_whole():
    assert printable("\x1b[31mred\x1b[0m \x1b[2J\x1b[Hdone") == "red done"
    assert printable("title\x1b]0;owned\x07 after") == "title after"
    assert printable("osc\x1b]8;;http://x\x1b\\link") == "osclink"
    assert printable("c1\x9b31m csi") == "c1 csi"


def test_newlines_and_tabs_become_spaces():
    assert printable("line one\nline two\r\n\tend") == "line one line two   end"


def test_other_control_characters_become_replacement_characters():
    assert printable("a\x00b\x07c\x7fd\x85e") == "a\ufffdb\ufffdc\ufffdd\ufffde"


def test_lone_surrogates_and_bidirectional_overrides_are_replaced():
    text = printable("x\ud800y\udfffz \u202eevil")
    assert text == "x\ufffdy\ufffdz \ufffdevil"
    assert json.loads(json.dumps(text, ensure_ascii=False)) == text
    text.encode("utf-8")  # no lone surrogate left: this would raise UnicodeEncodeError


def test_long_text_is_cut_with_an_ellipsis():
    assert printable("a" * 10_000) == "a" * (MAX_TEXT - 1) + "\u2026"
    assert printable("abcdef", limit=4) == "abc\u2026"
    assert printable("abcd", limit=4) == "abcd"


def test_ordinary_text_is_unchanged():
    text = "expected shape (8,), got (9,): déjà vu, 注意力, ≤ 1e-5"
    assert printable(text) == text


def test_a_reply_is_cleaned_everywhere_strings_can_hide():
    reply = {
        "result": (
            "\x1b[2Jword",
            [wire.Handle(3, "Vocab\x1b[31m\nHACKED\ud800")],
            {"key\n": "value\x07"},
            wire.Lookup({"w\x1b[1m": 2}, default="unk\x00"),
            torch.ones(2),
            7,
            None,
        ),
        "error\x1b[0m": {"type": "Evil\x1b]0;x\x07Error", "message": "m" * 5000},
    }
    got = clean(reply)
    text, handle_list, plain, lookup, ones, seven, none = got["result"]
    assert text == "word"
    assert (handle_list[0].id, handle_list[0].type) == (3, "Vocab HACKED\ufffd")
    assert plain == {"key ": "value\ufffd"}
    assert type(lookup) is wire.Lookup
    assert dict(lookup) == {"w": 2}
    assert lookup["missing"] == "unk\ufffd"
    assert torch.equal(ones, torch.ones(2))
    assert (seven, none) == (7, None)
    assert got["error"]["type"] == "EvilError"
    assert len(got["error"]["message"]) == MAX_TEXT


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, max_codepoint=0x10FFFF), max_size=40), st.integers(2, 30))
def test_plain_ascii_text_takes_a_short_way_to_the_same_result(text, limit):
    """ASCII text that is all printable is returned as it is (cut to the limit) without being looked at character
    by character: the same result as the long way, for any text."""

    def long_way(value: str, cut: int) -> str:
        value = ESCAPES.sub("", value[: 4 * cut])
        value = "".join(c if _plain(c) else " " if c in SPACES else "\ufffd" for c in value)
        return value if len(value) <= cut else value[: cut - 1] + "\u2026"

    for value in (text, text.encode("ascii", "replace").decode(), "ab\x1b[31mc" + text):
        assert printable(value, limit) == long_way(value, limit)
        assert shown(value) == "".join(c if _plain(c) and c != "\\" else _escape(c) for c in value)
