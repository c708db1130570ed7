#!/usr/bin/env python3
"""Compiles the TLS engine (csrc/tls/tls_openssl.c) against both OpenSSL
lines it supports, -Wall -Wextra -Werror: this machine's 3.x headers and
OpenSSL 1.1.1's (the manylinux_2_28 images' OpenSSL, which the Linux glibc
wheels bundle).

The 1.1.1 headers are Debian bullseye's libssl-dev, fetched once with
`apt-get download` (a bullseye source in a private apt state directory, so
the system's apt setup is untouched) and kept in $PNC_OPENSSL11 (default
~/.cache/pynng_core/openssl-1.1.1).  A compile takes well under a second;
the first fetch a few seconds.

usage: .ci/openssl_compat.py
"""
import glob
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("PNC_OPENSSL11", os.path.expanduser("~/.cache/pynng_core/openssl-1.1.1"))
FLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden",
         "-DPNC_HAVE_OPENSSL", "-I" + os.path.join(ROOT, "csrc", "include")]


def fetch_openssl11():
    """The include directories of OpenSSL 1.1.1's headers, fetched if need be."""
    include = os.path.join(CACHE, "usr", "include")
    if not os.path.exists(os.path.join(include, "openssl", "ssl.h")):
        with tempfile.TemporaryDirectory() as apt:
            sources = os.path.join(apt, "sources.list")
            with open(sources, "w") as f:
                f.write("deb http://deb.debian.org/debian bullseye main\n")
            os.makedirs(os.path.join(apt, "lists", "partial"))
            opts = ["-o", "Dir::Etc::sourcelist=" + sources, "-o", "Dir::Etc::sourceparts=-",
                    "-o", "Dir::State::Lists=" + os.path.join(apt, "lists"),
                    "-o", "Dir::Cache=" + os.path.join(apt, "cache"),
                    "-o", "APT::Sandbox::User=root", "-qq"]
            subprocess.run(["apt-get"] + opts + ["update"], check=True)
            version = subprocess.run(
                ["apt-cache"] + opts + ["madison", "libssl-dev"], check=True,
                capture_output=True, text=True).stdout
            wanted = [line.split("|")[1].strip() for line in version.splitlines()
                      if "bullseye" in line and line.split("|")[1].strip().startswith("1.1.1")]
            if not wanted:
                raise SystemExit("openssl compat: bullseye has no libssl-dev 1.1.1:\n" + version)
            subprocess.run(["apt-get"] + opts + ["download", "libssl-dev=" + wanted[0]],
                           cwd=apt, check=True)
            [deb] = glob.glob(os.path.join(apt, "libssl-dev_*.deb"))
            subprocess.run(["dpkg-deb", "-x", deb, CACHE], check=True)
    multiarch = glob.glob(os.path.join(include, "*-linux-gnu*"))
    return [include] + multiarch


def compile_engine(includes):
    """The OpenSSL version the headers say, once the engine compiled cleanly."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(["cc"] + FLAGS + ["-I" + d for d in includes] +
                              ["-c", os.path.join(ROOT, "csrc", "tls", "tls_openssl.c"),
                               "-o", os.path.join(tmp, "tls.o")],
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            return None
        probe = os.path.join(tmp, "v.c")
        with open(probe, "w") as f:
            f.write("#include <openssl/opensslv.h>\nOPENSSL_VERSION_TEXT\n")
        text = subprocess.run(["cc", "-E", "-P"] + ["-I" + d for d in includes] + [probe],
                              check=True, capture_output=True, text=True).stdout
        return text.strip().splitlines()[-1].strip('"')


def main():
    failed = False
    for name, includes, want in (("system", [], "OpenSSL 3."),
                                 ("1.1.1", fetch_openssl11(), "OpenSSL 1.1.1")):
        version = compile_engine(includes)
        ok = version is not None and version.startswith(want)
        print("openssl compat: tls_openssl.c against the %s headers (%s): %s"
              % (name, version or "did not compile", "clean" if ok else "FAILED"))
        failed |= not ok
    if failed:
        raise SystemExit("openssl compat: tls_openssl.c does not build cleanly against both")


if __name__ == "__main__":
    main()
