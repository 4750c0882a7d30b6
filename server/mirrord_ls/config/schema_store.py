"""The schema every check uses, loaded in the background: asking for it never blocks.

A configured schema (`mirrordLs.schema`) may be a path or URL that hangs, trickles or never
ends; mirrord's published schema may be slow to fetch. `SchemaStore.current()` answers at
once with the last good schema (the built-in one at first) while a load runs in a worker
thread; when a load finishes, the store swaps the schema and calls `on_change` (from that
thread). The last `configure` wins: a slower, older load never replaces a newer one.

How the server uses it (it owns the event loop):

    store = SchemaStore(on_change=lambda schema, problem:
                        loop.call_soon_threadsafe(server.schema_changed, schema, problem))
    store.configure(settings.schema or None)   # on start and on every settings change
    analyze(text, fmt, store.current(), ...)    # every check, hover, completion
    store.problem                               # show it once, when it changes

`wait()` is for `check` and tests, which may block.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mirrord_ls.config import schema as schema_mod
from mirrord_ls.config.schema import Schema, SchemaError

log = logging.getLogger(__name__)
OnChange = Callable[[Schema, "str | None"], None]


class SchemaStore:
    def __init__(self, on_change: OnChange | None = None) -> None:
        self._on_change = on_change
        self._lock = threading.Lock()
        self._schema: Schema = schema_mod.builtin_schema()
        self._problem: str | None = None
        self._generation = 0
        self._idle = threading.Event()
        self._idle.set()

    def current(self) -> Schema:
        """The schema to use now: never waits for a load."""
        return self._schema

    @property
    def problem(self) -> str | None:
        """Why the configured schema is not in use (None when it is, or none is configured)."""
        return self._problem

    def configure(self, location: str | None, refresh_published: bool = True) -> None:
        """Load `location` (or, when None, mirrord's published schema) in the background."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._idle.clear()
        worker = threading.Thread(
            target=self._load,
            args=(generation, location, refresh_published),
            name=f"schema-load-{generation}",
            daemon=True,
        )
        worker.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the latest load has finished; False on timeout."""
        return self._idle.wait(timeout)

    # -- worker side -------------------------------------------------------
    def _load(self, generation: int, location: str | None, refresh: bool) -> None:
        try:
            if location:
                self._load_configured(generation, location)
            else:
                self._load_published(generation, refresh)
        except Exception:  # a bug here must not leave the store waiting forever
            log.exception("schema load failed")
        finally:
            with self._lock:
                if generation == self._generation:
                    self._idle.set()

    def _load_configured(self, generation: int, location: str) -> None:
        try:
            schema: Schema = schema_mod.load_configured(location)
            problem = None
        except SchemaError as exc:
            schema = schema_mod.load_cached_published() or schema_mod.builtin_schema()
            problem = f"The configured schema is not used: {exc} Using the {schema.label}."
        self._publish(generation, schema, problem)

    def _load_published(self, generation: int, refresh: bool) -> None:
        cached = schema_mod.load_cached_published()
        self._publish(generation, cached or schema_mod.builtin_schema(), None)
        if refresh:
            fresh = schema_mod.refresh_published()
            if fresh is not None:
                self._publish(generation, fresh, None)

    def _publish(self, generation: int, schema: Schema, problem: str | None) -> None:
        with self._lock:
            if generation != self._generation:
                return  # a newer configure() won
            changed = schema is not self._schema or problem != self._problem
            self._schema, self._problem = schema, problem
        if changed and self._on_change is not None:
            try:
                self._on_change(schema, problem)
            except Exception:
                log.exception("schema change callback failed")
