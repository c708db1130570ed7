"""What a process made by fork() does with the core objects it inherited.

A forked child has a copy of every socket, context, dialer and listener
its parent had open, but they are the parent's: their connections and
listening descriptors are shared with the parent, which goes on using them,
and the core's I/O thread that served them did not come along.  Touching
them from the child would wait forever for that thread (closing one, or
collecting it at exit, hangs the child), remove the parent's ipc socket
file (closing an ipc listener unlinks it), take a parent's descriptor off
the poller the two processes share, or read bytes off the parent's
connections.

So right after a fork the child disowns them: each object's finalizer is
detached (its memory is the parent's copy, left as it is), it counts as
closed, and every call that would reach the core raises Closed, saying
why.  The child opens sockets of its own, which work as in any process
(the core starts an I/O thread for them).  pyzmq treats a context it
inherited the same way.
"""
from __future__ import annotations

import os
import weakref
from typing import Protocol

from ._core import lib
from .exceptions import NNGException, exception_for


class Forkable(Protocol):
    """What track() takes: an object holding core handles."""

    def _forked_away(self) -> None: ...


class Described(Protocol):
    """An object that says what it is, for errors."""

    def _describe(self) -> str: ...


_live: weakref.WeakSet[Forkable] = weakref.WeakSet()  # every object of this process that holds core handles


def track(obj: Forkable) -> None:
    """obj._forked_away() will run in a child forked while obj is alive."""
    _live.add(obj)


def inherited_error(obj: Described) -> NNGException:
    return exception_for(
        lib.PNC_ECLOSED,
        "%s was opened in a process that this one forked from (it belongs to that "
        "process); a forked child opens sockets of its own" % obj._describe())


def _after_fork_in_child() -> None:
    inherited = list(_live)
    _live.clear()
    for obj in inherited:
        obj._forked_away()


_classes: dict[tuple[type, type], type] = {}


def disown(obj: object, mixin: type) -> None:
    """Makes obj an instance of a subclass of its class whose calls into the
    core raise Closed (``mixin`` overrides them); isinstance still holds."""
    cls = type(obj)
    sub = _classes.get((cls, mixin))
    if sub is None:
        sub = _classes[(cls, mixin)] = type(cls.__name__, (mixin, cls),
                                            {"__module__": cls.__module__,
                                             "__doc__": cls.__doc__})
    obj.__class__ = sub


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
