#!/usr/bin/env bash
# Builds OpenSSL 3 for the macOS wheels into PREFIX (cibuildwheel's
# before-all, pyproject.toml): its shared libraries and headers, for this
# machine's architecture (each wheel job runs on a native runner) and for
# the oldest macOS the wheels claim: 10.13 on x86_64, 11.0 on arm64.
# Homebrew's openssl@3 will not do: it is built for the runner's own macOS,
# and delocate refuses to bundle a library newer than the wheel's tag.
#
# The tarball is OpenSSL's release, checked against the SHA-256 that Debian's
# source package of the same release records (its orig tarball is the
# upstream one, shipped with upstream's signature).
#
# usage: .github/openssl-macos.sh PREFIX
set -euo pipefail

prefix=${1:?usage: $0 PREFIX}
version=3.5.9
sha256=603f5602e2eef00d77fbd429d34dcd5822bb301757a1bc9cdb24c670f1eb859a

case "$(uname -m)" in
    arm64) target=darwin64-arm64-cc; export MACOSX_DEPLOYMENT_TARGET=11.0 ;;
    x86_64) target=darwin64-x86_64-cc; export MACOSX_DEPLOYMENT_TARGET=10.13 ;;
    *) echo "openssl-macos.sh: no OpenSSL target for $(uname -m)" >&2; exit 1 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsSL -o "$work/openssl.tar.gz" \
    "https://github.com/openssl/openssl/releases/download/openssl-$version/openssl-$version.tar.gz"
echo "$sha256  $work/openssl.tar.gz" | shasum -a 256 -c -
tar -xzf "$work/openssl.tar.gz" -C "$work"
cd "$work/openssl-$version"
./Configure "$target" shared no-tests no-docs --prefix="$prefix" --libdir=lib \
    -mmacosx-version-min="$MACOSX_DEPLOYMENT_TARGET"
make -j"$(sysctl -n hw.ncpu)" build_libs >/dev/null
make install_dev >/dev/null
# What delocate will check: the libraries' minimum macOS.
otool -l "$prefix/lib/libssl.3.dylib" | grep -A4 -E 'LC_BUILD_VERSION|LC_VERSION_MIN_MACOSX' | \
    grep -E 'minos|version' | head -2
