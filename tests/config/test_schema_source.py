"""Where the schema comes from: configured, published (served on 127.0.0.1), cached, built-in."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirrord_ls.config import schema as schema_mod

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"operator": {"type": "boolean"}},
    "additionalProperties": False,
}


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[dict[str, str]] = []
    body = json.dumps(SCHEMA).encode()

    def do_GET(self) -> None:
        type(self).hits.append(dict(self.headers.items()))
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def schema_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    _Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/mirrord-schema.json"
    monkeypatch.setenv("MIRRORD_LS_SCHEMA_URL", url)
    monkeypatch.setenv("MIRRORD_LS_CACHE_DIR", str(tmp_path / "cache"))
    yield url
    httpd.shutdown()
    httpd.server_close()


def test_published_schema_is_fetched_cached_and_revalidated(schema_server: str) -> None:
    assert schema_mod.load_cached_published() is None
    fresh = schema_mod.refresh_published()
    assert fresh is not None and fresh.source == "published"
    cached = schema_mod.load_cached_published()
    assert cached is not None and cached.document == SCHEMA
    assert schema_mod.refresh_published() is None  # 304: nothing new
    assert _Handler.hits[-1].get("If-None-Match") == '"v1"'
    schema, problem = schema_mod.initial_schema(None)
    assert schema.source == "published (cached)" and problem is None


def test_offline_falls_back_to_builtin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MIRRORD_LS_SCHEMA_URL", "http://127.0.0.1:9/none.json")
    monkeypatch.setenv("MIRRORD_LS_CACHE_DIR", str(tmp_path / "cache"))
    assert schema_mod.refresh_published() is None
    schema, problem = schema_mod.initial_schema(None)
    assert schema.source == "built-in" and problem is None


def test_configured_url(schema_server: str) -> None:
    loaded = schema_mod.load_configured(schema_server)
    assert loaded.source == "configured" and loaded.document == SCHEMA


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json", "not valid JSON"),
        ("[1]", "not a JSON Schema"),
        ('{"type": 12}', "not a valid JSON Schema"),
    ],
)
def test_bad_configured_schema_is_explained(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    schema, problem = schema_mod.initial_schema(str(path))
    assert schema.source == "built-in"
    assert problem is not None and words in problem


def test_missing_configured_schema(tmp_path: Path) -> None:
    _, problem = schema_mod.initial_schema(str(tmp_path / "nope.json"))
    assert problem is not None and "could not be read" in problem
