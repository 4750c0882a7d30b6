"""File watching (watchdog) bridged into asyncio, debounced.

Directories are watched, not files: kubectl, editors and cloud CLIs replace a
file by writing a temporary one and renaming it over, which a watch on the
old inode would never see. Two kinds of interest:

- exact files (kubeconfigs, token and certificate files): their folder is
  watched without recursion and only events naming those files count;
- workspace roots (when the client cannot watch for us): watched
  recursively, and only paths that look like mirrord configs count.

Events arrive on watchdog's thread; they are handed to the event loop, merged
for `debounce` seconds, and delivered once as a set of paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mirrord_ls.config.files import SKIP_DIRS, is_mirrord_config

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.1


class FileWatcher:
    """Watches files and roots; calls `on_change(paths)` on the loop, debounced."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_change: Callable[[set[Path]], None],
        debounce: float = DEBOUNCE_SECONDS,
    ) -> None:
        self._loop = loop
        self._on_change = on_change
        self._debounce = debounce
        self._observer: Any = None
        self._dir_watches: dict[Path, tuple[Any, bool]] = {}
        self._root_watches: dict[Path, Any] = {}
        self._files: set[Path] = set()
        self._pending: set[Path] = set()
        self._timer: asyncio.TimerHandle | None = None

    def _ensure_started(self) -> Any:
        if self._observer is None:
            from watchdog.observers import Observer

            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
        return self._observer

    def _handler(self, recursive: bool) -> Any:
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                paths = [event.src_path, getattr(event, "dest_path", "")]
                for raw in paths:
                    if not raw:
                        continue
                    path = Path(os.fsdecode(raw))
                    if recursive and not is_mirrord_config(path):
                        continue
                    watcher._loop.call_soon_threadsafe(watcher._arrived, path, recursive)

        return Handler()

    def _arrived(self, path: Path, from_root: bool) -> None:
        if not from_root and path not in self._files:
            if any(f.is_relative_to(path) for f in self._files):
                # A folder on the way to a missing file appeared: watch deeper, and
                # report the files that now exist.
                self.watch_files(self._files)
                for f in self._files:
                    if f.is_relative_to(path) and f.exists():
                        self._arrived(f, False)
            return
        self._pending.add(path)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(self._debounce, self._flush)

    def _flush(self) -> None:
        self._timer = None
        paths, self._pending = self._pending, set()
        if paths:
            try:
                self._on_change(paths)
            except Exception:  # a bug in a consumer must not stop watching
                log.exception("file change handler failed")

    def watch_files(self, files: Iterable[Path]) -> None:
        """Watch exactly these files (replacing the previous set)."""
        wanted = {Path(f) for f in files}
        self._files = wanted
        dirs: dict[Path, bool] = {}
        for f in wanted:
            # The nearest existing folder: a missing kubeconfig may appear later. Never
            # recursive (a missing ~/.kube would mean watching all of HOME): when a folder
            # on the way is created, the watches are laid again one level deeper.
            d = f.parent
            while not d.is_dir() and d != d.parent:
                d = d.parent
            dirs[d] = False
        for d in list(self._dir_watches):
            if d not in dirs or self._dir_watches[d][1] != dirs[d]:
                with contextlib.suppress(Exception):
                    self._observer.unschedule(self._dir_watches.pop(d)[0])
        for d, recursive in dirs.items():
            if d in self._dir_watches:
                continue
            try:
                watch = self._ensure_started().schedule(
                    self._handler(False), str(d), recursive=recursive
                )
                self._dir_watches[d] = (watch, recursive)
            except (OSError, RuntimeError) as exc:
                log.info("cannot watch %s: %s", d, exc)

    def watch_roots(self, roots: Iterable[Path]) -> None:
        """Watch these folders recursively for mirrord config files."""
        wanted = {Path(r) for r in roots if Path(r).is_dir()}
        for r in set(self._root_watches) - wanted:
            with contextlib.suppress(Exception):
                self._observer.unschedule(self._root_watches.pop(r))
        for r in wanted - set(self._root_watches):
            try:
                self._root_watches[r] = self._ensure_started().schedule(
                    self._handler(True), str(r), recursive=True
                )
            except (OSError, RuntimeError) as exc:
                log.info("cannot watch %s: %s", r, exc)

    @property
    def watched_dirs(self) -> set[Path]:
        return set(self._dir_watches) | set(self._root_watches)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._observer is not None:
            with contextlib.suppress(Exception):
                self._observer.stop()
                self._observer.join(timeout=2)
            self._observer = None
        self._dir_watches.clear()
        self._root_watches.clear()


def find_configs(roots: Iterable[Path], limit: int = 5000) -> list[Path]:
    """Every mirrord config under the roots (skipping VCS, dependency and build folders)."""
    found: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        for current, dirs, names in os.walk(root, followlinks=False):
            try:
                st = os.stat(current)
                key = (st.st_dev, st.st_ino)
            except OSError:
                dirs[:] = []
                continue
            if key in seen_dirs:
                dirs[:] = []
                continue
            seen_dirs.add(key)
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(names):
                path = Path(current) / name
                if is_mirrord_config(path) and path.is_file():
                    found.append(path)
                    if len(found) >= limit:
                        return found
    return found
