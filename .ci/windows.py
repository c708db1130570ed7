#!/usr/bin/env python3
"""Builds pynng_core for Windows x64 and runs its test suite under wine.

1. A Windows CPython 3.13 under wine (.ci/winpy/setup-winpy.sh, from the team's
   shared tools; it apt-installs mingw-w64 and wine when they are missing),
   cached in $PNC_WINPY (default ~/.cache/pynng_core/winpy).
2. Cross-compiles the cffi module and the C core with mingw-w64, -Wall
   -Wextra: any warning fails the build.
3. Installs it into build/windows/tree (the .py files and _core.pyd) and
   runs pytest there under wine.  Tests skip what wine cannot do by their
   own runtime probes (tests/platform_probes.py); PNC_WINE_PYTHON lets the Linux
   side start a wine peer, which is how test_windows_peer.py talks tcp
   between the two builds, both ways.
4. Prints pass/skip/fail counts; exits non-zero on a failure or a warning.

usage: .ci/windows.py [pytest args...]   (default: the whole tests/ folder)

PNC_WIN_CFLAGS adds compiler flags: -DPNC_ATOMIC_INTERLOCKED builds the
MSVC branch of csrc/include/pnc_atomic.h (the _Interlocked intrinsics),
which is how that branch runs without MSVC.  PNC_WIN_LDFLAGS adds link
arguments.  The build has no TLS (no Windows OpenSSL here) unless both
say otherwise: the Windows CPython's own OpenSSL 3 DLLs can stand in, with
OpenSSL 3 headers (a copy of /usr/include/openssl with the multiarch
opensslconf.h and configuration.h beside them, in DIR/openssl):

    W=~/.cache/pynng_core/winpy/py313
    PNC_WIN_CFLAGS="-DPNC_HAVE_OPENSSL -IDIR" \
    PNC_WIN_LDFLAGS="$W/libssl-3.dll $W/libcrypto-3.dll" .ci/windows.py tests/test_tls.py

(the TLS tests then need `cryptography`, whose Windows wheel does not load
under wine: its tests error there; a tls+tcp:// and wss:// round trip with
a certificate made on the Linux side does work under wine).
"""
import concurrent.futures
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inplace import build_inplace  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP = os.path.join(ROOT, ".ci", "winpy", "setup-winpy.sh")
WINPY = os.environ.get("PNC_WINPY", os.path.expanduser("~/.cache/pynng_core/winpy"))
BUILD = os.path.join(ROOT, "build", "windows")
TREE = os.path.join(BUILD, "tree")
# trio, pynng, websockets: imported by tests (websockets: test_ws.py's raw client)
PACKAGES = ["cffi", "pytest", "pytest-timeout", "pynng", "trio", "websockets"]
CC = "x86_64-w64-mingw32-gcc"
CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden"] + \
    shlex.split(os.environ.get("PNC_WIN_CFLAGS", ""))


def wine_env():
    env = dict(os.environ, WINEPREFIX=os.path.join(WINPY, "prefix"), WINEDEBUG="-all",
               WINEDLLOVERRIDES="mscoree,mshtml=")
    # The embeddable CPython ignores PYTHONPATH while its ._pth file exists
    # (removed in setup_python); tests' subprocesses extend this one.
    env["PYTHONPATH"] = ";".join(winpath(p) for p in (TREE, os.path.join(WINPY, "py313", "site")))
    return env


def winpath(path):
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def setup_python():
    site = os.path.join(WINPY, "py313", "site")
    if not all(os.path.isdir(os.path.join(site, p))
               for p in ("pytest", "pynng", "trio", "websockets")):
        subprocess.run(["bash", SETUP, WINPY] + PACKAGES, check=True, stdout=subprocess.DEVNULL)
    pth = os.path.join(WINPY, "py313", "python313._pth")
    if os.path.exists(pth):
        os.remove(pth)  # so that PYTHONPATH counts, for the tests' subprocesses too


def compile_one(args):
    src, obj, macros = args
    r = subprocess.run([CC] + CFLAGS + macros + ["-c", src, "-o", obj,
                        "-I" + os.path.join(ROOT, "csrc", "include"),
                        "-I" + os.path.join(WINPY, "include")],
                       cwd=ROOT, capture_output=True, text=True)
    return src, r.returncode, r.stderr


def build():
    """Compiles every file on two cores; returns the .pyd's path."""
    os.environ["PYNNG_CORE_NO_TLS"] = "1"  # no OpenSSL for Windows here: the build without TLS
    sys.path.insert(0, os.path.join(ROOT, "src", "pynng_core"))
    import _build  # noqa: E402  (the cffi builder: one source of truth for cdef and files)
    os.makedirs(os.path.join(BUILD, "obj"), exist_ok=True)
    glue = os.path.join(BUILD, "_core.c")
    _build.ffibuilder.emit_c_code(glue)
    srcs = [glue] + [os.path.join(ROOT, s) for s in _build.sources("windows")]
    macros = ["-D%s=%s" % _build.LIMITED_API]
    jobs = [(s, os.path.join(BUILD, "obj", "%d_%s.o" % (i, os.path.basename(s)[:-2])), macros)
            for i, s in enumerate(srcs)]
    noisy = []
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for src, rc, err in pool.map(compile_one, jobs):
            if rc != 0 or err.strip():
                noisy.append(err or "%s: exit %d" % (src, rc))
    if noisy:
        sys.stderr.write("".join(noisy))
        raise SystemExit("windows: the build has warnings or errors (above)")
    pyd = os.path.join(BUILD, "_core.pyd")
    subprocess.run([CC, "-shared", "-static-libgcc", "-o", pyd] + [o for _, o, _ in jobs] +
                   [os.path.join(WINPY, "py313", "python3.dll"), "-lws2_32"] +
                   shlex.split(os.environ.get("PNC_WIN_LDFLAGS", "")), check=True)
    return pyd


def install(pyd):
    """The package as wheels install it: the .py files and the module."""
    pkg = os.path.join(TREE, "pynng_core")
    shutil.rmtree(TREE, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "src", "pynng_core"), pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "_build.py", "*.so", "*.pyd"))
    shutil.copy(pyd, os.path.join(pkg, "_core.pyd"))


def run_tests(args):
    env = wine_env()
    cmd = ["wine", os.path.join(WINPY, "py313", "python.exe"), "-m", "pytest", "-p",
           "no:cacheprovider", "-q", "-rfEs", "--timeout=120"] + (args or ["tests"])
    # Python under wine needs pipes on all three standard streams.
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", start_new_session=True)
    p.stdin.close()
    out = []
    summary = None
    for line in p.stdout:
        sys.stdout.write(line)
        out.append(line)
        if re.match(r"^=*\s*\d+ (passed|failed).* in [\d.]+s", line):
            summary = line
            break  # the summary: a straggling child may still hold the pipe
    try:
        rc = p.wait(timeout=10 if summary else 30)
    except subprocess.TimeoutExpired:
        # Seen under wine: the python.exe that ran pytest does not exit after
        # its summary.  Its main thread is then in pynng's atexit handler,
        # in NNG's nng_fini() (pynng, the reference library the interop
        # tests import; not pynng_core).  The summary is then the result:
        # pytest's exit status would be 1 with a failure or an error, else 0.
        os.killpg(p.pid, 9)
        p.wait()
        rc = 1 if summary is None or re.search(r"\d+ (failed|errors?)\b", summary) else 0
        print("windows: pytest's python.exe did not exit in 10 s after its summary: killed; "
              "exit status %d taken from the summary" % rc)
    return rc, "".join(out)


def run_cross():
    """tests/test_windows_peer.py on Linux (this tree's Linux build) against
    the Windows build under wine: tcp both ways.  main() built the Linux
    module in place first: build_inplace empties build/, the wine tree's
    home too."""
    env = wine_env()
    env.update(PNC_WINE_PYTHON=os.path.join(WINPY, "py313", "python.exe"),
               PNC_WINE_PYTHONPATH=env["PYTHONPATH"], PYTHONPATH=os.path.join(ROOT, "src"))
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                        "tests/test_windows_peer.py"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    sys.stdout.write(r.stdout + r.stderr)
    return r.returncode, r.stdout


def counts(out):
    found = {}
    tail = [l for l in out.splitlines() if re.search(r"\d+ (passed|failed|skipped|error)", l)]
    for n, what in re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)",
                              tail[-1] if tail else ""):
        found[what.rstrip("s") if what.startswith("error") else what] = int(n)
    return found


def main():
    start = time.monotonic()
    build_inplace(ROOT)  # for run_cross; before the Windows build: it empties build/
    setup_python()
    t_setup = time.monotonic()
    pyd = build()
    install(pyd)
    t_build = time.monotonic()
    rc, out = run_tests(sys.argv[1:])
    c = counts(out)
    t_tests = time.monotonic()
    xrc, xout = run_cross()
    x = counts(xout)
    print("windows: %d passed, %d skipped, %d failed, %d errors under wine "
          "(setup %.0fs, build %.0fs, tests %.0fs)" % (
              c.get("passed", 0), c.get("skipped", 0), c.get("failed", 0), c.get("error", 0),
              t_setup - start, t_build - t_setup, t_tests - t_build))
    print("windows: Linux <-> wine tcp: %d passed, %d failed (%.0fs)" % (
        x.get("passed", 0), x.get("failed", 0) + x.get("error", 0), time.monotonic() - t_tests))
    if rc != 0 or c.get("failed") or c.get("error") or not c.get("passed"):
        raise SystemExit("windows: the suite failed under wine (pytest exit %d)" % rc)
    if xrc != 0 or x.get("passed") != 2:
        raise SystemExit("windows: the Linux <-> wine tcp test failed")


if __name__ == "__main__":
    main()
