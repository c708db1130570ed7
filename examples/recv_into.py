"""recv_into: receive into one buffer, reused for every message.

``recv()`` makes a new bytes object per message; ``recv_into(buffer)``
copies the message into memory you already have (a bytearray, a memoryview,
a numpy array...) and returns the message's length.  A message longer than
the buffer is cut to fit, and the returned length still says how long it
was, so the caller can tell.
"""
import pynng_core

buffer = bytearray(16)
view = memoryview(buffer)

with pynng_core.Pair0(listen="inproc://recv_into") as sender, \
        pynng_core.Pair0(dial="inproc://recv_into") as receiver:
    for message in [b"short", b"exactly 16 bytes", b"a message longer than the buffer"]:
        sender.send(message)
        length = receiver.recv_into(buffer)
        kept = min(length, len(buffer))
        note = " (truncated: %d bytes lost)" % (length - kept) if length > kept else ""
        # view[:kept] is the message's bytes in the buffer, with no copy made.
        print("%2d bytes: %r%s" % (length, bytes(view[:kept]), note))
