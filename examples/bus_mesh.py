"""A bus mesh: every node hears what any node it is connected to says.

A bus socket forwards nothing on: a message reaches the direct peers of its
sender only.  So a mesh where everyone hears everyone needs every pair of
nodes connected; here each node listens, and dials every node before it.
"""
import time

import pynng_core

NAMES = ["north", "east", "south", "west"]
addresses = ["inproc://bus-%s" % name for name in NAMES]

nodes = []
for i, address in enumerate(addresses):
    node = pynng_core.Bus0(listen=address, recv_timeout=1000)
    for earlier in addresses[:i]:
        node.dial(earlier)
    nodes.append(node)

# Each node has a connection to each of the others once the mesh is up.
while any(len(node.pipes) < len(nodes) - 1 for node in nodes):
    time.sleep(0.01)

for name, node in zip(NAMES, nodes):
    node.send(b"hello from " + name.encode())

for name, node in zip(NAMES, nodes):
    heard = sorted(node.recv().decode() for _ in range(len(nodes) - 1))
    print("%s heard: %s" % (name, ", ".join(heard)))

for node in nodes:
    node.close()
