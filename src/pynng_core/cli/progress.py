"""Progress of a long run, on stderr once a second (stdout stays exactly the
tool's own lines): shown when stderr is a terminal, or when asked for."""
from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import Optional, Type


class Progress:
    """Counts what a loop has done (``done += 1``: cheap enough for a
    benchmark's inner loop) while a thread reports it every ``period``
    seconds.  Use it as a context manager around the loop."""

    def __init__(self, what: str, total: Optional[int], forced: bool = False,
                 period: float = 1.0) -> None:
        self.what = what
        self.total = total
        self.done = 0
        self._period = period
        self._shown = forced or sys.stderr.isatty()
        self._stopped = threading.Event()
        self._reporter = threading.Thread(target=self._report, daemon=True)

    def __enter__(self) -> "Progress":
        if self._shown:
            self._reporter.start()
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException],
                 trace: Optional[TracebackType]) -> None:
        if self._shown:
            self._stopped.set()
            self._reporter.join()

    def line(self, elapsed: float) -> str:
        of_total = "/%d" % self.total if self.total else ""
        rate = self.done / elapsed if elapsed > 0 else 0.0
        return "%s: %d%s in %.0f s (%.0f/s)" % (self.what, self.done, of_total, elapsed, rate)

    def _report(self) -> None:
        start = time.monotonic()
        while not self._stopped.wait(self._period):
            sys.stderr.write(self.line(time.monotonic() - start) + "\n")
            sys.stderr.flush()
