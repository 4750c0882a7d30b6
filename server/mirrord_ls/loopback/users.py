"""Users the loopback server knows, with the credentials a kubeconfig carries."""

from __future__ import annotations

from dataclasses import dataclass, field

from mirrord_ls.loopback.certs import ClientCert


@dataclass(frozen=True)
class User:
    """A user and its credentials (a bearer token, a client certificate, or both).

    The repr shows only the name and groups: tokens and keys never reach a log.
    """

    name: str
    groups: tuple[str, ...] = ()
    token: str | None = field(default=None, repr=False)
    client_cert: ClientCert | None = field(default=None, repr=False)
