"""A pynng socket in a child process, driven from the test: RemotePynng.

pynng over ws:// or wss:// runs here, never in the test's process: libnng
1.11 (in pynng 0.9.0) now and then runs a ws pipe's completion
(wstran_pipe_send_cb) after the pipe was freed as its connection closed,
and panics ("pthread_mutex_lock: Invalid argument", nni_task_dispatch) or
corrupts its heap: about one connection in a hundred, pynng to pynng too,
as a dialer and (seen in CI, as its listener's pipes were torn down after
a test) as a listener; the benchmark saw it over plain ws.  The child
never closes its socket: it leaves by os._exit, so a crash at its close
has no chance, and one that comes anyway fails only the test that saw it.

The parent sends requests on the child's stdin and reads the answers on its
stdout, one at a time: op (1 byte), length (4, big-endian), payload.
"""
import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _write(f, op, payload=b""):
    f.write(op + struct.pack(">I", len(payload)) + payload)
    f.flush()


def _read(f):
    head = f.read(5)
    if len(head) < 5:
        raise EOFError("the pynng child is gone")
    (n,) = struct.unpack(">I", head[1:])
    return head[:1], f.read(n)


class RemotePynng:
    """The part of a pynng socket the interop tests use (dial, listen,
    send, recv, subscribe, recv_timeout, close), in a child process.  tls:
    pynng.TLSConfig's keyword arguments, with "mode" "client" or "server"
    (tls_certs.pynng_tls makes them), or None."""

    def __init__(self, protocol, tls=None, recv_timeout=5000, send_timeout=5000):
        spec = {"protocol": protocol, "tls": tls,
                "recv_timeout": recv_timeout, "send_timeout": send_timeout}
        self._recv_timeout = recv_timeout
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), json.dumps(spec)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=HERE)

    def _call(self, op, payload=b""):
        import pynng

        _write(self.proc.stdin, op, payload)
        status, data = _read(self.proc.stdout)
        if status == b"t":
            raise pynng.Timeout(data.decode(), 5)
        if status == b"e":
            raise pynng.NNGException(data.decode(), 0)
        return data

    def dial(self, url, block=True):
        self._call(b"d" if block else b"D", url.encode())

    def listen(self, url):
        self._call(b"l", url.encode())

    def send(self, data):
        self._call(b"s", bytes(data))

    def recv(self):
        return self._call(b"r")

    def subscribe(self, topic):
        self._call(b"S", bytes(topic))

    @property
    def recv_timeout(self):
        return self._recv_timeout

    @recv_timeout.setter
    def recv_timeout(self, ms):
        self._call(b"T", str(ms).encode())
        self._recv_timeout = ms

    def close(self):
        if self.proc.poll() is None:
            try:
                _write(self.proc.stdin, b"q")
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _serve(spec):
    import pynng

    tls, config = spec["tls"], None
    if tls:
        kw = dict(tls)
        mode = getattr(pynng.TLSConfig, "MODE_" + kw.pop("mode").upper())
        config = pynng.TLSConfig(mode, **kw)
    sock = getattr(pynng, spec["protocol"])(
        recv_timeout=spec["recv_timeout"], send_timeout=spec["send_timeout"],
        tls_config=config)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while True:
        op, payload = _read(requests)
        try:
            if op == b"q":
                os._exit(0)  # no close: see the module's docstring
            elif op in (b"d", b"D"):
                sock.dial(payload.decode(), block=op == b"d")
                out = b""
            elif op == b"l":
                sock.listen(payload.decode())
                out = b""
            elif op == b"s":
                sock.send(payload)
                out = b""
            elif op == b"r":
                out = sock.recv()
            elif op == b"S":
                sock.subscribe(payload)
                out = b""
            elif op == b"T":
                sock.recv_timeout = int(payload)
                out = b""
            else:
                raise ValueError("unknown request %r" % op)
        except pynng.Timeout as e:
            _write(answers, b"t", str(e).encode())
        except Exception as e:  # the parent raises it as an NNGException
            _write(answers, b"e", ("%s: %s" % (type(e).__name__, e)).encode())
        else:
            _write(answers, b"k", out)


if __name__ == "__main__":
    try:
        _serve(json.loads(sys.argv[1]))
    except EOFError:
        os._exit(0)  # the test is gone
