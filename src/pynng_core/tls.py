"""TLSConfig: pynng's TLS configuration, for tls+tcp:// and wss:// (OpenSSL in
the core).

The arguments, their rules and their defaults are pynng's (``pynng/tls.py``,
which calls nng's ``nng_tls_config_*``): a client verifies its server unless
``auth_mode`` says otherwise, a server asks for no certificate unless it
does; ``server_name`` is what a client checks the server's certificate
against (the URL's host when not given).  A config is frozen once a
connection used it.  Give it as ``tls_config=`` to a socket (its dialers
use a client config, its listeners a server one), or to ``dial`` and
``listen`` for that endpoint alone.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._core import ffi, lib
from .exceptions import check, exception_for

if TYPE_CHECKING:
    from ._core import CData  # the stub's: cffi's types have no names at run time

NO_ENGINE = ("tls+tcp:// and wss://: this build has no TLS engine (OpenSSL was not "
             "found when it was built, or PYNNG_CORE_NO_TLS was set)")


def engine() -> str | None:
    """The TLS engine this build has ("OpenSSL 3.0.2 15 Mar 2022"), or None."""
    name = lib.pnc_tls_engine()
    return ffi.string(name).decode() if name != ffi.NULL else None


def _text(value: str | bytes, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise TypeError("%s is a str, not %r" % (what, value))
    return value.encode()


class TLSConfig:
    """TLS configuration for tls+tcp:// and wss:// sockets, dialers and listeners.

    Its arguments are pynng's:

    :param mode: ``TLSConfig.MODE_CLIENT`` or ``TLSConfig.MODE_SERVER``.
    :param str server_name: the name a client checks the server's
        certificate against (and sends as SNI).
    :param str ca_string: the certificate authorities, PEM.
    :param str own_key_string: own key, PEM; with ``own_cert_string`` or neither.
    :param str own_cert_string: own certificate (then its chain), PEM.
    :param auth_mode: ``AUTH_MODE_NONE``, ``_OPTIONAL`` or ``_REQUIRED``.
    :param ca_files: files of PEM certificate authorities (a str or a list of them).
    :param str cert_key_file: a PEM file with the certificate and its key.
    :param str passwd: the key's password, if it is encrypted.
    """

    MODE_CLIENT = lib.PNC_TLS_MODE_CLIENT
    MODE_SERVER = lib.PNC_TLS_MODE_SERVER

    AUTH_MODE_NONE = lib.PNC_TLS_AUTH_MODE_NONE
    AUTH_MODE_OPTIONAL = lib.PNC_TLS_AUTH_MODE_OPTIONAL
    AUTH_MODE_REQUIRED = lib.PNC_TLS_AUTH_MODE_REQUIRED

    # None only on an object whose __init__ failed, which no caller holds.
    _cfg: CData = None  # type: ignore[assignment]

    def __init__(self, mode: int, server_name: str | None = None,
                 ca_string: str | None = None, own_key_string: str | None = None,
                 own_cert_string: str | None = None, auth_mode: int | None = None,
                 ca_files: str | list[str] | None = None, cert_key_file: str | None = None,
                 passwd: str | None = None) -> None:
        if ca_string and ca_files:
            raise ValueError("Cannot set both ca_string and ca_files!")
        if (own_cert_string or own_key_string) and cert_key_file:
            raise ValueError("Cannot set both own_{key,cert}_string an cert_key_file!")
        if bool(own_cert_string) != bool(own_key_string):
            raise ValueError("own_key_string and own_cert_string must be both set or unset")
        if isinstance(ca_files, str):
            ca_files = [ca_files]
        if lib.pnc_tls_engine() == ffi.NULL:
            raise exception_for(lib.PNC_ENOTSUP, NO_ENGINE)
        out = ffi.new("pnc_tls_config **")
        check(lib.pnc_tls_config_alloc(out, mode), "TLSConfig mode %r" % (mode,))
        self._cfg = ffi.gc(out[0], lib.pnc_tls_config_release)
        self.mode = mode
        if server_name:
            self.set_server_name(server_name)
        if ca_string:
            self.set_ca_chain(ca_string)
        if own_key_string and own_cert_string:
            self.set_own_cert(own_cert_string, own_key_string, passwd)
        if auth_mode is not None:  # pynng skips AUTH_MODE_NONE (0) here: not us
            self.set_auth_mode(auth_mode)
        if ca_files:
            for f in ca_files:
                self.add_ca_file(f)
        if cert_key_file:
            self.set_cert_key_file(cert_key_file, passwd)

    def set_server_name(self, server_name: str) -> None:
        """The name the server's certificate must carry ("": none is checked)."""
        check(lib.pnc_tls_config_server_name(self._cfg, _text(server_name, "server_name")),
              "TLS server name %r" % (server_name,))

    def set_ca_chain(self, chain: str, crl: str | None = None) -> None:
        """Certificate authorities (PEM), and revocation lists (PEM) if given."""
        crl_c = _text(crl, "crl") if crl is not None else ffi.NULL
        check(lib.pnc_tls_config_ca_chain(self._cfg, _text(chain, "ca chain"), crl_c),
              "TLS CA chain (PEM certificates expected)")

    def set_own_cert(self, cert: str, key: str, passwd: str | None = None) -> None:
        """Own certificate (then its chain) and key, PEM."""
        pw = _text(passwd, "passwd") if passwd is not None else ffi.NULL
        check(lib.pnc_tls_config_own_cert(self._cfg, _text(cert, "cert"), _text(key, "key"),
                                          pw),
              "TLS own certificate and key (PEM, matching, password right)")

    def set_auth_mode(self, mode: int) -> None:
        """``AUTH_MODE_NONE``, ``AUTH_MODE_OPTIONAL`` or ``AUTH_MODE_REQUIRED``."""
        check(lib.pnc_tls_config_auth_mode(self._cfg, mode), "TLS auth mode %r" % (mode,))

    def add_ca_file(self, path: str) -> None:
        """Certificate authorities from a PEM file."""
        check(lib.pnc_tls_config_ca_file(self._cfg, _text(path, "path")),
              "TLS CA file %r" % (path,))

    def set_cert_key_file(self, path: str, passwd: str | None = None) -> None:
        """Own certificate and key from one PEM file."""
        pw = _text(passwd, "passwd") if passwd is not None else ffi.NULL
        check(lib.pnc_tls_config_cert_key_file(self._cfg, _text(path, "path"), pw),
              "TLS certificate and key file %r" % (path,))

    def _core(self) -> CData:
        return self._cfg

    def __repr__(self) -> str:
        return "<TLSConfig %s>" % ("server" if self.mode == self.MODE_SERVER else "client")


def config_ptr(config: TLSConfig) -> CData:
    """The core's config of a TLSConfig (TypeError for anything else)."""
    if not isinstance(config, TLSConfig):
        raise TypeError("tls_config is a pynng_core.TLSConfig, not %r" % (config,))
    return config._core()
