"""The custom protocol, Python side: every message of the shared fixture round-trips through
its class (editors/vscode/test/protocol.test.ts checks the same fixture on the client side)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mirrord_ls import protocol as proto

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "protocol.json").read_text("utf-8"))
CLASSES: dict[str, type] = {
    "status": proto.Status,
    "minimalStatus": proto.Status,
    "activeDocument": proto.ActiveDocumentParams,
    "noActiveDocument": proto.ActiveDocumentParams,
    "logLevel": proto.LogLevelParams,
    "recheckArgs": proto.DocumentArgs,
    "switchContextArgs": proto.SwitchContextArgs,
    "switchContextResult": proto.SwitchContextResult,
    "roleBindingResult": proto.RoleBindingResult,
    "agentRoleArgs": proto.AgentRoleArgs,
    "agentRoleResult": proto.AgentRoleResult,
}


def test_the_fixture_covers_every_class() -> None:
    assert set(FIXTURE) == set(CLASSES)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_round_trip(name: str) -> None:
    message: dict[str, Any] = FIXTURE[name]
    value = proto.converter.structure(message, CLASSES[name])
    assert proto.to_json(value) == message


def test_status_carries_the_experimental_server_status_fields() -> None:
    status = proto.converter.structure(FIXTURE["status"], proto.Status)
    shape = proto.to_json(status)
    assert {"health", "quiescent", "message"} <= set(shape)
    assert shape["health"] in ("ok", "warning", "error")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"uri": "file:///a", "context": "dev"}, proto.SwitchContextArgs("file:///a", "dev")),
        ({"uri": 3, "context": "dev"}, proto.SwitchContextArgs(None, "dev")),
        ({"context": True}, proto.SwitchContextArgs()),
        ("not an object", proto.SwitchContextArgs()),
        (None, proto.SwitchContextArgs()),
    ],
)
def test_command_arguments_of_the_wrong_type_are_left_at_their_defaults(
    raw: Any, expected: proto.SwitchContextArgs
) -> None:
    assert proto.parse(raw, proto.SwitchContextArgs) == expected


def test_named_tuples_from_pygls_are_read_like_objects() -> None:
    from collections import namedtuple

    Params = namedtuple("Params", ["uri"])
    assert proto.parse(Params("file:///x.json"), proto.ActiveDocumentParams).uri == "file:///x.json"
