"""Deliberate type errors that mypy --strict must report, each where its
line's ``# error: CODE`` comment says and nowhere else (test_typing.py
checks): proof that the package's types are precise, not Any.  Never run.
"""
from __future__ import annotations

from pynng_core import (Closed, Dialer, Listener, Message, Pair0, Pair1, Pipe, Pub0, Req0,
                        Sub0, Timeout)


async def wrong_types(sock: Pair0) -> None:
    text: str = sock.recv()  # error: assignment
    received: bytes = sock.recv_msg()  # error: assignment
    awaited: str = await sock.arecv()  # error: assignment
    message: bytes = await sock.arecv_msg()  # error: assignment
    length: str = sock.recv_into(bytearray(8))  # error: assignment
    pipe: Pipe = Message(b"").pipe  # error: assignment
    timeout: str = sock.recv_timeout  # error: assignment
    name: int = sock.name  # error: assignment
    nodelay: str = sock.tcp_nodelay  # error: assignment
    sock.recv_timeout = "1000"  # error: assignment
    sock.name = 5  # error: assignment
    dialer: Listener = sock.dial("inproc://x")  # error: assignment
    listener: Dialer = sock.listen("inproc://x")  # error: assignment
    sock.send("a str is not bytes")  # error: arg-type
    Pub0().subscribe(b"")  # error: attr-defined
    subscriber: Sub0 = Pub0()  # error: assignment
    Req0(resend_tme=10)  # error: call-arg
    Pair1(polyamorous="yes")  # error: arg-type
    closed: Closed = Timeout("not Closed")  # error: assignment
    with Pair0() as entered:
        publisher: Pub0 = entered  # error: assignment
