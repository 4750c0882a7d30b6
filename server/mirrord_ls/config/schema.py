"""Where the schema comes from, and how to walk it.

Order of preference: a path or URL the user configured (`mirrordLs.schema`,
`--schema`); else mirrord's published schema, fetched in the background,
cached on disk and revalidated with ETag/Last-Modified, used from the cache
when offline; else the built-in schema (`builtin-schema.json`): mirrord's whole
config structure, extracted from a published schema of a recorded release by
`scripts/build-builtin-schema.py`, without mirrord's description text. No
network failure ever blocks or shows as an error in a config: it only decides
which schema is used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirrord_ls.fs import FileReadError, read_regular

# Fetching (urllib, http.client), `$ref` resolution and platformdirs load on first use:
# the first document needs none of them, and start-up is measured (issue 17).

log = logging.getLogger(__name__)

PUBLISHED_URL = "https://raw.githubusercontent.com/metalbear-co/mirrord/latest/mirrord-schema.json"


def published_url() -> str:
    """The published schema's address; tests point it at 127.0.0.1."""
    return os.environ.get("MIRRORD_LS_SCHEMA_URL", PUBLISHED_URL)


def cache_dir() -> Path:
    import platformdirs

    return Path(os.environ.get("MIRRORD_LS_CACHE_DIR") or platformdirs.user_cache_dir("mirrord-ls"))


class SchemaError(Exception):
    """A schema that could not be read or is not a usable JSON Schema."""


@dataclass(frozen=True)
class Schema:
    """A loaded schema and where it came from (said in hover and `check` output)."""

    document: dict[str, Any]
    source: str  # "configured" | "published" | "published (cached)" | "built-in"
    location: str
    remote: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Documents its `$ref`s name outside itself, fetched once when it was loaded."""
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Derived once per schema: the validator, the schema as text."""

    def validator(self) -> Any:
        """A Draft 2020-12 validator that never fetches anything while it validates."""
        if "validator" not in self._cache:
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012

            def refuse(uri: str) -> Any:
                from referencing.exceptions import NoSuchResource

                raise NoSuchResource(ref=uri)  # type: ignore[call-arg]

            registry: Any = Registry(retrieve=refuse).with_resources(  # type: ignore[call-arg]
                (uri, Resource.from_contents(doc, default_specification=DRAFT202012))
                for uri, doc in self.remote.items()
            )
            self._cache["validator"] = _validator_class()(self.document, registry=registry)
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
        from mirrord_ls.redact import url  # a user:pw@ in the URL is never shown

        return f"{self.source} schema ({url(str(self.location))})"

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

    def branches(self, node: Any, _seen: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
        """The alternatives a value may take: anyOf/oneOf/allOf flattened, refs followed.

        A branch already being expanded is not expanded again (a loop of references gives
        what it has, not a RecursionError).
        """
        node = self.resolve(node)
        if id(node) in _seen or len(_seen) > 64:
            return []
        out: list[dict[str, Any]] = []
        subs = [s for key in ("anyOf", "oneOf", "allOf") for s in node.get(key, [])]
        if subs:
            own = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf", "allOf")}
            if own.get("properties") or own.get("type"):
                out.append(own)
            seen = _seen | {id(node)}
            for sub in subs:
                out.extend(self.branches(sub, seen))
        else:
            out.append(node)
        return out

    def property_schemas(self, node: Any, key: str) -> list[dict[str, Any]]:
        """The schemas of member `key`: a named property, else a map's value schema."""
        found = []
        for branch in self.branches(node):
            props = branch.get("properties")
            if isinstance(props, dict) and key in props:
                found.append(props[key])
            elif isinstance(branch.get("additionalProperties"), dict):
                found.append(branch["additionalProperties"])
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


@functools.cache
def _validator_class() -> Any:
    """Draft 2020-12, with `integer` as serde reads it.

    JSON Schema calls 30.0 an integer; serde does not: a float or an exponent where mirrord
    expects an integer (`ttl: 30.0`, `3e1`) is "invalid type: floating point" in serde_json,
    and the toml crate and serde-saphyr refuse it too. So `integer` means a whole number
    written as one.
    """
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return validators.extend(Draft202012Validator, type_checker=checker)


CHECKED_MEMO = "schemas-checked.json"
"""In the cache folder: digests of schema documents that passed the metaschema check."""
CHECKED_MEMO_SIZE = 32
_checked_here: set[str] = set()


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _checked_before(digest: str) -> bool:
    """Did this very document (by content) pass the metaschema check before? Checking
    mirrord's schema against the 2020-12 metaschema takes seconds of CPU, so `check` and
    the server remember the documents that passed (a cache, as kubectl's discovery cache)."""
    if digest in _checked_here:
        return True
    try:
        seen = json.loads(read_regular(cache_dir() / CHECKED_MEMO, limit=64 * 1024))
    except (OSError, FileReadError, ValueError):
        return False
    return isinstance(seen, list) and digest in seen


def _remember_checked(digest: str) -> None:
    _checked_here.add(digest)
    path = cache_dir() / CHECKED_MEMO
    try:
        old = json.loads(read_regular(path, limit=64 * 1024))
    except (OSError, FileReadError, ValueError):
        old = []
    seen = [d for d in old if isinstance(d, str) and d != digest] if isinstance(old, list) else []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{CHECKED_MEMO}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps([*seen, digest][-CHECKED_MEMO_SIZE:]), "utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.debug("schema check memo not written: %s", exc)


def _check_document(doc: Any, where: str, body: bytes | None = None) -> dict[str, Any]:
    """`doc` if it is a valid 2020-12 JSON Schema, else SchemaError. With its `body`, a
    document that passed before (same bytes) is not checked again."""
    if not isinstance(doc, dict):
        raise SchemaError(f"{where} is not a JSON Schema (expected an object at the top).")
    digest = _digest(body) if body is not None else None
    if digest is not None and _checked_before(digest):
        return doc
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError as JSchemaError

    try:
        Draft202012Validator.check_schema(doc)
    except JSchemaError as exc:
        raise SchemaError(f"{where} is not a valid JSON Schema: {exc.message}") from exc
    except RecursionError as exc:
        raise SchemaError(f"{where} is nested too deeply to be a usable schema.") from exc
    if digest is not None:
        _remember_checked(digest)
    return doc


def _references(doc: dict[str, Any], where: str, location: str) -> dict[str, Any]:
    """Fetch the schema's remote `$ref`s (once, bounded) and refuse `$ref` loops."""
    from mirrord_ls.config.schema_refs import RefError, fetch_remote_refs, find_ref_loop

    try:
        remote = fetch_remote_refs(doc, location)
    except RefError as exc:
        raise SchemaError(f"{where}: {exc}.") from exc
    loop = find_ref_loop(doc, remote)
    if loop is not None:
        raise SchemaError(
            f"{where} refers to itself without describing anything ({loop}): a validator"
            " would loop forever on it."
        )
    return remote


@functools.cache
def builtin_schema() -> Schema:
    """mirrord's config structure as of the release recorded in it (no description text).

    Made by `scripts/build-builtin-schema.py` from a published schema; as strict as it.
    """
    # Beside this module (not importlib.resources, whose zip support costs start-up time).
    text = Path(__file__).with_name("builtin-schema.json").read_text("utf-8")
    doc = json.loads(text)
    return Schema(doc, "built-in", f"mirrord {doc.get('x-mirrord-release', 'unknown release')}")


def load_configured(location: str) -> Schema:
    """Load a schema from a path or http(s) URL the user named. Raises SchemaError.

    Blocking but bounded (size, total time; regular files only): call it off the event loop.
    """
    from mirrord_ls.config.schema_fetch import FetchError, read_location

    try:
        body, where = read_location(location)
    except FetchError as exc:
        raise SchemaError(str(exc)) from exc
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise SchemaError(f"{where} is not valid JSON: {exc}.") from exc
    checked = _check_document(doc, where, body)
    remote = _references(checked, where, where)
    return Schema(checked, "configured", where, remote=remote)


def _cache_paths() -> tuple[Path, Path]:
    base = cache_dir()
    return base / "mirrord-schema.json", base / "mirrord-schema.meta.json"


def load_cached_published() -> Schema | None:
    """The published schema from the disk cache, or None."""
    from mirrord_ls.config.schema_fetch import MAX_SCHEMA_BYTES

    body_path, _ = _cache_paths()
    try:
        doc = json.loads(read_regular(body_path, limit=MAX_SCHEMA_BYTES))
        if not isinstance(doc, dict):
            return None
        # Checked against the meta-schema when it was fetched; not again on every start.
        return Schema(doc, "published (cached)", published_url())
    except (FileReadError, OSError, ValueError, RecursionError):
        return None


def refresh_published() -> Schema | None:
    """Fetch (or revalidate) the published schema and update the cache.

    Blocking: call it from a worker thread. Returns the fresh schema, or None
    when nothing changed or the network failed (the cache then stays in use).
    """
    from mirrord_ls.config.schema_fetch import FetchError, fetch_url

    url = published_url()
    if not url:
        return None
    body_path, meta_path = _cache_paths()
    headers: dict[str, str] = {}
    try:
        meta = json.loads(read_regular(meta_path, limit=64 * 1024))
        if meta.get("url") == url and body_path.exists():
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
    except (OSError, ValueError):
        pass
    try:
        status, body, response_headers = fetch_url(url, headers)
    except FetchError as exc:
        log.info("published schema not refreshed: %s", exc)
        return None
    if status == 304:
        return None
    try:
        doc = _check_document(json.loads(body), url, body)
        remote = _references(doc, url, url)
    except (ValueError, SchemaError, RecursionError) as exc:
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
    return Schema(doc, "published", url, remote=remote)


def initial_schema(configured: str | None) -> tuple[Schema, str | None]:
    """The best schema available without waiting on the network, and a problem to report."""
    if configured:
        try:
            return load_configured(configured), None
        except SchemaError as exc:
            fallback = load_cached_published() or builtin_schema()
            return fallback, f"The configured schema is not used: {exc} Using the {fallback.label}."
    return load_cached_published() or builtin_schema(), None
