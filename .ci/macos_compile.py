#!/usr/bin/env python3
"""Cross-compiles the extension for macOS (x86_64 and arm64) with zig's clang
and fails on any warning.

    python3 .ci/macos_compile.py [--zig "CMD"] [--keep DIR]

Every C file the build compiles (src/pynng_core/_build.py's sources: the
core, the protocols, the transports, platform/common and platform/posix),
and the module cffi generates with _hotpath.c inside it, are compiled with
the build's own flags plus -Werror, then linked into a Mach-O bundle, for
each target below.  The link leaves Python's symbols to the interpreter
that loads the module (-undefined dynamic_lookup, as macOS extensions are
linked), so it proves that nothing else is missing on Darwin.

Python.h is this interpreter's (Linux) one: the module is built for the
limited API (abi3), whose declarations do not depend on the platform, and
Linux's pyconfig.h has the same type sizes as both 64-bit macOS targets.

zig: --zig, else $PNC_ZIG, else `python -m ziglang` when this interpreter
has the ziglang package, else `zig` on PATH.
"""
import argparse
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The oldest macOS each wheel may claim (MACOSX_DEPLOYMENT_TARGET): 10.13
# because the clock is clock_gettime (10.12+) and python.org's 3.12+ builds
# start there; arm64 Macs start at 11.  -Wunguarded-availability makes any
# call newer than that an error instead of a crash on an older system.
TARGETS = ("x86_64-macos.10.13", "aarch64-macos.11.0")
EXTRA_FLAGS = [
    "-Werror",
    "-Wunguarded-availability",
    # A thread other than the main one gets a 512 KiB stack on macOS
    # (8 MiB on Linux): no frame of the I/O thread may come near it.
    "-Wframe-larger-than=65536",
    "-fPIC",
]


def zig_command(asked):
    if asked:
        return shlex.split(asked)
    if os.environ.get("PNC_ZIG"):
        return shlex.split(os.environ["PNC_ZIG"])
    if importlib.util.find_spec("ziglang") is not None:
        return [sys.executable, "-m", "ziglang"]
    if shutil.which("zig"):
        return ["zig"]
    raise SystemExit("no zig: pip install ziglang (into this interpreter or a venv "
                     "given as --zig '/venv/bin/python -m ziglang')")


def build_settings():
    """The builder's sources and compile flags, and the cffi module's C."""
    os.environ.pop("PNC_SANITIZE", None)  # the flags of a plain build
    os.environ.pop("PNC_POOLS", None)
    os.environ["PYNNG_CORE_NO_TLS"] = "1"  # no OpenSSL for macOS here: the build without TLS
    sys.path.insert(0, os.path.join(ROOT, "src", "pynng_core"))
    import _build

    kwds = _build.ffibuilder._assigned_source[3]  # what set_source() was given
    return _build.ffibuilder, kwds


def compile_one(zig, target, flags, source, out):
    cmd = zig + ["cc", "-target", target] + flags + ["-c", source, "-o", out]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return source, cmd, done.returncode, done.stdout + done.stderr


def build_target(zig, target, kwds, module_c, workdir, jobs):
    """Compiles every file for one target, then links them; True when clean."""
    includes = ["-I" + d for d in kwds["include_dirs"]]
    macros = ["-D%s" % n if v is None else "-D%s=%s" % (n, v) for n, v in kwds["define_macros"]]
    flags = kwds["extra_compile_args"] + EXTRA_FLAGS + macros + includes
    python_inc = "-I" + sysconfig.get_paths()["include"]
    units = [(s, flags) for s in kwds["sources"]] + [(module_c, flags + [python_inc])]
    objdir = os.path.join(workdir, target)
    os.makedirs(objdir, exist_ok=True)
    objects, clean = [], True
    with ThreadPoolExecutor(jobs) as pool:
        futures = []
        for i, (source, unit_flags) in enumerate(units):
            out = os.path.join(objdir, "%02d_%s.o" % (i, os.path.basename(source)[:-2]))
            objects.append(out)
            futures.append(pool.submit(compile_one, zig, target, unit_flags, source, out))
        for fut in futures:
            source, cmd, rc, text = fut.result()
            name = "_core.c (cffi module)" if source == module_c else source
            print("  %-44s %s" % (name, "ok" if rc == 0 and not text else "FAILED"))
            if rc != 0 or text:
                print("    " + " ".join(shlex.quote(c) for c in cmd))
                print(text.rstrip())
                clean = False
    if not clean:
        return False
    return link(zig, target, objects, os.path.join(objdir, "_core.abi3.so"))


def link(zig, target, objects, out):
    """Links the bundle, Python's symbols left to the interpreter; True when
    clean and nothing but Python's is unresolved."""
    base = zig + ["cc", "-target", target, "-shared", "-o", out] + objects
    # First without dynamic_lookup: the linker then names every unresolved
    # symbol, and each must be Python's (a C API call), none the core's.
    done = subprocess.run(base, cwd=ROOT, capture_output=True, text=True)
    strangers = [name for name in re.findall(r"undefined symbol: (\S+)", done.stderr)
                 if not re.match(r"_+Py", name)]
    cmd = base + ["-Wl,-undefined,dynamic_lookup"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    text = (done.stdout + done.stderr).strip()
    ok = done.returncode == 0 and not text and not strangers and is_macho64(out)
    print("  link %-39s %s" % (os.path.basename(out), "ok (Mach-O 64-bit, %d bytes)"
                               % os.path.getsize(out) if ok else "FAILED"))
    if not ok:
        print("    " + " ".join(shlex.quote(c) for c in cmd[:-len(objects) - 1])
              + " <%d objects> " % len(objects) + cmd[-1])
        print(text)
        if strangers:
            print("    unresolved, not Python's: " + " ".join(strangers))
    return ok


def is_macho64(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\xcf\xfa\xed\xfe"  # MH_MAGIC_64, little-endian


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zig", help="the zig command, e.g. '/tmp/zigvenv/bin/python -m ziglang'")
    ap.add_argument("--keep", help="build in this folder and keep it")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args()
    zig = zig_command(args.zig)
    version = subprocess.run(zig + ["version"], capture_output=True, text=True).stdout.strip()
    ffibuilder, kwds = build_settings()
    workdir = args.keep or tempfile.mkdtemp(prefix="pnc-macos-")
    os.makedirs(workdir, exist_ok=True)
    module_c = os.path.join(workdir, "_core.c")
    ffibuilder.emit_c_code(module_c)
    print("zig %s; flags: %s" % (version, " ".join(kwds["extra_compile_args"] + EXTRA_FLAGS)))
    failed = []
    for target in TARGETS:
        print("== %s: %d files and the cffi module (_core.c with _hotpath.c)"
              % (target, len(kwds["sources"])))
        if not build_target(zig, target, kwds, module_c, workdir, args.jobs):
            failed.append(target)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        raise SystemExit("macOS compile failed for: " + ", ".join(failed))
    print("macOS compile clean for: " + ", ".join(TARGETS))


if __name__ == "__main__":
    main()
