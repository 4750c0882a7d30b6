"""One API connection per cluster identity, made on first use and closed at shutdown.

The fact store asks here for a connection; this is the one place that turns
a resolved cluster and the workspace's trust into credentials and an
`ApiConnection` (credentials are the business of `credentials.py`, requests
of `api.py`). Bounded by identity count: the oldest connection is closed first.
"""

from __future__ import annotations

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster import kubeconfig as kc
from mirrord_ls.cluster.api import ApiConnection
from mirrord_ls.cluster.cache import SingleFlight

MAX_CONNECTIONS = 128


class ConnectionPool:
    def __init__(self, maxsize: int = MAX_CONNECTIONS) -> None:
        self.maxsize = maxsize
        self._connections: dict[kc.ClusterIdentity, ApiConnection] = {}
        self._creating: SingleFlight[kc.ClusterIdentity] = SingleFlight()
        self.exec_cache = creds_mod.ExecCredentialCache()

    async def get(
        self, resolved: kc.ResolvedCluster, trust: creds_mod.TrustPolicy, env: dict[str, str]
    ) -> ApiConnection:
        """The connection for `resolved` (credentials obtained on first use)."""
        identity = resolved.identity
        conn = self._connections.get(identity)
        if conn is not None:
            return conn

        async def create() -> ApiConnection:
            # Credentials are a provider the connection consults before each request
            # (expiry, a changed token file, a 401), fetched once here so that a
            # credential problem is reported before any request.
            provider = creds_mod.CredentialProvider(
                resolved, trust=trust, cache=self.exec_cache, base_env=env
            )
            made = ApiConnection(
                resolved, provider, accept_invalid_certificates=resolved.insecure_skip_tls_verify
            )
            await made.credentials()
            self._connections[identity] = made
            while len(self._connections) > self.maxsize:
                self._connections.pop(next(iter(self._connections))).close()
            return made

        return await self._creating.run(identity, create)

    def credentials_rejected(self) -> None:
        """The cluster said 401: exec credentials may have expired, fetch them anew."""
        self.exec_cache.invalidate()

    def forget_credentials(self) -> None:
        self.exec_cache.invalidate()

    def close(self) -> None:
        """Close every connection (and remove the files they wrote)."""
        self._creating.cancel_all()
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def __len__(self) -> int:
        return len(self._connections)
