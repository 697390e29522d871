"""Text that is shown: safe to print in a terminal and to put in HTML, JSON and CSV.

One cleaner for everything the grader shows that it did not write itself: what a child of the
sandbox said (``printable``, applied where a reply enters the grader) and names (``shown``: file
and folder names, student ids, applied where a name is displayed; the raw name stays in the
records, where it is data that must round-trip, e.g. the gradebook's student id).
"""

from __future__ import annotations

import re

MAX_TEXT = 2000  # characters of one string from the child
SPACES = "\t\n\r\v\f"

# ANSI escape sequences (CSI ``ESC [ ... final``, OSC ``ESC ] ... BEL|ESC \\``, two-character
# ``ESC x``) and their one-byte C1 forms: removed whole, so that no half of one is left to print
ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b.?")

# Characters that Python calls printable but that show nothing or change how a neighbour shows:
# Unicode's default-ignorable code points outside the categories ``str.isprintable`` rejects
# (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and other variation
# selectors). Bidirectional controls (U+202A-202E, U+2066-2069, U+200E, U+200F, U+061C), zero-width
# characters and every other format character are not printable for Python already.
INVISIBLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0, *range(0x180B, 0x1810), *range(0xFE00, 0xFE10),
     *range(0xE0100, 0xE01F0)]
)  # fmt: skip


def _plain(c: str) -> bool:
    return c.isprintable() and ord(c) not in INVISIBLE


def printable(text: object, limit: int = MAX_TEXT) -> str:
    """Text safe to print and to show: one line, no control, format or invisible characters, bounded.

    Escape sequences are removed; newlines and tabs become spaces (a message stays on its line of
    a table); any other character that is not printable (control characters, lone surrogates,
    format characters such as bidirectional overrides and zero-width characters, ``INVISIBLE``)
    becomes U+FFFD; text longer than ``limit`` is cut and ends with an ellipsis.
    """
    text = text if isinstance(text, str) else str(text)
    if not (text.isascii() and text.isprintable()):  # (else nothing to change: the common case, at C speed)
        text = ESCAPES.sub("", text[: 4 * limit])
        text = "".join(c if _plain(c) else " " if c in SPACES else "\ufffd" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(c: str) -> str:
    if c in SHORT:
        return SHORT[c]
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(name: object) -> str:
    """A name (of a file, a folder, a student) as it is shown: every character that is not
    ``printable`` written as a visible escape (``\\x1b``, ``\\n``, ``\\u202e``), a backslash as two.

    Unlike ``printable`` nothing is dropped: two different names are never shown alike, so no
    name can pass for another (``ada\\x1b[0m`` is not shown as ``ada``). The result is printable.
    """
    text = name if isinstance(name, str) else str(name)
    if text.isascii() and text.isprintable() and "\\" not in text:
        return text
    return "".join(c if _plain(c) and c != "\\" else _escape(c) for c in text)
