"""Just enough Kubernetes protobuf to read the self-subject reviews kubectl sends.

kubectl 1.32 posts built-in types as `application/vnd.kubernetes.protobuf`:
the magic `k8s\\0` and a `runtime.Unknown` envelope (typeMeta = 1, raw = 2)
whose `raw` is the object's message. Answers may stay JSON, because kubectl
decodes by the response's Content-Type. Only the review specs are mapped;
field numbers are those of k8s.io/api's generated.proto files.
"""

from __future__ import annotations

from typing import Any

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """Bytes that are not a message this module can read."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(data: bytes) -> dict[int, list[int | bytes]]:
    """Field number → values, from the wire format (varints and length-delimited only)."""
    out: dict[int, list[int | bytes]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            value, pos = data[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _message(msg: dict[int, list[int | bytes]], number: int) -> dict[int, list[int | bytes]]:
    values = msg.get(number)
    raw = values[-1] if values else b""
    return fields(raw) if isinstance(raw, bytes) else {}


def _strings(msg: dict[int, list[int | bytes]], names: dict[int, str]) -> dict[str, str]:
    out = {}
    for number, name in names.items():
        values = msg.get(number)
        if values and isinstance(values[-1], bytes):
            out[name] = values[-1].decode("utf-8")
    return out


_RESOURCE_ATTRS = {
    1: "namespace",
    2: "verb",
    3: "group",
    4: "version",
    5: "resource",
    6: "subresource",
    7: "name",
}
_NON_RESOURCE_ATTRS = {1: "path", 2: "verb"}


def decode_review(body: bytes) -> dict[str, Any]:
    """A self-subject review in protobuf, as the JSON dict its JSON form would be."""
    if not body.startswith(MAGIC):
        raise ProtobufError("no k8s protobuf magic")
    envelope = fields(body[len(MAGIC) :])
    type_meta = _strings(_message(envelope, 1), {1: "apiVersion", 2: "kind"})
    obj = _message(envelope, 2)
    spec_msg = _message(obj, 2)
    kind = type_meta.get("kind", "")
    spec: dict[str, Any] = {}
    if kind == "SelfSubjectAccessReview":
        if 1 in spec_msg:
            spec["resourceAttributes"] = _strings(_message(spec_msg, 1), _RESOURCE_ATTRS)
        if 2 in spec_msg:
            spec["nonResourceAttributes"] = _strings(_message(spec_msg, 2), _NON_RESOURCE_ATTRS)
    elif kind == "SelfSubjectRulesReview":
        spec = _strings(spec_msg, {1: "namespace"})
    return {**type_meta, "spec": spec}
