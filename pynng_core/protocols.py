"""The protocol classes: each a Socket opening one of the core's protocols."""
from .socket import Socket


class Pair0(Socket):
    """pair v0: one peer at a time, messages both ways."""

    _protocol = "pair0"


class Pair1(Socket):
    """pair v1: like Pair0, with a hop count on the wire.

    ``polyamorous=True`` allows many peers: a received Message says which
    pipe it came from, and a Message sent with a pipe goes to that peer.
    """

    _protocol = "pair1"

    def __init__(self, *, polyamorous=False, **kwargs):
        self._polyamorous = bool(polyamorous)
        super().__init__(**kwargs)

    def _setup(self):
        if self._polyamorous:
            self._set_option("pair1:polyamorous", int, 1)

    @property
    def polyamorous(self):
        return bool(self._get_option("pair1:polyamorous", int))


class Push0(Socket):
    """push: each message goes to one of the pull peers, round-robin."""

    _protocol = "push0"


class Pull0(Socket):
    """pull: receives what every push peer sends."""

    _protocol = "pull0"
