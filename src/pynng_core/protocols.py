"""The protocol classes: each a Socket opening one of the core's protocols.

Their own keywords (``polyamorous=``, ``resend_time=``, ``topics=``,
``survey_time=``) take effect before ``listen=`` and ``dial=`` connect.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from ._core import lib
from .options import Option
from .socket import Socket

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's from 3.11; type checkers only

    from .socket import SocketKeywords, Topic


def _init_with(**own: Any) -> Callable[..., None]:
    """An __init__ taking the protocol's own keywords (name=default) and all
    of Socket's, each explicit and keyword-only, as pynng's classes have
    them: inspect.signature shows them all, and a misspelled one is a
    TypeError.  Generated, so that Socket's list is written once."""
    socket_keywords = list(inspect.signature(Socket.__init__).parameters.values())[1:]
    defaults = dict(own, **{p.name: p.default for p in socket_keywords})
    source = ("def __init__(self, *, {params}):\n"
              "    self._early = {{{own}}}\n"
              "    Socket.__init__(self, {passed})\n").format(
        params=", ".join("%s=_defaults[%r]" % (name, name) for name in defaults),
        own=", ".join("%r: %s" % (name, name) for name in own),
        passed=", ".join("%s=%s" % (p.name, p.name) for p in socket_keywords))
    namespace: dict[str, Any] = {"Socket": Socket, "_defaults": defaults}
    exec(source, namespace)  # noqa: S102 (source made above from names only)
    init: Callable[..., None] = namespace["__init__"]
    return init


class _WithOptions(Socket):
    """A protocol whose own keyword options are set before connecting."""

    _early: dict[str, Any]  # its own keywords' values (see _init_with)

    def _setup(self) -> None:
        for name, value in self._early.items():
            if value is not None:
                setattr(self, name, value)


class Pair0(Socket):
    """pair v0: one peer at a time, messages both ways."""

    _protocol = "pair0"


class Pair1(_WithOptions):
    """pair v1: like Pair0, with a hop count on the wire.

    ``polyamorous=True`` allows many peers: a received Message says which
    pipe it came from, and sending that Message back goes to that peer.
    """

    _protocol = "pair1"
    if TYPE_CHECKING:
        def __init__(self, *, polyamorous: bool = False,
                     **keywords: Unpack[SocketKeywords]) -> None: ...
    else:
        __init__ = _init_with(polyamorous=False)
    polyamorous = Option("pair1:polyamorous", bool, doc="Many peers (set before connecting).")


class Push0(Socket):
    """push: each message goes to one of the pull peers, round-robin."""

    _protocol = "push0"
    _send_call = "send_one_way"


class Pull0(Socket):
    """pull: receives what every push peer sends."""

    _protocol = "pull0"


class Req0(_WithOptions):
    """req: sends a request, receives its reply (contexts: many at once).

    An unanswered request is sent again every ``resend_time`` ms (and at once
    when the connection carrying it closes); 0 or less never resends.
    """

    _protocol = "req0"
    if TYPE_CHECKING:
        def __init__(self, *, resend_time: int | None = None,
                     **keywords: Unpack[SocketKeywords]) -> None: ...
    else:
        __init__ = _init_with(resend_time=None)
    resend_time = Option("req:resend-time", doc="Resend an unanswered request after, ms.")


class Rep0(Socket):
    """rep: receives a request, sends its reply (contexts: many at once)."""

    _protocol = "rep0"


class Pub0(Socket):
    """pub: every subscriber gets every message; a slow one misses some."""

    _protocol = "pub0"
    _send_call = "send_one_way"


class Sub0(_WithOptions):
    """sub: receives the messages that start with a subscribed topic.

    ``topics`` is a topic or a list of them (str or bytes); b"" is all.
    """

    _protocol = "sub0"
    if TYPE_CHECKING:
        def __init__(self, *, topics: Topic | Iterable[Topic] | None = None,
                     **keywords: Unpack[SocketKeywords]) -> None: ...
    else:
        __init__ = _init_with(topics=None)

    @property
    def topics(self) -> NoReturn:
        raise AttributeError("topics can be set, not read; subscribe() adds one")

    @topics.setter
    def topics(self, topics: Topic | Iterable[Topic]) -> None:
        if isinstance(topics, (str, bytes, bytearray, memoryview)):
            topics = [topics]
        try:
            topics = list(topics)
        except TypeError:
            raise TypeError("topics is a topic (str or bytes) or an iterable of them, "
                            "not %r" % (topics,)) from None
        for topic in topics:
            self.subscribe(topic)

    def subscribe(self, topic: Topic) -> None:
        """Receive messages that start with ``topic`` (str is UTF-8)."""
        self._topic_option(lib.pnc_socket_set_bytes, self._sock, "sub:subscribe", topic)

    def unsubscribe(self, topic: Topic) -> None:
        """Stop receiving ``topic``; NoEntry if it was not subscribed."""
        self._topic_option(lib.pnc_socket_set_bytes, self._sock, "sub:unsubscribe", topic)


class Surveyor0(_WithOptions):
    """surveyor: asks every respondent, collects answers for ``survey_time`` ms."""

    _protocol = "surveyor0"
    if TYPE_CHECKING:
        def __init__(self, *, survey_time: int | None = None,
                     **keywords: Unpack[SocketKeywords]) -> None: ...
    else:
        __init__ = _init_with(survey_time=None)
    survey_time = Option("surveyor:survey-time", doc="How long a survey takes answers, ms.")


class Respondent0(Socket):
    """respondent: receives a survey, sends its answer."""

    _protocol = "respondent0"


class Bus0(Socket):
    """bus: what one sends, every connected peer receives."""

    _protocol = "bus0"
