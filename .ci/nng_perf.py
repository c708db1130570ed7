#!/usr/bin/env python3
"""Builds NNG's perf program (src/tools/perf/perf.c of NNG 1.5.2), the peer
that tests/test_cli_perf.py runs `pynng-core perf` against, and prints its
path.  Nothing of NNG is in this repository: the program is compiled from
Debian's nng source package, fetched with `apt-get source` through an apt
state of its own (a bookworm deb-src entry in a private sources folder, so
the system's apt setup is untouched), against the system's libnng-dev.

The source and the binary are kept in $PNC_NNG_PERF_CACHE (default
~/.cache/pynng_core/nng-perf); once the binary is there this is a no-op.
The tests look for it there, or where $PYNNG_CORE_NNG_PERF says.

usage: .ci/nng_perf.py
"""
import glob
import os
import subprocess
import sys
import tempfile

CACHE = os.environ.get("PNC_NNG_PERF_CACHE",
                       os.path.expanduser("~/.cache/pynng_core/nng-perf"))
BINARY = os.path.join(CACHE, "nng_perf")
SOURCES = """\
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
# perf.c opens only the protocols its build says NNG has.
PROTOCOLS = ["PAIR0", "PAIR1", "REQ0", "REP0", "BUS0", "PUSH0", "PULL0", "PUB0", "SUB0",
             "SURVEYOR0", "RESPONDENT0"]


def fetch_source():
    """The unpacked nng source tree (Debian's patches applied), fetched if need be."""
    trees = glob.glob(os.path.join(CACHE, "nng-*", "src", "tools", "perf", "perf.c"))
    if trees:
        return trees[0]
    os.makedirs(CACHE, exist_ok=True)
    with tempfile.TemporaryDirectory() as apt:
        parts = os.path.join(apt, "sources.list.d")
        os.makedirs(parts)
        with open(os.path.join(parts, "bookworm-src.sources"), "w") as f:
            f.write(SOURCES)
        os.makedirs(os.path.join(apt, "lists", "partial"))
        opts = ["-o", "Dir::Etc::SourceList=/dev/null", "-o", "Dir::Etc::SourceParts=" + parts,
                "-o", "Dir::State::Lists=" + os.path.join(apt, "lists"),
                "-o", "Dir::Cache=" + os.path.join(apt, "cache"),
                "-o", "APT::Sandbox::User=root", "-qq"]
        subprocess.run(["apt-get"] + opts + ["update"], check=True)
        subprocess.run(["apt-get"] + opts + ["source", "--download-only", "nng"],
                       cwd=apt, check=True)
        [dsc] = glob.glob(os.path.join(apt, "nng_*.dsc"))
        tree = os.path.join(CACHE, os.path.basename(dsc)[:-len(".dsc")].split("-")[0]
                            .replace("_", "-"))
        subprocess.run(["dpkg-source", "--no-check", "-x", dsc, tree], check=True,
                       stdout=subprocess.DEVNULL)
    return os.path.join(tree, "src", "tools", "perf", "perf.c")


def build(source):
    subprocess.run(["cc", "-O2", "-o", BINARY, source] +
                   ["-DNNG_HAVE_%s" % name for name in PROTOCOLS] + ["-lnng", "-lpthread"],
                   check=True)


def main():
    if not os.access(BINARY, os.X_OK):
        if not os.path.exists("/usr/include/nng/nng.h"):
            sys.exit("nng perf: NNG's headers are missing: apt-get install libnng-dev")
        build(fetch_source())
    print(BINARY)


if __name__ == "__main__":
    main()
