"""Pair: two peers, messages both ways; Pair1 polyamorous: many peers.

A Pair0 socket talks to one peer at a time, and either side may send
whenever it likes.  A Pair1 socket opened with ``polyamorous=True`` takes
many peers: each received Message says which pipe (peer) it came from, and
a Message sent with that pipe set goes back to that peer alone.
"""
import time

import pynng_core

# Pair0: a conversation between two sockets.
with pynng_core.Pair0(listen="inproc://pair0") as left, \
        pynng_core.Pair0(dial="inproc://pair0") as right:
    left.send(b"ping")
    print("right got", right.recv())
    right.send(b"pong")
    print("left got", left.recv())

# Pair1 polyamorous: a hub that answers each peer privately.
with pynng_core.Pair1(polyamorous=True, listen="inproc://hub", recv_timeout=1000) as hub:
    peers = {name: pynng_core.Pair1(polyamorous=True, dial="inproc://hub", recv_timeout=1000)
             for name in ("ann", "bob")}
    while len(hub.pipes) < len(peers):
        time.sleep(0.01)
    for name, peer in peers.items():
        peer.send(name.encode())

    for _ in peers:
        message = hub.recv_msg()
        # Addressed to the pipe the message came in on: back to its sender.
        reply = pynng_core.Message(b"hello " + message.bytes, pipe=message.pipe)
        hub.send_msg(reply)

    for name, peer in peers.items():
        print(name, "got", peer.recv())
        peer.close()
