"""A tls+tcp:// request/reply round trip through the installed pynng_core,
the wheels' TLS smoke test (pyproject.toml's test-command, .ci/linux_wheels.py):
it fails, saying so, when the build has no TLS engine, where the suite's
TLS tests would only skip.

Prints the engine's name and, where /proc/self/maps tells, the libssl file
this process loaded (so a caller can check it is the wheel's own copy).
Needs the `cryptography` package for its self-signed certificate, which
benchmarks/bench.py uses too (self_signed(); importing this module imports
no pynng_core).

usage: python tests/tls_roundtrip.py
"""
import datetime
import ipaddress
import os
import sys


def self_signed():
    """(certificate, key), PEM: for 127.0.0.1 and localhost, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pynng_core tls")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def loaded_libssl():
    """The libssl files mapped into this process (Linux), else []."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/libssl" in line}
    except OSError:
        return []
    return sorted(paths)


def main():
    import pynng_core
    from pynng_core import TLSConfig, tls

    engine = tls.engine()
    if engine is None:
        sys.exit("tls_roundtrip: this pynng_core (%s) has no TLS engine: it was built "
                 "without OpenSSL" % os.path.dirname(pynng_core.__file__))
    cert, key = self_signed()
    server = TLSConfig(TLSConfig.MODE_SERVER, own_cert_string=cert, own_key_string=key)
    client = TLSConfig(TLSConfig.MODE_CLIENT, ca_string=cert)
    with pynng_core.Rep0(tls_config=server, recv_timeout=5000) as rep, \
            pynng_core.Req0(tls_config=client, recv_timeout=5000) as req:
        listener = rep.listen("tls+tcp://127.0.0.1:0")
        req.dial("tls+tcp://127.0.0.1:%d" % listener.port, block=True)
        req.send(b"ping")
        assert rep.recv() == b"ping"
        rep.send(b"pong")
        assert req.recv() == b"pong"
        verified = req.pipes[0].tls_verified
    assert verified, "the server's certificate was not verified"
    print("tls_roundtrip: tls+tcp:// req/rep ok, server verified, engine %s" % engine)
    for path in loaded_libssl():
        print("tls_roundtrip: libssl loaded: %s" % path)


if __name__ == "__main__":
    main()
