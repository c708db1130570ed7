"""pynng's openers: ``lib.nng_pair0_open_raw`` and the rest, for ``opener=``.

A pynng program names the function that opens its socket as
``pynng.lib.nng_<protocol>_open`` (cooked) or ``..._open_raw``, and
passes it as ``Socket(opener=...)``.  ``pynng_core.lib`` has the same
names; each is an Opener, which a Socket reads to open that protocol.
(The core's own cffi library stays private.)
"""
from __future__ import annotations

import types
from typing import TYPE_CHECKING

PROTOCOLS = ("pair0", "pair1", "pub0", "sub0", "req0", "rep0", "push0", "pull0",
             "surveyor0", "respondent0", "bus0")


class Opener:
    """What ``Socket(opener=...)`` opens: a protocol, cooked or raw."""

    def __init__(self, name: str, protocol: str, raw: bool = False,
                 polyamorous: bool = False) -> None:
        self.name = name
        self.protocol = protocol
        self.raw = raw
        self.polyamorous = polyamorous

    def __repr__(self) -> str:
        return "<opener %s>" % self.name


def _openers() -> dict[str, Opener]:
    openers = {}
    for protocol in PROTOCOLS:
        for suffix, raw in (("", False), ("_raw", True)):
            name = "nng_%s_open%s" % (protocol, suffix)
            openers[name] = Opener(name, protocol, raw)
    # pynng's Pair1(polyamorous=True) opens with this one.
    openers["nng_pair1_open_poly"] = Opener("nng_pair1_open_poly", "pair1", polyamorous=True)
    return openers


if TYPE_CHECKING:
    class _Openers:
        """The openers _openers() makes, as a type checker cannot see them
        made (test_typing.py checks the two lists agree)."""

        nng_pair0_open: Opener
        nng_pair0_open_raw: Opener
        nng_pair1_open: Opener
        nng_pair1_open_raw: Opener
        nng_pub0_open: Opener
        nng_pub0_open_raw: Opener
        nng_sub0_open: Opener
        nng_sub0_open_raw: Opener
        nng_req0_open: Opener
        nng_req0_open_raw: Opener
        nng_rep0_open: Opener
        nng_rep0_open_raw: Opener
        nng_push0_open: Opener
        nng_push0_open_raw: Opener
        nng_pull0_open: Opener
        nng_pull0_open_raw: Opener
        nng_surveyor0_open: Opener
        nng_surveyor0_open_raw: Opener
        nng_respondent0_open: Opener
        nng_respondent0_open_raw: Opener
        nng_bus0_open: Opener
        nng_bus0_open_raw: Opener
        nng_pair1_open_poly: Opener

    lib: _Openers
else:
    lib = types.SimpleNamespace(**_openers())
