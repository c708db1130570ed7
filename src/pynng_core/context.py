"""Context: independent protocol state on one socket (nng contexts).

A Req0 context has its own request under way, a Rep0 context its own
request to answer, a Sub0 context its own subscriptions, a Surveyor0
context its own survey.  Many contexts on one socket let many threads work
at once without a socket each.  Timeouts start as the socket's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _fork
from ._core import ffi, lib
from .exceptions import exception_for
from .options import Option
from .sendrecv import InheritedSendRecv, SendRecv

if TYPE_CHECKING:
    from .socket import Socket, Topic


class Context(SendRecv):
    """Made by ``socket.new_context()``; send and recv as on a socket."""

    recv_timeout = Option("recv-timeout", doc="Receive timeout in ms (-1: none).")
    send_timeout = Option("send-timeout", doc="Send timeout in ms (-1: none).")

    def __init__(self, socket: Socket) -> None:
        pp = ffi.new("pnc_ctx **")
        rv = lib.pnc_ctx_open(socket._sock, pp)
        if rv:
            raise exception_for(rv, "new_context() on %s" % socket._describe())
        self._set_ctx(ffi.gc(pp[0], lib.pnc_ctx_release))
        self.socket = socket
        self._async_backend = socket._async_backend  # fixed when the socket is made
        self._closed = False
        _fork.track(self)

    @property
    def id(self) -> int:
        return lib.pnc_ctx_id(self._ctx)

    def _owner(self) -> Socket:
        return self.socket

    def _get_option(self, nng_name: str, kind: type) -> Any:
        if kind is str:
            raise exception_for(lib.PNC_ENOTSUP, "string option %s of %s (a context has "
                                "integer options only)" % (nng_name, self._describe()))
        out = ffi.new("int64_t *")
        rv = lib.pnc_ctx_get_int(self._ctx, nng_name.encode(), out)
        if rv:
            raise exception_for(rv, "%s of %s" % (nng_name, self._describe()))
        return out[0]

    def _set_option(self, nng_name: str, kind: type, value: Any) -> int:
        if kind is str:
            return lib.PNC_ENOTSUP  # integer options only, as above
        return lib.pnc_ctx_set_int(self._ctx, nng_name.encode(), value)

    def subscribe(self, topic: Topic) -> None:
        """Sub0 contexts: receive messages that start with ``topic``."""
        self.socket._topic_option(lib.pnc_ctx_set_bytes, self._ctx, "sub:subscribe", topic)

    def unsubscribe(self, topic: Topic) -> None:
        """Sub0 contexts: stop receiving ``topic`` (NoEntry if it was not there)."""
        self.socket._topic_option(lib.pnc_ctx_set_bytes, self._ctx, "sub:unsubscribe", topic)

    def close(self) -> None:
        """Closes the context; its blocked calls wake with Closed."""
        if not self._closed:
            self._closed = True
            lib.pnc_ctx_close(self._ctx)

    def _forked_away(self) -> None:
        """In a forked child: this context is the parent's (see _fork)."""
        self._closed = True
        ffi.gc(self._ctx, None)
        SendRecv._forked_away(self)
        _fork.disown(self, InheritedSendRecv)

    def _describe(self) -> str:
        return "context %d of %s" % (self.id, self.socket._describe())

    def __repr__(self) -> str:
        return "<Context %d%s>" % (self.id, " (closed)" if self._closed else "")
