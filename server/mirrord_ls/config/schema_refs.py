"""A schema's references: remote `$ref`s fetched once, and `$ref` loops found before use.

jsonschema, left to itself, fetches a remote `$ref` with `urlopen` (no timeout) while it
validates, on every validation: one that never answers froze the server. Here every
non-local `$ref` is fetched once, when the schema is loaded (off the event loop, with the
bounds of `schema_fetch`), and the documents are handed to the validator in a registry that
never retrieves anything.

A schema that refers to itself without describing anything on the way (root `$ref: "#"`,
a loop through `anyOf`/`allOf`, two definitions that refer to each other) sends any validator
and any walker into endless recursion: `find_ref_loop` names the loop so the schema can be
refused with a message instead of a `RecursionError`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlparse

from mirrord_ls.config import schema_fetch
from mirrord_ls.config.schema_fetch import FetchError, fetch_url, read_file

MAX_REMOTE_DOCUMENTS = 32
# Keywords that apply a subschema to the *same* value: a cycle through only these never ends.
_SAME_VALUE_LISTS = ("allOf", "anyOf", "oneOf")
_SAME_VALUE_ONE = ("not", "if", "then", "else")


class RefError(Exception):
    """A reference that cannot be resolved, or a loop: why, in words."""


def base_uri(location: str) -> str:
    """The URI relative references in a schema read from `location` resolve against."""
    if location.startswith(("http://", "https://", "file:")):
        return location
    return Path(location).resolve().as_uri()


def _fetch_document(uri: str, deadline: float) -> Any:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        limit = 2 * schema_fetch.FETCH_TIMEOUT
        raise RefError(f"resolving the schema's references took longer than {limit:g} s")
    try:
        if uri.startswith("file:"):
            body, _ = read_file(unquote(urlparse(uri).path))
        elif uri.startswith(("http://", "https://")):
            _, body, _ = fetch_url(uri, timeout=min(remaining, schema_fetch.FETCH_TIMEOUT))
        else:
            raise RefError(f"the reference {uri} is neither a file nor an http(s) URL")
        return json.loads(body)
    except FetchError as exc:
        raise RefError(f"the reference {uri} could not be read: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise RefError(f"the reference {uri} is not JSON: {exc}") from exc


def _refs(node: Any) -> list[str]:
    """Every `$ref` string anywhere in a document."""
    out: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str):
                out.append(ref)
            stack.extend(v for k, v in current.items() if k not in ("enum", "const", "default"))
        elif isinstance(current, list):
            stack.extend(current)
    return out


def fetch_remote_refs(document: dict[str, Any], location: str) -> dict[str, Any]:
    """Every document the schema refers to outside itself, by the URI the validator asks for.

    Relative references resolve against the document's `$id` for the validator and against
    where it was read for fetching; both are recorded. Blocking, bounded in count and time.
    """
    deadline = time.monotonic() + 2 * schema_fetch.FETCH_TIMEOUT
    given_id = document.get("$id")
    root_id: str = given_id if isinstance(given_id, str) else ""
    fetched: dict[str, Any] = {}
    # (document, the URI it is known by to the validator, where it was read from)
    queue: list[tuple[Any, str, str]] = [(document, root_id, base_uri(location))]
    while queue:
        doc, known_as, read_from = queue.pop()
        for ref in _refs(doc):
            target, _ = urldefrag(ref)
            if not target:
                continue  # a reference inside the same document
            key = urljoin(known_as, target) if known_as else target
            if key in fetched:
                continue
            if len(fetched) >= MAX_REMOTE_DOCUMENTS:
                raise RefError(f"the schema refers to more than {MAX_REMOTE_DOCUMENTS} documents")
            source = urljoin(read_from, target)
            fetched[key] = _fetch_document(source, deadline)
            queue.append((fetched[key], key, source))
    return fetched


def _pointer(document: Any, fragment: str) -> Any:
    target = document
    for part in fragment.lstrip("/").split("/") if fragment.strip("/") else []:
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict):
            target = target.get(part)
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            return None
    return target


def find_ref_loop(document: dict[str, Any], remote: dict[str, Any] | None = None) -> str | None:
    """A `$ref` chain that applies a schema to the same value forever, in words; or None.

    Recursion through `properties`, `items` and the like is fine (each step is a smaller
    value); a cycle made only of `$ref`, `allOf`/`anyOf`/`oneOf`, `not` and `if`/`then`/`else`
    never ends.
    """
    remote = remote or {}

    def targets(node: dict[str, Any], doc: Any) -> list[tuple[Any, Any, str]]:
        out: list[tuple[Any, Any, str]] = []
        ref = node.get("$ref")
        if isinstance(ref, str):
            where, fragment = urldefrag(ref)
            base = remote.get(where) if where else doc
            target = _pointer(base, fragment) if base is not None else None
            if isinstance(target, dict):
                out.append((target, base, f"$ref {ref}"))
        for key in _SAME_VALUE_LISTS:
            for i, sub in enumerate(node.get(key) or ()):
                if isinstance(sub, dict):
                    out.append((sub, doc, f"{key}[{i}]"))
        for key in _SAME_VALUE_ONE:
            if isinstance(node.get(key), dict):
                out.append((node[key], doc, key))
        return out

    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for doc in [document, *remote.values()]:
        for start in _subschemas(doc):
            if state.get(id(start)) == 2:
                continue
            path: list[str] = []
            stack: list[tuple[dict[str, Any], Any, list[tuple[Any, Any, str]]]] = []
            state[id(start)] = 1
            stack.append((start, doc, targets(start, doc)))
            while stack:
                node, _doc, pending = stack[-1]
                if not pending:
                    state[id(node)] = 2
                    stack.pop()
                    if path:
                        path.pop()
                    continue
                target, target_doc, how = pending.pop()
                mark = state.get(id(target))
                if mark == 1:
                    return " -> ".join([*path, how])
                if mark == 2:
                    continue
                state[id(target)] = 1
                path.append(how)
                stack.append((target, target_doc, targets(target, target_doc)))
    return None


def _subschemas(document: Any) -> list[dict[str, Any]]:
    """Every object in a document that may be a schema (data keywords skipped)."""
    out: list[dict[str, Any]] = []
    stack = [document]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            out.append(current)
            stack.extend(v for k, v in current.items() if k not in ("enum", "const", "default"))
        elif isinstance(current, list):
            stack.extend(current)
    return out
