"""The ``pynng-core-exceptions`` directive: the error reference's table.

The table is made from ``pynng_core.exceptions`` when the docs are built:
each class, its NNG code, the built-in exceptions it also is, and its
docstring.  What this file adds by hand is when each is raised
(``RAISED_WHEN``); a class without an entry there, or an entry for a class
that no longer exists, fails the build, so the page cannot fall behind
the module.
"""
from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.errors import ExtensionError

from cells import paragraph
from pynng_core import exceptions

RAISED_WHEN = {
    "NNGException": "Never itself: the base class, to catch any error of pynng_core.",
    "MessageStateError": "A Message is sent, or its buffer used, after it was sent "
                         "or closed: its memory belongs to the core then.",
    "Interrupted": "A system call was interrupted and could not be resumed. Ctrl-C in a "
                   "blocking call raises KeyboardInterrupt instead.",
    "NoMemory": "The core could not allocate a message or a structure.",
    "InvalidOperation": "An option value is out of range, a device is given sockets that "
                        "are not raw or not each other's peers, or a call does not suit "
                        "the object.",
    "Busy": "A Pair0 socket gets a second peer, a protocol option that must be set before "
            "connecting is set after, or an endpoint option is set after ``start()``.",
    "Timeout": "``recv_timeout`` or ``send_timeout`` ran out; for a surveyor, the survey "
               "ended (``survey_time``).",
    "ConnectionRefused": "A blocking dial found nothing listening at the address.",
    "Closed": "The socket, context, dialer or listener is closed, or was closed by another "
              "thread while a call waited on it.",
    "TryAgain": "``block=False`` and no message is waiting (recv) or the socket cannot take "
                "one now (send).",
    "NotSupported": "The protocol has no such operation (recv on Push0, contexts on Pair0), "
                    "the option does not exist, or the package was built without TLS and a "
                    "``tls+tcp://`` or ``wss://`` address is used.",
    "AddressInUse": "``listen`` on an address another socket or process holds; a ws or wss "
                    "listener on a port whose HTTP server has another configuration.",
    "BadState": "The protocol's state forbids the call: a Rep0 sends with no request "
                "received, a Req0 receives with no request sent, a Surveyor0 receives "
                "with no survey under way.",
    "NoEntry": "Unsubscribing from a topic that was not subscribed; a name that does not "
               "resolve.",
    "ProtocolError": "The peer's handshake names an incompatible protocol, or it broke the "
                     "framing.",
    "DestinationUnreachable": "The network says the address cannot be reached.",
    "AddressInvalid": "The URL is malformed, or its scheme is unknown.",
    "PermissionDenied": "The system refused access: a privileged port, or an ipc path in a "
                        "directory the process cannot write.",
    "MessageTooLarge": "A message is longer than the receiver's ``recv_max_size`` "
                       "allows, or an address is too long for the transport.",
    "ConnectionAborted": "A connection was aborted on the way (a dial whose handshake "
                         "failed, for instance).",
    "ConnectionReset": "The peer reset the connection.",
    "Canceled": "The operation was canceled: a Req0 context's request was replaced by a "
                "newer one, or an asynchronous operation was abandoned.",
    "OutOfFiles": "The process ran out of file descriptors (RLIMIT_NOFILE).",
    "OutOfSpace": "The system ran out of buffer space for a connection.",
    "AlreadyExists": "The object being created exists already.",
    "ReadOnly": "Setting a read-only option or property (``peer``, ``raw``, ``protocol``).",
    "WriteOnly": "Reading a write-only option, such as an endpoint's ``tls_ca_file``.",
    "CryptoError": "TLS failed for a reason other than the peer's identity: not TLS at "
                   "all, no shared cipher, a bad certificate or key file.",
    "AuthenticationError": "The TLS peer's certificate was refused or is missing where it "
                           "is required.",
    "NoArgument": "An option that needs a value was given none.",
    "Ambiguous": "An option name matches more than one option.",
    "BadType": "An option is given a value of the wrong type (a str for an int option).",
    "ConnectionShutdown": "The peer shut the connection down.",
    "Internal": "A bug in pynng_core or an error of the system it cannot classify.",
}


def documented_classes():
    """The exception classes of the module, in its order."""
    return [getattr(exceptions, name) for name in exceptions.__all__
            if isinstance(getattr(exceptions, name), type)]


def _builtin_bases(cls):
    """The built-in exceptions ``cls`` is also an instance of (OSError too)."""
    return [base for base in cls.__mro__[1:]
            if base.__module__ == "builtins" and base not in (Exception, BaseException, object)]


class ExceptionTable(Directive):
    has_content = False

    def run(self):
        classes = documented_classes()
        names = {cls.__name__ for cls in classes}
        missing = sorted(names - set(RAISED_WHEN))
        stale = sorted(set(RAISED_WHEN) - names)
        if missing or stale:
            raise ExtensionError("docs/_ext/exception_table.py RAISED_WHEN: missing %s, "
                                 "stale %s" % (missing or "none", stale or "none"))
        headers = ["Exception", "NNG code", "Also a", "Meaning, and when it is raised"]
        table = nodes.table(classes=["colwidths-given"])
        group = nodes.tgroup(cols=len(headers))
        table += group
        for width in (18, 7, 20, 55):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        row = nodes.row()
        for header in headers:
            row += nodes.entry("", paragraph(self, header))
        head += row
        body = nodes.tbody()
        group += body
        python = self.state.document.settings.env.get_domain("py")
        for cls in classes:
            # Each row is the target of :py:class:`pynng_core.<name>` (the
            # name pynng_core exports it under) in every page.
            node_id = "exception-" + cls.__name__.lower()
            row = nodes.row(ids=[node_id])
            python.note_object("pynng_core." + cls.__name__, "exception", node_id,
                               location=row)
            code = getattr(cls, "code", None)
            bases = [b.__name__ for b in _builtin_bases(cls)]
            cells = [paragraph(self, cls.__name__, literal=True),
                     paragraph(self, str(code) if code is not None else ""),
                     paragraph(self, ", ".join(bases)),
                     [paragraph(self, " ".join((cls.__doc__ or "").split())),
                      paragraph(self, RAISED_WHEN[cls.__name__])]]
            for cell in cells:
                row += nodes.entry("", *(cell if isinstance(cell, list) else [cell]))
            body += row
        return [table]


def setup(app):
    app.add_directive("pynng-core-exceptions", ExceptionTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
