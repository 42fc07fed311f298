"""Limits on untrusted JSON: nesting depth measured before parsing, and lone surrogates.

``json.loads`` recurses in C once per nesting level. With the recursion limit raised (py_ecc sets
100,000), a body of 200,000 nested arrays overflows the C stack and the process dies; with a sane
limit it raises ``RecursionError`` deep in a handler. :func:`json_depth` measures the depth on the
raw bytes first, in time linear in the body and without recursion, so the body is refused before
any parser sees it.

JSON may spell lone UTF-16 surrogates (``"\\ud800"``); Python keeps them in ``str``, but they
cannot be encoded as UTF-8, so echoing one back (or storing it) fails far from where it came in.
Pure code.
"""

from __future__ import annotations

import operator
import re
from itertools import accumulate
from typing import Any

__all__ = ["has_lone_surrogate", "json_depth", "replace_lone_surrogates"]

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
# After escapes are gone a string is a quote, no quote, a quote: no backtracking, linear time.
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# Openers become 2 and closers 0, so the running sum minus the count read so far is the depth.
_AS_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_depth(raw: bytes) -> int:
    """Return the deepest nesting of arrays and objects in ``raw``, ignoring brackets in strings.

    Invalid JSON gets a number too (unclosed brackets count as open), which is what a parser would
    recurse into before it noticed.

    Args:
        raw: The JSON text as bytes.

    Returns:
        0 for a scalar, 1 for ``[]`` or ``{}``, and so on.
    """
    steps = _STRING.sub(b"", _ESCAPE.sub(b"", raw)).translate(None, _NOT_BRACKETS).translate(_AS_STEPS)
    if not steps:
        return 0
    # All C-level iterators: about 40 ns per bracket, no Python loop over the body.
    return max(0, max(map(operator.sub, accumulate(steps), range(1, len(steps) + 1))))


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a UTF-16 surrogate code point (not encodable as UTF-8).

    A valid pair in JSON (``"\\ud83d\\ude00"``) is decoded to one character, so any surrogate
    left in a Python string is a lone one.
    """
    return _SURROGATE.search(text) is not None


def replace_lone_surrogates(value: Any) -> Any:
    """Return ``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD.

    Bytes become text the same way (invalid UTF-8 replaced), so the result can always be encoded.
    Recurses through dicts, lists and tuples; other values are returned as they are.
    """
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {replace_lone_surrogates(k): replace_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [replace_lone_surrogates(v) for v in value]
    return value
