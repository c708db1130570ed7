#!/usr/bin/env python3
"""Runs pynng_core under a sanitizer and fails on any report from its C core.

    python3 .ci/sanitize.py address [PYTEST ARGS...]   # the test suite, ASan + UBSan
    python3 .ci/sanitize.py thread [STRESS ARGS...]    # tests/stress.py, ThreadSanitizer
    python3 .ci/sanitize.py address --script FILE [ARGS...]   # any script (a reproducer)

The tree (tracked files and new ones git does not ignore) is copied to a
work directory and built in place there with PNC_SANITIZE (see
src/pynng_core/_build.py: the message block pools are off in such a build, so
AddressSanitizer sees every free), so the installed package is left as it
is.  Python is not instrumented, so the sanitizer's runtime goes in
LD_PRELOAD.  Reports are written to files; every one that names a frame in
csrc/ or the compiled module fails the run, and is printed.  Reports from
elsewhere (the interpreter, the peers the tests run) are listed and do not.

--keep DIR builds in DIR and keeps it (a second run skips the build when the
sources are unchanged).
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inplace import build_inplace  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SANITIZERS = {
    # name: (PNC_SANITIZE, runtimes to preload, options variable, options)
    "address": ("address,undefined", ["libasan.so", "libubsan.so"], "ASAN_OPTIONS",
                "detect_leaks=0:allocator_may_return_null=1:abort_on_error=1"),
    # exitcode=0: a report decides by where it is (below), not by the exit
    # status TSan would force (66) for one from outside the core, such as
    # glibc freeing a finished thread's TLS block, which TSan cannot follow.
    "thread": ("thread", ["libtsan.so"], "TSAN_OPTIONS",
               "halt_on_error=0:exitcode=0:second_deadlock_stack=1:report_signal_unsafe=0"),
}
OURS = ("csrc/", "_core.c", "_core.abi3", "_hotpath.c")


def tree_files():
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return sorted(f for f in out.splitlines() if os.path.isfile(os.path.join(ROOT, f)))


def sources_digest(files):
    h = hashlib.sha256()
    for f in files:
        if f.endswith((".c", ".h", ".py", ".toml")):
            h.update(f.encode())
            with open(os.path.join(ROOT, f), "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def build(work, sanitize, files):
    """Copies the tree to `work` and builds the extension there, unless done."""
    stamp = os.path.join(work, ".sanitize-stamp")
    digest = sources_digest(files) + sanitize
    if os.path.exists(stamp) and open(stamp).read() == digest:
        return
    for f in files:
        dest = os.path.join(work, f)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), dest)
    env = dict(os.environ, PNC_SANITIZE=sanitize)
    build_inplace(work, env)
    with open(stamp, "w") as fh:
        fh.write(digest)


def runtime_env(kind, work, logs):
    sanitize, libs, var, options = SANITIZERS[kind]
    preload = [subprocess.run(["gcc", "-print-file-name=" + lib], check=True,
                              capture_output=True, text=True).stdout.strip() for lib in libs]
    missing = [p for p in preload if not os.path.isabs(p) or not os.path.exists(p)]
    if missing:
        sys.exit("sanitize.py: gcc has no runtime for %s (%s); install gcc's "
                 "sanitizer libraries" % (kind, ", ".join(libs)))
    env = dict(os.environ)
    env.update({
        "PNC_SANITIZER": kind,  # tests that cannot run under it skip, saying why
        "LD_PRELOAD": " ".join(preload),
        "PYTHONMALLOC": "malloc",
        "PYTHONPATH": os.path.join(work, "src"),
        "PNC_SANITIZER_LOGS": logs,  # its report files: not the run's (tests/stress.py)
        var: "%s:log_path=%s" % (options, os.path.join(logs, kind)),
        "UBSAN_OPTIONS": "print_stacktrace=1:log_path=%s" % os.path.join(logs, "ubsan"),
    })
    return env


REPORT_START = re.compile(r"^(?=.*(?:WARNING: ThreadSanitizer|ERROR: AddressSanitizer|"
                          r"ERROR: LeakSanitizer|runtime error:))", re.M)


def reports(logs):
    """(ours, others): each report in the log files, as (file, text), split
    by whether a frame of it is ours."""
    ours, others = [], []
    for name in sorted(os.listdir(logs)):
        path = os.path.join(logs, name)
        with open(path, errors="replace") as fh:
            text = fh.read()
        for report in REPORT_START.split(text):
            if REPORT_START.match(report):
                (ours if any(mark in report for mark in OURS) else others).append((path, report))
    return ours, others


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=sorted(SANITIZERS))
    parser.add_argument("--keep", metavar="DIR", help="build in DIR and keep it")
    parser.add_argument("--script", metavar="FILE", help="run this script instead")
    args, rest = parser.parse_known_args()

    work = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="pnc-san-")
    os.makedirs(work, exist_ok=True)
    files = tree_files()
    print("sanitize.py: building with PNC_SANITIZE=%s in %s" % (SANITIZERS[args.kind][0], work),
          flush=True)
    build(work, SANITIZERS[args.kind][0], files)
    logs = tempfile.mkdtemp(prefix="pnc-san-logs-")
    env = runtime_env(args.kind, work, logs)
    if args.script:
        cmd = [sys.executable, os.path.abspath(args.script)] + rest
    elif args.kind == "thread":
        cmd = [sys.executable, os.path.join(work, "tests", "stress.py")] + rest
    else:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + rest
    print("sanitize.py: running", " ".join(cmd), flush=True)
    rc = subprocess.run(cmd, cwd=work, env=env).returncode

    ours, others = reports(logs)
    for path, text in ours:
        print("\n==== %s\n%s" % (path, text))
    for path, text in others:
        print("sanitize.py: a report from outside the core (not counted), in %s: %s"
              % (path, text.strip().splitlines()[0]))
    print("sanitize.py: %s: exit status %d, %d report(s) from the core, %d from elsewhere"
          % (args.kind, rc, len(ours), len(others)))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if ours or rc != 0 else 0)


if __name__ == "__main__":
    main()
