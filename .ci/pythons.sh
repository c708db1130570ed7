#!/usr/bin/env bash
# The suite on the oldest and the newest CPython the package claims, each in
# a fresh venv with the package installed from the sdist of this tree, the
# tests being the sdist's own, run from outside the tree so that they import
# the installed package: this also proves the sdist builds and passes.
# Under the first I/O poller only: what differs between Python versions is
# above the C core, whose pollers the other steps of .ci/run cover.  For
# the same reason the tests whose subject is the core alone (marked
# core_only: the audit's reproducers, hostile peers, the ws and TLS wires,
# interop with the peers' binaries, faults on the network) are left to
# those steps, and the thread stress runs 3 s, not 10: here it proves the
# package's threads under this Python, not the core's locking (that is
# the TSan step's).  Pythons are found under pyenv (PYENV_ROOT, default
# ~/.pyenv) or on PATH as python3.X; a missing one fails the run.
#
#   .ci/pythons.sh [VERSION...]      default: 3.10 3.13; extra args after --
#                                    go to pytest, e.g. .ci/pythons.sh 3.12 -- -x
set -euo pipefail
cd "$(dirname "$0")/.."

versions=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do versions+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#versions[@]} -gt 0 ] || versions=(3.10 3.13)

find_python() {
    local v=$1 p
    for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/python3; do
        [ -x "$p" ] && { echo "$p"; return; }
    done
    command -v "python$v" || { echo "no Python $v (pyenv: ${PYENV_ROOT:-$HOME/.pyenv}/versions/$v.*, nor python$v on PATH)" >&2; return 1; }
}

work=$(mktemp -d "${TMPDIR:-/tmp}/pnc-pythons.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 -m pip install -q build && python3 -m build --sdist -o "$work" . >/dev/null
sdist=$(ls "$work"/pynng_core-*.tar.gz)
tar xzf "$sdist" -C "$work"
cp -r "$work"/pynng_core-*/tests "$work"/pynng_core-*/examples "$work"/pynng_core-*/pyproject.toml "$work/"
echo "sdist: $(basename "$sdist"), $(tar tzf "$sdist" | wc -l) files"

status=0
for v in "${versions[@]}"; do
    printf '\n==== Python %s (%s)\n' "$v" "$(date +%T)"
    py=$(find_python "$v")
    "$py" -m venv "$work/venv-$v"
    "$work/venv-$v/bin/python" -m pip install -q "$sdist[test]"
    (cd "$work" && "$work/venv-$v/bin/python" - <<'PY'
import os, sys, pynng_core
where = os.path.dirname(pynng_core.__file__)
assert "site-packages" in where, "pynng_core imported from %s, not the venv" % where
print("Python %s, pynng_core from %s" % (sys.version.split()[0], where))
PY
    )
    (cd "$work" && PYNNG_CORE_TEST_ONE_POLLER=1 PNC_STRESS_SECONDS=3 "$work/venv-$v/bin/python" \
        -m pytest -q -p no:cacheprovider -m "not core_only" tests "$@") || status=1
done
exit $status
