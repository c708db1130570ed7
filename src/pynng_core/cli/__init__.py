"""The command line, ``pynng-core`` (or ``python -m pynng_core``): ``demo``,
``cat`` (nngcat's) and ``perf`` (NNG's perf programs)."""
from __future__ import annotations

import errno
import os
import sys
from typing import Sequence

from .. import __version__
from ..exceptions import NNGException
from . import cat, demo, perf
from .errors import FAILED, INTERRUPTED, CommandError, OneLineParser

__all__ = ["main", "build_parser"]

# How a write to stdout fails once its reader has gone: EPIPE on POSIX
# (BrokenPipeError); on Windows a pipe whose reader closed gives EINVAL.
_READER_GONE = (errno.EPIPE, errno.EINVAL) if sys.platform == "win32" else (errno.EPIPE,)


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="pynng-core", description=(
        "pynng_core: Scalability Protocols sockets (NNG and nanomsg wire)."))
    parser.add_argument("--version", action="version", version="pynng_core %s" % __version__)
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (demo, cat, perf):
        subcommand = command.add_parser(commands)
        # An unknown flag is reported by the subcommand it was given to.
        subcommand.set_defaults(usage_error=subcommand.error)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        args.usage_error("unrecognized arguments: %s" % " ".join(unknown))
    name = "pynng-core " + args.command
    try:
        status: int = args.run(args)
        sys.stdout.flush()  # a write that fails fails here, not at exit
    except KeyboardInterrupt:
        sys.stderr.write("\n%s: interrupted\n" % name)
        return INTERRUPTED
    except CommandError as e:
        sys.stderr.write("%s\n" % e)
        return e.status
    except NNGException as e:  # a URL it cannot use, a port taken...
        sys.stderr.write("%s: %s\n" % (name, e))
        return FAILED
    except OSError as e:
        if e.errno not in _READER_GONE:
            raise
        # Its reader stopped reading (| head): not an error of ours.  What
        # is still buffered goes nowhere, so the flush at exit is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED
    return status
