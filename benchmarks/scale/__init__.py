"""The figures of ``bench.py --big`` that real services meet: many clients,
wide fan-out, tail latency, async streams, CPU per message, connections.

Each figure is a module of this package with:

``TITLE``
    the heading of its table;
``BACKENDS``
    the backends it measures, in bench.py's names (``pynng_core``,
    ``pyzmq``, ``pynng``);
``LIMITS`` (optional)
    the limits it measures beside the backends, as bench.py's raw limits:
    the same work done with no library (``raw``), unless ``--no-raw``;
``ONCE``
    True for a figure measured in the first round only (one that does not
    vary from run to run, or takes minutes);
``measure(backend, opts) -> dict[str, float]``
    one measurement of one backend, in processes of its own started for it
    (``spawn``), killed if they overrun (``collect``): a hung peer fails the
    measurement, never the run;
``report(medians, opts) -> (rows, goals)``
    from the medians over rounds (``medians[backend][key]``) the table's
    rows, ``(label, {backend: text})``, and the goals judged, as ``Goal``.

A process a figure starts runs ``role.py``, which pins it to CPU 0 (unless
``--no-pin``) before it imports any library, calls the module's function
``role_<name>(**kwargs)`` and prints its result as one JSON line.  Processes
that must start measuring together are handed one ``time.monotonic()``
instant (the clock is the machine's, the same in every process) and count
what falls inside ``[t0, t0 + duration)``.
"""
from __future__ import annotations

import importlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = os.path.join(HERE, "role.py")
FIGURES = ["async_stream", "reqrep_server", "fanout", "tail_latency",
           "instructions", "connections"]


class MeasureFailed(Exception):
    """A measurement's process failed, or did not answer in time."""


@dataclass
class Opts:
    """What a figure's measurement may vary with (bench.py's arguments)."""
    pinned: bool = True
    quick: bool = False
    duration: float = 1.0  # streaming window, seconds
    connections: int = 100_000  # the idle-connection figure's target
    workdir: str = ""  # for ipc:// paths
    raw: bool = True  # the figures' raw limits too (not --no-raw)


@dataclass
class Goal:
    text: str
    value: float | None  # the measured figure or ratio; None: not measured
    met: bool
    target: str
    unit: str = "x"

    def line(self) -> str:
        if self.value is None:
            return "- NOT MEASURED: %s (%s)" % (self.text, self.target)
        shown = "%.2f%s" % (self.value, self.unit) if self.unit == "x" else \
            "%s %s" % (fnum(self.value), self.unit)
        return "- %s: %s -- measured %s (%s)" % ("MET" if self.met else "NOT MET",
                                                 self.text, shown, self.target)


def goal_at_least(text: str, value: float | None, target: float, unit: str = "x") -> Goal:
    return Goal(text, value, value is not None and value >= target,
                "target >= %s%s" % (fnum(target), unit if unit == "x" else " " + unit), unit)


def goal_at_most(text: str, value: float | None, target: float, unit: str = "x") -> Goal:
    return Goal(text, value, value is not None and value <= target,
                "target <= %s%s" % (fnum(target), unit if unit == "x" else " " + unit), unit)


def fnum(x: float | None) -> str:
    if x is None:
        return "fail"
    if x != x:
        return "n/a"
    if abs(x) >= 100000:
        return "{:,.0f}".format(x)
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.2f" % x


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or not b else a / b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url(transport: str, opts: Opts, name: str = "s") -> str:
    """A fresh address: a free tcp port, or an ipc path in the run's folder."""
    if transport == "ipc":
        return "ipc://%s/%s-%d-%d" % (opts.workdir, name, os.getpid(), time.monotonic_ns())
    return "tcp://127.0.0.1:%d" % free_port()


# -- sockets, in a role's process ------------------------------------------

def open_socket(backend: str, kind: str, timeout_ms: int):
    """A ``kind`` socket (req, rep, push, pull, pub, sub) of ``backend``,
    each blocking call of it limited to ``timeout_ms``."""
    if backend == "pyzmq":
        import zmq
        s = zmq.Context.instance().socket(getattr(zmq, kind.upper()))
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVTIMEO, timeout_ms)
        s.setsockopt(zmq.SNDTIMEO, timeout_ms)
        return s
    cls = getattr(importlib.import_module(backend), kind.capitalize() + "0")
    return cls(recv_timeout=timeout_ms, send_timeout=timeout_ms, recv_max_size=0)


def listen(backend: str, s, address: str) -> None:
    if backend == "pyzmq":
        s.bind(address)
    else:
        s.listen(address)


def dial(backend: str, s, address: str) -> None:
    if backend == "pyzmq":
        s.connect(address)
    else:
        s.dial(address, block=True)


# -- processes -------------------------------------------------------------

def ready(**info: object) -> None:
    """In a role's process: tells the parent it may be reached (and how)."""
    print("READY " + json.dumps(info), flush=True)


class Child:
    """A process running one role of a figure module (role.py)."""

    def __init__(self, module: str, role: str, pinned: bool, *, prefix: tuple[str, ...] = (),
                 **kwargs: object) -> None:
        """``prefix``: a command that runs the python (valgrind ...)."""
        self.what = "%s.%s(%s)" % (module, role, kwargs.get("backend", ""))
        env = dict(os.environ, PNC_SCALE_PIN="1" if pinned else "0")
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, ROLE, module, role, json.dumps(kwargs)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env)

    def ready(self, timeout: float = 30) -> dict:
        """The role's first line, READY and what it says (a port, ...)."""
        return self._line("READY", timeout)

    def result(self, timeout: float) -> dict:
        return self._line("RESULT", timeout)

    def _line(self, tag: str, timeout: float) -> dict:
        import selectors
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.kill()
                    raise MeasureFailed("%s: no %s within %.0f s" % (self.what, tag, timeout))
                line = self.proc.stdout.readline()
                if not line:
                    self.proc.wait()
                    err = self.proc.stderr.read().strip().splitlines()
                    raise MeasureFailed("%s exited %s: %s" % (
                        self.what, self.proc.returncode, err[-1] if err else "no output"))
                if line.startswith(tag + " "):
                    return json.loads(line[len(tag) + 1:])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


def collect(children: list[Child], timeout: float) -> list[dict]:
    """Every child's RESULT; any failure kills them all."""
    try:
        deadline = time.monotonic() + timeout
        return [c.result(max(1.0, deadline - time.monotonic())) for c in children]
    finally:
        for c in children:
            c.kill()


# -- the run ---------------------------------------------------------------

@dataclass
class Results:
    """Per figure, per backend, one dict per round (None where it failed)."""
    by_figure: dict[str, dict[str, list[dict | None]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def medians(self, figure: str) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for backend, runs in self.by_figure.get(figure, {}).items():
            keys = {k for r in runs if r for k in r}
            out[backend] = {k: statistics.median([r[k] for r in runs if r and k in r])
                            for k in keys}
        return out


def load(name: str):
    return importlib.import_module("scale." + name)


def measured(module, backends: list[str], opts: Opts) -> list[str]:
    """The run's backends that a figure knows, then its limits."""
    return [b for b in backends if b in module.BACKENDS] + \
        (list(getattr(module, "LIMITS", ())) if opts.raw else [])


def run_round(figures: list[str], backends: list[str], opts: Opts, results: Results,
              order_shift: int, log) -> None:
    """One measurement of every figure for every backend it knows, the
    backends' order rotated by ``order_shift`` so none always goes first."""
    for name in figures:
        module = load(name)
        mine = measured(module, backends, opts)
        k = order_shift % len(mine) if mine else 0
        for backend in mine[k:] + mine[:k]:
            runs = results.by_figure.setdefault(name, {}).setdefault(backend, [])
            t = time.monotonic()
            try:
                runs.append(module.measure(backend, opts))
            except (MeasureFailed, OSError, ValueError, RuntimeError) as exc:
                msg = str(exc).strip().splitlines()
                results.failures.append("%s %s: %s" % (name, backend, msg[0] if msg else exc))
                log("FAILED %s %s: %s" % (name, backend, "\n".join(msg[-3:])))
                runs.append(None)
            log("  %s %s (%.1f s)" % (name, backend, time.monotonic() - t))


def report(figures: list[str], backends: list[str], opts: Opts,
           results: Results) -> tuple[list[str], list[Goal]]:
    """The markdown tables of every figure, and every goal judged."""
    out: list[str] = []
    goals: list[Goal] = []
    for name in figures:
        module = load(name)
        mine = measured(module, backends, opts)
        rows, figure_goals = module.report(results.medians(name), opts)
        out.append("#### %s" % module.TITLE)
        out.append("")
        out.append("| figure | %s |" % " | ".join(mine))
        out.append("|---|" + "---:|" * len(mine))
        for label, cells in rows:
            out.append("| %s | %s |" % (label, " | ".join(cells.get(b, "-") for b in mine)))
        out.append("")
        goals.extend(figure_goals)
    return out, goals
