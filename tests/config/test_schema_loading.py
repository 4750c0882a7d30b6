"""A hostile `mirrordLs.schema` must not stall anything (issue 16).

Paths that are FIFOs or /dev/zero, URLs that hang, trickle or never end, remote `$ref`s
(fetched once, when the schema loads, never while validating), schemas that refer to
themselves; and `SchemaStore`, which answers at once with the last good schema while a load
runs in a thread. Fake servers run on 127.0.0.1.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mirrord_ls.config import schema_fetch
from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.schema import Schema, SchemaError, builtin_schema, load_configured
from mirrord_ls.config.schema_store import SchemaStore

GOOD = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"operator": {"type": "boolean"}},
    "additionalProperties": False,
}


class Site:
    """A loopback HTTP server with one behaviour per path."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.release = threading.Event()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                behaviour = site.routes.get(self.path)
                if behaviour is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                behaviour(self)

            def log_message(self, *args: object) -> None:
                pass

        self.routes: dict[str, Any] = {}
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def json(self, path: str, doc: Any) -> str:
        body = json.dumps(doc).encode()

        def serve(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        self.routes[path] = serve
        return self.url(path)

    def hang(self, path: str) -> str:
        def serve(h: http.server.BaseHTTPRequestHandler) -> None:
            self.release.wait(60)  # never answers while the test runs

        self.routes[path] = serve
        return self.url(path)

    def trickle(self, path: str) -> str:
        def serve(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.end_headers()
            for _ in range(600):
                if self.release.is_set():
                    return
                try:
                    h.wfile.write(b" ")
                    h.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)  # sleep-ok: a deliberately slow server (1 byte per 0.1 s)

        self.routes[path] = serve
        return self.url(path)

    def endless(self, path: str) -> str:
        def serve(h: http.server.BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.end_headers()
            chunk = b"0" * 65536
            try:
                while not self.release.is_set():
                    h.wfile.write(chunk)
            except OSError:
                return

        self.routes[path] = serve
        return self.url(path)

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(schema_fetch, "FETCH_TIMEOUT", 1.0)
    return 1.0


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "schema.json"
    os.mkfifo(fifo)
    with pytest.raises(SchemaError, match="named pipe"):
        load_configured(str(fifo))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    link = tmp_path / "schema.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(SchemaError, match="character device"):
        load_configured(str(link))


def test_a_url_that_never_answers_is_given_up(site: Site, short_timeout: float) -> None:
    started = time.monotonic()
    with pytest.raises(SchemaError, match="did not answer within 1 s"):
        load_configured(site.hang("/schema.json"))
    assert time.monotonic() - started < 30  # bounded by the total deadline, generously


def test_a_trickling_url_is_cut_at_the_deadline(site: Site, short_timeout: float) -> None:
    started = time.monotonic()
    with pytest.raises(SchemaError, match="did not answer within 1 s"):
        load_configured(site.trickle("/schema.json"))
    # The trickle would last a minute; the total deadline stops it.
    assert time.monotonic() - started < 30


def test_an_endless_body_is_capped(site: Site) -> None:
    with pytest.raises(SchemaError, match="larger than"):
        load_configured(site.endless("/schema.json"))


def test_remote_refs_are_fetched_once_when_loading(site: Site) -> None:
    site.json("/defs.json", {"$defs": {"flag": {"type": "boolean"}}})
    root = site.json(
        "/root.json",
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"operator": {"$ref": "defs.json#/$defs/flag"}},
        },
    )
    schema = load_configured(root)
    assert site.hits["/defs.json"] == 1 and len(schema.remote) == 1
    for _ in range(20):
        findings = analyze('{"operator": "yes"}', "json", schema).findings
        assert [f.code for f in findings] == ["invalid-value"]
    assert site.hits["/defs.json"] == 1  # never again while validating


def test_a_remote_ref_that_hangs_fails_the_load_in_bounded_time(
    site: Site, short_timeout: float
) -> None:
    site.hang("/slow-defs.json")
    root = site.json(
        "/root.json",
        {"type": "object", "properties": {"operator": {"$ref": "slow-defs.json#/x"}}},
    )
    started = time.monotonic()
    with pytest.raises(SchemaError, match=r"slow-defs\.json"):
        load_configured(root)
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    "doc",
    [
        {"$ref": "#"},
        {"anyOf": [{"$ref": "#/$defs/a"}], "$defs": {"a": {"allOf": [{"$ref": "#"}]}}},
        {
            "properties": {"x": {"$ref": "#/$defs/a"}},
            "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
        },
    ],
    ids=["root-ref", "loop-through-anyOf-allOf", "mutual-refs"],
)
def test_a_schema_that_refers_to_itself_is_explained(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SchemaError, match="refers to itself"):
        load_configured(str(path))
    # Walking it anyway (hover, completion) gives an answer, not a RecursionError.
    schema = Schema(doc, "configured", str(path))
    schema.branches(doc)
    schema.at(("x", "y"))
    schema.known_properties(())


def test_recursion_through_properties_is_fine(tmp_path: Path) -> None:
    doc = {"type": "object", "properties": {"child": {"$ref": "#"}}}
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(doc))
    schema = load_configured(str(path))
    assert analyze('{"child": {"child": {}}}', "json", schema).findings == []


def test_the_store_answers_at_once_while_a_load_hangs(site: Site, short_timeout: float) -> None:
    changes: list[tuple[Schema, str | None]] = []
    store = SchemaStore(on_change=lambda s, p: changes.append((s, p)))
    store.configure(site.hang("/schema.json"))
    started = time.monotonic()
    assert store.current() is builtin_schema()
    assert time.monotonic() - started < 1
    assert store.wait(60)
    assert store.problem is not None and "did not answer" in store.problem
    assert store.current().source in ("built-in", "published (cached)")
    assert changes and changes[-1][1] == store.problem


def test_the_last_configure_wins(site: Site, tmp_path: Path, short_timeout: float) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD))
    store = SchemaStore()
    store.configure(site.hang("/schema.json"))
    store.configure(str(good))
    assert store.wait(60)
    # the hanging load ends later (after its deadline) and must not replace the newer one
    for thread in threading.enumerate():
        if thread.name == "schema-load-1":
            thread.join(60)
    assert store.current().location == str(good)
    assert store.problem is None


def test_a_schema_that_passed_the_metaschema_check_is_not_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking mirrord's schema against the 2020-12 metaschema takes seconds: `check` and
    the server remember, by content, the documents that passed (in the cache folder)."""
    from jsonschema import Draft202012Validator

    from mirrord_ls.config import schema as schema_mod

    monkeypatch.setenv("MIRRORD_LS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(schema_mod, "_checked_here", set())  # a fresh process
    calls: list[object] = []
    real = Draft202012Validator.check_schema.__func__  # type: ignore[attr-defined]

    def counting(cls: type, doc: object, *args: Any, **kwargs: Any) -> None:
        calls.append(doc)
        real(cls, doc, *args, **kwargs)

    monkeypatch.setattr(Draft202012Validator, "check_schema", classmethod(counting))
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(GOOD), "utf-8")
    load_configured(str(path))
    assert len(calls) == 1
    monkeypatch.setattr(schema_mod, "_checked_here", set())  # another process: the file
    load_configured(str(path))
    assert len(calls) == 1
    # Other bytes are checked again; a broken schema is still refused every time.
    path.write_text(json.dumps({**GOOD, "title": "changed"}), "utf-8")
    load_configured(str(path))
    assert len(calls) == 2
    path.write_text(json.dumps({"type": 5}), "utf-8")
    for _ in range(2):
        with pytest.raises(SchemaError, match="not a valid JSON Schema"):
            load_configured(str(path))
    assert len(calls) == 4
    # A memo that is not ours (garbage) is ignored, never trusted.
    (tmp_path / "cache" / schema_mod.CHECKED_MEMO).write_text("{not json", "utf-8")
    monkeypatch.setattr(schema_mod, "_checked_here", set())
    path.write_text(json.dumps(GOOD), "utf-8")
    load_configured(str(path))
    assert len(calls) == 5
