#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: csrc/fuzz/corpus/<target>/.

    python3 csrc/fuzz/make_corpus.py [--out DIR]

Every seed is made here, so the corpora can be made again after a change
of input format; the directories are emptied first.  Names say what a seed
is.  The wire facts are those of shared/wire.md: 8-byte handshake
00 'S' 'P' 00 <id u16> 00 00; a tcp frame is a u64 big-endian length and
then the payload, an ipc frame has a 0x01 type byte in front; protocol
headers are big-endian 32-bit words at the start of the payload.
"""
import argparse
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# fz_protos in fuzz_common.c, in its order: name, own id, peer's id.
PROTOS = [
    ("pair0", 0x10, 0x10),
    ("pair1", 0x11, 0x11),
    ("pair1poly", 0x11, 0x11),
    ("req0", 0x30, 0x31),
    ("rep0", 0x31, 0x30),
    ("pub0", 0x20, 0x21),
    ("sub0", 0x21, 0x20),
    ("surveyor0", 0x62, 0x63),
    ("respondent0", 0x63, 0x62),
    ("bus0", 0x70, 0x70),
    ("push0", 0x50, 0x51),
    ("pull0", 0x51, 0x50),
]
INDEX = {name: i for i, (name, _, _) in enumerate(PROTOS)}

RAW, IPC, DIAL = 1, 2, 4  # fuzz_stream's flag bits (no IPC: tcp)
ID_MAGIC = 0xF00DF00D  # FZ_ID_MAGIC: the harness puts the real request id there
BIG = 40 * 1024  # over IN_PLACE_MIN (32 KiB): read in place


def u32(*words):
    return b"".join(struct.pack(">I", w & 0xFFFFFFFF) for w in words)


def handshake(proto_id):
    return b"\x00SP\x00" + struct.pack(">H", proto_id) + b"\x00\x00"


def frame(payload, tcp=False, length=None):
    """One frame; `length` overrides the prefix (lying peers)."""
    n = len(payload) if length is None else length
    prefix = struct.pack(">Q", n)
    return (prefix if tcp else b"\x01" + prefix) + payload


class Corpus:
    def __init__(self, root, target):
        self.dir = os.path.join(root, target)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.names = set()

    def add(self, name, data):
        assert name not in self.names, name
        self.names.add(name)
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)


# ---------------------------------------------------------------- fuzz_url
def url_seeds(c):
    seeds = {
        "tcp-v4": "tcp://127.0.0.1:5555",
        "tcp-v4-port0": "tcp://127.0.0.1:0",
        "tcp-star": "tcp://*:0",
        "tcp-empty-host": "tcp://:0",
        "tcp-any": "tcp://0.0.0.0:0",
        "tcp-v6": "tcp://[::1]:5555",
        "tcp-v6-port0": "tcp://[::1]:0",
        "tcp-v6-scope": "tcp://[fe80::1%lo]:0",
        "tcp-v4mapped": "tcp://[::ffff:127.0.0.1]:0",
        "tcp-name": "tcp://localhost:80",
        "tcp-remote-name": "tcp://example.com:1",
        "tcp-upper-scheme": "TCP://127.0.0.1:0",
        "tcp-port-max": "tcp://127.0.0.1:65535",
        "tcp-port-over": "tcp://127.0.0.1:65536",
        "tcp-port-zeros": "tcp://127.0.0.1:00000",
        "tcp-port-long": "tcp://127.0.0.1:000000",
        "tcp-port-sign": "tcp://127.0.0.1:+1",
        "tcp-port-empty": "tcp://127.0.0.1:",
        "tcp-no-port": "tcp://127.0.0.1",
        "tcp-slash": "tcp://127.0.0.1:80/",
        "tcp-path": "tcp://127.0.0.1:80/path",
        "tcp-query": "tcp://127.0.0.1:80?q=1",
        "tcp-fragment": "tcp://127.0.0.1:80#f",
        "tcp-userinfo": "tcp://user@127.0.0.1:80",
        "tcp-v6-no-port": "tcp://[::1]",
        "tcp-v6-empty": "tcp://[]:1",
        "tcp-v6-unclosed": "tcp://[::1:1",
        "tcp-colons": "tcp://1:2:3",
        "tcp-short-v4": "tcp://127.1:0",
        "tcp-remote-v4": "tcp://192.0.2.1:7",
        "tcp-source-form": "tcp://127.0.0.1;127.0.0.1:80",
        "tcp4": "tcp4://127.0.0.1:0",
        "tcp6": "tcp6://[::1]:0",
        "ipc-abs": "ipc:///tmp/pnc-fuzz-seed.sock",
        "ipc-rel": "ipc://rel.sock",
        "ipc-empty": "ipc://",
        "ipc-root": "ipc:///",
        "ipc-dirs": "ipc://a/b/c",
        "ipc-dotdot": "ipc://../escape",
        "ipc-dot": "ipc://.",
        "ipc-upper": "IPC://x",
        "ipc-107": "ipc://" + "p" * 107,
        "ipc-108": "ipc://" + "p" * 108,
        "ipc-sun-over": "ipc://" + "x" * 120,
        "ipc-url-over": "ipc://" + "y" * 250,
        "unix": "unix:///tmp/pnc-fuzz-seed.sock",
        "inproc": "inproc://name",
        "inproc-empty": "inproc://",
        "inproc-odd": "INPROC://a b%00c",
        "inproc-long": "inproc://" + "n" * 240,
        "abstract": "abstract://name",
        "abstract-auto": "abstract://",
        "abstract-escapes": "abstract://a%00b%2Fc%ff%FF",
        "abstract-bad-escape": "abstract://a%zz",
        "abstract-cut-escape": "abstract://a%4",
        "abstract-pct-end": "abstract://a%",
        "abstract-107": "abstract://" + "a" * 107,
        "abstract-108": "abstract://" + "%61" * 108,
        "tcp4-v6": "tcp4://[::1]:0",
        "tcp6-v4": "tcp6://127.0.0.1:0",
        "tcp6-any": "tcp6://:0",
        "ws": "ws://127.0.0.1:80/path",
        "wss": "wss://[::1]:443/",
        "tls": "tls+tcp://127.0.0.1:0",
        "scheme-only": "://x",
        "one-slash": "tcp:/x",
        "no-scheme": "x",
        "empty": "",
        "scheme-15": "a" * 15 + "://x",
        "scheme-16": "a" * 16 + "://x",
        "url-255": "inproc://" + "z" * 246,
        "url-256": "inproc://" + "z" * 247,
        "nul-inside": "inproc://a\x00tcp://x",
    }
    for name, text in seeds.items():
        c.add(name, text.encode("latin-1"))


# ---------------------------------------------------------- fuzz_handshake
def handshake_seeds(c):
    for i, (name, own, peer) in enumerate(PROTOS):
        raw = 0x80 if i % 2 else 0  # half of them raw: both kinds seen
        b0 = bytes([i | raw])
        good = handshake(peer)
        c.add(f"{i:02d}-{name}-ok", b0 + good)
        c.add(f"{i:02d}-{name}-ok-frame", b0 + good + frame(payload_for(name)))
        c.add(f"{i:02d}-{name}-self-id", b0 + handshake(own ^ 1 if own == peer else own))
        c.add(f"{i:02d}-{name}-id-zero", b0 + handshake(0))
        c.add(f"{i:02d}-{name}-short", b0 + good[:5])
    b0 = bytes([INDEX["pull0"]])
    good = handshake(0x50)
    c.add("pull0-empty", b0)
    for n in range(1, 8):
        c.add(f"pull0-trunc{n}", b0 + good[:n])
    c.add("pull0-bad-byte0", b0 + b"\x01SP\x00\x00\x50\x00\x00")
    c.add("pull0-bad-magic", b0 + b"\x00SQ\x00\x00\x50\x00\x00")
    c.add("pull0-bad-byte3", b0 + b"\x00SP\x01\x00\x50\x00\x00")
    c.add("pull0-reserved6", b0 + b"\x00SP\x00\x00\x50\x01\x00")
    c.add("pull0-reserved7", b0 + b"\x00SP\x00\x00\x50\x00\x01")
    c.add("pull0-id-high", b0 + b"\x00SP\x00\x50\x00\x00\x00")
    c.add("pull0-id-ffff", b0 + b"\x00SP\x00\xff\xff\x00\x00")
    c.add("pull0-http", b0 + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    c.add("pull0-twice", b0 + good + good)
    c.add("pull0-ok-garbage", b0 + good + b"\xff" * 32)
    c.add("pull0-ok-tcp-frame", b0 + good + frame(b"hello", tcp=True))
    c.add("pull0-ok-frames", b0 + good + b"".join(frame(bytes([k]) * k) for k in range(8)))
    c.add("pair1-ok-raw", bytes([INDEX["pair1"] | 0x80]) + handshake(0x11) + frame(u32(1) + b"x"))
    c.add("req0-ok-reply-any", bytes([INDEX["req0"]]) + handshake(0x31) + frame(u32(0x80000001) + b"r"))


def payload_for(name):
    """A valid message payload for a socket of this protocol to receive."""
    if name in ("pair1", "pair1poly"):
        return u32(1) + b"hop"
    if name in ("rep0", "respondent0"):
        return u32(0x80000001) + b"request"
    if name in ("req0", "surveyor0"):
        return u32(ID_MAGIC) + b"reply"
    return b"hello"


# ----------------------------------------------------- fuzz_stream (frames)
def protocol_messages(name):
    """(label, payload) pairs exercising the protocol's header rules, in an
    order a stream of all of them can use: delivered ones first, then those
    dropped with the pipe kept, and last those that close the pipe."""
    msgs = [("plain", b"hello")]
    fatal = [("empty", b""), ("short3", b"abc")]
    if name in ("pair1", "pair1poly"):
        msgs = [(f"hop{h}", u32(h) + b"x") for h in (0, 1, 2, 7, 8, 9, 15, 254, 255)]
        msgs += [("hop-only", u32(1))]
        fatal += [("hop256", u32(256) + b"x"), ("hop-ffffffff", u32(0xFFFFFFFF) + b"x")]
    elif name in ("rep0", "respondent0"):
        msgs = [
            ("id", u32(0x80000001) + b"req"),
            ("id-only", u32(0x80000002)),
            ("hop1", u32(0x00000001, 0x80000003) + b"req"),
            ("hop3", u32(1, 2, 3, 0x80000004) + b"req"),
            ("hop7", u32(*range(1, 8), 0x80000005) + b"ttl"),  # 8 words: ttl
            ("hop8", u32(*range(1, 9), 0x80000006) + b"over"),  # 9: dropped
            ("hop14", u32(*range(1, 15), 0x80000007)),
            ("id-ffffffff", u32(0xFFFFFFFF) + b"z"),
        ]
        fatal += [("no-id", u32(1, 2, 3))]  # the body ends first
    elif name in ("req0", "surveyor0"):
        msgs = [
            ("id-wrong", u32(0x80000001) + b"stale"),
            ("id-no-top-bit", u32(ID_MAGIC & 0x7FFFFFFF) + b"x"),
            ("id", u32(ID_MAGIC) + b"reply"),
            ("id-only", u32(ID_MAGIC)),  # the same id again: stale by now
        ]
    elif name == "sub0":
        msgs += [("topic", b"topic/a:payload"), ("one-byte", b"t"), ("empty", b"")]
        fatal = []
    elif name not in ("pub0",):
        msgs += fatal  # no header: short ones are fine
        fatal = []
    return msgs + fatal


def oversize(tcp):
    """Prefixes no socket should trust, each with a body that starts."""
    body = b"A" * 200  # more than a 16-byte block's headroom: a truncated
    #                   length (audit B6 on 32-bit) overflows it visibly
    return [
        ("len-2p32+16", frame(body, tcp, length=(1 << 32) + 16)),
        ("len-2p32", frame(body, tcp, length=1 << 32)),
        ("len-2p62", frame(body[:10], tcp, length=1 << 62)),
        ("len-2p62+1", frame(body[:10], tcp, length=(1 << 62) + 1)),
        ("len-2p64-1", frame(body[:10], tcp, length=(1 << 64) - 1)),
        ("len-2p31", frame(body[:10], tcp, length=1 << 31)),
        ("len-1MiB-prefix-only", frame(b"", tcp, length=1 << 20)),
    ]


def stream_seeds(c):
    for i, (name, _, _) in enumerate(PROTOS):
        for flags in (0, RAW, IPC, RAW | IPC, DIAL, DIAL | RAW | IPC):
            tcp = not flags & IPC
            kind = (("dial-" if flags & DIAL else "") + ("raw-" if flags & RAW else "")
                    + ("tcp" if tcp else "ipc"))
            head = bytes([i, flags])
            pre = f"{i:02d}-{name}-{kind}"
            msgs = protocol_messages(name)
            # Every message alone for cooked ipc; the others get all of
            # them in one stream (several frames per read).
            if flags == 0:
                for label, payload in msgs:
                    c.add(f"{pre}-{label}", head + frame(payload, tcp))
            c.add(f"{pre}-all", head + b"".join(frame(p, tcp) for _, p in msgs))
            c.add(f"{pre}-many", head + frame(payload_for(name), tcp) * 64)
            if flags & DIAL:
                continue  # the dialer's own pipe: the rest is as above
            c.add(f"{pre}-trunc-body", head + frame(b"0123456789", tcp, length=100))
            c.add(f"{pre}-trunc-prefix", head + frame(b"", tcp, length=5)[:5])
            if flags in (0, IPC):
                for label, data in oversize(tcp):
                    c.add(f"{pre}-{label}", head + data)
            if not tcp:
                c.add(f"{pre}-bad-type", head + b"\x02" + frame(b"hello", True))
    # The audit's B6 input (repro/crash32-len-truncation.bin), byte for
    # byte: a 2^32+16 prefix whose body goes on past 32 KiB (read in place).
    c.add("audit-b6-pull0-tcp-len-2p32+16-40000",
          bytes([INDEX["pull0"], 0]) + frame(b"A" * 40000, True, length=(1 << 32) + 16))
    # Large frames, read in place, for a few sockets (the corpus stays small).
    for name, flags in (("pull0", 0), ("pair1", IPC), ("rep0", 0), ("sub0", RAW | IPC)):
        tcp = not flags & IPC
        body = payload_for(name) + bytes(range(256)) * (BIG // 256)
        data = bytes([INDEX[name], flags]) + frame(body, tcp) + frame(payload_for(name), tcp)
        c.add(f"big-{name}-{flags}", data)


# ----------------------------------------------------- fuzz_frames (pieces)
def lit(data):
    out = b""
    for k in range(0, len(data), 128):
        part = data[k:k + 128]
        out += bytes([len(part) - 1]) + part
    return out


def fill(units64, value):
    assert units64 < 1 << 14
    return bytes([0x80 | units64 >> 8, units64 & 0xFF, value])


FLUSH = b"\xc0"
HOLD = b"\xc1"  # the peer stops reading
COPIES = b"\xc2"  # 64 copies of each message are sent back
HOLD_COPIES = b"\xc3"


def prefix(n, tcp):
    return frame(b"", tcp, length=n)


def frames_seeds(c):
    for i, (name, _, _) in enumerate(PROTOS):
        for flags in (0, IPC):
            tcp = not flags & IPC
            head = bytes([i, flags])
            pre = f"{i:02d}-{name}-{'tcp' if tcp else 'ipc'}"
            # The socket dials: its pipe comes from a dialer.
            dial = bytes([i, flags | DIAL])
            msg = payload_for(name)
            whole = frame(msg, tcp)
            # The prefix cut at every point a read could end.
            cut = 4 if tcp else 5
            c.add(f"{pre}-split-prefix", head + lit(whole[:cut]) + FLUSH + lit(whole[cut:]))
            c.add(f"{pre}-split-body", head + lit(whole[:-2]) + FLUSH + lit(whole[-2:]))
            c.add(f"{pre}-bytewise", head + b"".join(lit(whole[k:k + 1]) + FLUSH
                                                    for k in range(len(whole))))
            # A 64 KiB frame whose body comes in three reads, then a small one.
            hdr = msg[:4] if name in ("pair1", "pair1poly", "rep0", "respondent0",
                                      "req0", "surveyor0") else b""
            body_len = 64 * 1024
            rest = body_len - len(hdr) - 16384 - 32768
            c.add(f"{pre}-big-3-reads", head + lit(prefix(body_len, tcp) + hdr) + FLUSH +
                  fill(256, 0x41) + FLUSH + fill(512, 0x42) + FLUSH +
                  fill(rest // 64, 0x43) + lit(b"\x43" * (rest % 64)) + lit(whole))
            # The prefix of a large frame alone, then its body.
            c.add(f"{pre}-big-prefix-alone", head + lit(prefix(40960, tcp)) + FLUSH +
                  lit(hdr) + fill(40960 // 64 - 1, 0x44) + lit(b"\x44" * (64 - len(hdr))))
            # A large frame cut short: the peer goes away inside it.
            c.add(f"{pre}-big-cut", head + lit(prefix(1 << 20, tcp) + hdr) + FLUSH +
                  fill(100, 0x45))
            # Lying lengths arriving alone, then with body bytes.
            c.add(f"{pre}-2p32+16-alone", head + lit(prefix((1 << 32) + 16, tcp)) + FLUSH +
                  fill(4, 0x46))
            c.add(f"{pre}-2p62-alone", head + lit(prefix(1 << 62, tcp)) + FLUSH + fill(1, 0x47))
            # Replies to a peer that does not read: the core's writes back up,
            # and its pipe closes with a queue to flush (linger).
            big = lit(prefix(40960, tcp) + hdr) + fill(40960 // 64 - 1, 0x48) + \
                lit(b"\x48" * (64 - len(hdr)))
            c.add(f"{pre}-hold-copies-big", head + HOLD_COPIES + big * 4)
            c.add(f"{pre}-hold-small", head + HOLD + lit(whole * 8) + FLUSH + HOLD + lit(whole))
            c.add(f"{pre}-copies-then-read", head + COPIES + big * 2 + COPIES + lit(whole))
            c.add(f"{pre}-dial-hold-copies", dial + HOLD_COPIES + big * 2)


# ------------------------------------------------- fuzz_ws_frame, fuzz_ws_http
def ws_frame(opcode, payload, fin=True, mask=None, length=None):
    """One WebSocket frame (RFC 6455); `length` overrides the length field."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack(">Q", n)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_frame_seeds(c):
    mask = b"\x11\x22\x33\x44"
    for i, (name, _, _) in enumerate(PROTOS):
        msg = payload_for(name)
        for dial in (0, 4):
            m = None if dial else mask  # the peer is the client when the socket listens
            pre = f"{i:02d}-{name}-{'dial' if dial else 'listen'}"
            b01 = bytes([i, dial | (i % 2 if name in ('pair1', 'bus0') else 0)])
            c.add(f"{pre}-one", b01 + ws_frame(2, msg, mask=m))
            c.add(f"{pre}-fragments", b01 + ws_frame(2, msg[:3], fin=False, mask=m)
                  + ws_frame(9, b"ping", mask=m) + ws_frame(0, msg[3:], mask=m))
    b01 = bytes([INDEX["pull0"], 0])
    m = mask
    c.add("pull0-len16", b01 + ws_frame(2, b"\x00" * 300, mask=m))
    c.add("pull0-len64", b01 + ws_frame(2, b"\x00" * 70000, mask=m))
    c.add("pull0-empty-msg", b01 + ws_frame(2, b"", mask=m))
    c.add("pull0-ping-pong-close", b01 + ws_frame(9, b"p", mask=m) + ws_frame(10, b"", mask=m)
          + ws_frame(8, b"\x03\xe8", mask=m))
    c.add("pull0-close-1byte", b01 + ws_frame(8, b"\x03", mask=m))
    c.add("pull0-text", b01 + ws_frame(1, b"text", mask=m))
    c.add("pull0-unmasked", b01 + ws_frame(2, b"x"))
    c.add("pull0-rsv", b01 + bytes([0xC2]) + ws_frame(2, b"x", mask=m)[1:])
    c.add("pull0-opcode3", b01 + ws_frame(3, b"x", mask=m))
    c.add("pull0-orphan-cont", b01 + ws_frame(0, b"x", mask=m))
    c.add("pull0-frag-ping", b01 + ws_frame(9, b"x", fin=False, mask=m))
    c.add("pull0-long-ping", b01 + ws_frame(9, b"x" * 126, mask=m))
    c.add("pull0-len16-short-form", b01 + bytes([0x82, 0x80 | 126, 0, 5]) + m + b"abcde")
    c.add("pull0-len64-short-form", b01 + bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 5)
          + m + b"abcde")
    c.add("pull0-len64-top-bit", b01 + bytes([0x82, 0x80 | 127]) + struct.pack(">Q", 1 << 63) + m)
    c.add("pull0-len-2p32+16", b01 + ws_frame(2, b"", mask=m, length=2**32 + 16))
    c.add("pull0-over-rxframe", b01 + ws_frame(2, b"", mask=m, length=2**20 + 1))
    c.add("pull0-cut-header", b01 + ws_frame(2, b"x" * 300, mask=m)[:3])
    c.add("pull0-new-msg-in-frag", b01 + ws_frame(2, b"a", fin=False, mask=m)
          + ws_frame(2, b"b", mask=m))


WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def ws_request(path="/fz", proto="pull.sp.nanomsg.org", key=WS_KEY, version="13",
               extra=""):
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Version: {version}"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if proto is not None:
        lines.append(f"Sec-WebSocket-Protocol: {proto}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def ws_reply(status="101 Switching Protocols", accept="{ACCEPT}", proto="{PROTO}", extra=""):
    lines = [f"HTTP/1.1 {status}", "Upgrade: websocket", "Connection: Upgrade"]
    if accept is not None:
        lines.append(f"Sec-WebSocket-Accept: {accept}")
    if proto is not None:
        lines.append(f"Sec-WebSocket-Protocol: {proto}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def ws_http_seeds(c):
    listen = bytes([INDEX["pull0"] << 1])  # bit 0 clear: the socket listens
    dial = bytes([(INDEX["push0"] << 1) | 1])  # a push0 dials: it asks for pull
    mask = b"\x01\x02\x03\x04"
    c.add("req-ok", listen + ws_request())
    c.add("req-ok-frame", listen + ws_request() + ws_frame(2, b"hello", mask=mask))
    c.add("req-empty-target", listen + ws_request(path=""))
    c.add("req-query", listen + ws_request(path="/fz?a=b"))
    c.add("req-404", listen + ws_request(path="/other"))
    c.add("req-proto-list", listen + ws_request(proto="x, pull.sp.nanomsg.org ,y"))
    c.add("req-proto-wrong", listen + ws_request(proto="push.sp.nanomsg.org"))
    c.add("req-no-proto", listen + ws_request(proto=None))
    c.add("req-no-key", listen + ws_request(key=None))
    c.add("req-short-key", listen + ws_request(key="short=="))
    c.add("req-version-8", listen + ws_request(version="8"))
    c.add("req-split-headers", listen + ws_request(proto="x", extra="Sec-WebSocket-Protocol: "
                                                    "pull.sp.nanomsg.org\r\n"))
    c.add("req-case", listen + ws_request().replace(b"Upgrade: websocket", b"UPGRADE:WebSocket"))
    c.add("req-post", listen + ws_request().replace(b"GET", b"POST", 1))
    c.add("req-http10", listen + ws_request().replace(b"HTTP/1.1", b"HTTP/1.0", 1))
    c.add("req-lf-only", listen + ws_request().replace(b"\r\n", b"\n"))
    c.add("req-nul", listen + ws_request().replace(b"Host", b"Ho\x00st"))
    c.add("req-huge", listen + ws_request(extra="X: " + "a" * 9000 + "\r\n"))
    c.add("req-cut", listen + ws_request()[:40])
    c.add("rep-ok", dial + ws_reply())
    c.add("rep-ok-frame", dial + ws_reply() + ws_frame(2, b"hello"))
    c.add("rep-ok-frame-pull", bytes([(INDEX["pull0"] << 1) | 1]) + ws_reply()
          + ws_frame(2, b"hello"))
    c.add("rep-ok-masked-frame", dial + ws_reply() + ws_frame(2, b"hello", mask=mask))
    c.add("rep-wrong-accept", dial + ws_reply(accept="s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    c.add("rep-no-accept", dial + ws_reply(accept=None))
    c.add("rep-wrong-proto", dial + ws_reply(proto="push.sp.nanomsg.org"))
    c.add("rep-404", dial + b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    c.add("rep-http10-101", dial + ws_reply().replace(b"HTTP/1.1", b"HTTP/1.0", 1))
    c.add("rep-status-short", dial + b"HTTP/1.1 10\r\n\r\n")
    c.add("rep-status-no-reason", dial + ws_reply(status="101"))
    c.add("rep-garbage", dial + b"\xff" * 64)
    c.add("rep-cut", dial + ws_reply()[:30])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()
    for target, make in (("fuzz_url", url_seeds), ("fuzz_handshake", handshake_seeds),
                         ("fuzz_stream", stream_seeds), ("fuzz_frames", frames_seeds),
                         ("fuzz_ws_frame", ws_frame_seeds), ("fuzz_ws_http", ws_http_seeds)):
        c = Corpus(args.out, target)
        make(c)
        size = sum(os.path.getsize(os.path.join(c.dir, n)) for n in c.names)
        print(f"{target}: {len(c.names)} seeds, {size} bytes")


if __name__ == "__main__":
    main()
