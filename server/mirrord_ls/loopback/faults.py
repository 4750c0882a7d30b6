"""Injectable faults: the ways networks, proxies and sick servers misbehave.

A fault applies to requests whose path matches its pattern (and method, when
given), for the next `times` of them or until cleared. The server takes the
first active fault that matches each request; the kinds are answered in
`apiserver.py`, which owns the socket.

A hang waits on the fault's own event, set by `clear()` or by the server
stopping, so a hung request never outlives the test that made it.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field

from mirrord_ls.loopback.matching import PathPattern, method_matches, path_matches


class FaultKind(enum.Enum):
    LATENCY = "latency"
    HANG = "hang"
    RESET = "reset"
    STATUS = "status"
    GARBAGE = "garbage"
    TRUNCATED = "truncated"
    HTML_ERROR = "html-error"
    WRONG_CONTENT_TYPE = "wrong-content-type"
    REDIRECT = "redirect"


@dataclass(eq=False)
class Fault:
    """One injected misbehaviour. Build with the class methods, install with `server.inject`."""

    kind: FaultKind
    path: PathPattern
    method: str | None = None
    times: int | None = None
    """How many matching requests it applies to; None until cleared."""
    seconds: float = 0.0
    status: int = 503
    retry_after: int | None = None
    body: bytes | None = None
    content_type: str = "text/html; charset=utf-8"
    location: str = "/"
    _released: threading.Event = field(default_factory=threading.Event, repr=False)
    _hits: int = 0

    # -- constructors ------------------------------------------------------------

    @classmethod
    def latency(
        cls,
        path: PathPattern,
        seconds: float,
        *,
        method: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """Answer normally, `seconds` late."""
        return cls(FaultKind.LATENCY, path, method, times, seconds=seconds)

    @classmethod
    def hang(
        cls, path: PathPattern, *, method: str | None = None, times: int | None = None
    ) -> Fault:
        """Never answer until the fault is cleared (then the request is answered normally)."""
        return cls(FaultKind.HANG, path, method, times)

    @classmethod
    def reset(
        cls, path: PathPattern, *, method: str | None = None, times: int | None = None
    ) -> Fault:
        """Send status line and headers and a little body, then reset the connection."""
        return cls(FaultKind.RESET, path, method, times)

    @classmethod
    def status_code(
        cls,
        path: PathPattern,
        status: int,
        *,
        retry_after: int | None = None,
        body: bytes | None = None,
        method: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """Answer `status` with a `Status` body (or `body`), optionally with Retry-After."""
        return cls(
            FaultKind.STATUS, path, method, times, status=status, retry_after=retry_after, body=body
        )

    @classmethod
    def garbage(
        cls, path: PathPattern, *, method: str | None = None, times: int | None = None
    ) -> Fault:
        """200 with `Content-Type: application/json` and bytes that are not JSON."""
        return cls(FaultKind.GARBAGE, path, method, times)

    @classmethod
    def truncated(
        cls, path: PathPattern, *, method: str | None = None, times: int | None = None
    ) -> Fault:
        """The real answer's headers with a Content-Length larger than what is sent, then close."""
        return cls(FaultKind.TRUNCATED, path, method, times)

    @classmethod
    def html_error(
        cls,
        path: PathPattern,
        status: int = 502,
        *,
        method: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """An HTML error page, as a reverse proxy in front of the API server sends."""
        return cls(FaultKind.HTML_ERROR, path, method, times, status=status)

    @classmethod
    def wrong_content_type(
        cls,
        path: PathPattern,
        content_type: str = "text/html; charset=utf-8",
        *,
        method: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """The real answer, labelled with another Content-Type."""
        return cls(FaultKind.WRONG_CONTENT_TYPE, path, method, times, content_type=content_type)

    @classmethod
    def redirect(
        cls,
        path: PathPattern,
        location: str,
        *,
        status: int = 302,
        method: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """A redirect to `location` (a path on this server, or any URL)."""
        return cls(FaultKind.REDIRECT, path, method, times, status=status, location=location)

    # -- state -------------------------------------------------------------------

    @property
    def hits(self) -> int:
        """How many requests this fault has applied to."""
        return self._hits

    def release(self) -> None:
        """Let hung requests go on; called when the fault is cleared or the server stops."""
        self._released.set()

    def wait_released(self, timeout: float | None = None) -> bool:
        return self._released.wait(timeout)


class FaultSet:
    """The active faults of one server, in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        # Used-up faults may still hold hung requests; clear() must release them too.
        self._spent: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)
        fault.release()

    def clear(self) -> None:
        with self._lock:
            faults = self._faults + self._spent
            self._faults, self._spent = [], []
        for fault in faults:
            fault.release()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching fault, counting the use; a used-up fault leaves the set.

        A used-up hang is not released: the requests it already holds stay
        hung until it is cleared or the server stops, as the doc promises.
        """
        with self._lock:
            for fault in self._faults:
                if path_matches(fault.path, path) and method_matches(fault.method, method):
                    fault._hits += 1
                    if fault.times is not None and fault._hits >= fault.times:
                        self._faults.remove(fault)
                        self._spent.append(fault)
                    return fault
        return None
