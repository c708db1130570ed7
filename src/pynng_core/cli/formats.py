"""How ``pynng-core cat`` prints a received message: nngcat's output
formats, byte for byte as NNG 1.5.2's nngcat writes them.

"Printable" is the C locale's isprint(): bytes 0x20 to 0x7e.
"""
from __future__ import annotations

import struct
from typing import Callable, Dict

Encoder = Callable[[bytes], bytes]

_PRINTABLE = range(0x20, 0x7F)


def _table(special: Dict[int, bytes], printable: Callable[[int], bytes],
           other: Callable[[int], bytes]) -> list[bytes]:
    """What each byte value becomes, as a lookup table."""
    return [special.get(b) or (printable(b) if b in _PRINTABLE else other(b))
            for b in range(256)]


def _hex_escape(b: int) -> bytes:
    return b"\\x%02x" % b


def _itself(b: int) -> bytes:
    return bytes((b,))


_QUOTED = _table({ord("\n"): b"\\n", ord("\r"): b"\\r", ord("\t"): b"\\t",
                  ord('"'): b'\\"', ord("\\"): b"\\\\"}, _itself, _hex_escape)
_HEX = _table({}, _hex_escape, _hex_escape)
_ASCII = bytes(b if b in _PRINTABLE else ord(".") for b in range(256))


def _as_line(table: list[bytes]) -> Encoder:
    """A format that prints each message in double quotes on a line of its own."""
    def encode(body: bytes) -> bytes:
        return b'"' + b"".join([table[b] for b in body]) + b'"\n'
    return encode


def ascii_dotted(body: bytes) -> bytes:
    """Printable bytes as they are, the rest as '.'; no delimiter (nngcat
    1.5.2 ends no line here, unlike nanocat)."""
    return body.translate(_ASCII)


def msgpack_bin(body: bytes) -> bytes:
    """A msgpack bin 8/16/32 object holding the body."""
    if len(body) < 1 << 8:
        head = b"\xc4" + struct.pack(">B", len(body))
    elif len(body) < 1 << 16:
        head = b"\xc5" + struct.pack(">H", len(body))
    else:
        head = b"\xc6" + struct.pack(">I", len(body))
    return head + body


def nothing(body: bytes) -> bytes:
    return b""


def raw(body: bytes) -> bytes:
    return body


# nngcat's --format names; "no" (print nothing) is its default.
FORMATS: Dict[str, Encoder] = {
    "no": nothing,
    "raw": raw,
    "ascii": ascii_dotted,
    "quoted": _as_line(_QUOTED),
    "hex": _as_line(_HEX),
    "msgpack": msgpack_bin,
}
