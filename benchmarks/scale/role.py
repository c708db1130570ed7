"""One process of a scale figure: ``role.py MODULE ROLE JSON-KWARGS``.

Pins itself to CPU 0 (PNC_SCALE_PIN=1) before any library is imported, so
the library's threads inherit the pinning; then runs
``scale.MODULE.role_ROLE(**kwargs)``.  The role prints ``READY {...}`` when
its peers may start (``scale.ready()``), and its return value is printed as
``RESULT {...}``.
"""
import importlib
import json
import os
import sys

if os.environ.get("PNC_SCALE_PIN") == "1" and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    module, role, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    fn = getattr(importlib.import_module("scale." + module), "role_" + role)
    result = fn(**kwargs)
    print("RESULT " + json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # no teardown: a library's exit handlers are not measured


if __name__ == "__main__":
    main()
