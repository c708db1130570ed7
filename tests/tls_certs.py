"""Certificates and TLS configs for the tests of tls+tcp:// and wss://, and
for the interop matrices' TLS transports.  The certificates are made once
per run (the session fixture `certs` in conftest.py)."""
import datetime
import ipaddress

from pynng_core import TLSConfig
from pynng_core import tls as _tls

# The interop matrices' transport names that run inside TLS.
TLS_TRANSPORTS = ("tls", "wss")


def engine_missing():
    """Why TLS cannot be tested here, or None."""
    if _tls.engine() is None:
        return "this build has no TLS engine (OpenSSL was not found when it was built)"
    return None


def make_certs():
    """A CA and certificates it signed (server, client, expired), a self-signed
    one and another CA, as PEM strings: name -> PEM or (PEM, key PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def pem_key(k, password=None):
        enc = (serialization.BestAvailableEncryption(password.encode()) if password
               else serialization.NoEncryption())
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               enc).decode()

    def pem(cert):
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def make(cn, k, issuer=None, issuer_key=None, ca=False, sans=(), start=None, end=None,
             usage=None):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        b = (x509.CertificateBuilder().subject_name(name)
             .issuer_name(issuer.subject if issuer is not None else name)
             .public_key(k.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(start or now - day).not_valid_after(end or now + 30 * day)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             # Key identifiers: Python 3.13's ssl verifies X.509 strictly by
             # default and refuses a chain without them.
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()),
                            critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 (issuer_key if issuer_key is not None else k).public_key()), critical=False))
        if ca:
            b = b.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        if usage:
            b = b.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        return b.sign(issuer_key if issuer_key is not None else k, hashes.SHA256())

    ca_key = key()
    ca = make("pnc test CA", ca_key, ca=True)
    local = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    server_key = key()
    server = make("pnc server", server_key, ca, ca_key, sans=local,
                  usage=[ExtendedKeyUsageOID.SERVER_AUTH])
    client_key = key()
    client = make("pnc client", client_key, ca, ca_key,
                  sans=[x509.DNSName("client.example")],
                  usage=[ExtendedKeyUsageOID.CLIENT_AUTH])
    expired_key = key()
    expired = make("pnc expired", expired_key, ca, ca_key, sans=local,
                   start=now - 60 * day, end=now - 30 * day)
    self_key = key()
    selfsigned = make("pnc self-signed", self_key, sans=local)
    other_ca_key = key()
    other_ca = make("another CA", other_ca_key, ca=True)
    return {
        "ca": pem(ca),
        "other_ca": pem(other_ca),
        "server": (pem(server), pem_key(server_key)),
        "server_pw": (pem(server), pem_key(server_key, "s3cret")),
        "client": (pem(client), pem_key(client_key)),
        "expired": (pem(expired), pem_key(expired_key)),
        "selfsigned": (pem(selfsigned), pem_key(self_key)),
    }


def server_config(certs, which="server", auth_mode=None, ca=True):
    cert, key = certs[which]
    return TLSConfig(TLSConfig.MODE_SERVER, own_cert_string=cert, own_key_string=key,
                     ca_string=certs["ca"] if ca else None, auth_mode=auth_mode)


def client_config(certs, server_name=None, own=None, ca="ca", auth_mode=None):
    kw = {}
    if own is not None:
        kw["own_cert_string"], kw["own_key_string"] = certs[own]
    return TLSConfig(TLSConfig.MODE_CLIENT, server_name=server_name,
                     ca_string=certs[ca] if ca else None, auth_mode=auth_mode, **kw)


def pynng_tls(certs, listens, own=None, auth_mode=None):
    """TLSConfig's keyword arguments (pynng's API, ours too), "mode" with
    them, for an interop test's side that listens, serving the server
    certificate (and verifying clients by the CA when auth_mode asks), or
    dials, verifying the server by the CA as `localhost`, the name it has
    for 127.0.0.1 (nngcat's mbedTLS matches no IP address SAN), showing
    certs[own] when own names one; None without certificates (a plain
    transport)."""
    if certs is None:
        return None
    if listens:
        cert, key = certs["server"]
        kw = {"mode": "server", "own_cert_string": cert, "own_key_string": key}
        if auth_mode is not None:
            kw.update(ca_string=certs["ca"], auth_mode=auth_mode)
        return kw
    cert, key = certs[own] if own else (None, None)
    return {"mode": "client", "server_name": "localhost", "ca_string": certs["ca"],
            "own_cert_string": cert, "own_key_string": key}


def side_config(lib, certs, listens):
    """The TLSConfig of lib (pynng_core or pynng: one API) that pynng_tls
    describes for a side, or None."""
    kw = pynng_tls(certs, listens)
    if kw is None:
        return None
    mode = getattr(lib.TLSConfig, "MODE_" + kw.pop("mode").upper())
    return lib.TLSConfig(mode, **kw)
