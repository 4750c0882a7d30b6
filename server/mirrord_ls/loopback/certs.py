"""TLS material for one loopback cluster: a fresh CA per run, server and client certificates.

The server certificate is issued by trustme; its variants (expired, valid only
for another name) let tests meet the TLS failures users meet. Client
certificates are built here with `cryptography` because Kubernetes reads the
groups from *several* Organization attributes, which trustme cannot write.

Nothing here logs; private keys only leave as bytes handed to the caller.
"""

from __future__ import annotations

import datetime
import enum
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class TlsMode(enum.Enum):
    VALID = "valid"
    """Certificate for 127.0.0.1 and localhost, valid now."""
    EXPIRED = "expired"
    """Right names, but it expired long ago."""
    WRONG_NAME = "wrong-name"
    """Valid now, but only for `wrong-name.invalid`: a TLS name mismatch."""
    PLAIN = "plain"
    """No TLS at all: plain HTTP."""


WRONG_NAME = "wrong-name.invalid"


@dataclass(frozen=True)
class ClientCert:
    """A client certificate and its key, PEM. The repr shows neither."""

    cert_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)


class ClusterPki:
    """The CA of one cluster and the certificates it issues."""

    def __init__(self) -> None:
        self.ca = trustme.CA(organization_name="mirrord-ls loopback")
        self._ca_key = serialization.load_pem_private_key(self.ca.private_key_pem.bytes(), None)
        self._ca_cert = x509.load_pem_x509_certificate(self.ca.cert_pem.bytes())

    @property
    def ca_pem(self) -> bytes:
        return self.ca.cert_pem.bytes()

    def server_context(self, mode: TlsMode) -> ssl.SSLContext:
        """An SSLContext that presents the server certificate and asks for client certificates."""
        if mode is TlsMode.EXPIRED:
            leaf = self.ca.issue_cert(
                "127.0.0.1",
                "localhost",
                not_before=datetime.datetime(2000, 1, 1),
                not_after=datetime.datetime(2001, 1, 1),
            )
        elif mode is TlsMode.WRONG_NAME:
            leaf = self.ca.issue_cert(WRONG_NAME)
        else:
            leaf = self.ca.issue_cert("127.0.0.1", "localhost", "::1")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # load_cert_chain only reads files; the key lives in a private temp dir for a moment.
        with tempfile.TemporaryDirectory(prefix="loopback-tls-") as tmp:
            chain = Path(tmp) / "server.pem"
            chain.write_bytes(leaf.private_key_and_cert_chain_pem.bytes())
            chain.chmod(0o600)
            ctx.load_cert_chain(str(chain))
        # Optional, as kube-apiserver: token clients send none, cert clients are verified.
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cadata=self.ca_pem.decode("ascii"))
        return ctx

    def client_cert(self, user: str, groups: tuple[str, ...] = ()) -> ClientCert:
        """A client certificate for `user` (CN) in `groups` (one O each), as kubeadm issues."""
        key = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self._ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self._ca_key, hashes.SHA256())  # type: ignore[arg-type]
        )
        return ClientCert(
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )


def identity_from_peercert(
    peercert: dict[str, object] | None,
) -> tuple[str, tuple[str, ...]] | None:
    """(user, groups) from a verified peer certificate, as `ssl.getpeercert()` returns it."""
    if not peercert:
        return None
    subject = peercert.get("subject") or ()
    user = ""
    groups: list[str] = []
    for rdn in subject:  # type: ignore[attr-defined]
        for key, value in rdn:
            if key == "commonName":
                user = value
            elif key == "organizationName":
                groups.append(value)
    return (user, tuple(groups)) if user else None
