#!/usr/bin/env python3
"""fuzz.py: build and run the libFuzzer targets of the pynng_core C core.

The targets (csrc/fuzz/fuzz_*.c, each with LLVMFuzzerTestOneInput) are
compiled together with every .c file of the core (csrc/core, protocol,
transport, platform/common and platform/posix), so they drive the real
engine: its I/O thread, its sockets, real ipc and tcp connections.

  fuzz_url        pnc_url_parse, pnc_url_hostport (dialer and listener), then
                  a listener and a non-blocking dialer opened on the URL and
                  closed at once.  ipc paths are moved into a directory of
                  the process's own, abstract names get a prefix of its own,
                  tcp/tcp4/tcp6 hosts must be numeric (no DNS), a
                  listener binds port 0 and a dialer only reaches a loopback
                  port that refuses, so nothing outside the process is touched.
  fuzz_handshake  a socket (byte 0: protocol, bit 7 raw) listening on ipc; a
                  raw client writes the rest of the input from the first
                  byte, SP header included, shuts its write side and reads
                  until the core closes the pipe.
  fuzz_stream     byte 0 protocol (modulo 12: pair0 pair1 pair1-poly req0
                  rep0 pub0 sub0 surveyor0 respondent0 bus0 push0 pull0),
                  byte 1 flags (bit 0 raw, bit 1 ipc instead of tcp, bit 2
                  the socket dials the peer instead of listening), then the
                  frames the peer sends after a correct handshake, which the
                  harness does (an ipc frame starts with its 0x01 type byte).
                  req and surveyor send a request first; the bytes F0 0D F0 0D
                  in the input are replaced by its id so replies can match.
                  The harness receives without blocking (which may read the
                  pipe on its own thread, as Python does) and sends back
                  (replies, echoes, new requests), then shuts its write side
                  and waits for the pipe to close.
  fuzz_frames     the sessions of fuzz_stream, with the peer's bytes built by
                  commands: literal bytes, up to 1 MiB of one value (large
                  bodies from small inputs), and "write now and wait until the
                  core has read it" (partial prefixes and bodies, frames >= 32
                  KiB read in place over several reads), which may also stop
                  the peer reading and have 64 copies of each message sent
                  back (the core's write queue fills, a closing pipe lingers).
                  See the top of fuzz_frames.c.
  fuzz_ws_frame   byte 0 protocol, byte 1 flags (bit 0 raw, bit 2 the socket
                  dials), then WebSocket frames the peer sends after a
                  correct ws:// upgrade (masked when the socket listens);
                  first, without I/O, pnc_ws_frame_parse against
                  pnc_ws_frame_header and pnc_ws_mask_copy against the byte
                  rule.
  fuzz_ws_http    byte 0: bit 0 the socket dials, bits 1-7 the protocol;
                  then the upgrade request a listening socket reads, or the
                  reply a dialing one reads ("{ACCEPT}" and "{PROTO}" filled
                  in from its real request); first, the HTTP head parsers of
                  ws_wire.c alone, with small buffers.

Every iteration is independent: a fresh socket and connection, closed at
the end, and a bounded wait until the process has no more descriptors than
before (PNC_FUZZ_DEBUG=1 turns a descriptor left behind into an abort;
PNC_FUZZ_DEBUG=2 also logs one line per session).  No iteration waits more
than about 300 ms.  The core is built with its message block pools off
(-DPNC_NO_POOLS), so ASan sees every free.  Leak detection stays on (the
I/O thread keeps its memory reachable; libFuzzer stops its per-input check
by itself if inputs keep more than they free; the check at exit still
runs).

At 9f31dac, the code the audit read (shared/audit/README.md), these
targets found B2 (pipeset_requeue) in fuzz_handshake, fuzz_stream and
fuzz_frames within seconds to minutes, B3 (pnc_pipe_close after
inproc_close) in fuzz_url, B5 (stream_pipe_cb after a lingering pipe's
finish) in fuzz_frames, and B6 (32-bit length truncation) at once in -m32
replays of the stream seeds (*-len-2p32+16, *-len-2p32, *-len-2p62) and
of the audit's repro/crash32-len-truncation.bin (byte 0 = 11, pull0;
byte 1 = 0, cooked tcp; a prefix of 2^32+16).  --keep-going runs on past
crashes and keeps every crashing input.

Usage (python3, stdlib only; from anywhere):

  fuzz.py build [--m32] [--replay] [--out DIR] [TARGET...]
      libFuzzer builds with clang-14 (-fsanitize=fuzzer,address,undefined);
      --replay builds with gcc instead, linking replay_main.c (runs the
      target over files and directories, no libFuzzer needed); --m32 for
      i386.  Default output: build/fuzz/<kind>-<arch>/ in the repository.
  fuzz.py run TARGET --seconds N [--m32] [--poller poll] [--keep-going]
              [-- LIBFUZZER_ARGS]
      fuzzes a copy of csrc/fuzz/corpus/TARGET in a work directory (never
      the committed corpus) and prints executions, exec/s, cov and ft.  A
      crash, leak or sanitizer report exits non-zero and keeps the work
      directory with the crashing input.  --keep-going runs on past crashes
      (libFuzzer's -fork=1 -ignore_crashes=1: still one worker process) and
      keeps every crashing input: for a core with known bugs.
  fuzz.py replay TARGET FILE|DIR... [--m32] [--gcc] [--poller poll]
      runs the inputs once each (the libFuzzer build, or the gcc replay build
      with --gcc or where clang is missing); goes on past a crash and lists
      every input that crashed.
  fuzz.py ci
      builds 64-bit and -m32, fuzzes each target for 20 s (64-bit), and
      replays every seed corpus on the -m32 build and, with the poll()
      poller, on the 64-bit build.  Well under 4 minutes on 2 cores.

Environment: CLANG (default clang-14), GCC (default gcc), PNC_FUZZ_DEBUG.
PYNNG_CORE_POLLER picks the core's poller (--poller sets it).  Regenerate
the seeds with make_corpus.py.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

FUZZ_DIR = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.dirname(FUZZ_DIR)
REPO = os.path.dirname(CSRC)
CORE_DIRS = ["core", "protocol", "transport", "tls", "platform/common", "platform/posix"]
COMMON = ["fuzz_common.c"]

CLANG = os.environ.get("CLANG", "clang-14")
GCC = os.environ.get("GCC", "gcc")
BASE_FLAGS = ["-std=gnu11", "-pthread", "-g", "-O1", "-fno-omit-frame-pointer",
              "-Wall", "-Wextra", "-I" + os.path.join(CSRC, "include")]
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
# The core's message block pools off, as in a sanitizer build of the
# package: every message is malloc'd and freed, so ASan sees each free.
CORE_DEFINES = ["-DPNC_NO_POOLS"]

# What marks a failed run in a target's output, besides its exit status.
FAILURE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|"
                     r"runtime error:|SUMMARY: (Address|Undefined|Leak)|"
                     r"^fuzz: (setup failed|.* left \d+ descriptor)", re.M)


class Missing(Exception):
    """A tool or library the build needs is not on this machine."""


def say(*args):
    print(*args, flush=True)


def targets():
    return sorted(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(FUZZ_DIR, "fuzz_*.c"))
                  if os.path.basename(p) not in COMMON)


def core_sources():
    out = []
    for d in CORE_DIRS:
        out += sorted(glob.glob(os.path.join(CSRC, d, "*.c")))
    return out


def headers():
    out = []
    for d in CORE_DIRS + ["include", "fuzz"]:
        out += glob.glob(os.path.join(CSRC, d, "*.h"))
    return out


class Build:
    """One kind of build: libFuzzer (clang) or replay (gcc), 64 or 32 bits."""

    def __init__(self, replay=False, m32=False, out=None):
        self.replay = replay
        self.m32 = m32
        self.arch = "i386" if m32 else "x86_64"
        self.kind = "replay" if replay else "libfuzzer"
        self.cc = GCC if replay else CLANG
        self.out = out or os.path.join(REPO, "build", "fuzz", f"{self.kind}-{self.arch}")
        self.cflags = BASE_FLAGS + SAN + (["-m32"] if m32 else [])
        self.core_cflags = list(CORE_DEFINES)
        self.ldflags = []
        self.checked = False
        if not replay:
            self.cflags_obj = self.cflags + ["-fsanitize=fuzzer-no-link"]
            self.link = ["-fsanitize=fuzzer"]
        else:
            self.cflags_obj = self.cflags
            self.link = []

    def binary(self, target):
        return os.path.join(self.out, target)

    # -- checks: say exactly what is missing
    def check(self):
        if self.checked:
            return
        if shutil.which(self.cc) is None:
            hint = "apt-get install clang-14" if not self.replay else "apt-get install gcc"
            raise Missing(f"{self.cc} not found ({hint}; or set {'GCC' if self.replay else 'CLANG'})")
        if not self.replay:
            self._check_clang_runtimes()
        if self.m32:
            self._check_m32()
        self._probe()
        self.checked = True

    def _check_clang_runtimes(self):
        res = subprocess.run([self.cc, "-print-resource-dir"], capture_output=True, text=True)
        libdir = os.path.join(res.stdout.strip(), "lib", "linux")
        need = [f"libclang_rt.{n}-{self.arch}.a" for n in ("fuzzer", "asan", "ubsan_standalone")]
        missing = [n for n in need if not os.path.exists(os.path.join(libdir, n))]
        if missing:
            raise Missing(f"{self.cc} lacks {', '.join(missing)} in {libdir} "
                          f"(libFuzzer/sanitizer runtimes for {self.arch}: apt-get install "
                          "libclang-rt-14-dev, or clang-14's compiler-rt)")

    def _check_m32(self):
        if not self.replay:
            # libFuzzer is C++: it links libstdc++ for i386.  Debian's
            # lib32stdc++6 has the library without its libstdc++.so link
            # (that comes with lib32stdc++-12-dev): link it ourselves.
            res = subprocess.run([self.cc, "-m32", "-print-file-name=libstdc++.so"],
                                 capture_output=True, text=True)
            if not os.path.isabs(res.stdout.strip()):
                so = "/usr/lib32/libstdc++.so.6"
                if not os.path.exists(so):
                    raise Missing("no 32-bit libstdc++ (apt-get install lib32stdc++6 "
                                  "lib32stdc++-12-dev)")
                libdir = os.path.join(self.out, "lib")
                os.makedirs(libdir, exist_ok=True)
                link = os.path.join(libdir, "libstdc++.so")
                if not os.path.islink(link):
                    os.symlink(so, link)
                say(f"note: lib32stdc++-12-dev is not installed; linking {so} through {link}")
                self.ldflags.append("-L" + libdir)

    def _probe(self):
        """Compiles and links an empty program with the real flags."""
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                if self.replay:
                    f.write("int main(void) { return 0; }\n")
                else:
                    f.write("#include <stddef.h>\n#include <stdint.h>\n"
                            "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
                            " { (void) d; (void) n; return 0; }\n")
            cmd = [self.cc] + self.cflags + self.link + [src, "-o", os.path.join(tmp, "probe")]
            cmd += self.ldflags
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                hint = ""
                if self.m32:
                    hint = (" (for -m32: gcc-multilib, libc6-dev-i386"
                            + (", lib32asan8, lib32ubsan1" if self.replay else "") + ")")
                raise Missing(f"{self.cc} cannot build a {self.kind} program for {self.arch}"
                              f"{hint}:\n{res.stderr.strip()[-2000:]}")

    # -- compiling
    def _compile(self, src, obj, extra):
        cmd = [self.cc] + self.cflags_obj + extra + ["-c", src, "-o", obj]
        res = subprocess.run(cmd, capture_output=True, text=True)
        return src, res

    def build(self, names):
        self.check()
        objdir = os.path.join(self.out, "obj")
        os.makedirs(objdir, exist_ok=True)
        newest_header = max(os.path.getmtime(h) for h in headers())
        jobs = []
        srcs = [(s, self.core_cflags) for s in core_sources()]
        srcs += [(os.path.join(FUZZ_DIR, c), []) for c in COMMON + [n + ".c" for n in names]]
        if self.replay:
            srcs.append((os.path.join(FUZZ_DIR, "replay_main.c"), []))
        objs = {}
        for src, extra in srcs:
            rel = os.path.relpath(src, CSRC).replace("/", "_")
            obj = os.path.join(objdir, rel[:-2] + ".o")
            objs[src] = obj
            if (not os.path.exists(obj) or os.path.getmtime(obj) < os.path.getmtime(src)
                    or os.path.getmtime(obj) < newest_header):
                jobs.append((src, obj, extra))
        ok = True
        # Two jobs: the machine has two cores and others build on it too.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for src, res in pool.map(lambda j: self._compile(*j), jobs):
                if res.returncode != 0 or res.stderr.strip():
                    sys.stderr.write(res.stderr)
                if res.returncode != 0:
                    ok = False
                    say(f"error: compiling {os.path.relpath(src, REPO)} failed")
        if not ok:
            return False
        core = [objs[s] for s in core_sources()]
        common = [objs[os.path.join(FUZZ_DIR, c)] for c in COMMON]
        for name in names:
            own = [objs[os.path.join(FUZZ_DIR, name + ".c")]]
            if self.replay:
                own.append(objs[os.path.join(FUZZ_DIR, "replay_main.c")])
            cmd = ([self.cc] + self.cflags + self.link + core + common + own
                   + ["-o", self.binary(name)] + self.ldflags)
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0 or res.stderr.strip():
                sys.stderr.write(res.stderr)
            if res.returncode != 0:
                say(f"error: linking {name} failed")
                return False
        say(f"built {', '.join(names)} ({self.kind}, {self.arch}) in {os.path.relpath(self.out)}")
        return True


def pick_build(args, want_replay=False):
    """The libFuzzer build if clang can make it, else gcc's replay build."""
    if not want_replay:
        b = Build(m32=args.m32)
        try:
            b.check()
            return b
        except Missing as e:
            say(f"note: {e}\nnote: using the gcc replay build instead")
    return Build(replay=True, m32=args.m32)


def target_env(args):
    env = dict(os.environ)
    if getattr(args, "poller", None):
        env["PYNNG_CORE_POLLER"] = args.poller
    return env


def check_target(name):
    if name not in targets():
        sys.exit(f"unknown target {name!r}; targets: {', '.join(targets())}")


# ------------------------------------------------------------------ run
def last_stats(log):
    stats = {}
    for key, pat in (("execs", r"stat::number_of_executed_units:\s*(\d+)"),
                     ("exec/s", r"stat::average_exec_per_sec:\s*(\d+)"),
                     ("peak rss MB", r"stat::peak_rss_mb:\s*(\d+)")):
        m = re.findall(pat, log)
        if m:
            stats[key] = int(m[-1])
    m = re.findall(r"^#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", log, re.M)
    if m:
        stats["cov"], stats["ft"], stats["corpus"] = (int(x) for x in m[-1])
    # -fork mode: the parent's lines say it all.
    m = re.findall(r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s (\d+) "
                   r"oom/timeout/crash: \d+/\d+/(\d+)", log, re.M)
    if m:
        (stats["execs"], stats["cov"], stats["ft"], stats["corpus"], stats["exec/s"],
         stats["crashes"]) = (int(x) for x in m[-1])
    return stats


def report_failure(log, most=4):
    """Each sanitizer report's headline and its first frames in csrc/."""
    lines = log.splitlines()
    out = []
    for i, line in enumerate(lines):
        if not FAILURE.search(line) or line.startswith("SUMMARY") or len(out) >= most:
            continue
        report = [line.strip()]
        for frame in lines[i + 1:i + 80]:
            if FAILURE.search(frame):
                break
            if re.match(r"\s*#\d+ ", frame) and "csrc/" in frame:
                report.append("   " + frame.strip())
            if len(report) >= 8:
                break
        out.append("\n".join(report))
    return "\n".join(out) if out else "(no sanitizer report; see the log)"


def signatures(log):
    """Distinct failures: the report's kind and its first frame in csrc/."""
    found = {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"ERROR: (\w+Sanitizer|libFuzzer): ([\w-]+)|(runtime error: .*)", line)
        if not m:
            continue
        kind = m.group(3) or f"{m.group(1)}: {m.group(2)}"
        where = "?"
        for frame in lines[i + 1:i + 40]:
            f = re.match(r"\s*#\d+ \S+ in (\S+) .*?(csrc/\S+)", frame)
            if f:
                where = f"{f.group(1)} {f.group(2)}"
                break
        if "runtime error" in kind:
            where = re.sub(r"^.*?(csrc/\S+).*$", r"\1", line)
        found[(kind.split(" (")[0], where)] = found.get((kind.split(" (")[0], where), 0) + 1
    return found


def cmd_run(args):
    check_target(args.target)
    build = Build(m32=args.m32)
    if not build.build([args.target]):
        return 2
    work = tempfile.mkdtemp(prefix=f"pnc-fuzz-{args.target}-")
    corpus = os.path.join(work, "corpus")
    artifacts = os.path.join(work, "artifacts") + "/"
    shutil.copytree(os.path.join(FUZZ_DIR, "corpus", args.target), corpus)
    os.makedirs(artifacts)
    cmd = [build.binary(args.target), f"-max_total_time={args.seconds}",
           "-print_final_stats=1", "-timeout=10", "-rss_limit_mb=2048",
           f"-artifact_prefix={artifacts}"]
    if args.keep_going:
        # One worker process at a time, restarted after each crash; the
        # run still fails at the end if anything crashed.
        cmd += ["-fork=1", "-ignore_crashes=1"]
    dict_file = os.path.join(FUZZ_DIR, args.target + ".dict")
    if os.path.exists(dict_file):
        cmd.append(f"-dict={dict_file}")
    cmd += args.extra + [corpus]
    log_path = os.path.join(work, "fuzz.log")
    env = target_env(args)
    if args.keep_going:
        # The workers' reports go to files: the parent keeps no stacks.
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            env[name] = ":".join(filter(None, [env.get(name), "log_path=" +
                                               os.path.join(work, "sanitizer")]))
    say(f"running {args.target} ({build.arch}) for {args.seconds} s in {work}")
    start = time.time()
    with open(log_path, "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            timeout=args.seconds + 120).returncode
    with open(log_path, errors="replace") as f:
        log = f.read()
    for report in sorted(glob.glob(os.path.join(work, "sanitizer.*"))):
        with open(report, errors="replace") as f:
            log += f"\n--- {report}\n" + f.read()
    st = last_stats(log)
    say(f"{args.target} ({build.arch}): {st.get('execs', '?')} execs, "
        f"{st.get('exec/s', '?')} exec/s, cov {st.get('cov', '?')}, ft {st.get('ft', '?')}, "
        f"corpus {st.get('corpus', '?')}, peak rss {st.get('peak rss MB', '?')} MB, "
        f"{time.time() - start:.0f} s" + (f", {st['crashes']} crash(es)" if "crashes" in st else ""))
    crashes = sorted(os.listdir(artifacts))
    if rc != 0 or crashes or FAILURE.search(log):
        say(f"FAILED (exit {rc}):\n{report_failure(log)}")
        if args.keep_going:
            say("distinct failures:")
            for (kind, where), n in sorted(signatures(log).items()):
                say(f"  {n} x {kind} at {where}")
        for c in crashes:
            say(f"  input kept: {os.path.join(artifacts, c)}")
        say(f"  log: {log_path}")
        return 1
    if args.keep:
        say(f"kept {work} (the corpus grew to {len(os.listdir(corpus))} inputs)")
    else:
        shutil.rmtree(work)
    return 0


# --------------------------------------------------------------- replay
def expand(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, n) for n in os.listdir(p)
                            if os.path.isfile(os.path.join(p, n)))
        elif os.path.isfile(p):
            files.append(p)
        else:
            sys.exit(f"no such file: {p}")
    return files


def replay(build, target, files, env, quiet=False):
    """Runs every file; returns [(file, report)] for those that crashed."""
    crashed = []
    todo = list(files)
    while todo:
        res = subprocess.run([build.binary(target)] + todo, capture_output=True,
                             text=True, errors="replace", env=env,
                             timeout=120 + len(todo))
        log = res.stdout + res.stderr
        ran = re.findall(r"^Running: (.*)$", log, re.M)
        if res.returncode == 0 and not FAILURE.search(log):
            break
        # The crash belongs to the last input that started; go on after it.
        bad = ran[-1] if ran else todo[0]
        crashed.append((bad, report_failure(log)))
        if not quiet:
            say(f"CRASH {bad}\n{crashed[-1][1]}")
        todo = todo[todo.index(bad) + 1:] if bad in todo else todo[1:]
    return crashed


def cmd_replay(args):
    check_target(args.target)
    build = Build(replay=True, m32=args.m32) if args.gcc else pick_build(args)
    if not build.build([args.target]):
        return 2
    files = expand(args.files)
    crashed = replay(build, args.target, files, target_env(args), quiet=len(files) > 8)
    if len(files) > 8:
        summarize_crashes(crashed, args.target)
    say(f"{args.target} ({build.kind}, {build.arch}): {len(files)} input(s), "
        f"{len(crashed)} crashed")
    return 1 if crashed else 0


# ------------------------------------------------------------------- ci
def summarize_crashes(crashed, what):
    """Inputs that crashed, grouped by where: one line each, a few names."""
    groups = {}
    for f, report in crashed:
        head = report.splitlines()
        kind = re.sub(r"^==\d+==", "", head[0]).split(" on address")[0] if head else "?"
        where = head[1].split(" in ", 1)[-1] if len(head) > 1 else "?"
        groups.setdefault((kind, where), []).append(os.path.basename(f))
    for (kind, where), files in sorted(groups.items()):
        more = f" (+{len(files) - 3} more)" if len(files) > 3 else ""
        say(f"CRASH {what}: {len(files)} x {kind}\n    in {where}\n"
            f"    e.g. {', '.join(files[:3])}{more}")


def cmd_ci(args):
    start = time.time()
    names = targets()
    results = []
    try:
        b64 = Build()
        b64.check()
    except Missing as e:
        say(f"note: {e}\nnote: no libFuzzer here: ci replays the seeds on gcc builds only")
        b64 = None
    b32 = Build(m32=True) if b64 is not None else Build(replay=True, m32=True)
    try:
        b32.check()
    except Missing as e:
        say(f"note: {e}")
        b32 = Build(replay=True, m32=True)
    if b64 is not None and not b64.build(names):
        return 2
    if not b32.build(names):
        return 2
    for name in names:
        seeds = os.path.join(FUZZ_DIR, "corpus", name)
        if b64 is not None:
            ns = argparse.Namespace(target=name, seconds=args.seconds, m32=False, poller=None,
                                    keep=False, keep_going=False, extra=[])
            rc = cmd_run(ns)
            results.append((f"{name} fuzz {args.seconds} s x86_64", rc == 0))
            crashed = replay(b64, name, expand([seeds]),
                             target_env(argparse.Namespace(poller="poll")), quiet=True)
            summarize_crashes(crashed, f"{name}, seeds, x86_64, poll()")
            results.append((f"{name} seeds x86_64 poll() ({len(crashed)} crashed)", not crashed))
        crashed = replay(b32, name, expand([seeds]), dict(os.environ), quiet=True)
        summarize_crashes(crashed, f"{name}, seeds, i386")
        results.append((f"{name} seeds {b32.kind} i386 ({len(crashed)} crashed)", not crashed))
    say("\nci summary:")
    for what, ok in results:
        say(f"  {'ok  ' if ok else 'FAIL'} {what}")
    failed = sum(1 for _, ok in results if not ok)
    say(f"{len(results) - failed} passed, {failed} failed ({time.time() - start:.0f} s)")
    return 1 if failed else 0


# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description="Build and run pynng_core's fuzz targets.",
                                 epilog="See the top of this file for what each target covers.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("build", help="build the targets")
    p.add_argument("--m32", action="store_true", help="i386")
    p.add_argument("--replay", action="store_true", help="gcc, with replay_main.c, no libFuzzer")
    p.add_argument("--out", help="output directory")
    p.add_argument("names", nargs="*", metavar="TARGET")
    p = sub.add_parser("run", help="fuzz one target on a copy of its seeds")
    p.add_argument("target")
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--m32", action="store_true")
    p.add_argument("--poller", choices=["epoll", "poll"])
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--keep-going", action="store_true",
                   help="go on after a crash (-fork=1 -ignore_crashes=1), keeping every input")
    p.add_argument("extra", nargs="*", help="libFuzzer flags, after --")
    p = sub.add_parser("replay", help="run inputs once each")
    p.add_argument("target")
    p.add_argument("files", nargs="+")
    p.add_argument("--m32", action="store_true")
    p.add_argument("--gcc", action="store_true", help="the gcc replay build")
    p.add_argument("--poller", choices=["epoll", "poll"])
    p = sub.add_parser("ci", help="build both ways, fuzz each target briefly, replay seeds")
    p.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    try:
        if args.cmd == "build":
            names = args.names or targets()
            for n in names:
                check_target(n)
            b = Build(replay=args.replay, m32=args.m32, out=args.out)
            return 0 if b.build(names) else 2
        return {"run": cmd_run, "replay": cmd_replay, "ci": cmd_ci}[args.cmd](args)
    except Missing as e:
        say(f"error: {e}")
        return 3


if __name__ == "__main__":
    sys.exit(main())
