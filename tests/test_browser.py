"""A real browser as a peer: headless Chromium (Debian's `chromium`) opens a
page that calls `new WebSocket(url, "pair1.sp.nanomsg.org")` on a Pair1
socket of ours listening on ws://, and answers each message we send.

What crosses the wire (wire.md sections 3 and 4): no SP handshake, the
subprotocol names the protocol; each WebSocket message is one SP message,
which for pair1 is a 4-byte big-endian hop count and then the body.  Our
Pair1 sends hop count 1; the page checks that word, takes it off, and puts
its own in front of what it answers (1, as an NNG pipe counts its own hop
on a message sent with 0), which our side takes off again.

The page answers a binary message with the body's bytes reversed and a text
one with its characters reversed, then answers "done?" with a summary, so
every payload is checked where it ends up.  Sizes around the WebSocket
length encodings (125/126, 65535/65536) and past our 1 MiB frame limit
(ws:rxframe-max) check Chromium's framing against ours: a message bigger
than a frame we accept only arrives if the browser cut it into fragments
and we put them back together.
"""
import contextlib
import os
import shutil
import signal
import subprocess

import pytest

import pynng_core
from pynng_core import options
from platform_probes import browser_missing, skip_unless
from peers import free_tcp_port

PAIR1 = "pair1.sp.nanomsg.org"
# Chromium starts in about a second here; under load, and the first time a
# profile is made, it takes longer.
TIMEOUT_MS = 30000

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>pynng_core browser peer</title>
<script>
"use strict";
// ?ws=<url>&mode=binary|text|text-refused
const query = new URLSearchParams(location.search);
const url = query.get("ws"), mode = query.get("mode");
const HOP = "\\0\\0\\0\\x01";  // the pair1 header word: hop count 1

function open() {
  const ws = new WebSocket(url, "%(subprotocol)s");
  ws.binaryType = "arraybuffer";
  return ws;
}

function sendBinary(ws, body) {
  const m = new Uint8Array(4 + body.length);
  m.set([0, 0, 0, 1]);
  m.set(body, 4);
  ws.send(m);
}

// What the page says about itself goes back as a binary message.
function report(ws, text) { sendBinary(ws, new TextEncoder().encode(text)); }

let answered = 0;

function answer(ws, data) {
  const text = typeof data === "string";
  if (text !== (mode === "text"))
    return report(ws, "error: a " + (text ? "text" : "binary") + " message in mode " + mode);
  const head = text ? Array.from(data.slice(0, 4), c => c.charCodeAt(0))
                    : Array.from(new Uint8Array(data, 0, Math.min(4, data.byteLength)));
  if (head.join() !== "0,0,0,1")
    return report(ws, "error: header " + head.join());
  const body = text ? data.slice(4) : new Uint8Array(data, 4);
  const said = text ? body : new TextDecoder().decode(body.subarray(0, 6));
  if (said === "done?" && body.length === 5)
    return report(ws, "done " + answered + " " + ws.protocol);
  answered++;
  if (text)
    ws.send(HOP + Array.from(body).reverse().join(""));
  else
    sendBinary(ws, body.slice().reverse());
}

const ws = open();
onerror = (message) => report(ws, "error: " + message);
if (mode === "text-refused") {
  // Text we were not told to take: the listener closes with 1003, and a
  // second connection says what the first one's close said.
  ws.onopen = () => ws.send(HOP + "as text");
  ws.onclose = (ev) => {
    const again = open();
    again.onopen = () => report(again, "closed " + ev.code);
  };
} else {
  ws.onmessage = (ev) => answer(ws, ev.data);
}
</script>
""" % {"subprotocol": PAIR1}

# A page on this machine is all it needs to reach: no proxy, no name
# lookups, none of the browser's own background traffic.
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
    "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
    "--disable-client-side-phishing-detection", "--no-first-run",
    "--no-default-browser-check",
]


def chromium():
    skip_unless(browser_missing())
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on PATH (neither chromium nor chromium-browser): "
                "Debian's is `apt-get install chromium`, which .ci/run does")


@contextlib.contextmanager
def browser(tmp_path, url, mode):
    """Chromium showing the page, which connects to url; killed on exit,
    its stderr (the page's console included) printed if the test failed."""
    exe = chromium()
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    log = tmp_path / "chromium.log"
    # Its own process, not ours: no sanitizer runtime preloaded into it.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    argv = [exe] + CHROMIUM_FLAGS + ["--user-data-dir=%s" % (tmp_path / "profile"),
                                     "%s?ws=%s&mode=%s" % (page.as_uri(), url, mode)]
    with open(log, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=env, start_new_session=True)
    try:
        yield proc
    except BaseException:
        print("chromium (exit status %s) said on stderr:\n%s"
              % (proc.poll(), log.read_text(errors="replace")))
        raise
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # its renderer and helpers too
        proc.wait()


def listening_pair1(path, text=False):
    s = pynng_core.Pair1(recv_timeout=TIMEOUT_MS, send_timeout=TIMEOUT_MS)
    url = "ws://127.0.0.1:%d/%s" % (free_tcp_port(), path)
    listener = s.listen(url)
    if text:
        options._setopt_bool(listener, "ws:send-text", True)
        options._setopt_bool(listener, "ws:recv-text", True)
    return s, url


def exchange(s, messages, expected):
    """Send each message, check the page's answer, then ask for its summary."""
    for i, (msg, want) in enumerate(zip(messages, expected)):
        s.send(msg)
        got = s.recv()
        assert got == want, "message %d (%d bytes): got %d bytes %r..." % (
            i, len(msg), len(got), got[:60])
    s.send(b"done?")
    assert s.recv() == b"done %d %s" % (len(messages), PAIR1.encode())


def sized(n, seed):
    return bytes((seed + i * 7) & 0xFF for i in range(n))


@pytest.mark.timeout(120)
def test_binary_messages_of_every_length_encoding(tmp_path):
    sizes = [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, (2 << 20) + 3]
    messages = [sized(n, k) for k, n in enumerate(sizes)]
    s, url = listening_pair1("binary")
    with s, browser(tmp_path, url, "binary"):
        exchange(s, messages, [m[::-1] for m in messages])
        assert len(s.pipes) == 1


@pytest.mark.one_poller
@pytest.mark.timeout(120)
def test_text_messages_with_ws_text_options(tmp_path):
    """With ws:send-text and ws:recv-text the page gets strings and answers
    in text; UTF-8 of every length, large ones fragmented by the browser."""
    texts = ["", "plain", "h\u00e9llo w\u00f6rld", "\u65e5\u672c\u8a9e",
             "\U0001f600 four-byte \U0001f680", "\u00e9" * 70000, "x\U0001f600" * 300000]
    s, url = listening_pair1("text", text=True)
    with s, browser(tmp_path, url, "text"):
        exchange(s, [t.encode() for t in texts], [t[::-1].encode() for t in texts])


@pytest.mark.one_poller
@pytest.mark.timeout(120)
def test_text_refused_by_default(tmp_path):
    """Without ws:recv-text a text message closes its connection with 1003,
    as NNG's listener does; the browser sees that code and a new connection
    is served."""
    s, url = listening_pair1("refuse")
    with s, browser(tmp_path, url, "text-refused"):
        assert s.recv() == b"closed 1003"
