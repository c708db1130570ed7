#!/usr/bin/env python3
"""A lossy, slow, reordering IP link between two TUN devices, in user space.

For kernels without the netem queueing discipline (CONFIG_NET_SCH_NETEM
off and no modules to load, as on some VM kernels): test_faults.py then
joins two network namespaces with a pair of TUN devices instead of a veth
pair, and this program carries the IP packets between them with netem's
impairments (same meaning as ``netem delay D J loss L reorder R C``):

* each packet is lost with probability ``loss`` percent;
* of the rest, ``reorder`` percent (``corr`` percent correlated with the
  last choice) go out at once, the others after ``delay`` +- ``jitter`` ms
  (uniform), so later packets overtake earlier ones.

Real kernel TCP runs over it, in both directions, so a socket above sees
what it would on a bad network: retransmissions, reordered segments,
delayed and lost ACKs.

    linkemu.py --fd-a N --dev-b NAME [--delay 20 --jitter 10 --loss 5
               --reorder 25 --corr 50]

``--fd-a`` is an open TUN descriptor (the caller's namespace) passed down;
the program opens device ``--dev-b`` itself in the namespace it runs in
(``ip netns exec NS linkemu.py ...``), prints ``ready``, and carries
packets until SIGTERM, when it prints its counters as JSON and exits.
"""
import argparse
import fcntl
import heapq
import json
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    """Opens (creating) the TUN device ``name`` in this network namespace."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    try:
        ifr = struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI).ljust(40, b"\0")
        fcntl.ioctl(fd, TUNSETIFF, ifr)
    except BaseException:
        os.close(fd)
        raise
    return fd


class Link:
    def __init__(self, fd_a, fd_b, delay, jitter, loss, reorder, corr, seed=None):
        self.fds = (fd_a, fd_b)
        self.delay, self.jitter = delay / 1000.0, jitter / 1000.0
        self.loss, self.reorder, self.corr = loss / 100.0, reorder / 100.0, corr / 100.0
        self.rng = random.Random(seed)
        self.last_reorder_draw = self.rng.random()
        self.queue = []  # (due, n, out_fd, direction, in_seq, packet)
        self.n = 0
        self.in_seq = [0, 0]
        self.out_max = [-1, -1]
        self.counts = {"packets": 0, "dropped": 0, "sent_at_once": 0, "delayed": 0,
                       "reordered": 0, "bytes": 0}
        for fd in self.fds:
            os.set_blocking(fd, False)

    def _reorder_draw(self):
        # netem's correlated random: a mix of the last draw and a new one.
        draw = self.corr * self.last_reorder_draw + (1 - self.corr) * self.rng.random()
        self.last_reorder_draw = draw
        return draw

    def take(self, direction, packet, now):
        c = self.counts
        c["packets"] += 1
        c["bytes"] += len(packet)
        seq = self.in_seq[direction]
        self.in_seq[direction] += 1
        if self.rng.random() < self.loss:
            c["dropped"] += 1
            return
        if self._reorder_draw() < self.reorder:
            due = now
            c["sent_at_once"] += 1
        else:
            due = now + max(0.0, self.delay + self.rng.uniform(-self.jitter, self.jitter))
            c["delayed"] += 1
        self.n += 1
        heapq.heappush(self.queue, (due, self.n, self.fds[1 - direction], direction, seq,
                                    packet))

    def flush(self, now):
        while self.queue and self.queue[0][0] <= now:
            _, _, fd, direction, seq, packet = heapq.heappop(self.queue)
            if seq < self.out_max[direction]:
                self.counts["reordered"] += 1
            self.out_max[direction] = max(self.out_max[direction], seq)
            try:
                os.write(fd, packet)
            except OSError:
                pass  # device down or full: the packet is lost, as on a wire

    def run(self, stop):
        while not stop():
            now = time.monotonic()
            self.flush(now)
            timeout = max(0.0, self.queue[0][0] - now) if self.queue else 0.2
            readable, _, _ = select.select(self.fds, [], [], min(timeout, 0.2))
            now = time.monotonic()
            for fd in readable:
                direction = self.fds.index(fd)
                for _ in range(64):
                    try:
                        packet = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    except OSError:
                        return
                    self.take(direction, packet, now)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--fd-a", type=int, required=True)
    ap.add_argument("--dev-b", required=True)
    ap.add_argument("--delay", type=float, default=20)
    ap.add_argument("--jitter", type=float, default=10)
    ap.add_argument("--loss", type=float, default=5)
    ap.add_argument("--reorder", type=float, default=25)
    ap.add_argument("--corr", type=float, default=50)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    fd_b = open_tun(args.dev_b)
    link = Link(args.fd_a, fd_b, args.delay, args.jitter, args.loss, args.reorder,
                args.corr, args.seed)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
    print("ready", flush=True)
    link.run(lambda: bool(stopping))
    print(json.dumps(link.counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
