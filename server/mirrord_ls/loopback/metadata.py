"""Metadata-only answers: what kube-apiserver returns to `as=PartialObjectMetadata[List]`.

kube-rs' `Api::list_metadata` / `get_metadata` (which mirrord's node check uses)
ask with `Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`
and get each object's metadata only.
"""

from __future__ import annotations

from typing import Any

JsonObj = dict[str, Any]
META_V1 = "meta.k8s.io/v1"


def wanted(accept: str) -> str | None:
    """ "list" or "object" when the Accept header asks for metadata only, else None."""
    for part in accept.split(","):
        params = {p.strip() for p in part.split(";")}
        if f"g={META_V1.split('/')[0]}" not in params:
            continue
        if "as=PartialObjectMetadataList" in params:
            return "list"
        if "as=PartialObjectMetadata" in params:
            return "object"
    return None


def partial(obj: JsonObj) -> JsonObj:
    return {"kind": "PartialObjectMetadata", "apiVersion": META_V1, "metadata": obj["metadata"]}


def partial_list(items: list[JsonObj], rv: str) -> JsonObj:
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": META_V1,
        "metadata": {"resourceVersion": rv},
        "items": [partial(i) for i in items],
    }
