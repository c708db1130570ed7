"""What a hostile peer can make a server hold: pynng_core beside pynng.

    python3 benchmarks/hostile_memory.py [--backends pynng_core,pynng] [--md FILE]

Each scenario runs a server in a fresh process per backend (spawned, so it
imports only its own library); this process plays the hostile peer over raw
tcp sockets, then asks the server how much its memory grew.  Figures are
MiB of growth in the server, VmRSS (what it touched) and VmSize (what it
reserved), measured after the attack has settled, with the hostile
connections still open.

1. claims: 16 connections each announce a 1 GiB frame and send 64 KiB of
   it.  Once with the default options (pynng sets no limit; pynng_core's
   is 1 GiB, so the claim is just within it) and once with no limit
   (``recv_max_size=0``): either way only memory that grows as bytes
   arrive keeps the server small.
2. unread replies: one connection sends 20,000 requests and reads none of
   the 8 KiB replies; a Rep0 server answers for 5 s with a 100 ms send
   timeout.  A server whose per-pipe queue has no limit keeps every reply.
3. silent connections: 1,000 connections that never send their handshake.
"""
import argparse
import multiprocessing as mp
import socket
import struct
import sys
import threading
import time

BACKENDS = ["pynng_core", "pynng"]
GIB = 1 << 30


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def memory():
    return {"rss": status("VmRSS"), "vsz": status("VmSize")}


# -- the server side (its own process)

def server(backend, scenario, conn):
    lib = __import__(backend)
    kwargs = {"recv_max_size": 0} if scenario == "claims-unlimited" else {}
    if scenario == "unread-replies":
        sock = lib.Rep0(recv_timeout=100, send_timeout=100)
    else:
        sock = lib.Pull0(recv_timeout=100, **kwargs)
    sock.listen("tcp://127.0.0.1:%d" % conn.recv())
    stop = threading.Event()
    worker = None
    if scenario == "unread-replies":
        def answer():
            reply = b"r" * 8192
            while not stop.is_set():
                try:
                    sock.recv()
                    sock.send(reply)
                except lib.exceptions.Timeout:
                    pass
        worker = threading.Thread(target=answer)
        worker.start()
    time.sleep(0.3)
    conn.send(memory())  # before the attack
    conn.recv()          # the attack has settled
    conn.send(memory())
    stop.set()
    if worker is not None:
        worker.join()
    sock.close()


# -- the hostile peer (this process)

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def handshake(proto_id):
    return b"\x00SP\x00" + struct.pack(">H", proto_id) + b"\x00\x00"


def connect(port, hello=None):
    c = socket.create_connection(("127.0.0.1", port))
    if hello is not None:
        c.sendall(hello)
        c.recv(8)
    return c


def attack_claims(port):
    conns = []
    for _ in range(16):
        c = connect(port, handshake(0x50))  # push
        try:
            c.sendall(struct.pack(">Q", GIB) + b"x" * 65536)
        except OSError:
            pass  # refused as too large: the server closed it
        conns.append(c)
    time.sleep(1.0)
    return conns


def attack_unread_replies(port):
    c = connect(port, handshake(0x30))  # req
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reqs = b"".join(struct.pack(">Q", 8) + struct.pack(">I", 0x80000000 | i) + b"ping"
                    for i in range(1000))
    c.setblocking(False)
    end = time.monotonic() + 5
    sent = 0
    while time.monotonic() < end:
        if sent < 20:
            try:
                c.sendall(reqs)
                sent += 1
            except BlockingIOError:
                pass
        time.sleep(0.05)
    return [c]


def attack_silent(port):
    conns = [connect(port) for _ in range(1000)]
    time.sleep(1.0)
    return conns


SCENARIOS = [
    ("claims-default", "16 x 1 GiB claimed, 64 KiB sent, default options", attack_claims),
    ("claims-unlimited", "16 x 1 GiB claimed, 64 KiB sent, recv_max_size=0", attack_claims),
    ("unread-replies", "20,000 requests, 8 KiB replies never read", attack_unread_replies),
    ("silent", "1,000 connections, no handshake", attack_silent),
]


def measure(backend, scenario, attack):
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=server, args=(backend, scenario, child))
    proc.start()
    port = free_port()
    parent.send(port)
    before = parent.recv()
    conns = attack(port)
    parent.send("settled")
    after = parent.recv()
    for c in conns:
        c.close()
    proc.join(30)
    if proc.is_alive():
        proc.kill()
    return {k: (after[k] - before[k]) / (1 << 20) for k in before}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--md", metavar="FILE", help="also write the table to FILE")
    args = ap.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    rows = ["| scenario |" + "".join(" %s RSS | %s VmSize |" % (b, b) for b in backends),
            "|---|" + "---:|" * (2 * len(backends))]
    for name, label, attack in SCENARIOS:
        row = "| %s |" % label
        for b in backends:
            grown = measure(b, name, attack)
            row += " %+.1f MiB | %+.1f MiB |" % (grown["rss"], grown["vsz"])
            print("%s %s: %s" % (name, b, grown), file=sys.stderr, flush=True)
        rows.append(row)
    text = "\n".join(["## Memory a hostile peer costs a server (growth, MiB)", ""] + rows)
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
