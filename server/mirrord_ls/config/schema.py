"""Where the schema comes from, and how to walk it.

Order of preference: a path or URL the user configured (`mirrordLs.schema`,
`--schema`); else mirrord's published schema, fetched in the background,
cached on disk and revalidated with ETag/Last-Modified, used from the cache
when offline; else the schema this project writes itself for the fields it
understands deeply (`builtin-schema.json`). No network failure ever blocks or
shows as an error in a config: it only decides which schema is used.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PUBLISHED_URL = "https://raw.githubusercontent.com/metalbear-co/mirrord/latest/mirrord-schema.json"
FETCH_TIMEOUT = 10.0
MAX_SCHEMA_BYTES = 16 * 1024 * 1024


def published_url() -> str:
    """The published schema's address; tests point it at 127.0.0.1."""
    return os.environ.get("MIRRORD_LS_SCHEMA_URL", PUBLISHED_URL)


def cache_dir() -> Path:
    import platformdirs  # off the start path (issue 17)

    return Path(os.environ.get("MIRRORD_LS_CACHE_DIR") or platformdirs.user_cache_dir("mirrord-ls"))


class SchemaError(Exception):
    """A schema that could not be read or is not a usable JSON Schema."""


@dataclass(frozen=True)
class Schema:
    """A loaded schema and where it came from (said in hover and `check` output)."""

    document: dict[str, Any]
    source: str  # "configured" | "published" | "published (cached)" | "built-in"
    location: str
    partial: bool = False  # the built-in subset: never flag fields it does not know
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Derived once per schema: the validator, the schema as text."""

    def validator(self) -> Any:
        if "validator" not in self._cache:
            from jsonschema import Draft202012Validator

            self._cache["validator"] = Draft202012Validator(self.document)
        return self._cache["validator"]

    @property
    def fingerprint(self) -> str:
        """The schema as text, for cheap "does it use X at all" questions."""
        if "text" not in self._cache:
            self._cache["text"] = json.dumps(self.document, sort_keys=True)
        text: str = self._cache["text"]
        return text

    @property
    def label(self) -> str:
        return f"{self.source} schema ({self.location})"

    # -- navigation --------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        """Follow local `$ref`s."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 32:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                return {}
            target: Any = self.document
            for part in ref.lstrip("#").strip("/").split("/"):
                if not part:
                    continue
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part, {}) if isinstance(target, dict) else {}
            merged = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **merged} if merged else target
            seen += 1
        return node if isinstance(node, dict) else {}

    def branches(self, node: Any) -> list[dict[str, Any]]:
        """The alternatives a value may take: anyOf/oneOf/allOf flattened, refs followed."""
        node = self.resolve(node)
        out: list[dict[str, Any]] = []
        subs = [s for key in ("anyOf", "oneOf", "allOf") for s in node.get(key, [])]
        if subs:
            own = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf", "allOf")}
            if own.get("properties") or own.get("type"):
                out.append(own)
            for sub in subs:
                out.extend(self.branches(sub))
        else:
            out.append(node)
        return out

    def property_schemas(self, node: Any, key: str) -> list[dict[str, Any]]:
        found = []
        for branch in self.branches(node):
            props = branch.get("properties")
            if isinstance(props, dict) and key in props:
                found.append(props[key])
        return found

    def at(self, path: tuple[str | int, ...]) -> list[dict[str, Any]]:
        """The schemas that may describe the value at `path` (empty when unknown)."""
        current: list[Any] = [self.document]
        for part in path:
            nxt: list[Any] = []
            for node in current:
                if isinstance(part, str):
                    nxt.extend(self.property_schemas(node, part))
                else:
                    for branch in self.branches(node):
                        items = branch.get("items")
                        if isinstance(items, dict):
                            nxt.append(items)
                        elif isinstance(items, list) and part < len(items):
                            nxt.append(items[part])
                        prefix = branch.get("prefixItems")
                        if isinstance(prefix, list) and part < len(prefix):
                            nxt.append(prefix[part])
            current = nxt
            if not current:
                return []
        return [self.resolve(n) for n in current]

    def known_properties(self, path: tuple[str | int, ...]) -> dict[str, dict[str, Any]]:
        """Field name -> schema for every object form of the value at `path`."""
        props: dict[str, dict[str, Any]] = {}
        for node in self.at(path):
            for branch in self.branches(node):
                for name, sub in (branch.get("properties") or {}).items():
                    props.setdefault(name, sub)
        return props


def _check_document(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise SchemaError(f"{where} is not a JSON Schema (expected an object at the top).")
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError as JSchemaError

    try:
        Draft202012Validator.check_schema(doc)
    except JSchemaError as exc:
        raise SchemaError(f"{where} is not a valid JSON Schema: {exc.message}") from exc
    return doc


def builtin_schema() -> Schema:
    # Beside this module (not importlib.resources, whose zip support costs start-up time).
    text = Path(__file__).with_name("builtin-schema.json").read_text("utf-8")
    return Schema(json.loads(text), "built-in", "mirrord-ls", partial=True)


def _fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    import urllib.error  # off the start path (issue 17): http.client and email are large
    import urllib.request

    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
            body = response.read(MAX_SCHEMA_BYTES + 1)
            if len(body) > MAX_SCHEMA_BYTES:
                raise SchemaError(f"{url} is larger than {MAX_SCHEMA_BYTES} bytes.")
            return response.status, body, dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return 304, b"", dict(exc.headers.items())
        raise SchemaError(f"{url} answered HTTP {exc.code}.") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SchemaError(f"{url} could not be fetched: {reason}.") from exc


def load_configured(location: str) -> Schema:
    """Load a schema from a path or http(s) URL the user named. Raises SchemaError."""
    if location.startswith(("http://", "https://")):
        _, body, _ = _fetch(location)
        where = location
    else:
        path = Path(os.path.expandvars(location)).expanduser()
        where = str(path)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise SchemaError(f"{where} could not be read: {exc.strerror or exc}.") from exc
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{where} is not valid JSON: {exc}.") from exc
    return Schema(_check_document(doc, where), "configured", where)


def _cache_paths() -> tuple[Path, Path]:
    base = cache_dir()
    return base / "mirrord-schema.json", base / "mirrord-schema.meta.json"


def load_cached_published() -> Schema | None:
    """The published schema from the disk cache, or None."""
    body_path, _ = _cache_paths()
    try:
        doc = json.loads(body_path.read_bytes())
        if not isinstance(doc, dict):
            return None
        # Checked against the meta-schema when it was fetched; not again on every start.
        return Schema(doc, "published (cached)", published_url())
    except (OSError, ValueError, SchemaError):
        return None


def refresh_published() -> Schema | None:
    """Fetch (or revalidate) the published schema and update the cache.

    Blocking: call it from a worker thread. Returns the fresh schema, or None
    when nothing changed or the network failed (the cache then stays in use).
    """
    url = published_url()
    if not url:
        return None
    body_path, meta_path = _cache_paths()
    headers: dict[str, str] = {}
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
        if meta.get("url") == url and body_path.exists():
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
    except (OSError, ValueError):
        pass
    try:
        status, body, response_headers = _fetch(url, headers)
    except SchemaError as exc:
        log.info("published schema not refreshed: %s", exc)
        return None
    if status == 304:
        return None
    try:
        doc = _check_document(json.loads(body), url)
    except (ValueError, SchemaError) as exc:
        log.warning("published schema ignored: %s", exc)
        return None
    try:
        body_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = body_path.with_suffix(".tmp")
        tmp.write_bytes(body)
        tmp.replace(body_path)
        lower = {k.lower(): v for k, v in response_headers.items()}
        meta_path.write_text(
            json.dumps(
                {"url": url, "etag": lower.get("etag"), "last_modified": lower.get("last-modified")}
            ),
            "utf-8",
        )
    except OSError as exc:
        log.info("schema cache not written: %s", exc)
    return Schema(doc, "published", url)


def initial_schema(configured: str | None) -> tuple[Schema, str | None]:
    """The best schema available without waiting on the network, and a problem to report."""
    if configured:
        try:
            return load_configured(configured), None
        except SchemaError as exc:
            fallback = load_cached_published() or builtin_schema()
            return fallback, f"The configured schema is not used: {exc} Using the {fallback.label}."
    return load_cached_published() or builtin_schema(), None
