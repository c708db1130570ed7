"""What the subcommands share about failing: a one-line error and an exit
status, and argument types whose errors say what was wrong."""
from __future__ import annotations

import argparse
import sys
from typing import Callable, NoReturn

# Exit statuses as a shell reads them.
FAILED = 1
USAGE = 2
INTERRUPTED = 130  # 128 + SIGINT, what a shell shows for a command stopped by Ctrl-C


class CommandError(Exception):
    """A subcommand cannot go on: ``message`` is the whole line for stderr."""

    def __init__(self, message: str, status: int = FAILED) -> None:
        super().__init__(message)
        self.status = status


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (naming
    the bad argument and where help is), not the usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write("%s: error: %s (see %s --help)\n" % (self.prog, message, self.prog))
        sys.exit(USAGE)


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer of ``low`` or more."""
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError("must be %d or more, not %d" % (low, value))
        return value
    parse.__name__ = "integer"  # what argparse calls it in an error
    return parse


def seconds(text: str) -> float:
    """An argparse type: a duration in seconds, 0 or more (nngcat takes whole
    seconds, nanocat fractions: both are accepted)."""
    value = float(text)
    if not value >= 0:  # NaN too
        raise argparse.ArgumentTypeError("must be 0 seconds or more, not %s" % text)
    return value


seconds.__name__ = "seconds"
